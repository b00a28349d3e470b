// A token's hop neighbourhood as edges (what the hop view's arc diagram draws) and the same
// edges aggregated into token bins, so that a diagram of n = 4,096 tokens on 600 pixels draws a
// few hundred arcs weighted by count instead of tens of thousands of overlapping ones. No UI code.
//
//   Neighbourhood nb = token_neighbourhood(heads, 500, 2);      // edges into 500 within 2 hops
//   TokenBins bins(n, canvas_px / 3);                            // at most one bin per 3 pixels
//   std::vector<BinnedArc> arcs = bin_arcs(nb.edges, bins);      // counts add up to edges.size()
#pragma once

#include "mask.h"

#include <cstdint>
#include <span>
#include <vector>

namespace salab {

struct NeighbourhoodEdge {
    int32_t from = 0, to = 0;  // key j -> query i (an edge of the layer's graph, heads united)
    int depth = 1;             // 1: into the token itself, 2: into its 1-hop keys, ...
    int component = 0;         // lowest component index (of the first head keeping it) that keeps it
    bool operator==(const NeighbourhoodEdge&) const = default;
};

struct Neighbourhood {
    std::vector<NeighbourhoodEdge> edges;  // by depth, then query, then key; no edge twice, no j -> j
    bool truncated = false;                // max_edges was reached: deeper edges are missing
};

// Breadth-first from `token` along the keys each query reads (union over `heads`): depth 1 holds
// the edges j -> token, depth d the edges into every token first reached at depth d - 1.
// Stops after max_edges edges (truncated). token outside [0, n) or no heads: empty.
Neighbourhood token_neighbourhood(std::span<const HeadMask> heads, int64_t token, int max_depth,
                                  size_t max_edges = 200000);

// n tokens cut into `bins` contiguous ranges of near-equal size: bin b holds the tokens
// [start(b), start(b + 1)); bins = clamp(max_bins, 1, n) (one token per bin when they fit).
class TokenBins {
public:
    TokenBins(int64_t n, int64_t max_bins);
    int64_t n() const { return n_; }
    int bins() const { return bins_; }
    int bin_of(int64_t token) const { return int(token * bins_ / n_); }  // token in [0, n)
    int64_t start(int b) const { return (int64_t(b) * n_ + bins_ - 1) / bins_; }
    int64_t size(int b) const { return start(b + 1) - start(b); }
    double center(int b) const { return 0.5 * double(start(b) + start(b + 1) - 1); }  // in tokens

private:
    int64_t n_ = 1;
    int bins_ = 1;
};

struct BinnedArc {
    int from_bin = 0, to_bin = 0;
    int depth = 1;
    int component = 0;
    int64_t count = 0;  // edges of this depth and component from from_bin's tokens to to_bin's
    bool operator==(const BinnedArc&) const = default;
};

// The edges grouped by (depth, from bin, to bin, component). Sorted by depth ascending, then
// count descending, then bins: a drawer that keeps the first k of a depth keeps its heaviest.
// The counts add up to edges.size(); an edge whose tokens lie outside [0, n) throws
// std::out_of_range.
std::vector<BinnedArc> bin_arcs(std::span<const NeighbourhoodEdge> edges, const TokenBins& bins);

}  // namespace salab
