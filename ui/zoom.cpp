#include "zoom.h"

#include <algorithm>
#include <cmath>

namespace salab::ui {

ZoomTransform ZoomTransform::fit(int64_t n, double w, double h) {
    ZoomTransform t;
    const double side = std::max(1.0, std::min(w, h));
    t.tokens_per_px = double(std::max<int64_t>(n, 1)) / side;
    t.x0 = -(w - side) * 0.5 * t.tokens_per_px;
    t.y0 = -(h - side) * 0.5 * t.tokens_per_px;
    return t;
}

ZoomTransform ZoomTransform::fit_region(const TokenRect& r, double w, double h) {
    ZoomTransform t;
    w = std::max(1.0, w), h = std::max(1.0, h);
    t.tokens_per_px = std::max({double(std::max<int64_t>(r.cols, 1)) / w, double(std::max<int64_t>(r.rows, 1)) / h, 1.0 / 64.0});
    t.x0 = double(r.col0) - (w * t.tokens_per_px - double(r.cols)) * 0.5;
    t.y0 = double(r.row0) - (h * t.tokens_per_px - double(r.rows)) * 0.5;
    return t;
}

void ZoomTransform::zoom_at(double px, double py, double factor, int64_t n, double w, double h) {
    if (!(factor > 0.0)) return;
    const double tx = to_token_x(px), ty = to_token_y(py);
    const double fit_tpp = double(std::max<int64_t>(n, 1)) / std::max(1.0, std::min(w, h));
    const double lo = 1.0 / 64.0, hi = std::max(lo, 2.0 * fit_tpp);
    tokens_per_px = std::clamp(tokens_per_px / factor, lo, hi);
    x0 = tx - px * tokens_per_px;
    y0 = ty - py * tokens_per_px;
    clamp(n, w, h);
}

void ZoomTransform::clamp(int64_t n, double w, double h) {
    // Allow panning until only a quarter of the canvas still shows the matrix.
    const double nn = double(n);
    const double mx = 0.75 * w * tokens_per_px, my = 0.75 * h * tokens_per_px;
    x0 = std::clamp(x0, -mx, std::max(-mx, nn - (w * tokens_per_px - mx)));
    y0 = std::clamp(y0, -my, std::max(-my, nn - (h * tokens_per_px - my)));
}

TokenRect ZoomTransform::visible(int64_t n, double w, double h) const {
    const auto lo = [&](double t) { return std::clamp<int64_t>(int64_t(std::floor(t)), 0, n); };
    const auto hi = [&](double t) { return std::clamp<int64_t>(int64_t(std::ceil(t)), 0, n); };
    TokenRect r;
    r.col0 = lo(x0);
    r.row0 = lo(y0);
    r.cols = hi(to_token_x(w)) - r.col0;
    r.rows = hi(to_token_y(h)) - r.row0;
    return r;
}

bool ZoomTransform::shows_all(int64_t n, double w, double h) const {
    const TokenRect r = visible(n, w, h);
    return r.row0 == 0 && r.col0 == 0 && r.rows == n && r.cols == n;
}

PixelSize image_size_for(const ZoomTransform& t, const TokenRect& r, int max_px) {
    const auto px = [&](int64_t tokens) {
        const double p = std::ceil(double(tokens) / t.tokens_per_px - 1e-9);
        return int(std::clamp(p, 1.0, double(max_px)));
    };
    return {px(r.cols), px(r.rows)};
}

}  // namespace salab::ui
