// Included by attention_*.comp and probabilities.comp after STORAGE_T is defined.
#extension GL_GOOGLE_include_directive : require
#include "shared.h"

layout(std430, binding = 0) readonly buffer QBuf { STORAGE_T q_data[]; };
layout(std430, binding = 1) readonly buffer KBuf { STORAGE_T k_data[]; };
layout(std430, binding = 2) readonly buffer VBuf { STORAGE_T v_data[]; };
layout(std430, binding = 4) readonly buffer RowPtr { uint row_ptr[]; };
layout(std430, binding = 5) readonly buffer Entries { uint entries[]; };
layout(std430, binding = 6) readonly buffer Bits { uint bits[]; };

// Is key `key` (inside block entry e of query row `row`) kept? Full blocks keep all in-range keys.
bool entry_keeps(uint word0, uint word1, uint row, uint key) {
    if ((word0 & kPartialBit) == 0u) return true;
    const uint wpr = kBlock / 32u;
    uint base = word1 * kBlock * wpr + (row % kBlock) * wpr + (key % kBlock) / 32u;
    return ((bits[base] >> (key % 32u)) & 1u) != 0u;
}

// Range of block entries for (head, query block); dense modes synthesise entries.
void block_range(uint head, uint qblock, out uint first, out uint last) {
    if (pc.mode == kModeSparse) {
        const uint mh = pc.mask_shared != 0u ? 0u : head;
        first = row_ptr[mh * pc.num_blocks + qblock];
        last = row_ptr[mh * pc.num_blocks + qblock + 1u];
    } else {
        first = 0u;
        last = pc.mode == kModeDenseCausal ? qblock + 1u : pc.num_blocks;
    }
}

void entry_words(uint e, out uint w0, out uint w1) {
    if (pc.mode == kModeSparse) {
        w0 = entries[2u * e];
        w1 = entries[2u * e + 1u];
    } else {
        w0 = e;
        w1 = 0u;
    }
}

bool causal_ok(uint row, uint key) { return pc.mode != kModeDenseCausal || key <= row; }

// Loops over the head dimension in vec4 steps: an inner loop of at most 32 steps that compilers
// fully unroll, inside an outer loop that only runs more than once for d > 128. (lavapipe counts
// the steps of loops it does not unroll against a 65535 budget per invocation; see
// attention_body.glsl.) Usage: FOR_C4(c4) { ... acc[c4] ... }
#define C4_INNER (D4 <= 32u ? D4 : 16u)
#define FOR_C4(c4) for (uint c4##_h = 0u; c4##_h < D4; c4##_h += C4_INNER) \
                   for (uint c4##_i = 0u; c4##_i < C4_INNER; ++c4##_i) \
                   for (uint c4 = c4##_h + c4##_i, c4##_once = 0u; c4##_once < 1u; ++c4##_once)
