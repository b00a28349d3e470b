// Colour scales: a perceptual sequential map (for densities and weights), a diverging map
// (for differences), linear or log scaling, and per-component colours. Pure functions except
// draw_legend.
#pragma once

#include "app_state.h"
#include "palette.h"
#include "image.h"

#include <span>
#include <string>

namespace salab::ui {

// The palette of compute/palette.h as ImGui colours.
ImU32 to_imu32(Rgb8 c, int alpha = 255);
// t in [0, 1] -> a dark-to-bright perceptual colour ("inferno"-like). Out-of-range t is clamped.
ImU32 sequential_color(float t);
// t in [-1, 1] -> blue (negative) .. near-black (0) .. red (positive).
ImU32 diverging_color(float t);
// Distinct colour of component c (cycles after 8).
ImU32 component_color(int c);

// Hop counts: 0 white, 1 brightest .. max_h darkest of the sequential map, -1 (never) dark red.
ImU32 hop_color(int h, int max_h);

// The mask view's hop overlay: 0 white, 1 .. max_h light to dark grey, -1 (never) dark red. Not
// hop_color: its bright "1 hop" is the density map's "kept" yellow, and both are on one view.
Rgb8 overlay_hop_rgb(int h, int max_h);

// Maps v in [vmin, vmax] to [0, 1]. Log scale uses log10 with vmin clamped to > 0; values at
// or below vmin give 0.
float scale_to_unit(ColorScale scale, float v, float vmin, float vmax);

// Colour of a value of zero in mask and heatmap images (so empty reads as "nothing there").
inline constexpr ImU32 empty_color = IM_COL32(kEmptyRgb.r, kEmptyRgb.g, kEmptyRgb.b, 255);

// Heatmap: w x h values to colours on the scale (cells <= 0 get empty_color).
Rgba8Image colorize_values(std::span<const float> values, int w, int h, ColorScale scale,
                           float vmin, float vmax);
// Signed difference: values / max_abs through diverging_color.
Rgba8Image colorize_diff(std::span<const float> values, int w, int h, float max_abs);

// Legend bar with ticks (ImGui): `label` above a horizontal bar of the given width.
void draw_legend(const char* label, ColorScale scale, float vmin, float vmax, float width,
                 bool diverging = false);

// "1.2e-04", "0.35", "12k": short numeric labels for ticks and readouts.
std::string short_number(double v);

}  // namespace salab::ui
