#version 450
// Reformer LSH buckets on the GPU: h_r(x) = argmax([x W_r, -x W_r]) (first index on ties) for
// every query and key and every round of this submission, plus the margin between the best and
// the second-best value. The CPU oracle projects in double; the host re-hashes, in double, every
// token whose margin is within the float error bound, so the buckets equal the CPU's exactly.
// Grid: x = token blocks of kContentRows, y = 0 (queries) or 1 (keys), z = round - round0.
#extension GL_GOOGLE_include_directive : require
#include "content_common.glsl"

layout(local_size_x = 64) in;  // == kContentRows

layout(std430, binding = kBindCQ) readonly buffer QBuf { vec4 q_data[]; };
layout(std430, binding = kBindCK) readonly buffer KBuf { vec4 k_data[]; };
// W_r transposed and padded: projection c of round r is w_data[((r - round0) * B/2 + c) * D4 ..].
layout(std430, binding = kBindCAux) readonly buffer WBuf { vec4 w_data[]; };
layout(std430, binding = kBindCOut) writeonly buffer Buckets { int buckets[]; };
// best - second best value; -1 when a projection is NaN (never trusted, always re-hashed).
layout(std430, binding = kBindCMargin) writeonly buffer Margins { float margins[]; };

// Projections per loop step (inner loop unrolled): B/2 <= 32768 gives <= 8192 steps.
const uint TILE_C = 4u;

void main() {
    const uint token = pc.token0 + gl_WorkGroupID.x * kContentRows + gl_LocalInvocationID.x;
    if (token >= pc.n) return;
    const bool is_key = gl_WorkGroupID.y == 1u;
    const uint rl = gl_WorkGroupID.z;

    vec4 x[D4];
    FOR_CC4(c4) x[c4] = is_key ? k_data[token * D4 + c4] : q_data[token * D4 + c4];

    const uint half_b = pc.half_b;
    float best_v = kNegInf, second_v = kNegInf;
    uint best_i = 0u;
    bool saw_nan = false;
    for (uint c0 = 0u; c0 < half_b; c0 += TILE_C) {
        for (uint t = 0u; t < TILE_C; ++t) {
            const uint c = c0 + t;
            if (c >= half_b) continue;  // (continue, not break: keeps the loop unrollable)
            const uint wb = (rl * half_b + c) * D4;
            float p = 0.0;
            FOR_CC4(c4) p += dot(x[c4], w_data[wb + c4]);
            saw_nan = saw_nan || isnan(p);
            // Candidates are p (index c) and -p (index B/2 + c); the first index wins ties.
            for (uint s = 0u; s < 2u; ++s) {
                const float v = s == 0u ? p : -p;
                const uint idx = s == 0u ? c : half_b + c;
                if (v > best_v || (v == best_v && idx < best_i)) {
                    second_v = best_v;
                    best_v = v;
                    best_i = idx;
                } else if (v > second_v) {
                    second_v = v;
                }
            }
        }
    }
    const uint at = ((pc.round0 + rl) * 2u + (is_key ? 1u : 0u)) * pc.n + token;
    buckets[at] = int(best_i);
    margins[at] = saw_nan ? -1.0 : best_v - second_v;
}
