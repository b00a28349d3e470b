#version 450
// coopmat2 attention, d = 64, 128 query rows per workgroup, range modes only, O accumulated in fp16.
#define HEAD_DIM 64u
#define STAT_W 32
#define GATHER_DECODE 1
#define O_F16 1
#define ROWS 128
#include "attention_cm2_body.glsl"
