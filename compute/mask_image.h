// Mask -> image: each pixel holds the fraction of the token pairs it covers that the mask keeps,
// so n = 65,536 stays readable. Built from HeadMask rows (never n x n), on the caller's thread
// plus `threads` helpers; meant for the app's worker thread, never the frame loop.
#pragma once

#include "mask.h"

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace salab {

// An integer token rectangle: rows [row0, row0 + rows), keys [col0, col0 + cols).
struct TokenRect {
    int64_t row0 = 0, col0 = 0, rows = 0, cols = 0;
    bool empty() const { return rows <= 0 || cols <= 0; }
    bool operator==(const TokenRect&) const = default;
};

struct DensityImage {
    TokenRect region;   // the tokens the image covers
    int w = 0, h = 0;   // pixels; pixel (x, y) covers the pixel's share of `region`
    std::vector<float> density;                  // w * h, in [0, 1]
    std::vector<std::vector<float>> components;  // per component, same shape (when asked)
    // When a pixel covers more query rows than `max_rows_per_pixel`, evenly spaced rows are
    // sampled: the densities are then estimates.
    bool sampled = false;
    int64_t rows_per_pixel = 0;  // most query rows one pixel covers
    int64_t rows_visited = 0;    // most query rows counted per pixel (< rows_per_pixel: sampled)
};

// The cells an image of w x h pixels over `region` is counted at: the floor partition of the
// region into min(w, cols) x min(h, rows) cells (never more cells than tokens); cell (cx, cy)
// covers keys [col0 + cell_begin(cx, cols, cw), col0 + cell_begin(cx + 1, cols, cw)) and rows
// likewise. The GPU kernel (AttentionEngine::mask_density with a DensityGrid) counts the same
// cells, so both paths give the same image.
struct CellGrid {
    int64_t cw = 0, ch = 0;
};
CellGrid cell_grid(const TokenRect& region, int w, int h);

// The image from cell densities (ch x cw, row-major), expanded nearest-neighbour to w x h
// pixels; `rows_visited`: the most query rows counted per cell (sampled when fewer than the
// cell has).
DensityImage image_from_cells(const TokenRect& region, int w, int h, const CellGrid& grid,
                              std::vector<float> cells, int64_t rows_visited);

// Kept pairs in rows [row0, row1) x keys [col0, col1), counted exactly from the mask's rows
// (the tooltip's number; one row generation per query row).
struct PairCount {
    int64_t kept = 0, pairs = 0;
};
PairCount count_pairs(const HeadMask& mask, int64_t row0, int64_t row1, int64_t col0, int64_t col1);

struct AggregateOptions {
    int max_rows_per_pixel = 8;
    int threads = 2;
    std::function<bool()> cancelled;  // checked often; returns an empty image when true
};

// `components` (may be empty): one HeadMask per component of the head, in order; each gets its
// own density plane in DensityImage::components.
DensityImage aggregate_mask(const HeadMask& mask, const TokenRect& region, int w, int h,
                            std::span<const HeadMask> components = {},
                            const AggregateOptions& options = {});

// Index of the cell of [0, count) cells partitioning `len` items that holds item `k`
// (cell c holds items [floor(c*len/count), floor((c+1)*len/count))).
inline int64_t cell_of(int64_t k, int64_t len, int64_t count) { return ((k + 1) * count - 1) / len; }
inline int64_t cell_begin(int64_t c, int64_t len, int64_t count) { return c * len / count; }

}  // namespace salab
