#version 450
// Tiled portable attention, fp16 storage (fp32 in shared memory and arithmetic), a row per
// invocation (no subgroup operations).
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define STORAGE_T float16_t
#define LOAD(x) float(x)
#define SALAB_F16 1
#include "attention_tiled_body.glsl"
