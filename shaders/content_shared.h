// Shared by C++ (compute/content_kernels.cpp) and GLSL (lsh_hash.comp, topk_scores.comp,
// topk_select.comp): bindings, sizes and the push-constant block of the content kernels, which
// compute the Q/K-dependent components (lsh buckets, top-k lists) on the GPU.
#ifndef SALAB_CONTENT_SHARED_H
#define SALAB_CONTENT_SHARED_H

#ifndef __cplusplus
#define SALAB_OWN_PUSH_CONSTANTS  // shared.h's constants without its AttnPush block
#endif
#include "shared.h"  // SALAB_CONST and salab::gpu::uint

#ifdef __cplusplus
namespace salab::gpu {
#endif

// Tokens (lsh) or query rows (top-k scores) per workgroup, one per invocation: 64 fills a
// subgroup on every desktop GPU and is lavapipe's SIMD width times 8.
SALAB_CONST kContentRows = 64u;
// Keys one top-k score workgroup covers (its grid's y dimension walks the key chunks). Bounds
// the keys one invocation loops over: lavapipe (Mesa 22.3) silently leaves loops after 65535
// non-unrolled iterations per invocation, and 2048 keys in steps of 8 are 256 iterations.
SALAB_CONST kScoreKeyChunk = 2048u;
// Keys scored per loop step of the score kernel (inner loop unrolled).
SALAB_CONST kScoreTile = 8u;
// Invocations of a top-k select workgroup (one workgroup per query row) == bins of the 8-bit
// radix digit histogram, so every invocation owns one bin. A row of n keys costs each
// invocation about 6 * n / 256 loop steps (n = 2^21 stays under lavapipe's budget).
SALAB_CONST kSelectThreads = 256u;
// Candidates the select kernel's fast path (k <= kSelectThreads) keeps in shared memory: the
// keys scoring at least the k-th best of the 256 segment maxima, typically 1.5-3 k of them.
// More (ties, k near 256) fall back to the radix select over the whole row.
SALAB_CONST kSelectCandidates = 1024u;

// Bindings (one descriptor set layout of kContentBindings storage buffers for all kernels).
SALAB_CONST kContentBindings = 5u;
SALAB_CONST kBindCQ = 0u;      // Q, [n, 4 * D4] floats, rows zero-padded
SALAB_CONST kBindCK = 1u;      // K, same layout
SALAB_CONST kBindCAux = 2u;    // lsh: W^T [rounds][B/2][4 * D4]; top-k: score rows
SALAB_CONST kBindCOut = 3u;    // lsh: buckets [rounds][2][n]; top-k: keys [n, slots]
SALAB_CONST kBindCMargin = 4u; // lsh: margins [rounds][2][n]; top-k: [n][2] scores

#ifdef __cplusplus
} // namespace salab::gpu
#endif

// Run-time lengths; sizes (D4) are specialization constants.
#ifdef __cplusplus
namespace salab::gpu {
struct ContentPush {
#else
layout(push_constant) uniform ContentPush {
#endif
    uint n;      // tokens
    uint half_b; // lsh: B / 2 projections per round
    uint round0; // lsh: first round held in the W buffer of this submission
    uint k;      // top-k: keys per row, min(k, n)
    uint causal; // top-k: 1 when row i only sees keys j <= i
    uint row0;   // top-k: first query row of this batch (the score rows hold rows row0..)
    uint rows;   // top-k: query rows in this batch
    uint token0; // lsh: first token of this dispatch (n beyond the dispatch-size limit)
#ifdef __cplusplus
};
static_assert(sizeof(ContentPush) == 32, "push constant layout must match GLSL std430");
} // namespace salab::gpu
#else
}
pc;
#endif

#endif
