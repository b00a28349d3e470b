// The VK_NV_cooperative_matrix2 attention kernels (shaders/cm2/attention_cm2*.comp): which one
// serves a device and head dimension, and the split-k chunk that fills the GPU with them.
// The kernel itself runs through AttentionEngine (same bindings, push constants, block mask
// and split-k buffers as the other attention kernels).
#pragma once

#include "block_mask.h"
#include "vk_context.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace salab {

// Variants, all with 64-row query blocks x 64-key blocks, 128 invocations:
//   decode  row statistics 64 x 16, gathered blocks loaded through decode callbacks
//           (needs bufferDeviceAddress; no shared memory); the default where available
//   staged  row statistics 64 x 16, gathered blocks staged through shared memory
//   s64     row statistics as 64 x 64 matrices, staged gathers (the layout llama.cpp uses)
//   o16     as staged, with O accumulated in fp16 (llama.cpp's choice; half the registers)
//   decode_o16  as decode, with O accumulated in fp16; the default where the device has fp16
//           accumulators at workgroup scope (13% faster at d = 128 on an H200; P is scaled so
//           that O cannot overflow, see cm2_p_shift)
// Each is built once per mode it runs and kind of block mask (specialization constants, so the
// driver drops the other modes' code; SALAB_FIX_MODE=0 builds one pipeline for every mode).
// SALAB_CM2_VARIANT=<name> picks one (for measurements); SALAB_NO_COOPMAT2=1 or
// SALAB_PORTABLE=1 turns the coopmat2 path off.
struct Cm2Kernel {
    std::string shader;   // "" when no coopmat2 kernel serves (device, d)
    std::string variant;  // "staged", "decode", "s64", ...
    std::string why_not;  // why not, when shader is empty
    bool o16 = false;     // O accumulates in fp16 (needs a p_shift, see cm2_p_shift)
    explicit operator bool() const { return !shader.empty(); }
};

// Was this binary built with the coopmat2 shaders (a glslc that compiles them was found)?
bool cm2_shaders_built();

// Does the device run our coopmat2 kernels at all: the features, and a flexible-dimension
// entry fp16 x fp16 -> fp32 at workgroup scope for 128 invocations whose granularities divide
// 64 x 16 x 64 (or 64 x 64 x 64 for the s64 variant)? Returns "" or the reason.
std::string cm2_device_support(const DeviceInfo& info);

// The kernel for (device, d) with fp16 storage; honours SALAB_CM2_VARIANT / SALAB_NO_COOPMAT2.
// allow_o16 = false skips the fp16-O variants (when no p_shift keeps them finite).
Cm2Kernel choose_cm2_kernel(const DeviceInfo& info, int64_t d, bool allow_o16 = true);

// The shift k of P = 2^(S - m - k) that keeps an fp16 O finite: O sums at most `longest_keys`
// terms of P x V with P <= 2^-k and |V| <= v_max_abs, so k is the least one with
// longest_keys x v_max_abs x 2^-k <= 2^14 (a quarter of fp16's range, for rounding). nullopt when
// that needs k > 16 (P would lose its small values): run fp32 O instead.
std::optional<float> cm2_p_shift(int64_t longest_keys, double v_max_abs);

// Every coopmat2 kernel variant this device can build for d (for `devices` and measurements).
std::vector<Cm2Kernel> cm2_kernels(const DeviceInfo& info, int64_t d);

// Split-k chunk (entries per work item) so that a sparse problem with too few query blocks x
// heads to fill the GPU (fewer than ~2 workgroups per multiprocessor) still does: 0 when the
// default plan (split only the long rows of global tokens) is enough.
int cm2_split_chunk(const BlockMask& mask, int heads);

}  // namespace salab
