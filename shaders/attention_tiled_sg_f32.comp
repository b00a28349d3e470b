#version 450
// Tiled portable attention, fp32 storage, TPR invocations per row merged by subgroup shuffles,
// or a row per invocation with keys broadcast across the subgroup (BCAST, CPU devices).
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_shader_subgroup_ballot : require
#define STORAGE_T float
#define LOAD(x) (x)
#define SALAB_TILED_SUBGROUP 1
#include "attention_tiled_body.glsl"
