#version 450
// Tiled portable attention, fp16 storage, TPR invocations per row merged by subgroup shuffles,
// or a row per invocation with keys broadcast across the subgroup (BCAST, CPU devices).
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_shader_subgroup_ballot : require
#define STORAGE_T float16_t
#define LOAD(x) float(x)
#define SALAB_F16 1
#define SALAB_TILED_SUBGROUP 1
#include "attention_tiled_body.glsl"
