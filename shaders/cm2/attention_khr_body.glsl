// Tensor-core block-sparse flash attention through VK_KHR_cooperative_matrix (subgroup scope,
// 16 x 16 x 16 fp16 operands, fp32 accumulation): the path for AMD RDNA3 and Intel Arc/Xe matrix
// units, and for NVIDIA when forced. Included by attention_khr_d*.comp after HEAD_DIM is
// defined. Needs a glslc that knows GL_KHR_cooperative_matrix (Debian 13's; see CMakeLists.txt),
// hence its place in shaders/cm2/.
//
// One workgroup = 64 query rows of one head = 4 subgroups of 32 lanes, each owning 16 rows
// (the tile layout and the softmax step are shared with the VK_NV_cooperative_matrix kernel,
// ../coopmat_tile.glsl). Per visited block (64 contiguous keys, or 64 gathered ones):
//   1. the workgroup stages the block's K rows in shared memory (gathered entries fetch their
//      rows by index here, so the tensor-core loads always read a dense tile),
//   2. each subgroup computes S = Q K^T (16 x 64) into its own shared region and runs the
//      online softmax with two lanes per row (exp2 domain), writing P as fp16,
//   3. the workgroup stages the V rows, and each subgroup adds P V straight into its O
//      accumulators, which stay in cooperative-matrix registers for the whole key loop.
// KHR cooperative matrices have no per-row operations (the NV v1 kernel and llama.cpp's
// coopmat1 kernel therefore move O through shared memory every block). Here the softmax keeps
// a reference maximum m per row and only moves it when a block's maximum exceeds it by more
// than kRescale (log2 domain): P = exp2(s - m) then stays below 2^kRescale (fp16-safe), and O
// and l stay finite in fp32. Only when some row of the subgroup moves (a few blocks per row at
// the start of its list, rarely after) does the subgroup store its O tiles, scale those rows
// and load them back. m, l and O keep the meaning of every other kernel (O = sum exp2(s - m) v,
// l = sum exp2(s - m)), so split-k partials merge unchanged.
// Shared memory as the v1 kernel: 35 KiB (d = 64) / 43 KiB (d = 128).
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_vote : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define STORAGE_T float16_t
#define LOAD(x) float(x)
#define MODE_CONSTANT_ID 0  // the mode, fixed per pipeline (attention_common.glsl)
#include "attention_common.glsl"

layout(std430, binding = kBindO) writeonly buffer OBuf { float16_t o_data[]; };
#include "coopmat_tile.glsl"

#define MAT_A coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA>
#define MAT_B coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB>
#define MAT_C coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>

const float kRescale = 8.0;  // P <= 2^8 between rescales

void main() {
    const uint sg = gl_SubgroupID;
    const uint lane = gl_SubgroupInvocationID;
    const uint lid = gl_LocalInvocationIndex;
    uint qblock, head, first, last, slot;
    if (!work_item(qblock, head, first, last, slot)) return;
    const uint n = pc.n, d = pc.d;
    const uint head_base = head * n * d;
    const uint head_base16 = head_base / 8u;
    const uint row0 = qblock * kBlock + sg * 16u;
    const uint r = lane >> 1u;     // this lane's row within the subgroup's 16
    const uint half_ = lane & 1u;  // which 32 keys (softmax) / which columns (rescale, output)
    const uint row = row0 + r;
    const uint f_base = sg * REGION;
    const uint p_base = sg * 16u * P_STRIDE;

    // Rows past n read finite padding (the host allocates 64 extra rows); never written.
    MAT_A qa[DT];
    for (uint t = 0u; t < DT; ++t)
        coopMatLoad(qa[t], q_data, head_base + row0 * d + 16u * t, d, gl_CooperativeMatrixLayoutRowMajor);
    MAT_C oc[DT];
    for (uint t = 0u; t < DT; ++t) oc[t] = MAT_C(0.0);
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
            MAT_C s_acc = MAT_C(0.0);
            for (uint t = 0u; t < DT; ++t) {
                MAT_B kb;
                coopMatLoad(kb, sh_kv, 16u * j * KV_STRIDE + 16u * t, KV_STRIDE, gl_CooperativeMatrixLayoutColumnMajor);
                s_acc = coopMatMulAdd(qa[t], kb, s_acc);
            }
            coopMatStore(s_acc, sh_f32, f_base + 16u * j, S_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
        }
        subgroupMemoryBarrierShared();
        subgroupBarrier();

        float s[32], tile_max, lsum;
        TILE_SCORES(w0, w1, row, r, half_, f_base, s, tile_max);
        const bool move = tile_max > m + kRescale;
        const float correction = move ? exp2(m - tile_max) : 1.0;
        if (move) m = tile_max;
        WRITE_P(s, m, r, half_, p_base, lsum);
        l = l * correction + lsum;
        // O is zero before the first block: nothing to rescale there.
        if (subgroupAny(move) && e != first) {
            for (uint g = 0u; g < DT / 4u; ++g) {
                for (uint jj = 0u; jj < 4u; ++jj)
                    coopMatStore(oc[4u * g + jj], sh_f32, f_base + 16u * jj, S_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
                subgroupMemoryBarrierShared();
                subgroupBarrier();
                for (uint c = 0u; c < 32u; ++c) sh_f32[f_base + r * S_STRIDE + 2u * c + half_] *= correction;
                subgroupMemoryBarrierShared();
                subgroupBarrier();
                for (uint jj = 0u; jj < 4u; ++jj)
                    coopMatLoad(oc[4u * g + jj], sh_f32, f_base + 16u * jj, S_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
                subgroupMemoryBarrierShared();
                subgroupBarrier();  // the region is overwritten by the next chunk or block
            }
        }

        barrier();  // every subgroup is done with the K tile (and its P is visible)
        stash();
        barrier();
        if (e + 1u < last) {  // next K loads in flight during P V
            entry_words(e + 1u, w0, w1);
            fetch(false, w0, head_base16);
        }

        // O += P V: P's four 16-key tiles once, then every 16-column tile of V.
        MAT_A pa[4];
        for (uint kk = 0u; kk < 4u; ++kk)
            coopMatLoad(pa[kk], sh_p, p_base + 16u * kk, P_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
        for (uint j = 0u; j < DT; ++j)
            for (uint kk = 0u; kk < 4u; ++kk) {
                MAT_B vb;
                coopMatLoad(vb, sh_kv, 16u * kk * KV_STRIDE + 16u * j, KV_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
                oc[j] = coopMatMulAdd(pa[kk], vb, oc[j]);
            }
    }

    // O leaves through the subgroup's fp32 region in 64-column chunks; lane (r, half_) writes
    // columns 64 g + 2 c + half_ of its row.
    const uint pr = slot * kBlock + sg * 16u + r;
    if (slot != kNoKey && row < n && half_ == 0u) part_ml[pr] = vec2(m, l);
    const float inv = l > 0.0 ? 1.0 / l : 0.0;  // empty rows give zeros
    for (uint g = 0u; g < DT / 4u; ++g) {
        for (uint jj = 0u; jj < 4u; ++jj)
            coopMatStore(oc[4u * g + jj], sh_f32, f_base + 16u * jj, S_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
        subgroupMemoryBarrierShared();
        subgroupBarrier();
        if (row < n) {
            for (uint c = 0u; c < 32u; ++c) {
                const uint col = 64u * g + 2u * c + half_;
                const float v = sh_f32[f_base + r * S_STRIDE + 2u * c + half_];
                if (slot != kNoKey)  // split-k chunk: unnormalised partial result, merged later
                    part_o[pr * HEAD_DIM + col] = v;
                else
                    o_data[head_base + row * d + col] = float16_t(v * inv);
            }
        }
        subgroupMemoryBarrierShared();
        subgroupBarrier();
    }
}
