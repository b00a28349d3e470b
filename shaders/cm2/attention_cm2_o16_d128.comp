#version 450
// coopmat2 attention, d = 128, O accumulated in fp16 (as llama.cpp does), row statistics 64 x 16, staged gathers.
#define HEAD_DIM 128u
#define STAT_W 16
#define GATHER_DECODE 0
#define O_F16 1
#include "attention_cm2_body.glsl"
