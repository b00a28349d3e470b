#include "render.h"

#include "hops.h"

#include <stb/stb_image_write.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace salab {

void Image::set(int x, int y, uint32_t rgb) {
    uint8_t* p = &rgba[(size_t(y) * size_t(width) + size_t(x)) * 4];
    p[0] = uint8_t(rgb >> 16);
    p[1] = uint8_t(rgb >> 8);
    p[2] = uint8_t(rgb);
    p[3] = 255;
}

namespace {

Image blank(int w, int h, uint32_t rgb) {
    Image img{w, h, std::vector<uint8_t>(size_t(w) * size_t(h) * 4)};
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) img.set(x, y, rgb);
    return img;
}

constexpr uint32_t kBackground = 0x101018;

// Pixels per token side and tokens per pixel, so that n tokens fill at most `size` pixels.
struct Scale {
    int64_t cells;       // cells per side (<= size)
    int64_t tokens;      // tokens per cell (>= 1)
    int pixels;          // pixels per cell (>= 1)
};
Scale scale_for(int64_t n, int size) {
    if (n <= size) return {n, 1, std::max(1, int(size / n))};
    const int64_t t = (n + size - 1) / size;
    return {(n + t - 1) / t, t, 1};
}

void fill_cell(Image& img, const Scale& s, int64_t cx, int64_t cy, uint32_t rgb) {
    for (int dy = 0; dy < s.pixels; ++dy)
        for (int dx = 0; dx < s.pixels; ++dx) img.set(int(cx * s.pixels + dx), int(cy * s.pixels + dy), rgb);
}

}  // namespace

uint32_t colormap(double t) {
    // Viridis sampled at 9 stops, linearly interpolated.
    static const std::array<uint32_t, 9> stops = {0x440154, 0x472d7b, 0x3b528b, 0x2c728e, 0x21918c,
                                                  0x28ae80, 0x5ec962, 0xaddc30, 0xfde725};
    t = std::clamp(t, 0.0, 1.0) * double(stops.size() - 1);
    const size_t i = std::min(stops.size() - 2, size_t(t));
    const double f = t - double(i);
    uint32_t out = 0;
    for (int sh : {16, 8, 0}) {
        const double a = (stops[i] >> sh) & 255, b = (stops[i + 1] >> sh) & 255;
        out |= uint32_t(std::lround(a + (b - a) * f)) << sh;
    }
    return out;
}

Image render_mask(const HeadMask& mask, int size) {
    const int64_t n = mask.n();
    const Scale s = scale_for(n, size);
    Image img = blank(int(s.cells * s.pixels), int(s.cells * s.pixels), kBackground);
    std::vector<int64_t> counts(size_t(s.cells));
    std::vector<int32_t> keys;
    for (int64_t cy = 0; cy < s.cells; ++cy) {
        std::fill(counts.begin(), counts.end(), 0);
        const int64_t r0 = cy * s.tokens, r1 = std::min(n, r0 + s.tokens);
        for (int64_t i = r0; i < r1; ++i) {
            mask.row(i, keys);
            for (int32_t j : keys) ++counts[size_t(j / s.tokens)];
        }
        for (int64_t cx = 0; cx < s.cells; ++cx) {
            if (!counts[size_t(cx)]) continue;
            const int64_t cols = std::min(n, (cx + 1) * s.tokens) - cx * s.tokens;
            const double frac = double(counts[size_t(cx)]) / double((r1 - r0) * cols);
            // Any kept pair stays visible: the scale starts at 0.25.
            fill_cell(img, s, cx, cy, colormap(0.25 + 0.75 * frac));
        }
    }
    return img;
}

Image render_blocks(const BlockMask& bm, int head, int size) {
    const Scale s = scale_for(bm.num_blocks, size);
    Image img = blank(int(s.cells * s.pixels), int(s.cells * s.pixels), kBackground);
    const int h = bm.heads == 1 ? 0 : head;
    // Per cell keep the "strongest" class: full > partial > skipped.
    for (int64_t qb = 0; qb < bm.num_blocks; ++qb) {
        const size_t row = size_t(h) * size_t(bm.num_blocks) + size_t(qb);
        for (uint32_t e = bm.row_ptr[row]; e < bm.row_ptr[row + 1]; ++e) {
            const BlockEntry entry = decode_entry(bm.entries[2 * size_t(e)]);
            const uint32_t rgb = entry.partial ? 0xf0a030 : 0x40c070;
            const int64_t cx = entry.index / s.tokens, cy = qb / s.tokens;
            const uint8_t* p = &img.rgba[(size_t(cy * s.pixels) * size_t(img.width) + size_t(cx * s.pixels)) * 4];
            const bool already_full = p[0] == 0x40 && p[1] == 0xc0;
            if (!already_full) fill_cell(img, s, cx, cy, rgb);
        }
    }
    return img;
}

Image render_heatmap(AttentionEngine& engine, const BlockMask& bm, int head, int size) {
    const int64_t n = bm.n;
    const Scale s = scale_for(n, size);
    Viewport v{head, 0, 0, s.cells, s.cells, s.tokens};
    std::vector<float> p = engine.probabilities(&bm, v);
    Image img = blank(int(s.cells * s.pixels), int(s.cells * s.pixels), kBackground);
    // Log scale over 4 decades below the largest weight.
    float mx = 0;
    for (float x : p) mx = std::max(mx, x);
    for (int64_t cy = 0; cy < s.cells; ++cy)
        for (int64_t cx = 0; cx < s.cells; ++cx) {
            const float x = p[size_t(cy * s.cells + cx)];
            if (x <= 0) continue;
            const double t = 1.0 + std::log10(double(x) / double(mx)) / 4.0;
            fill_cell(img, s, cx, cy, colormap(std::max(0.02, t)));
        }
    return img;
}

Image render_hops(const std::vector<std::vector<Csr>>& stack, int size) {
    HopsGraph g(stack);
    const int64_t n = g.n();
    const Scale s = scale_for(n, size);
    Image img = blank(int(s.cells * s.pixels), int(s.cells * s.pixels), 0x000000);
    std::vector<std::vector<int>> rows(size_t(s.cells));
    int max_hops = 1;
    for (int64_t cy = 0; cy < s.cells; ++cy) {
        rows[size_t(cy)] = token_hops(g, cy * s.tokens).from;
        for (int h : rows[size_t(cy)]) max_hops = std::max(max_hops, h);
    }
    for (int64_t cy = 0; cy < s.cells; ++cy)
        for (int64_t cx = 0; cx < s.cells; ++cx) {
            const int h = rows[size_t(cy)][size_t(cx * s.tokens)];
            // Unreachable stays black; 0 hops (self) and near tokens bright, far ones dark.
            if (h >= 0) fill_cell(img, s, cx, cy, colormap(1.0 - double(h) / double(max_hops)));
        }
    return img;
}

void write_png(const std::string& path, const Image& image) {
    if (!stbi_write_png(path.c_str(), image.width, image.height, 4, image.rgba.data(), image.width * 4))
        throw InputError(path + ": cannot write PNG");
}

}  // namespace salab
