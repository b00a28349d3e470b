// One attention problem as the CLI and the GUI set it up: a pattern at some n, one of its
// layers, Q/K/V (given or generated), the heads' masks and the compiled block mask, with the
// CPU time the mask build took.
#pragma once

#include "attention.h"
#include "block_mask.h"
#include "mask.h"
#include "pattern.h"
#include "synthetic.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace salab {

struct ProblemOptions {
    int64_t n = 0;      // <= 0: the pattern's n
    int64_t d = 64;
    int heads = 0;      // 0: the layer's heads (a flat pattern: 1); a flat pattern is replicated
    int layer = 0;
    uint64_t seed = 0;  // for generated Q/K/V
    QkvSource source = QkvSource::gaussian;
    std::string q_path, k_path, v_path;  // .npy files; all three or none
};

struct Problem {
    Pattern pattern;  // with n applied
    int layer = 0;
    int heads = 1;
    int64_t n = 0, d = 0;
    QKV qkv;
    std::vector<HeadMask> masks;  // one per head, or one shared by all heads (flat, no Q/K parts)
    const HeadMask& mask(int h) const { return masks[size_t(h) % masks.size()]; }
    // Kept pairs over all heads.
    int64_t kept_pairs() const { return block_mask->kept_pairs * (heads / block_mask->heads); }
    double density() const { return double(kept_pairs()) / (double(n) * double(n) * heads); }
    // The masks' block mask, plain (no gathered blocks): what views and statistics read, and
    // what plan_kernel (compute/kernel_plan.h) turns into the kernel's work.
    std::shared_ptr<const BlockMask> block_mask;
    double mask_build_ms = 0.0;   // HeadMask construction + block mask compile, CPU wall time
    bool causal = false;          // every head causal (the dense comparison is then causal)

    HeadQK head_qk(int h) const;
};

// Heads, n and d the problem will have, checked without allocating anything (so a caller can
// ask the device whether it fits first). Throws InputError like prepare_problem.
ProblemShape problem_shape(const Pattern& pattern, const ProblemOptions& options);

// Throws InputError with a one-line reason on any inconsistency (heads vs the stack, layer out
// of range, .npy shapes, d out of [1, 256], Q/K/V larger than 3/4 of this machine's memory).
Problem prepare_problem(const Pattern& pattern, const ProblemOptions& options);

// Rebuilds masks and block mask (e.g. after Q/K changed); updates mask_build_ms.
void rebuild_masks(Problem& p);

}  // namespace salab
