// Tensor-core block-sparse flash attention through VK_NV_cooperative_matrix (fp16 operands,
// fp32 accumulation). Included by attention_nv_d*.comp after HEAD_DIM is defined.
//
// One workgroup = 64 query rows of one head = 4 subgroups of 32 lanes, each owning 16 rows.
// Per visited block (64 contiguous keys, or 64 gathered keys of a gathered entry):
//   1. the workgroup stages the block's K rows in shared memory (16-byte loads, one copy for
//      all four subgroups; gathered entries fetch their rows by index here, so the tensor-core
//      loads below always read a dense tile),
//   2. each subgroup computes S = Q K^T (16 x 64) with coopMatMulAddNV into its own shared
//      region, runs the online softmax with two lanes per row (32 keys each, interleaved, exp2
//      domain) and writes P as fp16,
//   3. the workgroup stages the V rows in the same buffer, and each subgroup computes P V in
//      64-column chunks, adding them into per-lane fp32 accumulators after rescaling.
// Global loads of the next operand are issued into registers before the current one is used
// (software pipelining), so their latency overlaps the tensor-core and softmax work.
// Shared memory: one K/V tile (64 x (HEAD_DIM + 8) fp16) + per subgroup 16 x 68 fp32 + 16 x 72
// fp16 = 35 KiB (d = 64) / 43 KiB (d = 128), under the 48 KiB NVIDIA gives a workgroup.
// Needs subgroup size 32 (checked on the host).
#extension GL_GOOGLE_include_directive : require
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define STORAGE_T float16_t
#define LOAD(x) float(x)
#define MODE_CONSTANT_ID 0  // the mode, fixed per pipeline (attention_common.glsl)
#include "attention_common.glsl"

layout(std430, binding = kBindO) writeonly buffer OBuf { float16_t o_data[]; };
#include "coopmat_tile.glsl"

void main() {
    const uint sg = gl_SubgroupID;
    const uint lane = gl_SubgroupInvocationID;
    const uint lid = gl_LocalInvocationIndex;
    uint qblock, head, first, last, slot;
    if (!work_item(qblock, head, first, last, slot)) return;
    const uint n = pc.n, d = pc.d;
    const uint head_base = head * n * d;
    const uint head_base16 = head_base / 8u;  // d is 64 or 128: rows are whole 16-byte words
    const uint row0 = qblock * kBlock + sg * 16u;
    const uint r = lane >> 1u;       // this lane's row within the subgroup's 16
    const uint half_ = lane & 1u;    // which 32 keys (softmax) / which columns (output)
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

    uint w0 = 0u, w1 = 0u;
    if (first < last) {
        entry_words(first, w0, w1);
        fetch(false, w0, head_base16);
    }
    for (uint e = first; e < last; ++e) {
        barrier();  // every subgroup is done with the previous V tile
        stash();
        if (lid < kBlock) sh_key[lid] = entry_key(w0, lid, n);
        barrier();
        fetch(true, w0, head_base16);  // V loads in flight during S and the softmax

        // S = Q K^T for 64 keys: K^T tiles are column-major loads of the staged K rows.
        for (uint j = 0u; j < 4u; ++j) {
            fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> s_acc = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);
            for (uint t = 0u; t < DT; ++t) {
                fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> kb;
                coopMatLoadNV(kb, sh_kv, 16u * j * KV_STRIDE + 16u * t, KV_STRIDE, true);
                s_acc = coopMatMulAddNV(qa[t], kb, s_acc);
            }
            coopMatStoreNV(s_acc, sh_f32, f_base + 16u * j, S_STRIDE, false);
        }
        subgroupMemoryBarrierShared();
        subgroupBarrier();

        // Online softmax: lanes 2r and 2r+1 share row r, 32 keys each.
        float s[32], tile_max, lsum;
        TILE_SCORES(w0, w1, row, r, half_, f_base, s, tile_max);
        const float m_new = max(m, tile_max);
        const float correction = exp2(m - m_new);
        WRITE_P(s, m_new, r, half_, p_base, lsum);
        l = l * correction + lsum;
        m = m_new;
        for (uint c = 0u; c < HEAD_DIM / 2u; ++c) o[c] *= correction;

        barrier();  // every subgroup is done with the K tile (and its P is visible)
        stash();
        barrier();
        if (e + 1u < last) {  // next K loads in flight during P V
            entry_words(e + 1u, w0, w1);
            fetch(false, w0, head_base16);
        }

        // P V in 64-column chunks through the subgroup's fp32 region, then into the lanes.
        for (uint g = 0u; g < DT / 4u; ++g) {
            for (uint jj = 0u; jj < 4u; ++jj) {
                const uint j = 4u * g + jj;
                fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> pv = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);
                for (uint kk = 0u; kk < 4u; ++kk) {
                    fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> pa;
                    fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> vb;
                    coopMatLoadNV(pa, sh_p, p_base + 16u * kk, P_STRIDE, false);
                    coopMatLoadNV(vb, sh_kv, 16u * kk * KV_STRIDE + 16u * j, KV_STRIDE, false);
                    pv = coopMatMulAddNV(pa, vb, pv);
                }
                coopMatStoreNV(pv, sh_f32, f_base + 16u * jj, S_STRIDE, false);
            }
            subgroupMemoryBarrierShared();
            subgroupBarrier();
            for (uint c = 0u; c < 32u; ++c) o[32u * g + c] += sh_f32[f_base + r * S_STRIDE + 2u * c + half_];
            subgroupMemoryBarrierShared();
            subgroupBarrier();  // the region is overwritten by the next chunk or block
        }
    }
    if (row >= n) return;
    if (slot != kNoKey) {  // split-k chunk: unnormalised partial result, merged later
        const uint pr = slot * kBlock + sg * 16u + r;
        if (half_ == 0u) part_ml[pr] = vec2(m, l);
        for (uint c = 0u; c < HEAD_DIM / 2u; ++c)  // rows of HEAD_DIM = 4 * D4 floats
            part_o[pr * HEAD_DIM + 64u * (c / 32u) + 2u * (c % 32u) + half_] = o[c];
        return;
    }
    const float inv = l > 0.0 ? 1.0 / l : 0.0;  // empty rows give zeros
    // Lane (r, half_) holds columns 64 g + 2 c' + half_ as o[32 g + c'].
    for (uint c = 0u; c < HEAD_DIM / 2u; ++c)
        o_data[head_base + row * d + 64u * (c / 32u) + 2u * (c % 32u) + half_] = float16_t(o[c] * inv);
}
