// Zoom and pan over the n x n matrix: the mapping between token coordinates (x = key j,
// y = query i, continuous) and canvas pixels (origin at the canvas's top-left). Pure math, no
// ImGui, so it is unit tested.
#pragma once

#include "mask_image.h"

#include <cstdint>

namespace salab::ui {

struct ZoomTransform {
    double x0 = 0.0, y0 = 0.0;   // token coordinate at the canvas's top-left corner
    double tokens_per_px = 1.0;  // the same on both axes: a token pair is a square

    // Fits [0, n) x [0, n) into a w x h canvas, centred.
    static ZoomTransform fit(int64_t n, double w, double h);

    double to_px_x(double token_x) const { return (token_x - x0) / tokens_per_px; }
    double to_px_y(double token_y) const { return (token_y - y0) / tokens_per_px; }
    double to_token_x(double px) const { return x0 + px * tokens_per_px; }
    double to_token_y(double px) const { return y0 + px * tokens_per_px; }

    // Scales by `factor` (> 1 zooms in) keeping the token under (px, py) where it is; the scale
    // is clamped between 1/64 token per pixel and twice the fit of n into the canvas.
    void zoom_at(double px, double py, double factor, int64_t n, double w, double h);
    void pan(double dx_px, double dy_px) { x0 -= dx_px * tokens_per_px; y0 -= dy_px * tokens_per_px; }
    // Fits the token rectangle r into a w x h canvas, centred (the heatmap following the mask).
    static ZoomTransform fit_region(const TokenRect& r, double w, double h);
    // Keeps at least part of the matrix on the canvas.
    void clamp(int64_t n, double w, double h);

    // The tokens visible on a w x h canvas, clipped to [0, n).
    TokenRect visible(int64_t n, double w, double h) const;
    // True when the whole matrix fits (no minimap needed).
    bool shows_all(int64_t n, double w, double h) const;

    bool operator==(const ZoomTransform&) const = default;
};

// Pixel size of a token rectangle on the canvas (at least 1 each way), capped at `max_px`;
// the resolution to aggregate a mask image at.
struct PixelSize {
    int w = 0, h = 0;
    bool operator==(const PixelSize&) const = default;
};
PixelSize image_size_for(const ZoomTransform& t, const TokenRect& r, int max_px = 1024);

}  // namespace salab::ui
