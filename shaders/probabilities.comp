#version 450
// Softmax weights P(i, j) of one head on a viewport: rows row0 + r*stride, keys col0 + c*stride.
// Pass 1 finds each row's max and normaliser over all its kept keys (8 keys per loop step, see
// attention_body.glsl for why loop steps are counted; the 8 scores of a step share one rescale
// of the running sum); pass 2 writes the kept keys that fall on the viewport grid. The output
// buffer is zero-filled by the host first.
//
// PAIR (constant 1) > 0: the block mask's weights and dense attention's (PAIR = 2: causal) in one
// pass, since both need the same scores: the mask's go to cells [0, rows*cols), dense's to
// [rows*cols, 2*rows*cols). pc.mode must then be a sparse mode (the mask's entries).
#define STORAGE_T float
#define LOAD(x) (x)
#include "attention_common.glsl"

layout(local_size_x = 64) in;

layout(std430, binding = kBindO) buffer PBuf { float p_out[]; };

layout(constant_id = 0) const uint D4 = 16;
layout(constant_id = 1) const uint PAIR = 0;

float score(uint head_base, vec4 q[D4], uint key) {
    const uint kb = head_base + key * pc.d;
    float s = 0.0;
    FOR_C4(c4) {
        vec4 k4 = vec4(0.0);
        for (uint j = 0u; j < 4u; ++j)
            if (4u * c4 + j < pc.d) k4[j] = LOAD(k_data[kb + 4u * c4 + j]);
        s += dot(q[c4], k4);
    }
    return s;
}

// Online softmax state of one row, updated 8 scores at a time (bit t of `kept`: s[t] counts).
void absorb(inout float m, inout float l, float s[8], uint kept) {
    if (kept == 0u) return;
    float mx = -3.0e38;
    for (uint t = 0u; t < 8u; ++t)
        if (((kept >> t) & 1u) != 0u) mx = max(mx, s[t]);
    const float m_new = max(m, mx);
    float add = 0.0;
    for (uint t = 0u; t < 8u; ++t)
        if (((kept >> t) & 1u) != 0u) add += exp2(s[t] - m_new);
    l = l * exp2(m - m_new) + add;
    m = m_new;
}

bool dense_keeps(uint row, uint key) { return PAIR != 2u || key <= row; }

void main() {
    const uint r = gl_GlobalInvocationID.x;
    if (r >= pc.rows) return;
    const uint n = pc.n, d = pc.d;
    const uint row = pc.row0 + r * pc.stride;
    if (row >= n) return;
    const uint head = pc.head;
    const uint head_base = head * n * d;
    vec4 q[D4];
    FOR_C4(c4) {
        vec4 x = vec4(0.0);
        for (uint j = 0u; j < 4u; ++j)
            if (4u * c4 + j < d) x[j] = LOAD(q_data[head_base + row * d + 4u * c4 + j]);
        q[c4] = x * pc.scale_log2;
    }

    uint first, last;
    block_range(head, row / kBlock, first, last);
    float m = -3.0e38, l = 0.0;   // the mask's row (or dense's when PAIR = 0 and no mask)
    float md = -3.0e38, ld = 0.0;  // dense's row (PAIR > 0)
    if (PAIR == 0u) {
        for (uint e = first; e < last; ++e) {
            uint w0, w1;
            entry_words(e, w0, w1);
            const uint kb = w0 & kIndexMask;
            const uint key_end = min(n, kb * kBlock + kBlock);
            for (uint key0 = kb * kBlock; key0 < key_end; key0 += 8u) {
                float s[8];
                uint kept = 0u;
                for (uint t = 0u; t < 8u; ++t) {
                    const uint key = key0 + t;
                    s[t] = 0.0;
                    if (key < key_end && entry_keeps(w0, w1, row, key) && causal_ok(row, key)) {
                        s[t] = score(head_base, q, key);
                        kept |= 1u << t;
                    }
                }
                absorb(m, l, s, kept);
            }
        }
    } else {
        // Every key block, the mask's entries merged in order; past the diagonal (causal) only
        // the mask's own blocks.
        const uint dense_last = PAIR == 2u ? row / kBlock + 1u : pc.num_blocks;
        uint e = first;
        for (uint kb = 0u; kb < pc.num_blocks; ++kb) {
            uint w0 = 0u, w1 = 0u;
            bool listed = false;
            if (e < last) {
                entry_words(e, w0, w1);
                listed = (w0 & kIndexMask) == kb;
                if (listed) ++e;
            }
            if (!listed && kb >= dense_last) {
                if (e >= last) break;
                continue;
            }
            const uint key_end = min(n, kb * kBlock + kBlock);
            for (uint key0 = kb * kBlock; key0 < key_end; key0 += 8u) {
                float s[8];
                uint dense = 0u, kept = 0u;
                for (uint t = 0u; t < 8u; ++t) {
                    const uint key = key0 + t;
                    s[t] = 0.0;
                    if (key >= key_end) continue;
                    const bool in_dense = dense_keeps(row, key);
                    const bool in_mask = listed && entry_keeps(w0, w1, row, key);
                    if (in_dense || in_mask) s[t] = score(head_base, q, key);
                    if (in_dense) dense |= 1u << t;
                    if (in_mask) kept |= 1u << t;
                }
                absorb(md, ld, s, dense);
                absorb(m, l, s, kept);
            }
        }
    }
    if (l == 0.0 && ld == 0.0) return;
    const uint cells = pc.rows * pc.cols;
    uint e = first;  // viewport keys ascend: one forward walk over the row's entries
    for (uint c = 0u; c < pc.cols; ++c) {
        const uint key = pc.col0 + c * pc.stride;
        if (key >= n) break;
        const uint want = key / kBlock;
        bool kept = false;
        for (; e < last; ++e) {
            uint w0, w1;
            entry_words(e, w0, w1);
            const uint kb = w0 & kIndexMask;
            if (kb < want) continue;
            kept = kb == want && entry_keeps(w0, w1, row, key) && causal_ok(row, key);
            break;
        }
        const bool dense = PAIR > 0u && dense_keeps(row, key);
        if (!kept && !dense) continue;
        const float s = score(head_base, q, key);
        if (kept && l > 0.0) p_out[r * pc.cols + c] = exp2(s - m) / l;
        if (dense && ld > 0.0) p_out[cells + r * pc.cols + c] = exp2(s - md) / ld;
    }
}
