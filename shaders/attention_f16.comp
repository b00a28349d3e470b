#version 450
// Same kernel with fp16 storage of Q/K/V/O (16-bit storage buffers) and fp32 accumulation.
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define STORAGE_T float16_t
#define LOAD(x) float(x)
#define SALAB_F16 1
#include "attention_body.glsl"
