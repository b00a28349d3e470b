#version 450
// The coopmat2 GEMM ceiling of a device: C = A B (n x n, fp16 x fp16 -> fp32, stored as fp16)
// with 128 x 128 workgroup-scope tiles of 256 invocations, k steps of 32, tensor-layout loads.
// Not attention: `salab-cli devices --probe` times it to say what the matrix units sustain
// through VK_NV_cooperative_matrix2 on this driver (the attention kernels' ceiling).
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_NV_cooperative_matrix2 : require
#extension GL_EXT_control_flow_attributes : require

layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer ABuf { float16_t a_data[]; };
layout(std430, binding = 1) readonly buffer BBuf { float16_t b_data[]; };
layout(std430, binding = 2) writeonly buffer CBuf { float16_t c_data[]; };
layout(push_constant) uniform Push { uint n; } pc;

const uint BM = 128, BN = 128, BK = 32;

void main() {
    const uint n = pc.n;  // a multiple of 128 (the host checks)
    const uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    tensorLayoutNV<2> t = createTensorLayoutNV(2);
    t = setTensorLayoutDimensionNV(t, n, n);
    t = setTensorLayoutStrideNV(t, n, 1);
    coopmat<float, gl_ScopeWorkgroup, BM, BN, gl_MatrixUseAccumulator> acc =
        coopmat<float, gl_ScopeWorkgroup, BM, BN, gl_MatrixUseAccumulator>(0.0);
    [[dont_unroll]] for (uint k = 0u; k < n; k += BK) {
        coopmat<float16_t, gl_ScopeWorkgroup, BM, BK, gl_MatrixUseA> a;
        coopmat<float16_t, gl_ScopeWorkgroup, BK, BN, gl_MatrixUseB> b;
        coopMatLoadTensorNV(a, a_data, 0, sliceTensorLayoutNV(t, m0, BM, k, BK));
        coopMatLoadTensorNV(b, b_data, 0, sliceTensorLayoutNV(t, k, BK, n0, BN));
        acc = coopMatMulAdd(a, b, acc);
    }
    const coopmat<float16_t, gl_ScopeWorkgroup, BM, BN, gl_MatrixUseAccumulator> c =
        coopmat<float16_t, gl_ScopeWorkgroup, BM, BN, gl_MatrixUseAccumulator>(acc);
    coopMatStoreTensorNV(c, c_data, 0, sliceTensorLayoutNV(t, m0, BM, n0, BN));
}
