// Shared by C++ (compute/attention.cpp) and GLSL (shaders/*.comp): bindings, block sizes and
// push-constant layouts. Every constant says why it has its value.
#ifndef SALAB_SHARED_H
#define SALAB_SHARED_H

#ifdef __cplusplus
#include <cstdint>
namespace salab::gpu {
using uint = uint32_t;
#define SALAB_CONST inline constexpr uint
#else
#define SALAB_CONST const uint
#endif

// Query rows per workgroup and keys per block of the block mask: one invocation per query row,
// and 64 is the smallest workgroup that fills a subgroup on every desktop GPU (32 or 64 lanes).
SALAB_CONST kBlock = 64u;
// Bit 31 of an entry's first word marks a partial block (per-element bitmask test needed).
SALAB_CONST kPartialBit = 0x80000000u;

// Storage buffer bindings of the attention and probability kernels.
SALAB_CONST kBindQ = 0u;
SALAB_CONST kBindK = 1u;
SALAB_CONST kBindV = 2u;
SALAB_CONST kBindO = 3u;        // attention output, or probabilities for the viewport kernel
SALAB_CONST kBindRowPtr = 4u;
SALAB_CONST kBindEntries = 5u;
SALAB_CONST kBindBits = 6u;

// Modes: sparse over the block lists, or every block (dense), optionally causal.
SALAB_CONST kModeSparse = 0u;
SALAB_CONST kModeDense = 1u;
SALAB_CONST kModeDenseCausal = 2u;

#ifdef __cplusplus
}  // namespace salab::gpu
#endif

// Push constants: run-time lengths (sizes and variants are specialization constants).
#ifdef __cplusplus
namespace salab::gpu {
struct AttnPush {
#else
layout(push_constant) uniform AttnPush {
#endif
    uint n;            // tokens
    uint d;            // head dimension (<= D_MAX specialization constant)
    uint num_blocks;   // ceil(n / kBlock)
    uint mode;         // kModeSparse / kModeDense / kModeDenseCausal
    float scale_log2;  // log2(e) / sqrt(d): softmax in the exp2 domain
    uint head_offset;  // first head of this dispatch (heads beyond the dispatch limit)
    // viewport kernel only
    uint row0;
    uint col0;
    uint rows;
    uint cols;
    uint stride;
    uint head;
    uint mask_shared;  // 1: one block mask serves every head (a flat pattern replicated)
#ifdef __cplusplus
};
static_assert(sizeof(AttnPush) == 52, "push constant layout must match GLSL std430");
}  // namespace salab::gpu
#else
} pc;
#endif

#endif
