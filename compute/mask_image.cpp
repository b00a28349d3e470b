#include "mask_image.h"

#include <algorithm>
#include <atomic>
#include <thread>

namespace salab {

namespace {

// Counts kept pairs of `mask` per cell over the sampled rows of cell rows [cy0, cy1).
void count_rows(const HeadMask& mask, const TokenRect& r, int64_t cw, int64_t ch, int max_rows,
                int64_t cy0, int64_t cy1, std::vector<float>& out, const std::function<bool()>& cancelled,
                std::atomic<bool>& stop) {
    // Rows are counted by key runs: a run adds its partial edge cells directly and its whole
    // cells to a difference array, so a dense row costs O(1), not O(n) (render of dense
    // n = 1,000,000 counts every row in a fraction of a second).
    std::vector<KeyRun> runs;
    std::vector<int64_t> counts(static_cast<size_t>(cw)), whole(static_cast<size_t>(cw) + 1);
    const int64_t col_end = r.col0 + r.cols;
    for (int64_t cy = cy0; cy < cy1; ++cy) {
        if (stop.load(std::memory_order_relaxed)) return;
        if (cancelled && cancelled()) {
            stop = true;
            return;
        }
        const int64_t q0 = r.row0 + cell_begin(cy, r.rows, ch);
        const int64_t q1 = r.row0 + cell_begin(cy + 1, r.rows, ch);
        const int64_t covered = q1 - q0;
        const int64_t samples = std::min<int64_t>(covered, max_rows);
        std::fill(counts.begin(), counts.end(), 0);
        std::fill(whole.begin(), whole.end(), 0);
        for (int64_t s = 0; s < samples; ++s) {
            // Evenly spaced rows, centred in their share of the cell.
            const int64_t i = q0 + (2 * s + 1) * covered / (2 * samples);
            mask.row_runs(i, runs);
            for (const KeyRun& run : runs) {
                const int64_t lo = std::max<int64_t>(run.lo, r.col0) - r.col0;
                const int64_t hi = std::min<int64_t>(run.hi, col_end) - r.col0;
                if (lo >= hi) continue;
                const int64_t c0 = cell_of(lo, r.cols, cw), c1 = cell_of(hi - 1, r.cols, cw);
                if (c0 == c1) {
                    counts[size_t(c0)] += hi - lo;
                    continue;
                }
                counts[size_t(c0)] += cell_begin(c0 + 1, r.cols, cw) - lo;
                counts[size_t(c1)] += hi - cell_begin(c1, r.cols, cw);
                ++whole[size_t(c0 + 1)];
                --whole[size_t(c1)];
            }
        }
        float* row = out.data() + cy * cw;
        int64_t covering = 0;  // sampled rows that keep all of cell cx
        for (int64_t cx = 0; cx < cw; ++cx) {
            const int64_t width = cell_begin(cx + 1, r.cols, cw) - cell_begin(cx, r.cols, cw);
            covering += whole[size_t(cx)];
            counts[size_t(cx)] += covering * width;
            row[cx] = samples > 0 ? float(double(counts[size_t(cx)]) / double(samples * width)) : 0.0f;
        }
    }
}

std::vector<float> cells_of(const HeadMask& mask, const TokenRect& r, int64_t cw, int64_t ch,
                            const AggregateOptions& o, std::atomic<bool>& stop) {
    std::vector<float> cells(size_t(cw * ch), 0.0f);
    const int threads = std::max(1, o.threads);
    if (threads == 1 || ch < 16) {
        count_rows(mask, r, cw, ch, o.max_rows_per_pixel, 0, ch, cells, o.cancelled, stop);
        return cells;
    }
    // Interleaved chunks of cell rows so that uneven rows (global tokens) spread over threads.
    std::atomic<int64_t> next{0};
    constexpr int64_t chunk = 8;
    auto work = [&] {
        for (int64_t c; (c = next.fetch_add(chunk)) < ch && !stop;)
            count_rows(mask, r, cw, ch, o.max_rows_per_pixel, c, std::min(ch, c + chunk), cells,
                       // only the calling thread may run the callback (it may not be thread safe)
                       nullptr, stop);
    };
    {
        std::vector<std::jthread> pool;
        for (int t = 1; t < threads; ++t) pool.emplace_back(work);
        for (int64_t c; (c = next.fetch_add(chunk)) < ch && !stop;) {
            count_rows(mask, r, cw, ch, o.max_rows_per_pixel, c, std::min(ch, c + chunk), cells,
                       o.cancelled, stop);
        }
    }
    return cells;
}

// Nearest-neighbour expansion of a cw x ch cell grid to w x h pixels (when zoomed in, one
// token spans several pixels; expanding here keeps edges crisp under linear filtering).
std::vector<float> expand(const std::vector<float>& cells, int64_t cw, int64_t ch, int w, int h) {
    if (cw == w && ch == h) return cells;
    std::vector<float> out(size_t(w) * size_t(h));
    for (int y = 0; y < h; ++y) {
        const int64_t cy = int64_t(y) * ch / h;
        for (int x = 0; x < w; ++x) out[size_t(y) * size_t(w) + size_t(x)] = cells[size_t(cy * cw + int64_t(x) * cw / w)];
    }
    return out;
}

}  // namespace

CellGrid cell_grid(const TokenRect& region, int w, int h) {
    if (region.empty() || w <= 0 || h <= 0) return {};
    return {std::min<int64_t>(w, region.cols), std::min<int64_t>(h, region.rows)};
}

DensityImage image_from_cells(const TokenRect& region, int w, int h, const CellGrid& grid,
                              std::vector<float> cells, int64_t rows_visited) {
    DensityImage img;
    if (region.empty() || w <= 0 || h <= 0 || grid.cw <= 0 || grid.ch <= 0 ||
        cells.size() != size_t(grid.cw) * size_t(grid.ch))
        return img;
    img.region = region;
    img.w = w;
    img.h = h;
    img.rows_per_pixel = (region.rows + grid.ch - 1) / grid.ch;
    img.rows_visited = std::min(img.rows_per_pixel, std::max<int64_t>(1, rows_visited));
    img.sampled = img.rows_visited < img.rows_per_pixel;
    img.density = expand(cells, grid.cw, grid.ch, w, h);
    return img;
}

PairCount count_pairs(const HeadMask& mask, int64_t row0, int64_t row1, int64_t col0, int64_t col1) {
    PairCount pc;
    const int64_t n = mask.n();
    row0 = std::clamp<int64_t>(row0, 0, n), row1 = std::clamp<int64_t>(row1, row0, n);
    col0 = std::clamp<int64_t>(col0, 0, n), col1 = std::clamp<int64_t>(col1, col0, n);
    pc.pairs = (row1 - row0) * (col1 - col0);
    // By runs, not keys: a dense row of a million keys is one run.
    std::vector<KeyRun> runs;
    for (int64_t i = row0; i < row1; ++i) {
        mask.row_runs(i, runs);
        for (const KeyRun& r : runs) pc.kept += std::max<int64_t>(0, std::min<int64_t>(r.hi, col1) - std::max<int64_t>(r.lo, col0));
    }
    return pc;
}

DensityImage aggregate_mask(const HeadMask& mask, const TokenRect& region, int w, int h,
                            std::span<const HeadMask> components, const AggregateOptions& options) {
    const CellGrid g = cell_grid(region, w, h);
    if (g.cw <= 0) return {};
    std::atomic<bool> stop{false};
    std::vector<float> cells = cells_of(mask, region, g.cw, g.ch, options, stop);
    std::vector<std::vector<float>> comp_cells;
    for (const HeadMask& c : components) {
        if (stop) break;
        comp_cells.push_back(cells_of(c, region, g.cw, g.ch, options, stop));
    }
    if (stop) return {};
    DensityImage img = image_from_cells(region, w, h, g, std::move(cells), options.max_rows_per_pixel);
    for (auto& c : comp_cells) img.components.push_back(expand(c, g.cw, g.ch, w, h));
    return img;
}

}  // namespace salab
