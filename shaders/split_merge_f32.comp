#version 450
#define STORAGE_T float
#include "split_merge_body.glsl"
