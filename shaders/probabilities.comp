#version 450
// Softmax weights P(i, j) of one head on a viewport: rows row0 + r*stride, keys col0 + c*stride.
// Pass 1 finds each row's max and normaliser over all its kept keys (8 keys per loop step, see
// attention_body.glsl for why loop steps are counted); pass 2 writes the kept keys that fall on
// the viewport grid. The output buffer is zero-filled by the host first.
#define STORAGE_T float
#define LOAD(x) (x)
#include "attention_common.glsl"

layout(local_size_x = 64) in;

layout(std430, binding = kBindO) buffer PBuf { float p_out[]; };

layout(constant_id = 0) const uint D4 = 16;

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
    float m = -3.0e38, l = 0.0;
    for (uint e = first; e < last; ++e) {
        uint w0, w1;
        entry_words(e, w0, w1);
        const uint kb = w0 & kIndexMask;
        const uint key_end = min(n, kb * kBlock + kBlock);
        for (uint key0 = kb * kBlock; key0 < key_end; key0 += 8u) {
            for (uint t = 0u; t < 8u; ++t) {
                const uint key = key0 + t;
                if (key < key_end && entry_keeps(w0, w1, row, key) && causal_ok(row, key)) {
                    const float s = score(head_base, q, key);
                    const float m_new = max(m, s);
                    l = l * exp2(m - m_new) + exp2(s - m_new);
                    m = m_new;
                }
            }
        }
    }
    if (l == 0.0) return;
    const uint col_end = pc.col0 + (pc.cols - 1u) * pc.stride;  // last viewport key
    for (uint c = 0u; c < pc.cols; ++c) {
        const uint key = pc.col0 + c * pc.stride;
        if (key >= n) break;
        // Find key's block among the row's entries (sorted by key block).
        const uint want = key / kBlock;
        for (uint e = first; e < last; ++e) {
            uint w0, w1;
            entry_words(e, w0, w1);
            if ((w0 & kIndexMask) != want) continue;
            if (entry_keeps(w0, w1, row, key) && causal_ok(row, key))
                p_out[r * pc.cols + c] = exp2(score(head_base, q, key) - m) / l;
            break;
        }
    }
}
