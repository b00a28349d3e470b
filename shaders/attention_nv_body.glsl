// Tensor-core block-sparse flash attention through VK_NV_cooperative_matrix (fp16 operands,
// fp32 accumulation). Included by attention_nv_d*.comp after HEAD_DIM is defined.
//
// One workgroup = 64 query rows of one head = 4 subgroups of 32 lanes, each owning 16 rows.
// Per visited 64-key block a subgroup computes S = Q K^T (16 x 64) with coopMatMulAddNV,
// stages S in its own shared region, runs the online softmax with two lanes per row (32 keys
// each, interleaved, exp2 domain), writes P as fp16, computes P V (16 x HEAD_DIM) with coopMatMulAddNV and
// adds it into per-lane fp32 accumulators after rescaling them. Subgroups never share shared
// memory, so no workgroup barriers are needed. Needs subgroup size 32 (checked on the host).
#extension GL_GOOGLE_include_directive : require
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define STORAGE_T float16_t
#define LOAD(x) float(x)
#include "attention_common.glsl"

layout(local_size_x = 128) in;
layout(std430, binding = 3) writeonly buffer OBuf { float16_t o_data[]; };

const uint DT = HEAD_DIM / 16u;          // 16-wide tiles of the head dimension
// Padded row strides of the staging regions. Lane pairs own a row and walk its columns
// interleaved (column 2k + half), so with 4 extra words per row the 32 lanes of a load hit 16
// distinct banks (2-way) instead of one bank 32 times (unpadded rows are multiples of 32 words).
const uint S_STRIDE = 64u + 4u;          // fp32 S, 16 x 64
const uint O_STRIDE = HEAD_DIM + 4u;     // fp32 P V, 16 x HEAD_DIM
const uint P_STRIDE = 64u + 8u;          // fp16 P, 16 x 64 (16-byte aligned rows)
const uint REGION = 16u * (O_STRIDE > S_STRIDE ? O_STRIDE : S_STRIDE);
shared float sh_f32[4u * REGION];
shared float16_t sh_p[4u * 16u * P_STRIDE];

void main() {
    const uint sg = gl_SubgroupID;
    const uint lane = gl_SubgroupInvocationID;
    const uint qblock = gl_WorkGroupID.x;
    const uint head = gl_WorkGroupID.y + pc.head_offset;
    const uint n = pc.n, d = pc.d;
    const uint head_base = head * n * d;
    const uint row0 = qblock * kBlock + sg * 16u;
    const uint r = lane >> 1u;       // this lane's row within the subgroup's 16
    const uint half_ = lane & 1u;    // which 32 keys (softmax) / which D/2 dims (output)
    const uint row = row0 + r;
    const uint f_base = sg * REGION;
    const uint p_base = sg * 16u * P_STRIDE;

    // Rows past n read finite padding (the host allocates 64 extra rows); never written.
    fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> qa[DT];
    for (uint t = 0u; t < DT; ++t)
        coopMatLoadNV(qa[t], q_data, head_base + row0 * d + 16u * t, d, false);

    float o[HEAD_DIM / 2u];
    for (uint c = 0u; c < HEAD_DIM / 2u; ++c) o[c] = 0.0;
    float m = -3.0e38, l = 0.0;

    uint first, last;
    block_range(head, qblock, first, last);
    for (uint e = first; e < last; ++e) {
        uint w0, w1;
        entry_words(e, w0, w1);
        const uint key0 = (w0 & ~kPartialBit) * kBlock;

        // S = Q K^T for 64 keys: K^T tiles load column-major straight from K [keys, d].
        // (Loading K row-major as the A operand of S^T = K Q^T measured no faster on an H100.)
        for (uint j = 0u; j < 4u; ++j) {
            fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> s_acc = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);
            for (uint t = 0u; t < DT; ++t) {
                fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> kb;
                coopMatLoadNV(kb, k_data, head_base + (key0 + 16u * j) * d + 16u * t, d, true);
                s_acc = coopMatMulAddNV(qa[t], kb, s_acc);
            }
            coopMatStoreNV(s_acc, sh_f32, f_base + 16u * j, S_STRIDE, false);
        }
        subgroupMemoryBarrierShared();
        subgroupBarrier();

        // Online softmax: lanes 2r and 2r+1 share row r, 32 keys each.
        float s[32];
        float tile_max = -3.0e38;
        for (uint k = 0u; k < 32u; ++k) {
            const uint col = 2u * k + half_;
            const uint key = key0 + col;
            const bool kept = row < n && key < n && entry_keeps(w0, w1, row, key) && causal_ok(row, key);
            s[k] = kept ? sh_f32[f_base + r * S_STRIDE + col] * pc.scale_log2 : -3.0e38;
            tile_max = max(tile_max, s[k]);
        }
        tile_max = max(tile_max, subgroupShuffleXor(tile_max, 1u));
        const float m_new = max(m, tile_max);
        const float correction = exp2(m - m_new);
        float lsum = 0.0;
        for (uint k = 0u; k < 32u; ++k) {
            const float p = s[k] > -1.0e38 ? exp2(s[k] - m_new) : 0.0;
            lsum += p;
            sh_p[p_base + r * P_STRIDE + 2u * k + half_] = float16_t(p);
        }
        lsum += subgroupShuffleXor(lsum, 1u);
        l = l * correction + lsum;
        m = m_new;
        for (uint c = 0u; c < HEAD_DIM / 2u; ++c) o[c] *= correction;
        subgroupMemoryBarrierShared();
        subgroupBarrier();

        // PV for 64 keys into the (now free) fp32 region, then into the lane accumulators.
        for (uint j = 0u; j < DT; ++j) {
            fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> pv = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);
            for (uint kk = 0u; kk < 4u; ++kk) {
                fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> pa;
                fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> vb;
                coopMatLoadNV(pa, sh_p, p_base + 16u * kk, P_STRIDE, false);
                coopMatLoadNV(vb, v_data, head_base + (key0 + 16u * kk) * d + 16u * j, d, false);
                pv = coopMatMulAddNV(pa, vb, pv);
            }
            coopMatStoreNV(pv, sh_f32, f_base + 16u * j, O_STRIDE, false);
        }
        subgroupMemoryBarrierShared();
        subgroupBarrier();
        for (uint c = 0u; c < HEAD_DIM / 2u; ++c) o[c] += sh_f32[f_base + r * O_STRIDE + 2u * c + half_];
        subgroupMemoryBarrierShared();
        subgroupBarrier();  // the region is overwritten by the next block's S
    }
    if (row >= n) return;
    const float inv = l > 0.0 ? 1.0 / l : 0.0;  // empty rows give zeros
    for (uint c = 0u; c < HEAD_DIM / 2u; ++c)
        o_data[head_base + row * d + 2u * c + half_] = float16_t(o[c] * inv);
}
