// The colour scales every picture of the project uses (the GUI's views and salab-cli render's
// PNGs), so a figure looks the same wherever it was made. Pure functions on 8-bit RGB.
#pragma once

#include <cstdint>

namespace salab {

struct Rgb8 {
    uint8_t r = 0, g = 0, b = 0;
    bool operator==(const Rgb8&) const = default;
};

// t in [0, 1] -> a dark-to-bright perceptual colour ("inferno"). Out-of-range or NaN t is clamped.
Rgb8 sequential_rgb(float t);
// t in [-1, 1] -> blue (negative) .. near-black (0) .. red (positive).
Rgb8 diverging_rgb(float t);
// Distinct colour of component c (Okabe-Ito, cycles after 8).
Rgb8 component_rgb(int c);
// Hop counts: 0 white, 1 brightest .. max_h darkest of the sequential map, -1 (never) dark red.
Rgb8 hop_rgb(int h, int max_h);
// Mask density d in (0, 1] -> the position on the sequential map: the darkest 15% is kept for
// "nearly empty", so a single kept pair in a pixel still shows.
inline float mask_density_shade(float d) {
    return 0.15f + 0.85f * (d > 0.0f ? (d < 1.0f ? __builtin_sqrtf(d) : 1.0f) : 0.0f);
}

// Background of mask and heatmap images (a value of zero reads as "nothing there").
inline constexpr Rgb8 kEmptyRgb{16, 16, 20};
// The kernel's block classes: full (no per-element test), partial (bitmask), skipped.
inline constexpr Rgb8 kBlockFullRgb{64, 192, 112};
inline constexpr Rgb8 kBlockPartialRgb{240, 160, 48};
inline constexpr Rgb8 kBlockSkippedRgb{200, 60, 60};

// A/B compare: pairs only A keeps, only B keeps, both keep (Okabe-Ito blue, vermillion, yellow:
// apart for every common colour-vision deficiency).
inline constexpr Rgb8 kCompareAOnlyRgb{86, 180, 233};
inline constexpr Rgb8 kCompareBOnlyRgb{213, 94, 0};
inline constexpr Rgb8 kCompareBothRgb{240, 228, 66};

}  // namespace salab
