// Block-sparse flash attention with VK_NV_cooperative_matrix2 (workgroup-scope cooperative
// matrices held in registers). Included by attention_cm2*.comp after HEAD_DIM (64 or 128),
// STAT_W (columns of the row-statistics matrices, 16 or 64) and GATHER_DECODE (0 or 1).
//
// One workgroup of 128 invocations = one query block (64 rows) of one head. Per visited key
// block (64 contiguous keys, or 64 keys listed in the gather table):
//   S = Q K^T                           Q pre-scaled by log2(e)/sqrt(d): softmax in exp2 domain
//   S = mask(S)                          only where needed: partial blocks test their bitmask,
//                                        band / causal edge blocks a key range, the last block
//                                        columns past n, gathered blocks their unused slots
//   m' = max(m, rowmax(S)); P = 2^(S - m'); e = 2^(m - m'); l = e l + rowsum(P); O = e O + P V
// with S, P, m, l, O as cooperative matrices: no shared memory, no barrier on contiguous
// blocks. fp16 Q, K, V, P (the MMA operands); S, m, l in fp32; O accumulates in fp32 (64 x d
// fp32 = 32 / 64 registers per invocation at d = 64 / 128), or in fp16 with O_F16 (the default
// variant: 13% faster at d = 128 on an H200). An fp16 O stays finite because P is scaled by
// 2^-p_shift, chosen by the host from the longest key list and max|V| (see exp2_p).
//
// Loads are not bounds-checked (clamp mode undefined: checked loads cost time per element):
// the host pads fp16 Q/K/V with one zeroed block of rows after the last head, so the rows up
// to the last block's end are readable and finite; keys past n are masked and query rows past
// n never stored (the O store is clamped to n rows).
//
// m and l are 64 x STAT_W matrices whose columns all hold the row's value (a row reduction
// writes every column); STAT_W = 16 keeps 2^(m - m') and the l update on a quarter of the
// elements of the 64 x 64 layout and costs one more broadcast (m to 64 x 64) per block.
//
// Rows without any kept key so far keep m at NEG, so P = 2^(NEG - NEG) = 1 there: the garbage
// this adds to l and O is multiplied by 2^(NEG - m') = 0 as soon as the row meets a real key,
// and a row that never does is written as 0 (m < NEG / 2 at the end; split-k partials get
// l = 0 so the merge gives 0 too).
//
// Gathered blocks (keys listed in the gather table): GATHER_DECODE = 1 gathers inside the
// tensor loads through decode callbacks (one fp16 per call, no shared memory); 0 stages the 64
// rows through shared memory with 16-byte loads and two barriers per operand.
//
// Compiled without -O, as llama.cpp does for its coopmat2 shaders after a report that glslang
// 15.1's optimiser broke them. Checked here with Debian 13's glslc 2025.2 (glslang 15.1,
// SPIRV-Tools 2025.1): -O compiles these kernels and spirv-val accepts the result, so -O would
// work; the driver optimises anyway. What does fail is invalid source-level conversions (fp16
// MatrixUseA -> fp32 accumulator): without -O glslang emits them unvalidated, with -O the
// optimiser's validator rejects them ("Expected Use of Matrix type and Result Type to be
// identical"), so the build runs spirv-val --target-env vulkan1.3 on every module.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_NV_cooperative_matrix2 : require
#extension GL_EXT_control_flow_attributes : require
#if GATHER_DECODE
#extension GL_EXT_buffer_reference : require
#endif
#define STORAGE_T float16_t
#define LOAD(x) float(x)
// Specialization constants: 0 the mode (attention_common.glsl), 1 which entry kinds the block
// mask has (kSpecGathered | kSpecPartial; a mask without them compiles without their code).
#define MODE_CONSTANT_ID 0
#include "attention_common.glsl"
layout(constant_id = 1) const uint kSpecEntries = kSpecGathered | kSpecPartial;

layout(local_size_x = 128) in;
layout(std430, binding = kBindO) writeonly buffer OBuf { float16_t o_data[]; };

const uint D = HEAD_DIM;
const uint BR = kBlock;  // query rows per workgroup: one query block of the block mask
const uint BC = kBlock;  // keys per visited block
const uint SW = STAT_W;
// "Minus infinity" for masked scores: -FLT_MAX / 2, so NEG - NEG and NEG - m stay finite.
const float NEG = -1.7014117e38;
const float NEG_HALF = -0.85e38;

#define ACC(R, C) coopmat<float, gl_ScopeWorkgroup, R, C, gl_MatrixUseAccumulator>
#define ACC16(R, C) coopmat<float16_t, gl_ScopeWorkgroup, R, C, gl_MatrixUseAccumulator>
#define MAT_A(R, C) coopmat<float16_t, gl_ScopeWorkgroup, R, C, gl_MatrixUseA>
#define MAT_B(R, C) coopmat<float16_t, gl_ScopeWorkgroup, R, C, gl_MatrixUseB>
#define LAYOUT tensorLayoutNV<2, gl_CooperativeMatrixClampModeConstantNV>
#define LAYOUT_FAST tensorLayoutNV<2>
#if O_F16
#define O_T float16_t
#else
#define O_T float
#endif
#define ACC_O(R, C) coopmat<O_T, gl_ScopeWorkgroup, R, C, gl_MatrixUseAccumulator>

// Band ends of the range modes (dense: the whole row; causal: keys <= row), set once.
int g_left = 0, g_right = 0;

float max_op(const in float a, const in float b) { return max(a, b); }
float smear_op(const in float a, const in float b) { return a; }
float add_op(const in float a, const in float b) { return a + b; }
float exp2_elem(const in uint r, const in uint c, const in float x) { return exp2(x); }
// P = 2^(S - m - p_shift): P and l scaled by 2^-p_shift alike (O / l unchanged), so that an fp16
// O, which sums up to (visited keys) x max|V| of them, cannot overflow (the host sets p_shift).
float exp2_p(const in uint r, const in uint c, const in float x) { return exp2(x - pc.p_shift); }
float max_elem(const in uint r, const in uint c, const in float a, const in float b) { return max(a, b); }

// Partial block: bit (r, c) of its bitmask (two words per row), which already excludes
// columns past n and unused gather slots.
float mask_bits(const in uint r, const in uint c, const in float s, const in uint base) {
    return ((bits[base + 2u * r + (c >> 5u)] >> (c & 31u)) & 1u) != 0u ? s : NEG;
}
// Full gathered block: its used slots.
float mask_slots(const in uint r, const in uint c, const in float s, const in uint gbase) {
    return gather_keys[gbase + c] != kNoKey ? s : NEG;
}
// Full contiguous block that ends past n: columns < limit.
float mask_cols(const in uint r, const in uint c, const in float s, const in uint limit) {
    return c < limit ? s : NEG;
}
// Range modes (band, dense, causal): row q0 + r keeps keys [row - left, row + right] below n.
float mask_range(const in uint r, const in uint c, const in float s, const in uint q0, const in uint k0) {
    const int row = int(q0 + r), key = int(k0 + c);
    return key < int(pc.n) && key + g_left >= row && key <= row + g_right ? s : NEG;
}
// Final normalisation (l and m broadcast to 64 x d): rows that kept no key give 0.
float normalise(const in uint r, const in uint c, const in float o, const in float l, const in float m) {
    return m < NEG_HALF || l <= 0.0 ? 0.0 : o / l;
}
// Split-k: the (m, l) of each row of a partial result, written from column 0.
float store_ml(const in uint r, const in uint c, const in float l, const in float m, const in uint row_base) {
    if (c == 0u) part_ml[row_base + r] = vec2(m, m < NEG_HALF ? 0.0 : l);
    return l;
}

#if GATHER_DECODE
// The tensor load hands each element's address in K or V to the callback; a gathered block's
// keys are not contiguous, so the callbacks ignore it and read key gather[slot] directly.
layout(buffer_reference, std430, buffer_reference_align = 2) buffer F16Ref { float16_t x; };
uint g_gather_base = 0u, g_head_base = 0u;
float16_t gather_k(const in F16Ref unused, const in uint block_coords[2], const in uint coord_in_block[2]) {
    const uint key = gather_keys[g_gather_base + block_coords[0]];
    return key == kNoKey ? float16_t(0.0) : k_data[g_head_base + key * D + block_coords[1]];
}
float16_t gather_v(const in F16Ref unused, const in uint block_coords[2], const in uint coord_in_block[2]) {
    const uint key = gather_keys[g_gather_base + block_coords[0]];
    return key == kNoKey ? float16_t(0.0) : v_data[g_head_base + key * D + block_coords[1]];
}
#else
// Shared-memory staging of one gathered block (64 rows of d fp16, rows padded by 8 halves so
// they stay 16-byte aligned). The same K/V buffers seen as 16-byte words.
layout(std430, binding = kBindK) readonly buffer KBuf16 { uvec4 k16[]; };
layout(std430, binding = kBindV) readonly buffer VBuf16 { uvec4 v16[]; };
const uint ROW16 = D / 8u;
const uint KV_STRIDE = D + 8u;
const uint CHUNKS = BC * ROW16 / 128u;
shared float16_t sh_kv[BC * KV_STRIDE];

void stage_rows(const bool want_v, const uint gbase, const uint head_base16) {
    barrier();  // every invocation is done with the previous contents
    [[unroll]] for (uint u = 0u; u < CHUNKS; ++u) {
        const uint i = gl_LocalInvocationIndex + 128u * u;
        const uint r = i / ROW16, c = i % ROW16;
        const uint key = gather_keys[gbase + r];
        uvec4 w = uvec4(0u);
        if (key != kNoKey) w = want_v ? v16[head_base16 + key * ROW16 + c] : k16[head_base16 + key * ROW16 + c];
        const uint base = r * KV_STRIDE + 8u * c;
        [[unroll]] for (uint j = 0u; j < 4u; ++j) {
            const f16vec2 h = unpackFloat2x16(w[j]);
            sh_kv[base + 2u * j] = h.x;
            sh_kv[base + 2u * j + 1u] = h.y;
        }
    }
    barrier();
}
#endif

void main() {
    uint qblock, head, first, last, slot;
    if (!work_item(qblock, head, first, last, slot)) return;
    const uint n = pc.n;
    const uint q0 = qblock * BR;
    const uint head_base = head * n * D;
    if (RUN_MODE == kModeBand) {
        g_left = int(pc.band_left);
        g_right = int(pc.band_right);
    } else {
        g_left = int(n);
        g_right = RUN_MODE == kModeDenseCausal ? 0 : int(n);
    }
    const bool range_mode = !sparse_mode();

    // Loads: unchecked (padded rows, see above); the store: clamped to this head's n rows.
    LAYOUT_FAST tf = createTensorLayoutNV(2);
    tf = setTensorLayoutDimensionNV(tf, n + BC, D);
    tf = setTensorLayoutStrideNV(tf, D, 1);
    LAYOUT tl = createTensorLayoutNV(2, gl_CooperativeMatrixClampModeConstantNV);
    tl = setTensorLayoutDimensionNV(tl, n, D);
    tl = setTensorLayoutStrideNV(tl, D, 1);
    tensorViewNV<2, false, 1, 0> transposed = createTensorViewNV(2, false, 1, 0);
#if GATHER_DECODE
    LAYOUT tg = createTensorLayoutNV(2, gl_CooperativeMatrixClampModeConstantNV);
    tg = setTensorLayoutDimensionNV(tg, BC, D);
    g_head_base = head_base;
#endif

    ACC16(BR, D) qh;
    coopMatLoadTensorNV(qh, q_data, head_base, sliceTensorLayoutNV(tf, q0, BR, 0, D));
    ACC(BR, D) qf = ACC(BR, D)(qh);
    qf = qf * pc.scale_log2;
    const MAT_A(BR, D) qa = MAT_A(BR, D)(qf);

    ACC_O(BR, D) o = ACC_O(BR, D)(0.0);
    ACC(BR, SW) m = ACC(BR, SW)(NEG);
    ACC(BR, SW) l = ACC(BR, SW)(0.0);

    [[dont_unroll]] for (uint e = first; e < last; ++e) {
        uint w0, w1;
        entry_words(e, w0, w1);
        const uint kb = w0 & kIndexMask;
        const bool gathered = !range_mode && (kSpecEntries & kSpecGathered) != 0u && (w0 & kGatherBit) != 0u;
        const bool partial = !range_mode && (kSpecEntries & kSpecPartial) != 0u && (w0 & kPartialBit) != 0u;
        const uint k0 = kb * BC;

        MAT_B(D, BC) kt;
        if (gathered) {
#if GATHER_DECODE
            g_gather_base = kb * BC;
            coopMatLoadTensorNV(kt, k_data, 0, sliceTensorLayoutNV(tg, 0, BC, 0, D), transposed, gather_k);
#else
            stage_rows(false, kb * BC, head_base / 8u);
            coopMatLoad(kt, sh_kv, 0, KV_STRIDE, gl_CooperativeMatrixLayoutColumnMajor);
#endif
        } else {
            coopMatLoadTensorNV(kt, k_data, head_base, sliceTensorLayoutNV(tf, k0, BC, 0, D), transposed);
        }
        ACC(BR, BC) s = ACC(BR, BC)(0.0);
        s = coopMatMulAdd(qa, kt, s);

        if (range_mode) {
            const bool interior = k0 + BC <= n && int(k0) + g_left >= int(q0 + BR - 1u) &&
                                  int(k0 + BC - 1u) <= int(q0) + g_right;
            if (!interior) coopMatPerElementNV(s, s, mask_range, q0, k0);
        } else if (partial) {
            coopMatPerElementNV(s, s, mask_bits, w1 * BC * 2u);
        } else if (gathered) {
            coopMatPerElementNV(s, s, mask_slots, kb * BC);
        } else if (k0 + BC > n) {
            coopMatPerElementNV(s, s, mask_cols, n - k0);
        }

        ACC(BR, SW) block_max;
        coopMatReduceNV(block_max, s, gl_CooperativeMatrixReduceRowNV, max_op);
        const ACC(BR, SW) m_old = m;
        coopMatPerElementNV(m, block_max, max_elem, m_old);
#if STAT_W == 64
        const ACC(BR, BC) m_wide = m;
#else
        ACC(BR, BC) m_wide;
        coopMatReduceNV(m_wide, m, gl_CooperativeMatrixReduceRowNV, smear_op);
#endif
        ACC(BR, BC) p;
        coopMatPerElementNV(p, s - m_wide, exp2_p);
        ACC(BR, SW) scale;
        coopMatPerElementNV(scale, m_old - m, exp2_elem);
        const MAT_A(BR, BC) pa = MAT_A(BR, BC)(p);
        // Row sums of the fp16 P that P V uses, on the tensor cores (P x ones).
        ACC(BR, SW) row_sum = ACC(BR, SW)(0.0);
        row_sum = coopMatMulAdd(pa, MAT_B(BC, SW)(1.0), row_sum);
        l = scale * l + row_sum;

        MAT_B(BC, D) vb;
        if (gathered) {
#if GATHER_DECODE
            coopMatLoadTensorNV(vb, v_data, 0, sliceTensorLayoutNV(tg, 0, BC, 0, D), gather_v);
#else
            stage_rows(true, kb * BC, head_base / 8u);
            coopMatLoad(vb, sh_kv, 0, KV_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
#endif
        } else {
            coopMatLoadTensorNV(vb, v_data, head_base, sliceTensorLayoutNV(tf, k0, BC, 0, D));
        }
        ACC(BR, D) scale_wide;
        coopMatReduceNV(scale_wide, scale, gl_CooperativeMatrixReduceRowNV, smear_op);
        o = o * ACC_O(BR, D)(scale_wide);
        o = coopMatMulAdd(pa, vb, o);
    }

    if (slot != kNoKey) {  // split-k chunk: unnormalised O (fp32 rows of d) and (m, l) per row
        LAYOUT tp = createTensorLayoutNV(2, gl_CooperativeMatrixClampModeConstantNV);
        tp = setTensorLayoutDimensionNV(tp, BR, D);
        const ACC(BR, D) of = ACC(BR, D)(o);
        coopMatStoreTensorNV(of, part_o, slot * BR * D, sliceTensorLayoutNV(tp, 0, BR, 0, D));
        coopMatPerElementNV(l, l, store_ml, m, slot * BR);
        return;
    }
    ACC(BR, D) l_wide, m_wide_d;
    coopMatReduceNV(l_wide, l, gl_CooperativeMatrixReduceRowNV, smear_op);
    coopMatReduceNV(m_wide_d, m, gl_CooperativeMatrixReduceRowNV, smear_op);
    ACC(BR, D) of = ACC(BR, D)(o);
    coopMatPerElementNV(of, of, normalise, l_wide, m_wide_d);
    const ACC16(BR, D) oh = ACC16(BR, D)(of);
    coopMatStoreTensorNV(oh, o_data, head_base, sliceTensorLayoutNV(tl, q0, BR, 0, D));
}
