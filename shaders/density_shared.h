// Push constants of mask_density.comp, shared by C++ (compute/attention.cpp) and GLSL. The
// density kernel has a layout of its own so that AttnPush (shared.h, the attention kernels')
// stays as it is; it is pushed through the same pipeline layout, whose range is
// sizeof(AttnPush) bytes, so it must not be larger (static_assert below). Bindings and the entry
// encoding are shared.h's.
#ifndef SALAB_DENSITY_SHARED_H
#define SALAB_DENSITY_SHARED_H

#ifndef __cplusplus
#define SALAB_OWN_PUSH_CONSTANTS  // shared.h's constants without its AttnPush block
#endif
#include "shared.h"

#ifdef __cplusplus
namespace salab::gpu {
struct DensityPush {
#else
layout(push_constant) uniform DensityPush {
#endif
    // Cell (r, c) of a cells_y x cells_x grid covers query rows
    //   [row0 + floor(r * row_len / cells_y), row0 + floor((r + 1) * row_len / cells_y))
    // and keys likewise (col0, col_len, cells_x), both cut at n. A stride-s viewport is
    // row_len = cells_y * s; an image of w x h pixels over a token rectangle is the floor
    // partition of the rectangle into w x h cells (cells need not be square or equal).
    uint n;            // tokens
    uint num_blocks;   // ceil(n / kBlock): query blocks per head
    uint mask_head;    // head of the block mask (0 when one mask serves every head)
    uint sample_rows;  // most query rows visited per cell (evenly spaced when fewer)
    uint row0;
    uint col0;
    uint row_len;      // query rows the grid spans (>= cells_y)
    uint col_len;      // keys the grid spans (>= cells_x)
    uint cells_y;
    uint cells_x;
#ifdef __cplusplus
};
static_assert(sizeof(DensityPush) == 40, "push constant layout must match GLSL std430");
static_assert(sizeof(DensityPush) <= sizeof(AttnPush), "pushed through the attention pipeline layout");
}  // namespace salab::gpu
#else
} pc;
#endif

#endif
