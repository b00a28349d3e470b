// Pattern -> mask. One pure path: a head's pattern becomes, row by row, the sorted set of keys
// each query keeps. Everything else (token CSR, block mask, export, hops) is built from rows,
// so nothing here allocates n x n.
#pragma once

#include "pattern.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace salab {

// Q and K of one head, row-major [n, d], needed by lsh and topk components.
struct HeadQK {
    std::span<const float> q;
    std::span<const float> k;
    int64_t d = 0;
};

// Keys [lo, hi) of one row, as HeadMask::row_runs gives them.
struct KeyRun {
    int32_t lo = 0, hi = 0;
    bool operator==(const KeyRun&) const = default;
};

// The rows [q0, q1) of one query block as the block-mask compiler reads them
// (HeadMask::query_block_runs). Row i = q0 + r keeps the union of
//   - `common`: keys every row of the range keeps (sorted, disjoint, non-touching runs), cut at
//     j <= i for causal heads;
//   - the band [i - band_left, i + band_right] (clipped to [0, n)) when band_left >= 0: the
//     windows of dilation 1, merged (band_right is 0 for causal heads);
//   - runs[ptr[r] .. ptr[r + 1]): what the other components keep for this row (sorted, merged,
//     causal cut applied).
struct QueryBlockRuns {
    std::vector<KeyRun> common;
    int64_t band_left = -1, band_right = -1;
    std::vector<KeyRun> runs;
    std::vector<int32_t> ptr;
};

// Precomputed per-head state (LSH buckets, top-k lists) so that rows are cheap.
// Construct once per head and n; row() and components_keeping() may then be called from several
// threads (the object is immutable after construction; copies share the state).
//
// Cost: row(i) is O(keys of the row, log of it) plus O(n / stride) for strided, O(n / block)
// for fixed and O(r log r) for seeded draws; nothing of size n is allocated for structural
// components, so n up to max_tokens works for window/global/random/strided/fixed/block/dense.
// lsh holds 3 int32 per token and round; topk holds k int32 per row and costs O(n^2 d) to build
// (threads are used).
//
// Exact definitions that DESIGN.md leaves to the engine (generators are in synthetic.h):
//   Row streams. The draw of row `row` uses SplitMix64{s} with
//       s = mix64(mix64(mix64(seed) ^ tag) + row);  s = mix64(s + 2 * count + causal)
//     random: tag 0x72616e646f6d ("random"), row = i, count = n.
//     block:  tag 0x626c6f636b ("block"),    row = I (block-row), count = num_blocks = ceil(n/b).
//   Draw of r distinct values of [0, m) (Floyd): if r >= m all of [0, m); else S = {} and for
//     t = m-r .. m-1: x = below(t + 1); add t if x is in S, else x.
//     random: m = n (causal: i + 1), values are keys.
//     block: for block-row I >= global_blocks, the candidates are, in ascending order,
//       [gb, I-wb-1] then [I+wb+1, lim-1] (lim = num_blocks, causal: I + 1); the draw picks
//       indices into that list. Block-rows I < global_blocks keep everything already.
//   lsh. Round r (0-based) uses key_r = mix64(mix64(mix64(seed) ^ 0x6c7368) + r) and
//     W_r[a][c] = gaussian_at(key_r, a * (B/2) + c), a in [0, d), c in [0, B/2), in double.
//     proj_c(x) = sum over a = 0, 1, ..., d-1 (in that order) of double(x_a) * W_r[a][c];
//     h_r(x) = the first index of the maximum of
//              [proj_0 .. proj_{B/2-1}, -proj_0 .. -proj_{B/2-1}].
//   topk. s_ij = sum over a = 0..d-1 (in order) of double(q_ia) * double(k_ja), NaN as -inf;
//     row i keeps min(k, lim) keys, best first by (larger s_ij, then smaller j).
class HeadMask {
public:
    // Validates head against n (as validate() does). Throws InputError when a component needs
    // Q/K and qk is empty or not of n * d floats each.
    HeadMask(const HeadPattern& head, int64_t n, const HeadQK& qk = {});

    int64_t n() const { return n_; }
    const HeadPattern& pattern() const { return head_; }

    // Sorted, unique keys of query i (causal already applied). Reuses `out`. i in [0, n), else
    // std::out_of_range.
    void row(int64_t i, std::vector<int32_t>& out) const;
    // The same keys as sorted, disjoint, non-touching ranges: windows, global rows, fixed and
    // block layouts come out as a few ranges instead of one entry per key (the block-mask
    // compiler's fast path).
    void row_runs(int64_t i, std::vector<KeyRun>& out) const;
    // The rows [q0, q1) of one query block split for the block-mask compiler (see
    // QueryBlockRuns): dense, global columns, fixed summaries and a fixed or block layout whose
    // block holds the whole range go to `common` once instead of once per row, windows of
    // dilation 1 to the band; global rows, dilated windows, random, strided, lsh and topk stay
    // per row. Reuses `out`.
    void query_block_runs(int64_t q0, int64_t q1, QueryBlockRuns& out) const;
    // Bit c set when component c keeps (i, j); 0 when the causal cut removes (i, j) or i or j is
    // outside [0, n).
    uint32_t components_keeping(int64_t i, int64_t j) const;
    bool kept(int64_t i, int64_t j) const { return components_keeping(i, j) != 0; }

    // Keys of query i kept by component c alone (sorted, causal applied): what one component
    // contributes to row(i), e.g. to colour a row by component. c < pattern().components.size().
    void component_row(size_t c, int64_t i, std::vector<int32_t>& out) const;
    // lsh component c: the buckets h_r of the queries (keys = false) or keys (keys = true),
    // indexed [r * n + token]. Empty for other component types.
    std::span<const int32_t> lsh_buckets(size_t c, bool keys) const;

    struct Impl;

private:
    HeadPattern head_;
    int64_t n_ = 0;
    std::shared_ptr<const Impl> impl_;
};

// The band a head pattern is, when it is only windows of dilation 1 (and dense components, a
// band of radius kDenseRadius): row i keeps keys [i - left, i + right] cut at [0, n) (left = the
// largest radius; right = the same, or 0 for a causal head). What AttentionEngine::run_band
// computes without a block mask.
inline constexpr int64_t kDenseRadius = int64_t(1) << 40;
struct Band {
    int64_t left = 0, right = 0;
    bool operator==(const Band&) const = default;
};
std::optional<Band> band_of(const HeadPattern& head);
// The band every one of these heads is (the same windows on all of them), else nullopt.
std::optional<Band> band_of(const std::vector<HeadMask>& heads);

// Token-exact compressed rows: keys of row i are cols[row_ptr[i] .. row_ptr[i+1]).
struct Csr {
    int64_t n = 0;
    std::vector<int64_t> row_ptr;  // n + 1
    std::vector<int32_t> cols;
    int64_t nnz() const { return row_ptr.empty() ? 0 : row_ptr.back(); }
    bool operator==(const Csr&) const = default;
};

Csr build_csr(const HeadMask& m);

// W_r of lsh component c for round r and head dimension d: d x B/2 doubles, row-major
// [a * (B/2) + col], the generator documented above. The one definition both the CPU masks and
// the GPU hashing kernel (content_kernels.cpp) use.
std::vector<double> lsh_projection(const Component& c, int64_t d, int64_t round);

// The seeded draws defined above, for tools that re-express a mask (exports):
// keys drawn by a random component for query i, ascending;
std::vector<int64_t> random_component_keys(const Component& c, int64_t i, int64_t n, bool causal);
// key blocks drawn by a block component for block-row I (blocks of c.block tokens), ascending.
std::vector<int64_t> block_component_random_blocks(const Component& c, int64_t I, int64_t n,
                                                   bool causal);

}  // namespace salab
