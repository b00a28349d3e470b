// Shared by C++ (compute/) and GLSL (shaders/*.comp): bindings, block sizes, the block mask's
// entry encoding and push-constant layouts; the single definition of each. Every constant says
// why it has its value.
//
// GLSL: a shader with a push-constant block of its own (mask_density.comp, the content kernels)
// defines SALAB_OWN_PUSH_CONSTANTS before including this file, which then declares only the
// constants (GLSL allows one push-constant block per shader).
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
// Block mask entries are two words. Word 0: the key block (or gather block) index in the low
// 30 bits plus the two flags below; word 1: the index of the partial block's bitmask (0 when
// full). C++ decodes word 0 with decode_entry (block_mask.h); GLSL masks with kIndexMask, never
// with ~kPartialBit, which would keep the gather bit.
// Bit 31 of an entry's first word marks a partial block (per-element bitmask test needed).
SALAB_CONST kPartialBit = 0x80000000u;
// Bit 30 marks a gathered block: its kBlock columns are arbitrary keys listed in the gather
// table (binding kBindGather) instead of one contiguous key block, so scattered keys (strided
// summaries, token-level random, LSH buckets) are packed into few dense blocks.
SALAB_CONST kGatherBit = 0x40000000u;
// The low 30 bits: key block index, or gather block index for gathered entries.
SALAB_CONST kIndexMask = 0x3fffffffu;
// An unused slot of a gather block (also: a column past n).
SALAB_CONST kNoKey = 0xffffffffu;

// Storage buffer bindings of the attention and probability kernels.
SALAB_CONST kBindQ = 0u;
SALAB_CONST kBindK = 1u;
SALAB_CONST kBindV = 2u;
SALAB_CONST kBindO = 3u;        // attention output, or probabilities for the viewport kernel
SALAB_CONST kBindRowPtr = 4u;
SALAB_CONST kBindEntries = 5u;
SALAB_CONST kBindBits = 6u;
SALAB_CONST kBindGather = 7u;
SALAB_CONST kBindItems = 8u;      // split-k work items (uvec4), see kModeSparseItems
SALAB_CONST kBindPartO = 9u;      // split-k partial outputs, fp32 [slot][kBlock][d], unnormalised
SALAB_CONST kBindPartML = 10u;    // split-k partial (max, sum) per row, vec2 [slot][kBlock]
SALAB_CONST kBindMerges = 11u;    // split-k merges (uvec4), read by split_merge_*.comp
// Storage buffers in the attention kernels' descriptor set layout (bindings 0..kBindMerges).
SALAB_CONST kAttnBindings = 12u;
// Work item / merge word 0: query block in the low kItemHeadShift bits, head above.
SALAB_CONST kItemHeadShift = 20u;
SALAB_CONST kItemBlockMask = 0xfffffu;
SALAB_CONST kMaxItemHeads = 4096u;  // heads that fit above kItemHeadShift
// Workgroups per grid row when a dispatch's workgroup count is folded into x and y.
SALAB_CONST kGridRow = 65535u;

// Modes: sparse over the block lists, or every block (dense), optionally causal.
SALAB_CONST kModeSparse = 0u;
SALAB_CONST kModeDense = 1u;
SALAB_CONST kModeDenseCausal = 2u;
// Sparse over an explicit list of work items (query block, head, entry range, output slot):
// long block lists (rows of global tokens) are split into chunks that run in parallel and
// write partial results to a slot, merged afterwards by split_merge_*.comp (split-k).
SALAB_CONST kModeSparseItems = 3u;
// A band, computed in the shader from two integers: row i keeps keys [i - band_left,
// i + band_right] (cut at [0, n); band_right = 0 for a causal window). Query block I visits the
// key blocks of [I*kBlock - band_left, I*kBlock + kBlock - 1 + band_right] with no block mask in
// memory; edge blocks get their per-row column masks from the band's ends, middle blocks none.
SALAB_CONST kModeBand = 4u;
// A pipeline built for one mode gets it as a specialization constant; kAnyMode = a pipeline
// that reads the mode from the push constants (attention_common.glsl, MODE_CONSTANT_ID).
SALAB_CONST kAnyMode = 0xffffffffu;
// The coopmat2 kernel's second specialization constant: which kinds of entries the block mask
// lists (a mask without gathered or partial blocks compiles without their code).
SALAB_CONST kSpecGathered = 1u;
SALAB_CONST kSpecPartial = 2u;

#ifdef __cplusplus
static_assert(kAttnBindings == kBindMerges + 1u, "every binding is in the layout");
static_assert((kPartialBit | kGatherBit | kIndexMask) == 0xffffffffu && (kPartialBit & kGatherBit) == 0u,
              "flags and index share word 0 without overlap");
}  // namespace salab::gpu
#endif

#if defined(__cplusplus) || !defined(SALAB_OWN_PUSH_CONSTANTS)
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
    uint num_items;    // kModeSparseItems: work items (attention) or merges (split_merge_*)
    uint band_left;    // kModeBand: keys [row - band_left, row + band_right]
    uint band_right;
    float p_shift;     // coopmat2 kernels: P = 2^(S - m - p_shift) keeps an fp16 O finite
    uint slot_stride;  // kModeSparseItems: partial slots per head copy (dispatch z = head copy)
#ifdef __cplusplus
};
static_assert(sizeof(AttnPush) == 72, "push constant layout must match GLSL std430");
}  // namespace salab::gpu
#else
} pc;
#endif
#endif  // __cplusplus || !SALAB_OWN_PUSH_CONSTANTS

#endif
