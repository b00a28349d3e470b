#version 450
// coopmat2 attention, d = 64, row statistics 64 x 16, gathered blocks staged in shared memory.
#define HEAD_DIM 64u
#define STAT_W 16
#define GATHER_DECODE 0
#define O_F16 0
#include "attention_cm2_body.glsl"
