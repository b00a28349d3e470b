#version 450
// coopmat2 attention, d = 128, row statistics as full 64 x 64 matrices (the layout llama.cpp uses), for comparison.
#define HEAD_DIM 128u
#define STAT_W 64
#define GATHER_DECODE 0
#define O_F16 0
#include "attention_cm2_body.glsl"
