#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Tiled portable block-sparse flash attention (no cooperative matrices). One workgroup = the 64
// query rows of one query block (the block mask's unit). For each visited key block, KC keys at
// a time are staged in shared memory as fp32 (K, V and their key ids; the head dimension padded
// with zeros to 4 * D4), then every row scores them with an online softmax. Three ways to map
// rows to invocations, all specialization constants (choose_tiled_shape, compute/kernel_plan.h):
//   ROWS rows per invocation (register blocking: each staged value read serves ROWS rows);
//   TPR invocations per row (the _sg shaders): key t of a step goes to lane t % TPR, and the
//       row's lanes merge their (max, sum, O) with subgroup shuffles at the end;
//   BCAST (the _sg shaders, CPU devices): lane i of a subgroup reads key i of the step and
//       subgroupBroadcast hands it to the other lanes.
// The plain shaders (no subgroup operations) are the fallback: TPR = 1, no BCAST.
//
// Why BCAST and ROWS for lavapipe: it runs 8 invocations per SIMD vector and, inside any loop,
// loads lane by lane (a runtime loop over the lanes, even at a uniform address; Mesa 22.3), so
// eight lanes reading one address cost eight loads. With BCAST each lane's load is a different
// key, the broadcast is a register shuffle, and ROWS = 4 spreads each over four rows. The hot
// loops hold no `if` (masks are selects, padding is zeros in shared memory). Loops over rows and
// the keys of a step have constant trip counts and are unrolled; so is the loop over the head
// dimension up to d = 64 (D4 = 16). Wider heads run it in chunks of DC = 16 vec4s: the chunk's
// loop is unrolled, the loop over the NCH = D4 / 16 chunks is not (FOR_CHUNKS), which keeps the
// code of d = 128 and 256 the size of d = 64's (fully unrolled, lavapipe compiled d = 128 for
// minutes) at the cost of indexing Q and O by a loop counter. Per visited key block an invocation
// runs TiledShape::loop_steps_per_block() counted steps of lavapipe's budget of 65535 (see
// attention_body.glsl), 16 * NCH of them chunk steps when NCH > 1.
#define MODE_CONSTANT_ID 8  // the mode, fixed per pipeline (attention_common.glsl)
#include "attention_common.glsl"

layout(std430, binding = kBindO) writeonly buffer OBuf { STORAGE_T o_data[]; };

// D4 = ceil(d / 4) rounded up to a power of two (pipeline.h d4_for): Q and O in vec4 registers.
layout(constant_id = 0) const uint D4 = 16;
// Invocations per query row (1, 2, 4, 8, ...; <= subgroup size). Only the _sg shaders take > 1.
layout(constant_id = 1) const uint TPR = 1;
// Keys staged per step (8..64, a multiple of 8 * TPR dividing 64): 2 * KC * DS * 16 bytes.
layout(constant_id = 2) const uint KC = 32;
// vec4s per staged row: D4, or D4 + 1 so that the TPR rows read at once fall in different banks.
layout(constant_id = 3) const uint DS = 16;
// Workgroup size, 64 * TPR / ROWS (a specialization constant of its own: local_size_x_id).
layout(local_size_x_id = 4) in;
#define WG_SIZE gl_WorkGroupSize.x
// 1: the lane-broadcast inner loop (the _sg shaders, TPR = 1, subgroups of >= 8 lanes).
layout(constant_id = 5) const uint BCAST = 0;
// Query rows per invocation (1, 2, 4; TPR = 1 when > 1): row r of invocation i is i + r * 64 / ROWS.
layout(constant_id = 6) const uint ROWS = 1;
const uint STEP = 8;  // keys scored per online-softmax update
// S(0u) .. S(7u): subgroupBroadcast needs a constant lane, so its step loop is spelt out.
#define SALAB_REP8(S) S(0u) S(1u) S(2u) S(3u) S(4u) S(5u) S(6u) S(7u)
// Loops over d, rows and the keys of a step: unrolled on request ([[unroll]] reaches the
// driver's compiler; Mesa's NIR honours it after specialization, where its size heuristic would
// keep these big bodies as loops and count every step against lavapipe's budget).
#define FOR_U(u) [[unroll]] for (uint u = 0u; u < STEP; ++u)
#define FOR_R(r) [[unroll]] for (uint r = 0u; r < ROWS; ++r)
// The head dimension in chunks: DC vec4s per chunk (an unrolled loop), NCH chunks.
// FOR_CHUNKS(BODY) runs BODY(h) for h = 0 .. NCH - 1: spelt out once with a constant h when there
// is one chunk (d <= 64: the code is as if there were no chunks), else in a loop that is never
// unrolled ([[dont_unroll]]: one copy of BODY, NCH counted steps of lavapipe's budget).
// BODY(h) is a macro name; in it, FOR_C4C(c4, h) runs c4 over the chunk's vec4 indices.
// CHUNK (a power of two) is choose_tiled_shape's `chunk`: D4 where compile time does not matter.
layout(constant_id = 7) const uint CHUNK = 16;
const uint DC = D4 < CHUNK ? D4 : CHUNK;
const uint NCH = D4 / DC;
#define FOR_CHUNKS(BODY) \
    if (NCH == 1u) {     \
        BODY(0u)         \
    } else {             \
        [[dont_unroll]] for (uint h_ = 0u; h_ < NCH; ++h_) { BODY(h_) } \
    }
#define FOR_C4C(c4, h) [[unroll]] for (uint c4##_c = 0u, c4 = (h) * DC; c4##_c < DC; ++c4##_c, ++c4)

shared vec4 ks[KC * DS];
shared vec4 vs[KC * DS];
shared uint key_of[KC];

// dst = elements 4 * c4 .. 4 * c4 + 3 of the row at `base` of buf, zero past d or when !ok.
// Clamped index, selected value: no `if` (lavapipe), never a read outside the row.
#define LOAD4(dst, buf, base, c4, ok)                                     \
    {                                                                     \
        dst = vec4(0.0);                                                  \
        [[unroll]] for (uint j_ = 0u; j_ < 4u; ++j_) {                    \
            const uint c_ = 4u * (c4) + j_;                               \
            const float v_ = LOAD(buf[(base) + min(c_, d - 1u)]);         \
            dst[j_] = ((ok) && c_ < d) ? v_ : 0.0;                        \
        }                                                                 \
    }

void main() {
    uint qblock, head, first, last, slot;
    if (!work_item(qblock, head, first, last, slot)) return;
    const uint n = pc.n, d = pc.d;
    const uint tid = gl_LocalInvocationID.x;
    const uint lane = TPR == 1u ? 0u : tid % TPR;
    const uint rbase = TPR == 1u ? tid : tid / TPR;
    const uint rstride = kBlock / ROWS;
    const uint head_base = head * n * d;
    const bool causal = RUN_MODE == kModeDenseCausal;

    vec4 q[ROWS * D4];
    vec4 acc[ROWS * D4];
    float m[ROWS], l[ROWS];
    uint rows[ROWS];
    FOR_R(r) {
        rows[r] = qblock * kBlock + rbase + r * rstride;  // rows past n run along, never write
        m[r] = -3.0e38;  // running max (log2 domain); finite so m - m_new is never inf - inf
        l[r] = 0.0;
    }

#define SALAB_Q_INIT(H)                                               \
    FOR_R(r) {                                                        \
        const uint qb = head_base + min(rows[r], n - 1u) * d;         \
        FOR_C4C(c4, H) {                                              \
            vec4 x;                                                   \
            LOAD4(x, q_data, qb, c4, rows[r] < n);                    \
            q[r * D4 + c4] = x * pc.scale_log2;                       \
            acc[r * D4 + c4] = vec4(0.0);                             \
        }                                                             \
    }
    FOR_CHUNKS(SALAB_Q_INIT)

    for (uint e = first; e < last; ++e) {
        uint w0, w1;
        entry_words(e, w0, w1);
        const uint kbase = (w0 & kIndexMask) * kBlock;
        const uint cols = (w0 & kGatherBit) != 0u ? kBlock : min(n, kbase + kBlock) - kbase;
        uint lo[ROWS], hi[ROWS];
        FOR_R(r) row_mask_words(w0, w1, min(rows[r], n - 1u), lo[r], hi[r]);
        for (uint c0 = 0u; c0 < kBlock; c0 += KC) {
            barrier();  // the previous step's reads of ks/vs are done
            const uint slots = KC * D4;
            [[unroll]] for (uint i = 0u; i < (slots + WG_SIZE - 1u) / WG_SIZE; ++i) {
                const uint idx = tid + i * WG_SIZE;
                const uint t = idx / D4, c4 = idx % D4;
                const uint col = c0 + t;
                uint key = kNoKey;
                if (idx < slots && col < cols) key = entry_key(w0, col, n);
                const bool ok = key != kNoKey;
                const uint kb = head_base + (ok ? key : 0u) * d;
                vec4 k4, v4;
                LOAD4(k4, k_data, kb, c4, ok);
                LOAD4(v4, v_data, kb, c4, ok);
                if (idx < slots) {
                    ks[t * DS + c4] = k4;
                    vs[t * DS + c4] = v4;
                    if (c4 == 0u) key_of[t] = key;
                }
            }
            barrier();
            for (uint k0 = 0u; k0 < KC / TPR; k0 += STEP) {
                float s[ROWS * STEP];
                bool kept[ROWS * STEP];
                uint keys[STEP];
                FOR_R(r) FOR_U(u) s[r * STEP + u] = 0.0;
#ifdef SALAB_TILED_SUBGROUP
                const uint mine = k0 + (gl_SubgroupInvocationID & 7u);  // BCAST: this lane's key
                if (BCAST != 0u) {
                    const uint my_key = key_of[mine];
#define SALAB_KEY_U(U) keys[U] = subgroupBroadcast(my_key, U);
                    SALAB_REP8(SALAB_KEY_U)
#define SALAB_QK_U(U) { const vec4 kb_ = subgroupBroadcast(kv, U); FOR_R(r) s[r * STEP + U] += dot(q[r * D4 + c4], kb_); }
#define SALAB_QK_BCAST(H)                       \
    FOR_C4C(c4, H) {                            \
        const vec4 kv = ks[mine * DS + c4];     \
        SALAB_REP8(SALAB_QK_U)                  \
    }
                    FOR_CHUNKS(SALAB_QK_BCAST)
                } else
#endif
                {
                    FOR_U(u) keys[u] = key_of[(k0 + u) * TPR + lane];
#define SALAB_QK(H)                                                   \
    FOR_C4C(c4, H) FOR_U(u) {                                         \
        const vec4 kv = ks[((k0 + u) * TPR + lane) * DS + c4];        \
        FOR_R(r) s[r * STEP + u] += dot(q[r * D4 + c4], kv);          \
    }
                    FOR_CHUNKS(SALAB_QK)
                }
                float p[ROWS * STEP], correction[ROWS];
                FOR_R(r) {
                    float tile_max = -3.0e38;
                    FOR_U(u) {
                        const uint col = c0 + (k0 + u) * TPR + lane;
                        const uint word = col < 32u ? lo[r] : hi[r];
                        const bool k = keys[u] != kNoKey && ((word >> (col % 32u)) & 1u) != 0u &&
                                       (!causal || keys[u] <= rows[r]);
                        kept[r * STEP + u] = k;
                        tile_max = k ? max(tile_max, s[r * STEP + u]) : tile_max;
                    }
                    const float m_new = max(m[r], tile_max);
                    correction[r] = exp2(m[r] - m_new);
                    l[r] *= correction[r];
                    FOR_U(u) {
                        p[r * STEP + u] = kept[r * STEP + u] ? exp2(s[r * STEP + u] - m_new) : 0.0;
                        l[r] += p[r * STEP + u];
                    }
                    m[r] = m_new;
                }
                // A masked key contributes nothing whatever V holds (0 * NaN is NaN): the sum is
                // selected, not multiplied away.
#ifdef SALAB_TILED_SUBGROUP
                if (BCAST != 0u) {
#define SALAB_PV_U(U) { const vec4 vb_ = subgroupBroadcast(vv, U); FOR_R(r) a[r] = kept[r * STEP + U] ? a[r] + p[r * STEP + U] * vb_ : a[r]; }
#define SALAB_PV_BCAST(H)                                         \
    FOR_C4C(c4, H) {                                              \
        const vec4 vv = vs[mine * DS + c4];                       \
        vec4 a[ROWS];                                             \
        FOR_R(r) a[r] = acc[r * D4 + c4] * correction[r];         \
        SALAB_REP8(SALAB_PV_U)                                    \
        FOR_R(r) acc[r * D4 + c4] = a[r];                         \
    }
                    FOR_CHUNKS(SALAB_PV_BCAST)
                } else
#endif
                {
#define SALAB_PV(H)                                                                       \
    FOR_C4C(c4, H) {                                                                      \
        vec4 a[ROWS];                                                                     \
        FOR_R(r) a[r] = acc[r * D4 + c4] * correction[r];                                 \
        FOR_U(u) {                                                                        \
            const vec4 vv = vs[((k0 + u) * TPR + lane) * DS + c4];                        \
            FOR_R(r) a[r] = kept[r * STEP + u] ? a[r] + p[r * STEP + u] * vv : a[r];      \
        }                                                                                 \
        FOR_R(r) acc[r * D4 + c4] = a[r];                                                 \
    }
                    FOR_CHUNKS(SALAB_PV)
                }
            }
        }
    }
#ifdef SALAB_TILED_SUBGROUP
    if (TPR > 1u) {
        // Merge the TPR partial softmax states of the row (ROWS = 1; the lanes of one aligned
        // cluster of the subgroup: 64 * TPR invocations in whole subgroups, TPR dividing the
        // subgroup size).
        float big_m = m[0];
        [[unroll]] for (uint x = 1u; x < TPR; x <<= 1u) big_m = max(big_m, subgroupShuffleXor(big_m, x));
        const float w = exp2(m[0] - big_m);
        l[0] *= w;
        [[unroll]] for (uint x = 1u; x < TPR; x <<= 1u) l[0] += subgroupShuffleXor(l[0], x);
#define SALAB_MERGE(H)                                                                      \
    FOR_C4C(c4, H) {                                                                        \
        vec4 a = acc[c4] * w;                                                               \
        [[unroll]] for (uint x = 1u; x < TPR; x <<= 1u) a += subgroupShuffleXor(a, x);      \
        acc[c4] = a;                                                                        \
    }
        FOR_CHUNKS(SALAB_MERGE)
        m[0] = big_m;
    }
#endif
    if (lane != 0u) return;
    FOR_R(r) {
        if (rows[r] < n) {
            if (slot != kNoKey) {  // split-k chunk: unnormalised partial result, merged later
                const uint pr = slot * kBlock + rbase + r * rstride;
                part_ml[pr] = vec2(m[r], l[r]);
                // rows padded to 4 * D4 floats (split_merge_body.glsl reads vec4s)
#define SALAB_STORE_PART(H) \
    FOR_C4C(c4, H)[[unroll]] for (uint j = 0u; j < 4u; ++j) part_o[(pr * D4 + c4) * 4u + j] = acc[r * D4 + c4][j];
                FOR_CHUNKS(SALAB_STORE_PART)
            } else {
                const float inv = l[r] > 0.0 ? 1.0 / l[r] : 0.0;  // empty rows give zeros
                const uint ob = head_base + rows[r] * d;
#define SALAB_STORE_O(H)                                \
    FOR_C4C(c4, H)[[unroll]] for (uint j = 0u; j < 4u; ++j) \
        if (4u * c4 + j < d) o_data[ob + 4u * c4 + j] = STORAGE_T(acc[r * D4 + c4][j] * inv);
                FOR_CHUNKS(SALAB_STORE_O)
            }
        }
    }
}
