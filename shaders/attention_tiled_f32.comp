#version 450
// Tiled portable attention, fp32 storage, a row per invocation (no subgroup operations).
#define STORAGE_T float
#define LOAD(x) (x)
#include "attention_tiled_body.glsl"
