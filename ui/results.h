// What the app's worker hands to the views: plain values tagged with the Params generation
// they were computed for. A view compares the tag with the current generation and shows an
// "updating" state when they differ, so a stale result is never presented as current.
#pragma once

#include "aggregate.h"
#include "block_mask.h"
#include "mask.h"
#include "zoom.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace salab {
struct HopsReport;
struct TokenHops;
}  // namespace salab

namespace salab::ui {

// Mask statistics of the selected layer (all its heads).
struct MaskStats {
    int64_t n = 0;
    int heads = 0;
    int64_t kept_pairs = 0;
    double density = 0;
    int64_t keys_min = 0, keys_max = 0;
    double keys_mean = 0;
    int64_t empty_rows = 0;
    int64_t full_blocks = 0, partial_blocks = 0, skipped_blocks = 0;
    // With scattered key blocks packed into gathered blocks (what the kernels run; 0 = none).
    int64_t run_blocks = 0, gathered_blocks = 0;
    bool band = false;             // the timed kernel runs the windows as a band (no block mask)
    int block = 64;
    int64_t visited_pairs = 0;     // token pairs inside the listed blocks (what the kernel touches)
    int64_t block_mask_bytes = 0;  // the GPU structure
    int64_t csr_bytes = 0;         // token-exact CSR (row_ptr int64 + cols int32)
    int64_t dense_mask_bytes = 0;  // uint8 n x n per head
    double mask_build_ms = 0;      // HeadMask construction (CPU)
    double block_build_ms = 0;     // compile_block_mask (CPU)
};

// The compiled model of the selected layer.
struct ModelResult {
    uint64_t gen = 0;
    std::string error;                     // non-empty: the params are invalid (InputError text)
    std::vector<HeadMask> heads;           // selected layer, one per head
    std::shared_ptr<const BlockMask> blocks;
    MaskStats stats;
};

// What the mask view asks the worker to aggregate.
struct MaskImageRequest {
    int head = 0;
    TokenRect region;
    int w = 0, h = 0;
    bool by_component = false;
    bool operator==(const MaskImageRequest&) const = default;
};

// The mask image is counted on the GPU (from the block mask) when a pixel covers more than one
// token and the per-component planes (counted on the CPU) are off; at 1:1 zoom or closer the CPU
// reads the exact rows.
inline bool wants_gpu_density(const MaskImageRequest& r) {
    return !r.by_component && !r.region.empty() && r.w > 0 && r.h > 0 && (r.region.cols > r.w || r.region.rows > r.h);
}

struct MaskImageResult {
    uint64_t gen = 0;
    uint64_t id = 0;  // unique per result (next_image_version), so views can cache by it
    MaskImageRequest request;
    DensityImage image;
    double ms = 0;
    // Where the densities were counted: true on the GPU (mask_density over the block mask),
    // false on the CPU (1:1 zoom, colour by component, no device, or the GPU call failed).
    bool on_gpu = false;
    std::string gpu_error;  // non-empty: the GPU call failed with this and the CPU drew it
};

// One kernel timing of the live view.
struct TimingSample {
    uint64_t gen = 0;
    int64_t n = 0, d = 0;
    int heads = 0;
    double density = 0;
    double sparse_ms = 0, dense_ms = 0;  // median GPU time; dense 0: not yet, -1: skipped
    double dense_estimate_ms = 0;        // when skipped: the estimate that was too long
    double sparse_gflops = 0, dense_gflops = 0;  // useful FLOPs (4 d per kept pair) / time
    double mask_build_ms = 0;
    std::string path;    // kernel variant
    std::string device;  // device name
};

// The heatmap: softmax weights on a viewport, dense and sparse.
struct HeatRequest {
    int head = 0;
    TokenRect region;
    int64_t stride = 1;  // tokens per cell
    bool operator==(const HeatRequest&) const = default;
};

struct HeatResult {
    uint64_t gen = 0;
    uint64_t id = 0;
    HeatRequest request;
    int w = 0, h = 0;  // cells
    std::vector<float> dense, sparse;
    double ms = 0;
};

// Accuracy readouts of the sparse layer against dense (whole problem, or sampled rows).
struct AccuracyResult {
    uint64_t gen = 0;
    double kept_mass = 0;      // mean over rows of the dense weight on kept pairs
    int64_t rows_used = 0;     // rows the mean is over
    bool sampled = false;
    double rel_error = 0;      // relative error of the sparse output vs dense (all heads);
                               // -1: not yet, -2: not measured (dense run skipped)
};

// Hop analysis of the whole pattern (all layers).
struct HopResult {
    uint64_t gen = 0;
    std::string error;
    std::shared_ptr<const HopsReport> report;
    double build_ms = 0;
};

struct TokenHopResult {
    uint64_t gen = 0;
    uint64_t id = 0;
    int64_t token = -1;
    std::shared_ptr<const TokenHops> hops;
};

// One point of a scaling sweep.
struct SweepPoint {
    int64_t n = 0;
    double sparse_ms = 0, dense_ms = 0;
    double density = 0;
    double keys_per_query = 0;
};

struct SweepState {
    bool running = false;
    double progress = 0;
    std::string status;  // current step or why it stopped
    std::vector<SweepPoint> points;
};

}  // namespace salab::ui
