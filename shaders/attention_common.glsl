// Included by attention_*.comp and probabilities.comp after STORAGE_T is defined.
#extension GL_GOOGLE_include_directive : require
#include "shared.h"

// The run's mode (kModeSparse, kModeDense, ...). A kernel that defines MODE_CONSTANT_ID (a free
// specialization constant id) before including this file can have the mode fixed when its
// pipeline is built: the host passes the mode there, and the driver compiles a dense or band run
// without the bitmask, gather and work-item code of the sparse modes (and the other way round).
// kAnyMode (the default) reads it from the push constants. See AttentionEngine (mode_spec).
#ifdef MODE_CONSTANT_ID
layout(constant_id = MODE_CONSTANT_ID) const uint kSpecMode = kAnyMode;
#define RUN_MODE (kSpecMode != kAnyMode ? kSpecMode : pc.mode)
#else
#define RUN_MODE pc.mode
#endif

layout(std430, binding = kBindQ) readonly buffer QBuf { STORAGE_T q_data[]; };
layout(std430, binding = kBindK) readonly buffer KBuf { STORAGE_T k_data[]; };
layout(std430, binding = kBindV) readonly buffer VBuf { STORAGE_T v_data[]; };
layout(std430, binding = kBindRowPtr) readonly buffer RowPtr { uint row_ptr[]; };
layout(std430, binding = kBindEntries) readonly buffer Entries { uint entries[]; };
layout(std430, binding = kBindBits) readonly buffer Bits { uint bits[]; };
layout(std430, binding = kBindGather) readonly buffer Gather { uint gather_keys[]; };
layout(std430, binding = kBindItems) readonly buffer Items { uvec4 work_items[]; };
layout(std430, binding = kBindPartO) writeonly buffer PartO { float part_o[]; };
layout(std430, binding = kBindPartML) writeonly buffer PartML { vec2 part_ml[]; };

// Band mode: does row `row` keep key `key`?
bool band_keeps(uint row, uint key) {
    return key + pc.band_left >= row && key <= row + pc.band_right;
}

// Is column `col` (0..kBlock-1) of block entry (word0, word1) kept for query row `row`? Full
// blocks keep every column (columns past n or unused gather slots are excluded by entry_key).
bool entry_keeps_col(uint word0, uint word1, uint row, uint col) {
    if (RUN_MODE == kModeBand) return band_keeps(row, (word0 & kIndexMask) * kBlock + col);
    if ((word0 & kPartialBit) == 0u) return true;
    const uint wpr = kBlock / 32u;
    uint base = word1 * kBlock * wpr + (row % kBlock) * wpr + col / 32u;
    return ((bits[base] >> (col % 32u)) & 1u) != 0u;
}

// The same for a contiguous (non-gathered) entry and an absolute key.
bool entry_keeps(uint word0, uint word1, uint row, uint key) {
    return entry_keeps_col(word0, word1, row, key % kBlock);
}

// The key of column `col` of an entry: the gather table's slot for gathered entries, else the
// block's col-th key; kNoKey for unused slots and keys past n.
uint entry_key(uint word0, uint col, uint n) {
    if ((word0 & kGatherBit) != 0u) return gather_keys[(word0 & kIndexMask) * kBlock + col];
    const uint key = (word0 & kIndexMask) * kBlock + col;
    return key < n ? key : kNoKey;
}

bool sparse_mode() { return RUN_MODE == kModeSparse || RUN_MODE == kModeSparseItems; }

// Bits [a, b] (inclusive, any ints) of a 32-bit word covering columns [0, 32).
uint range_bits(int a, int b) {
    a = max(a, 0);
    b = min(b, 31);
    if (a > b) return 0u;
    return (b - a == 31 ? 0xffffffffu : ((1u << uint(b - a + 1)) - 1u)) << uint(a);
}

// Column masks (columns 0-31 and 32-63) of query row `row` in entry (w0, w1): the bitmask of a
// partial block, the band's ends in band mode, all ones otherwise.
void row_mask_words(uint w0, uint w1, uint row, out uint lo, out uint hi) {
    lo = 0xffffffffu;
    hi = 0xffffffffu;
    if (RUN_MODE == kModeBand) {
        const int first = int(row) - int(pc.band_left) - int(w0 * kBlock);  // first kept column
        const int last = int(row) + int(pc.band_right) - int(w0 * kBlock);  // last kept column
        lo = range_bits(first, last);
        hi = range_bits(first - 32, last - 32);
    } else if ((w0 & kPartialBit) != 0u) {
        const uint wb = w1 * kBlock * 2u + (row % kBlock) * 2u;
        lo = bits[wb];
        hi = bits[wb + 1u];
    }
}

// Range of block entries for (head, query block); dense modes synthesise entries.
void block_range(uint head, uint qblock, out uint first, out uint last) {
    if (sparse_mode()) {
        const uint mh = pc.mask_shared != 0u ? 0u : head;
        first = row_ptr[mh * pc.num_blocks + qblock];
        last = row_ptr[mh * pc.num_blocks + qblock + 1u];
    } else if (RUN_MODE == kModeBand) {
        const uint q0 = qblock * kBlock, q_last = min(pc.n - 1u, q0 + kBlock - 1u);
        first = (q0 > pc.band_left ? q0 - pc.band_left : 0u) / kBlock;
        last = min(pc.n - 1u, q_last + pc.band_right) / kBlock + 1u;
    } else {
        first = 0u;
        last = RUN_MODE == kModeDenseCausal ? qblock + 1u : pc.num_blocks;
    }
}

// This workgroup's work: query block, head, entry range and output slot (kNoKey: write O
// directly; else the unnormalised partial result goes to that split-k slot). False for the
// padding workgroups of an item grid (the whole workgroup returns: uniform).
bool work_item(out uint qblock, out uint head, out uint first, out uint last, out uint slot) {
    if (RUN_MODE == kModeSparseItems) {
        const uint idx = gl_WorkGroupID.y * kGridRow + gl_WorkGroupID.x;
        if (idx >= pc.num_items) return false;
        const uvec4 it = work_items[idx];
        // z: the head copy of a split shared by every head (SplitPlan::head_copies).
        qblock = it.x & kItemBlockMask;
        head = (it.x >> kItemHeadShift) + gl_WorkGroupID.z;
        first = it.y;
        last = it.z;
        slot = it.w == kNoKey ? kNoKey : it.w + gl_WorkGroupID.z * pc.slot_stride;
    } else {
        qblock = gl_WorkGroupID.x;
        head = gl_WorkGroupID.y + pc.head_offset;
        block_range(head, qblock, first, last);
        slot = kNoKey;
    }
    return true;
}

void entry_words(uint e, out uint w0, out uint w1) {
    if (sparse_mode()) {
        w0 = entries[2u * e];
        w1 = entries[2u * e + 1u];
    } else {
        w0 = e;
        w1 = 0u;
    }
}

bool causal_ok(uint row, uint key) { return RUN_MODE != kModeDenseCausal || key <= row; }

// Loops over the head dimension in vec4 steps: an inner loop of at most 32 steps that compilers
// fully unroll, inside an outer loop that only runs more than once for d > 128. (lavapipe counts
// the steps of loops it does not unroll against a 65535 budget per invocation; see
// attention_body.glsl.) Usage: FOR_C4(c4) { ... acc[c4] ... }
#define C4_INNER (D4 <= 32u ? D4 : 16u)
#define FOR_C4(c4) for (uint c4##_h = 0u; c4##_h < D4; c4##_h += C4_INNER) \
                   for (uint c4##_i = 0u; c4##_i < C4_INNER; ++c4##_i) \
                   for (uint c4 = c4##_h + c4##_i, c4##_once = 0u; c4##_once < 1u; ++c4##_once)
