// Push constants of mask_density.comp, shared by C++ (compute/attention.cpp) and GLSL. The
// density kernel has a layout of its own so that AttnPush (shared.h, the attention kernels')
// stays as it is; it is pushed through the same pipeline layout, whose range is
// sizeof(AttnPush) bytes, so it must not be larger (static_assert below).
#ifndef SALAB_DENSITY_SHARED_H
#define SALAB_DENSITY_SHARED_H

#ifdef __cplusplus
#include "shared.h"
#include <cstdint>
namespace salab::gpu {
struct DensityPush {
#define SALAB_DUINT uint32_t
#else
// The block mask's constants (the same values as kBlock and kPartialBit of shared.h; the C++
// side checks that). shared.h is not included: it declares AttnPush as the push block.
const uint kDensityBlock = 64u;
const uint kDensityPartialBit = 0x80000000u;
layout(push_constant) uniform DensityPush {
#define SALAB_DUINT uint
#endif
    // Cell (r, c) of a cells_y x cells_x grid covers query rows
    //   [row0 + floor(r * row_len / cells_y), row0 + floor((r + 1) * row_len / cells_y))
    // and keys likewise (col0, col_len, cells_x), both cut at n. A stride-s viewport is
    // row_len = cells_y * s; an image of w x h pixels over a token rectangle is the floor
    // partition aggregate_mask uses (ui/aggregate.h).
    SALAB_DUINT n;            // tokens
    SALAB_DUINT num_blocks;   // ceil(n / 64): query blocks per head
    SALAB_DUINT mask_head;    // head of the block mask (0 when one mask serves every head)
    SALAB_DUINT sample_rows;  // most query rows visited per cell (evenly spaced when fewer)
    SALAB_DUINT row0;
    SALAB_DUINT col0;
    SALAB_DUINT row_len;      // query rows the grid spans (>= cells_y)
    SALAB_DUINT col_len;      // keys the grid spans (>= cells_x)
    SALAB_DUINT cells_y;
    SALAB_DUINT cells_x;
#undef SALAB_DUINT
#ifdef __cplusplus
};
static_assert(sizeof(DensityPush) == 40, "push constant layout must match GLSL std430");
static_assert(sizeof(DensityPush) <= sizeof(AttnPush), "pushed through the attention pipeline layout");
static_assert(kBlock == 64u && kPartialBit == 0x80000000u, "mask_density.comp hard-codes these");
}  // namespace salab::gpu
#else
} pc;
#endif

#endif
