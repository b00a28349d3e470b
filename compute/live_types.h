// The values of the live pipeline (compute/live_problem.h): what a front end asks for
// (LiveParams, LiveView) and what comes back, each result tagged with the generation of the
// params it was computed for. A view compares the tag with the current generation and shows an
// "updating" state when they differ, so a stale result is never presented as current.
// Plain values only: no Vulkan, no UI.
#pragma once

#include "block_mask.h"
#include "kernel_plan.h"
#include "mask.h"
#include "mask_image.h"
#include "pattern.h"
#include "synthetic.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace salab {

struct HopsReport;
struct TokenHops;

// Everything that changes the model the pipeline computes (masks, block mask, timing, hops).
struct LiveParams {
    Pattern pattern;        // n lives here
    int64_t d = 64;
    int heads = 1;          // heads of a flat pattern (the same head replicated); stacks use theirs
    int layer = 0;          // the layer of a stack that the views show
    int device = -1;        // Vulkan device index for compute, -1: best
    QkvSource source = QkvSource::structured;
    uint64_t data_seed = 1;
    std::string q_path, k_path, v_path;  // QkvSource::npy (v_path empty: V = K)
    // Kernel family of the live timing (sparse and dense alike), in path_dtype storage; a path the
    // device cannot run falls back to automatic, and the timing says so.
    KernelPath kernel_path = KernelPath::automatic;
    bool operator==(const LiveParams&) const = default;
};

// Heads the selected layer runs with (flat patterns replicate their head).
int layer_heads(const LiveParams& p);
// The pattern of head h of the selected layer.
const HeadPattern& head_pattern(const LiveParams& p, int h);
// Q, K, V of the params: the engine's generator, or the user's .npy files (QkvSource::npy).
// Throws InputError for bad files or shapes.
QKV make_qkv(const LiveParams& p, int heads);

// A fresh, process-unique version for results and images, so views can cache by it.
inline uint64_t next_version() {
    static std::atomic<uint64_t> v{0};
    return ++v;
}

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
    // What the timed kernel visits when it differs from the plain mask (gathered blocks; 0 = same).
    int64_t run_blocks = 0, gathered_blocks = 0;
    bool band = false;             // the timed kernel runs the windows as a band (no block mask)
    std::string plan;              // KernelPlan::describe() of the timed kernel
    int block = 64;
    int64_t visited_pairs = 0;     // token pairs inside the listed blocks (what the kernel touches)
    int64_t block_mask_bytes = 0;  // the GPU structure
    int64_t csr_bytes = 0;         // token-exact CSR (row_ptr int64 + cols int32)
    int64_t dense_mask_bytes = 0;  // uint8 n x n per head
    double mask_build_ms = 0;      // HeadMask construction (CPU)
    double block_build_ms = 0;     // compile_block_mask + planning (CPU)
};

// The compiled model of the selected layer.
struct ModelResult {
    uint64_t gen = 0;
    std::string error;                     // non-empty: the params are invalid (InputError text)
    std::vector<HeadMask> heads;           // selected layer, one per head
    std::shared_ptr<const BlockMask> blocks;  // null until compiled
    MaskStats stats;
};

// What the mask view asks the pipeline to aggregate.
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
    uint64_t id = 0;  // unique per result (next_version)
    MaskImageRequest request;
    DensityImage image;
    double ms = 0;
    // Where the densities were counted: true on the GPU (mask_density over the block mask),
    // false on the CPU (1:1 zoom, colour by component, no device, or the GPU call failed).
    bool on_gpu = false;
    std::string gpu_error;  // non-empty: the GPU call failed with this and the CPU drew it
};

// One kernel timing of the live view, completed as the pipeline goes (sparse first, then dense,
// then the repeated sparse median).
struct TimingSample {
    uint64_t gen = 0;
    std::string pattern;  // its name
    uint64_t pattern_key = 0;  // hash of the whole pattern: an edited pattern is another row
    int64_t n = 0, d = 0;
    int heads = 0;
    double density = 0;
    double sparse_ms = 0;                 // median GPU time of the sparse kernel
    double sparse_min_ms = 0, sparse_max_ms = 0;  // spread of its timed runs
    int sparse_runs = 0;                  // timed runs the median is over (1: the first quick run)
    std::optional<double> dense_ms;       // measured dense time (median)
    double dense_min_ms = 0, dense_max_ms = 0;
    int dense_runs = 0;
    // Set when the dense run was not made: the estimate that was over the live budget, a measured
    // dense run at a smaller n scaled by the pairs.
    std::optional<double> dense_skipped_estimate_ms;
    // The measured dense runs that estimate is fitted to (extrapolate_dense_ms).
    int64_t dense_calibration_n = 0;
    double dense_calibration_ms = 0;
    int dense_calibration_runs = 0;
    int64_t dense_calibration_n_lo = 0;  // the smaller run of the fit t = a + b n^2
    double dense_calibration_ms_lo = 0;
    double visited_share = 0;  // token pairs in the blocks the sparse kernel visits / n^2 per head
    double sparse_gflops = 0, dense_gflops = 0;  // useful FLOPs (4 d per kept pair) / time
    double mask_build_ms = 0;
    std::string path;       // kernel variant that ran (RunResult::path)
    std::string path_note;  // why the chosen kernel path did not run ("" when it did, or auto)
    std::string plan;    // KernelPlan::describe()
    std::string device;  // device name
    bool dense_settled() const { return dense_ms || dense_skipped_estimate_ms; }
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

// Accuracy of the sparse layer against dense, completed as the pipeline goes.
struct AccuracyResult {
    uint64_t gen = 0;
    std::optional<double> kept_mass;  // mean over rows of the dense weight on kept pairs
    int64_t rows_used = 0;            // rows the mean is over
    bool sampled = false;
    std::optional<double> rel_error;  // relative error of the sparse output vs dense (all heads)
    std::string rel_error_missing;    // why rel_error will not come (dense run skipped), or ""
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

// The query inspector's row: every key's weight for one query, dense and sparse.
struct RowRequest {
    int head = 0;
    int64_t query = -1;  // -1: none
    bool operator==(const RowRequest&) const = default;
};

struct RowWeights {
    uint64_t gen = 0;
    uint64_t id = 0;
    RowRequest request;
    std::vector<float> dense, sparse;  // n each: P(query, j)
};

// What the views currently show; cheap to recompute parts of the model for.
struct LiveView {
    MaskImageRequest mask;
    HeatRequest heat;
    RowRequest row;
    int64_t hop_token = 0;
    bool operator==(const LiveView&) const = default;
};

// Results new since the last take; a later value of a field replaces an earlier one.
struct LiveUpdate {
    std::optional<ModelResult> model;
    std::optional<MaskImageResult> mask;
    std::optional<TimingSample> timing;
    std::optional<HeatResult> heat;
    std::optional<RowWeights> row;
    std::optional<AccuracyResult> accuracy;
    std::optional<HopResult> hops;
    std::optional<TokenHopResult> token_hops;
    std::optional<std::string> compute_error;  // device or run failure ("" clears)
    std::optional<std::string> device_name;
    // The kernel paths of the device at the request's d, each with why it cannot run ("" if it can).
    std::optional<std::vector<PathChoice>> paths;
    bool empty() const {
        return !model && !mask && !timing && !heat && !row && !accuracy && !hops && !token_hops && !compute_error &&
               !device_name && !paths;
    }
    // Moves every field `later` has into this one.
    void merge(LiveUpdate&& later);
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

}  // namespace salab
