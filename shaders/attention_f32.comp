#version 450
// Portable block-sparse flash attention (fp32 storage and arithmetic): runs on any Vulkan 1.1
// device, lavapipe included. One workgroup = 64 query rows of one head; K/V of each visited key
// block are staged through shared memory in tiles of TILE_K keys; online softmax in exp2.
#define STORAGE_T float
#define LOAD(x) (x)
#include "attention_body.glsl"
