#version 450
// Top-k indexer, pass 1: the float scores q_i . k_j of a batch of query rows, written to a
// score buffer (row i - row0 holds keys 0 .. lim-1, lim = i + 1 when causal, else n), read by
// topk_select.comp. NaN scores become -inf and -0 becomes +0, as the CPU oracle orders them.
// Grid: x = blocks of kContentRows rows of the batch, y = chunks of kScoreKeyChunk keys.
#extension GL_GOOGLE_include_directive : require
#include "content_common.glsl"

layout(local_size_x = 64) in;  // == kContentRows: one query row per invocation

layout(std430, binding = kBindCQ) readonly buffer QBuf { vec4 q_data[]; };
layout(std430, binding = kBindCK) readonly buffer KBuf { vec4 k_data[]; };
layout(std430, binding = kBindCAux) writeonly buffer Scores { float scores[]; };

void main() {
    const uint local_row = gl_WorkGroupID.x * kContentRows + gl_LocalInvocationID.x;
    const bool row_valid = local_row < pc.rows;  // rows past the batch run along, never write
    const uint i = pc.row0 + min(local_row, pc.rows - 1u);
    const uint n = pc.n;
    // Control flow depends only on the workgroup (its last row's causal limit), never on the
    // row: every K load then has a workgroup-uniform address, which GPUs broadcast and lavapipe
    // turns into one scalar load instead of a per-lane gather. Scores past a row's own limit
    // land in its score row too; the select kernel never reads them.
    const uint wg_last = pc.row0 + min(pc.rows, (gl_WorkGroupID.x + 1u) * kContentRows) - 1u;
    const uint lim = pc.causal != 0u ? wg_last + 1u : n;
    const uint key_begin = gl_WorkGroupID.y * kScoreKeyChunk;
    const uint key_end = min(lim, key_begin + kScoreKeyChunk);

    vec4 q[D4];
    FOR_CC4(c4) q[c4] = q_data[i * D4 + c4];
    const uint out_base = (i - pc.row0) * n;
    // kScoreTile keys per step with the inner loop unrolled: at most 256 steps per invocation.
    for (uint key0 = key_begin; key0 < key_end; key0 += kScoreTile) {
        for (uint t = 0u; t < kScoreTile; ++t) {
            const uint j = key0 + t;
            if (j >= key_end) continue;  // uniform
            float s = 0.0;
            FOR_CC4(c4) s += dot(q[c4], k_data[j * D4 + c4]);
            if (row_valid) scores[out_base + j] = isnan(s) ? kNegInf : (s == 0.0 ? 0.0 : s);
        }
    }
}
