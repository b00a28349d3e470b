#version 450
#define HEAD_DIM 128u
#include "attention_nv_body.glsl"
