// Pattern -> mask. One pure path: a head's pattern becomes, row by row, the sorted set of keys
// each query keeps. Everything else (token CSR, block mask, export, hops) is built from rows,
// so nothing here allocates n x n.
#pragma once

#include "pattern.h"

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace salab {

// Q and K of one head, row-major [n, d], needed by lsh and topk components.
struct HeadQK {
    std::span<const float> q;
    std::span<const float> k;
    int64_t d = 0;
};

// Precomputed per-head state (random tables, LSH buckets, top-k lists) so that rows are cheap.
// Construct once per head and n; rows() may then be called from several threads.
class HeadMask {
public:
    // Throws InputError when a component needs Q/K and qk is empty or of the wrong size.
    HeadMask(const HeadPattern& head, int64_t n, const HeadQK& qk = {});

    int64_t n() const { return n_; }
    const HeadPattern& pattern() const { return head_; }

    // Sorted, unique keys of query i (causal already applied). Reuses `out`.
    void row(int64_t i, std::vector<int32_t>& out) const;
    // Bit c set when component c keeps (i, j) (before the causal cut; 0 if causal removes it).
    uint32_t components_keeping(int64_t i, int64_t j) const;
    bool kept(int64_t i, int64_t j) const { return components_keeping(i, j) != 0; }

    struct Impl;

private:
    HeadPattern head_;
    int64_t n_ = 0;
    std::shared_ptr<const Impl> impl_;
};

// Token-exact compressed rows: keys of row i are cols[row_ptr[i] .. row_ptr[i+1]).
struct Csr {
    int64_t n = 0;
    std::vector<int64_t> row_ptr;  // n + 1
    std::vector<int32_t> cols;
    int64_t nnz() const { return row_ptr.empty() ? 0 : row_ptr.back(); }
    bool operator==(const Csr&) const = default;
};

Csr build_csr(const HeadMask& m);

}  // namespace salab
