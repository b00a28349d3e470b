#version 450
// coopmat2 attention, d = 128, decode-callback gathers, O accumulated in fp16.
#define HEAD_DIM 128u
#define STAT_W 16
#define GATHER_DECODE 1
#define O_F16 1
#include "attention_cm2_body.glsl"
