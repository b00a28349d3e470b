#extension GL_GOOGLE_include_directive : require
#define MODE_CONSTANT_ID 1  // the mode, fixed per pipeline (attention_common.glsl)
#include "attention_common.glsl"

layout(local_size_x = 64) in;  // == kBlock: one invocation per query row of the block

layout(std430, binding = kBindO) writeonly buffer OBuf { STORAGE_T o_data[]; };

// D4 = ceil(d / 4) rounded up to a power of two (1..64): Q and the accumulators live in
// registers as vec4[D4], and every loop over the head dimension has this constant trip count.
// Why constant: besides letting compilers unroll, lavapipe (Mesa 22.3, the CI device) caps the
// iterations of all non-unrolled loops of one invocation at 65535 in total and then silently
// leaves them; unrolled loops do not count, so only the loops over keys do.
layout(constant_id = 0) const uint D4 = 16;
// Keys scored per online-softmax step: max and accumulators are rescaled once per group.
const uint TILE_K = 8;

void main() {
    uint qblock, head, first, last, slot;
    if (!work_item(qblock, head, first, last, slot)) return;
    const uint n = pc.n, d = pc.d;
    const uint row = qblock * kBlock + gl_LocalInvocationID.x;
    const bool row_valid = row < n;  // rows past n run along (uniform control flow), never write
    const uint head_base = head * n * d;
    const uint qb = head_base + row * d;

    vec4 q[D4];
    vec4 acc[D4];
    FOR_C4(c4) {
        vec4 x = vec4(0.0);
        for (uint j = 0u; j < 4u; ++j)
            if (row_valid && 4u * c4 + j < d) x[j] = LOAD(q_data[qb + 4u * c4 + j]);
        q[c4] = row_valid ? x * pc.scale_log2 : vec4(0.0);
        acc[c4] = vec4(0.0);
    }
    float m = -3.0e38;  // running max (log2 domain); finite so m - m_new is never inf - inf
    float l = 0.0;      // running sum of exp2
    float s[TILE_K];

    // Control flow below depends only on the workgroup's block list, never on the row: every
    // K and V load then has a workgroup-uniform address, which GPUs broadcast and lavapipe turns
    // into one scalar load instead of a per-lane gather (about 10x on lavapipe). Masked keys
    // cost their arithmetic and contribute p = 0.
    for (uint e = first; e < last; ++e) {
        uint w0, w1;
        entry_words(e, w0, w1);
        // Columns of the entry: kBlock gather slots, or the contiguous block cut at n.
        const uint kbase = (w0 & kIndexMask) * kBlock;
        const uint cols = (w0 & kGatherBit) != 0u ? kBlock : min(n, kbase + kBlock) - kbase;
        uint keys[TILE_K];
        for (uint c0 = 0u; c0 < cols; c0 += TILE_K) {
            float tile_max = -3.0e38;
            uint kept_mask = 0u;
            for (uint t = 0u; t < TILE_K; ++t) {
                const uint col = c0 + t;
                const uint key = col < cols ? entry_key(w0, col, n) : kNoKey;
                keys[t] = key;
                float dot_qk = 0.0;
                if (key != kNoKey) {  // uniform
                    const uint kb = head_base + key * d;
                    FOR_C4(c4) {
                        vec4 k4 = vec4(0.0);
                        for (uint j = 0u; j < 4u; ++j)
                            if (4u * c4 + j < d) k4[j] = LOAD(k_data[kb + 4u * c4 + j]);
                        dot_qk += dot(q[c4], k4);
                    }
                }
                const bool kept = key != kNoKey && entry_keeps_col(w0, w1, row, col) && causal_ok(row, key);
                kept_mask |= kept ? (1u << t) : 0u;
                s[t] = dot_qk;
                tile_max = kept ? max(tile_max, dot_qk) : tile_max;
            }
            const float m_new = max(m, tile_max);
            const float correction = exp2(m - m_new);
            l *= correction;
            FOR_C4(c4) acc[c4] *= correction;
            for (uint t = 0u; t < TILE_K; ++t) {
                const uint key = keys[t];
                const bool kept = (kept_mask & (1u << t)) != 0u;
                const float p = kept ? exp2(s[t] - m_new) : 0.0;
                l += p;
                if (key != kNoKey) {  // uniform
                    const uint vb = head_base + key * d;
                    FOR_C4(c4) {
                        vec4 v4 = vec4(0.0);
                        for (uint j = 0u; j < 4u; ++j)
                            if (4u * c4 + j < d) v4[j] = LOAD(v_data[vb + 4u * c4 + j]);
                        // A masked key contributes nothing, whatever V holds: 0 * NaN would be
                        // NaN, so the sum is selected, not multiplied away.
                        acc[c4] = kept ? acc[c4] + p * v4 : acc[c4];
                    }
                }
            }
            m = m_new;
        }
    }
    if (!row_valid) return;
    if (slot != kNoKey) {  // split-k chunk: unnormalised partial result, merged later
        const uint pr = slot * kBlock + gl_LocalInvocationID.x;
        part_ml[pr] = vec2(m, l);
        FOR_C4(c4)  // rows padded to 4 * D4 floats (split_merge_body.glsl reads vec4s)
            for (uint j = 0u; j < 4u; ++j) part_o[(pr * D4 + c4) * 4u + j] = acc[c4][j];
        return;
    }
    const float inv = l > 0.0 ? 1.0 / l : 0.0;  // empty rows give zeros
    FOR_C4(c4)
        for (uint j = 0u; j < 4u; ++j)
            if (4u * c4 + j < d) o_data[qb + 4u * c4 + j] = STORAGE_T(acc[c4][j] * inv);
}
