#version 450
#define HEAD_DIM 64u
#include "attention_nv_body.glsl"
