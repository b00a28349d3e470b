// The heatmap view: softmax weights P(i, j) that the GPU computes for the visible region,
// dense and sparse side by side and their difference, linear or log colour scale with a
// legend, and the accuracy readouts (kept share of dense mass, relative output error).
#pragma once

#include "app_state.h"
#include "view_context.h"
#include "zoom.h"

#include <span>

namespace salab::ui {

// Cells per side the GPU fills for a heatmap panel: the region is sampled with this stride.
int64_t heat_stride(const TokenRect& r, int max_cells = 192);

// The log scale's floor: the smallest positive weight shown, at most vmax * 1e-4 (so a spread
// row still has contrast) and at least vmax * 1e-8. A fixed vmax * 1e-4 left the dense heatmap of
// n = 65,536 blank: its weights sit near 1 / n, below that floor.
float log_floor(std::span<const float> dense, std::span<const float> sparse, float vmax);

class HeatmapView {
public:
    void draw(AppState& s, const ViewContext& ctx);
    HeatRequest request(const AppState& s) const;
    // The mask view's visible region and selected query (-1: none), followed when
    // ViewSettings::heat_follow_mask is on. Call before draw.
    void follow(const TokenRect& region, int64_t selected) { mask_region_ = region, selected_ = selected; }

private:
    ZoomTransform zoom_;
    float panel_ = 0;  // side of one panel in pixels
    int64_t fitted_n_ = -1;
    uint64_t colored_from_ = 0;
    ColorScale colored_scale_ = ColorScale::log;
    Rgba8Image dense_, sparse_, diff_;
    float vmax_ = 1, diff_max_ = 1, vfloor_ = 1e-4f;
    TokenRect mask_region_, followed_;
    int64_t selected_ = -1;
};

}  // namespace salab::ui
