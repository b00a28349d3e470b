// Content-based components on the GPU: Reformer LSH buckets (lsh) and the top-k "indexer"
// pass (topk), the two components whose masks depend on Q and K. HeadMask (mask.h) computes
// the same on the CPU and is the oracle; these kernels return exactly what it returns.
//
// Usage:
//   ContentKernels ck(ctx);
//   auto t = ck.topk(q, k, n, d, 64, /*causal=*/true);   // t.keys [n, t.slots], t.gpu_ms
//   auto l = ck.lsh(q, k, n, d, component);               // l.q_buckets [rounds * n]
//   Csr rows = build_head_csr(ck, head_pattern, n, qk);   // whole head, content parts on GPU
//   BlockMask bm = compile_block_mask(std::vector<Csr>{rows});
//
// Exactness. The oracle scores and projects in double; the GPU works in float. Every float
// result comes with its margin (top-k: the k-th best score minus the best score left out;
// lsh: the best projection minus the second best), and the host redoes in double, exactly as
// mask.h defines, every row or token whose margin is within a rigorous bound of the float
// error (gamma_m * |x| * |w| by Cauchy-Schwarz, m = padded head dimension). So the results
// equal HeadMask's bit for bit; `refined` counts the rows/tokens the host redid (near-ties,
// about 1-2% of rows at n = 4096, d = 64; all of them for data with exact ties).
// With refine = false the raw float selection comes back (ties and near-ties may then differ
// from the oracle: each selected key's double score is within the bound of the k-th best).
//
// Throws InputError for bad shapes or problems too large for the device (with what to
// change), VulkanError when Vulkan fails.
#pragma once

#include "mask.h"
#include "pattern.h"
#include "vk_context.h"

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace salab {


class ContentKernels {
  public:
    explicit ContentKernels(VulkanContext& ctx);
    ~ContentKernels();
    ContentKernels(const ContentKernels&) = delete;
    ContentKernels& operator=(const ContentKernels&) = delete;

    struct TopkResult {
        int64_t n = 0;
        int64_t slots = 0;           // min(k, n): the row stride of `keys`
        std::vector<int32_t> keys;   // [n, slots]: row i's keys ascending, -1 past counts[i]
        std::vector<int32_t> counts; // min(k, i + 1) when causal, else min(k, n)
        double gpu_ms = 0.0;         // the indexer pass (scores + select), timestamp queries
        double score_ms = 0.0;       // of which the score kernel (q . k of every candidate)
        double select_ms = 0.0;      // of which the selection kernel
        int64_t refined = 0;         // rows re-selected in double on the host
    };
    // Row i keeps the kk largest q_i . k_j (causal: among j <= i), ties to the smaller j.
    // q, k: row-major [n, d] floats, d in [1, 256], kk >= 1 (kk >= n keeps every candidate).
    TopkResult topk(std::span<const float> q, std::span<const float> k, int64_t n, int64_t d,
                    int64_t kk, bool causal, bool refine = true);

    struct LshResult {
        int64_t n = 0;
        int64_t rounds = 0;
        int64_t buckets = 0;
        std::vector<int32_t> q_buckets, k_buckets; // [round * n + token], as HeadMask::lsh_buckets
        double gpu_ms = 0.0;                       // timestamp queries; 0 when the queue has none
        int64_t refined = 0; // (round, token) hashes redone in double on the host
    };
    // Buckets of lsh component c (c.type must be lsh) for the queries and keys of one head.
    LshResult lsh(std::span<const float> q, std::span<const float> k, int64_t n, int64_t d,
                  const Component& c, bool refine = true);

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

// Rows of a top-k result (its mask component), sorted.
Csr topk_csr(const ContentKernels::TopkResult& r);
// Rows of an lsh result: row i keeps j (j <= i when causal) when some round puts q_i and k_j in
// the same bucket.
Csr lsh_csr(const ContentKernels::LshResult& r, bool causal);
// Row-wise union of two CSRs of the same n (rows sorted and unique in, sorted and unique out).
Csr unite_csr(const Csr& a, const Csr& b);

// GPU time and host re-checks spent on a head's content components.
struct ContentStats {
    double gpu_ms = 0.0;
    int64_t refined = 0;
};
// The token CSR of one head: structural components through HeadMask, lsh/topk through the
// kernels above; equal to build_csr(HeadMask(head, n, qk)). Throws as HeadMask and the kernels.
Csr build_head_csr(ContentKernels& kernels, const HeadPattern& head, int64_t n, const HeadQK& qk,
                   ContentStats* stats = nullptr);

} // namespace salab
