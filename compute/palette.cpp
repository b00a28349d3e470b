#include "palette.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>

namespace salab {

namespace {

template <size_t N>
Rgb8 sample(const std::array<Rgb8, N>& stops, float t) {
    t = std::clamp(std::isfinite(t) ? t : 0.0f, 0.0f, 1.0f) * float(N - 1);
    const size_t i = std::min(size_t(t), N - 2);
    const float f = t - float(i);
    const auto mix = [f](uint8_t a, uint8_t b) { return uint8_t(std::lround(float(a) + (float(b) - float(a)) * f)); };
    return {mix(stops[i].r, stops[i + 1].r), mix(stops[i].g, stops[i + 1].g), mix(stops[i].b, stops[i + 1].b)};
}

// Inferno, nine stops: perceptually ordered and readable on a dark background.
constexpr std::array<Rgb8, 9> kInferno{{{0, 0, 4},
                                        {31, 12, 72},
                                        {85, 15, 109},
                                        {136, 34, 106},
                                        {186, 54, 85},
                                        {227, 89, 51},
                                        {249, 140, 10},
                                        {249, 201, 50},
                                        {252, 255, 164}}};

// Blue - dark - red, so "no difference" blends with the empty background.
constexpr std::array<Rgb8, 5> kDiverging{{{70, 130, 255}, {40, 70, 150}, {24, 24, 28}, {170, 50, 40}, {255, 110, 70}}};

// Components: mostly Okabe-Ito (distinguishable with the common colour-vision deficiencies),
// without its yellow and oranges, which read as the density map's "kept" and the block
// overlay's "partial".
constexpr std::array<Rgb8, 8> kComponents{{{86, 180, 233},
                                           {204, 121, 167},
                                           {0, 158, 115},
                                           {0, 114, 178},
                                           {200, 200, 200},
                                           {150, 130, 255},
                                           {255, 150, 220},
                                           {150, 160, 40}}};

}  // namespace

Rgb8 sequential_rgb(float t) { return sample(kInferno, t); }

Rgb8 diverging_rgb(float t) {
    return sample(kDiverging, 0.5f * (std::clamp(std::isfinite(t) ? t : 0.0f, -1.0f, 1.0f) + 1.0f));
}

Rgb8 component_rgb(int c) { return kComponents[size_t(std::abs(c % int(kComponents.size())))]; }

Rgb8 hop_rgb(int h, int max_h) {
    if (h < 0) return {90, 20, 20};
    if (h == 0) return {255, 255, 255};
    return sequential_rgb(1.0f - 0.85f * float(h - 1) / float(std::max(1, max_h - 1)));
}

}  // namespace salab
