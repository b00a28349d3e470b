#version 450
// VK_KHR_cooperative_matrix attention, d = 64 (see attention_khr_body.glsl).
#define HEAD_DIM 64u
#include "attention_khr_body.glsl"
