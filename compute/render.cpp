#include "render.h"

#include "file_io.h"
#include "hops.h"
#include "mask_image.h"

#include <stb/stb_image_write.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace salab {

void Image::set(int x, int y, Rgb8 c) {
    uint8_t* p = &rgba[(size_t(y) * size_t(width) + size_t(x)) * 4];
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
    p[3] = 255;
}

namespace {

Image blank(int w, int h, Rgb8 rgb) {
    Image img{w, h, std::vector<uint8_t>(size_t(w) * size_t(h) * 4)};
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) img.set(x, y, rgb);
    return img;
}


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

void fill_cell(Image& img, const Scale& s, int64_t cx, int64_t cy, Rgb8 rgb) {
    for (int dy = 0; dy < s.pixels; ++dy)
        for (int dx = 0; dx < s.pixels; ++dx) img.set(int(cx * s.pixels + dx), int(cy * s.pixels + dy), rgb);
}

}  // namespace

Image render_mask(const HeadMask& mask, int size) {
    const int64_t n = mask.n();
    const Scale s = scale_for(n, size);
    Image img = blank(int(s.cells * s.pixels), int(s.cells * s.pixels), kEmptyRgb);
    // The GUI's aggregation and colours, every row counted (a file should be exact).
    AggregateOptions ao;
    ao.max_rows_per_pixel = int(std::min<int64_t>(s.tokens, 1 << 30));
    const DensityImage d = aggregate_mask(mask, TokenRect{0, 0, n, n}, int(s.cells), int(s.cells), {}, ao);
    for (int64_t cy = 0; cy < s.cells; ++cy)
        for (int64_t cx = 0; cx < s.cells; ++cx) {
            const float f = d.density[size_t(cy * s.cells + cx)];
            if (f > 0.0f) fill_cell(img, s, cx, cy, sequential_rgb(mask_density_shade(f)));
        }
    return img;
}

Image render_blocks(const BlockMask& bm, int head, int size) {
    const Scale s = scale_for(bm.num_blocks, size);
    Image img = blank(int(s.cells * s.pixels), int(s.cells * s.pixels), kEmptyRgb);
    const int h = bm.heads == 1 ? 0 : head;
    // Per cell keep the "strongest" class: full > partial > skipped.
    for (int64_t qb = 0; qb < bm.num_blocks; ++qb) {
        const size_t row = size_t(h) * size_t(bm.num_blocks) + size_t(qb);
        for (uint32_t e = bm.row_ptr[row]; e < bm.row_ptr[row + 1]; ++e) {
            const BlockEntry entry = decode_entry(bm.entries[2 * size_t(e)]);
            const bool partial = entry.partial;
            const int64_t kb = entry.index;
            const int64_t cx = kb / s.tokens, cy = qb / s.tokens;
            const uint8_t* p = &img.rgba[(size_t(cy * s.pixels) * size_t(img.width) + size_t(cx * s.pixels)) * 4];
            const bool already_full = Rgb8{p[0], p[1], p[2]} == kBlockFullRgb;
            if (!already_full) fill_cell(img, s, cx, cy, partial ? kBlockPartialRgb : kBlockFullRgb);
        }
    }
    return img;
}

Image render_heatmap(AttentionEngine& engine, const BlockMask& bm, int head, int size) {
    const int64_t n = bm.n;
    const Scale s = scale_for(n, size);
    Viewport v{head, 0, 0, s.cells, s.cells, s.tokens};
    std::vector<float> p = engine.probabilities(&bm, v);
    Image img = blank(int(s.cells * s.pixels), int(s.cells * s.pixels), kEmptyRgb);
    // Log scale over 4 decades below the largest weight.
    float mx = 0;
    for (float x : p) mx = std::max(mx, x);
    for (int64_t cy = 0; cy < s.cells; ++cy)
        for (int64_t cx = 0; cx < s.cells; ++cx) {
            const float x = p[size_t(cy * s.cells + cx)];
            if (x <= 0) continue;
            const double t = 1.0 + std::log10(double(x) / double(mx)) / 4.0;
            fill_cell(img, s, cx, cy, sequential_rgb(float(std::max(0.02, t))));
        }
    return img;
}

Image render_hops(const std::vector<std::vector<Csr>>& stack, int size) {
    HopsGraph g(stack);
    const int64_t n = g.n();
    const Scale s = scale_for(n, size);
    Image img = blank(int(s.cells * s.pixels), int(s.cells * s.pixels), Rgb8{0, 0, 0});
    std::vector<std::vector<int>> rows(size_t(s.cells));
    int max_hops = 1;
    for (int64_t cy = 0; cy < s.cells; ++cy) {
        rows[size_t(cy)] = token_hops(g, cy * s.tokens).from;
        for (int h : rows[size_t(cy)]) max_hops = std::max(max_hops, h);
    }
    for (int64_t cy = 0; cy < s.cells; ++cy)
        for (int64_t cx = 0; cx < s.cells; ++cx) {
            const int h = rows[size_t(cy)][size_t(cx * s.tokens)];
            // The GUI's hop colours: 0 hops (self) white, near tokens bright, far ones dark, never dark red.
            fill_cell(img, s, cx, cy, hop_rgb(h, max_hops));
        }
    return img;
}

void write_png(const std::string& path, const Image& image) {
    // Encoded in memory, then written atomically with every write checked (stb's own file
    // writer ignores write errors: `--out /dev/full` would succeed).
    std::string png;
    auto append = [](void* ctx, void* data, int size) {
        static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), size_t(size));
    };
    if (image.width < 1 || image.height < 1 ||
        !stbi_write_png_to_func(append, &png, image.width, image.height, 4, image.rgba.data(), image.width * 4))
        throw InputError(path + ": cannot encode PNG");
    check_output_space(path, png.size(), "png", "free some space or write elsewhere");
    write_file_atomic(path, png, "png");
}

}  // namespace salab
