#include "neighbourhood.h"

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <tuple>

namespace salab {

Neighbourhood token_neighbourhood(std::span<const HeadMask> heads, int64_t token, int max_depth, size_t max_edges) {
    Neighbourhood out;
    if (heads.empty()) return out;
    const int64_t n = heads[0].n();
    if (token < 0 || token >= n) return out;
    std::vector<int> depth_of(size_t(n), -1);
    depth_of[size_t(token)] = 0;
    std::vector<int32_t> frontier{int32_t(token)}, next, keys;
    std::vector<std::pair<int32_t, uint32_t>> row;  // key, head index
    for (int d = 1; d <= max_depth && !frontier.empty(); ++d) {
        next.clear();
        for (int32_t i : frontier) {
            row.clear();
            for (size_t h = 0; h < heads.size(); ++h) {
                heads[h].row(i, keys);
                for (int32_t j : keys)
                    if (j != i) row.emplace_back(j, uint32_t(h));
            }
            // Heads united: each key once, credited to the first head that keeps it.
            std::sort(row.begin(), row.end());
            row.erase(
                std::unique(row.begin(), row.end(), [](const auto& a, const auto& b) { return a.first == b.first; }),
                row.end());
            for (const auto& [j, h] : row) {
                const uint32_t bits = heads[h].components_keeping(i, j);
                const int comp = bits ? std::countr_zero(bits) : 0;
                out.edges.push_back({j, i, d, comp});
                if (depth_of[size_t(j)] < 0) depth_of[size_t(j)] = d, next.push_back(j);
                if (out.edges.size() >= max_edges) {
                    out.truncated = true;
                    return out;
                }
            }
        }
        std::sort(next.begin(), next.end());
        frontier.swap(next);
    }
    return out;
}

TokenBins::TokenBins(int64_t n, int64_t max_bins)
    : n_(std::max<int64_t>(1, n)), bins_(int(std::clamp<int64_t>(max_bins, 1, n_))) {}

std::vector<BinnedArc> bin_arcs(std::span<const NeighbourhoodEdge> edges, const TokenBins& bins) {
    std::vector<BinnedArc> keyed;
    keyed.reserve(edges.size());
    for (const NeighbourhoodEdge& e : edges) {
        if (e.from < 0 || e.to < 0 || e.from >= bins.n() || e.to >= bins.n())
            throw std::out_of_range("bin_arcs: edge " + std::to_string(e.from) + " -> " + std::to_string(e.to) +
                                    " outside [0, " + std::to_string(bins.n()) + ")");
        keyed.push_back({bins.bin_of(e.from), bins.bin_of(e.to), e.depth, e.component, 1});
    }
    const auto key = [](const BinnedArc& a) { return std::tie(a.depth, a.from_bin, a.to_bin, a.component); };
    std::sort(keyed.begin(), keyed.end(), [&](const BinnedArc& a, const BinnedArc& b) { return key(a) < key(b); });
    std::vector<BinnedArc> out;
    for (const BinnedArc& a : keyed) {
        if (!out.empty() && key(out.back()) == key(a))
            ++out.back().count;
        else
            out.push_back(a);
    }
    std::sort(out.begin(), out.end(), [&](const BinnedArc& a, const BinnedArc& b) {
        if (a.depth != b.depth) return a.depth < b.depth;
        if (a.count != b.count) return a.count > b.count;
        return key(a) < key(b);
    });
    return out;
}

}  // namespace salab
