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

// --- figure panels ----------------------------------------------------------------------------

#include "figure.h"

namespace salab {

namespace {

std::string count_str(int64_t v) { return grouped_count(v); }
std::string pct(double f) { return percent_label(f); }

CellGrid8 grid_of(const Image& img, int64_t cells, int pixels) {
    CellGrid8 g{int(cells), int(cells), {}};
    g.colors.reserve(size_t(cells * cells));
    for (int64_t cy = 0; cy < cells; ++cy)
        for (int64_t cx = 0; cx < cells; ++cx) {
            const uint8_t* p = &img.rgba[(size_t(cy * pixels) * size_t(img.width) + size_t(cx * pixels)) * 4];
            g.colors.push_back(Rgb8{p[0], p[1], p[2]});
        }
    return g;
}

std::string components_note(const HeadPattern& hp) {
    std::string s;
    for (const Component& c : hp.components) s += (s.empty() ? "" : " + ") + std::string(to_string(c.type));
    return (hp.causal ? "causal " : "") + (s.empty() ? std::string("(no components)") : s);
}

}  // namespace

PanelData mask_panel(const std::string& name, const HeadMask& mask, int cells, int head) {
    const int64_t n = mask.n();
    const Scale s = scale_for(n, cells);
    const Image img = render_mask(mask, cells);
    PanelData p;
    p.grid = grid_of(img, s.cells, s.pixels);
    p.extent = s.cells * s.tokens;
    p.title = name + ": mask, n = " + count_str(n) + (head ? ", head " + std::to_string(head) : "");
    const PairCount pc = count_pairs(mask, 0, n, 0, n);
    p.caption = "density " + pct(double(pc.kept) / double(std::max<int64_t>(1, pc.pairs))) + "  |  " +
                count_str(pc.kept) + " of " + count_str(pc.pairs) + " pairs kept  |  " +
                count_str(n ? pc.kept / n : 0) + " keys per query on average";
    if (s.tokens == 1) {
        p.legend.title = "query i reads key j?";
        p.legend.swatches = {{sequential_rgb(mask_density_shade(1.0f)), "kept"}, {kEmptyRgb, "not kept"}};
    } else {
        p.legend.title = "kept share of the " + std::to_string(s.tokens) + "x" + std::to_string(s.tokens) + " pairs per cell";
        p.legend.bar.push_back(kEmptyRgb);
        for (int k = 1; k <= 63; ++k) p.legend.bar.push_back(sequential_rgb(mask_density_shade(float(k) / 63.0f)));
        p.legend.bar_ticks = {{0.0, "0 (none)"}, {0.25, "25%"}, {0.5, "50%"}, {0.75, "75%"}, {1.0, "100%"}};
    }
    p.legend.notes.push_back(components_note(mask.pattern()));
    return p;
}

PanelData blocks_panel(const std::string& name, const BlockMask& bm, int head, int cells) {
    const Scale s = scale_for(bm.num_blocks, cells);
    const Image img = render_blocks(bm, head, cells);
    PanelData p;
    p.grid = grid_of(img, s.cells, s.pixels);
    p.extent = s.cells * s.tokens * bm.block;
    p.x_label = "key j";
    p.y_label = "query i";
    p.title = name + ": kernel blocks of " + std::to_string(bm.block) + ", n = " + count_str(bm.n);
    const int h = bm.heads == 1 ? 0 : head;
    int64_t full = 0, partial = 0;
    for (int64_t qb = 0; qb < bm.num_blocks; ++qb) {
        const size_t row = size_t(h) * size_t(bm.num_blocks) + size_t(qb);
        for (uint32_t e = bm.row_ptr[row]; e < bm.row_ptr[row + 1]; ++e)
            (decode_entry(bm.entries[2 * size_t(e)]).partial ? partial : full) += 1;
    }
    const int64_t total = bm.num_blocks * bm.num_blocks;
    p.caption = count_str(full + partial) + " of " + count_str(total) + " blocks visited (" +
                pct(double(full + partial) / double(std::max<int64_t>(1, total))) + "): " + count_str(full) + " full, " +
                count_str(partial) + " partial";
    p.legend.title = "block kind";
    p.legend.swatches = {{kBlockFullRgb, "full (no per-pair test)"},
                         {kBlockPartialRgb, "partial (bitmask)"},
                         {kEmptyRgb, "skipped (not visited)"}};
    if (s.tokens > 1) p.legend.notes.push_back(std::to_string(s.tokens) + "x" + std::to_string(s.tokens) + " blocks per cell: strongest kind");
    return p;
}

PanelData heatmap_panel(const std::string& name, AttentionEngine& engine, const BlockMask& bm, int head, int cells) {
    const Scale s = scale_for(bm.n, cells);
    const Image img = render_heatmap(engine, bm, head, cells);
    PanelData p;
    p.grid = grid_of(img, s.cells, s.pixels);
    p.extent = s.cells * s.tokens;
    p.title = name + ": softmax weights, n = " + count_str(bm.n) + (head ? ", head " + std::to_string(head) : "");
    p.caption = std::string("sparse attention weights (synthetic Q/K)") +
                (s.tokens > 1 ? ", row and key every " + std::to_string(s.tokens) + " tokens" : "") + "; dark = not kept";
    p.legend.title = "weight / row max (log)";
    p.legend.bar.push_back(kEmptyRgb);
    for (int k = 1; k <= 63; ++k) p.legend.bar.push_back(sequential_rgb(float(std::max(0.02, double(k) / 63.0))));
    p.legend.bar_ticks = {{1.0, "max"}, {0.75, "1e-1 max"}, {0.5, "1e-2 max"}, {0.25, "1e-3 max"}, {0.0, "<= 1e-4 / none"}};
    return p;
}

PanelData hops_panel(const std::string& name, const std::vector<std::vector<Csr>>& stack, int cells) {
    const int64_t n = stack.empty() || stack[0].empty() ? 0 : stack[0][0].n;
    const Scale s = scale_for(n, cells);
    const Image img = render_hops(stack, cells);
    PanelData p;
    p.grid = grid_of(img, s.cells, s.pixels);
    p.extent = s.cells * s.tokens;
    p.x_label = "to token i";
    p.y_label = "from token j";
    p.title = name + ": layers from j to i, n = " + count_str(n);
    // The colours present, read back as hop counts (hop_rgb is one-to-one for h <= max).
    int max_h = 0;
    bool never = false;
    HopsGraph g(stack);
    for (int64_t cy = 0; cy < s.cells; ++cy)
        for (int h : token_hops(g, cy * s.tokens).from) {
            max_h = std::max(max_h, h);
            never = never || h < 0;
        }
    p.legend.title = "hops (layers)";
    p.legend.swatches.push_back({hop_rgb(0, std::max(1, max_h)), "0 (itself)"});
    const int shown = std::min(max_h, 8);
    for (int h = 1; h <= shown; ++h) {
        const int hh = shown < max_h ? int(std::lround(1 + double(h - 1) * (max_h - 1) / std::max(1, shown - 1))) : h;
        p.legend.swatches.push_back({hop_rgb(hh, std::max(1, max_h)), std::to_string(hh)});
    }
    if (never) p.legend.swatches.push_back({hop_rgb(-1, max_h), "never"});
    p.caption = "most hops " + std::to_string(max_h) + (never ? ", some pairs never connect" : "") +
                (s.tokens > 1 ? " (sources and targets every " + std::to_string(s.tokens) + " tokens)" : "") + ", " +
                std::to_string(stack.size()) + "-layer stack";
    return p;
}

}  // namespace salab
