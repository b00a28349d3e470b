// The matrix-unit ceiling through VK_NV_cooperative_matrix2 on this device and driver: a plain
// n x n x n fp16 GEMM with fp32 accumulation (shaders/cm2/gemm_probe.comp), timed like the
// attention kernels (warm-up by time, median of timestamped repeats) and spot-checked against
// the CPU. Not attention: it says how far the attention kernels are from what a coopmat2 kernel
// can issue at all here (`salab-cli devices --probe`).
#pragma once

#include "vk_context.h"

#include <cstdint>
#include <string>

namespace salab {

struct GemmProbeResult {
    std::string why_not;  // non-empty: not run (no coopmat2 here), or the check failed
    int64_t n = 0;
    double ms = 0.0, min_ms = 0.0, tflops = 0.0;  // median / fastest run; 2 n^3 / median
    double max_error = 0.0;                       // worst sampled |C - C_cpu| / (1 + |C_cpu|)
    int64_t registers = -1;                       // "Register Count", -1 when not reported
};

// n: a multiple of 128, 128..16384.
GemmProbeResult probe_cm2_gemm(VulkanContext& ctx, int64_t n = 4096, int repeats = 10);

}  // namespace salab
