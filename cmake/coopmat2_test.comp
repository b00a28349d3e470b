#version 450
// Feature test (scripts/install-deps.sh and CMakeLists.txt): does this glslc compile
// GL_KHR_cooperative_matrix + GL_NV_cooperative_matrix2 at workgroup scope (tensor-layout
// loads, a row reduction, a per-element op, accumulator -> MatrixUseA conversion)?
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_NV_cooperative_matrix2 : require
layout(local_size_x = 128) in;
layout(binding = 0) readonly buffer A { float16_t a[]; };
layout(binding = 1) buffer C { float c[]; };
float maxf(const in float x, const in float y) { return max(x, y); }
float twice(const in uint r, const in uint col, const in float e) { return 2.0 * e; }
void main() {
    tensorLayoutNV<2, gl_CooperativeMatrixClampModeConstantNV> t =
        createTensorLayoutNV(2, gl_CooperativeMatrixClampModeConstantNV);
    t = setTensorLayoutDimensionNV(t, 64, 64);
    coopmat<float16_t, gl_ScopeWorkgroup, 64, 64, gl_MatrixUseAccumulator> h;
    coopMatLoadTensorNV(h, a, 0, sliceTensorLayoutNV(t, 0, 64, 0, 64));
    coopmat<float, gl_ScopeWorkgroup, 64, 64, gl_MatrixUseAccumulator> f =
        coopmat<float, gl_ScopeWorkgroup, 64, 64, gl_MatrixUseAccumulator>(h);
    coopmat<float, gl_ScopeWorkgroup, 64, 64, gl_MatrixUseAccumulator> m;
    coopMatReduceNV(m, f, gl_CooperativeMatrixReduceRowNV, maxf);
    coopMatPerElementNV(m, m, twice);
    coopmat<float16_t, gl_ScopeWorkgroup, 64, 64, gl_MatrixUseA> pa =
        coopmat<float16_t, gl_ScopeWorkgroup, 64, 64, gl_MatrixUseA>(m);
    coopmat<float16_t, gl_ScopeWorkgroup, 64, 64, gl_MatrixUseB> ones =
        coopmat<float16_t, gl_ScopeWorkgroup, 64, 64, gl_MatrixUseB>(1.0);
    f = coopMatMulAdd(pa, ones, f);
    coopMatStore(f, c, 0, 64, gl_CooperativeMatrixLayoutRowMajor);
}
