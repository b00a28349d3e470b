// Attention on the GPU: block-sparse flash-style kernel over a BlockMask, the dense kernel,
// and the probability kernel that fills a viewport of the weight matrix for heatmaps.
//
// Usage:
//   auto ctx = VulkanContext::create().context;
//   AttentionEngine eng(*ctx);
//   eng.upload(q, k, v, {heads, n, d});            // float32 [heads, n, d]
//   KernelPlan plan = plan_kernel(masks, block_mask, heads);   // compute/kernel_plan.h
//   auto r = eng.run(plan, {.read_back = true});    // r.out, r.gpu_ms
// Throws InputError when the problem does not fit the device (with what to change), and
// VulkanError when Vulkan fails.
#pragma once

#include "block_mask.h"
#include "kernel_plan.h"
#include "vk_context.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace salab {

// The largest head dimension any kernel takes.
inline constexpr int64_t kMaxHeadDim = 256;
// The most heads one problem has (split-k work items keep the head in 12 bits).
inline constexpr int kMaxHeads = 4096;

// Useful GFLOP/s of attention: q.k (2d) and p.v (2d) per kept pair, over `ms`; 0 when ms <= 0.
inline double attention_gflops(double pairs, int64_t d, double ms) {
    return ms > 0 ? 4.0 * double(d) * pairs / (ms * 1e6) : 0.0;
}

struct ProblemShape {
    int heads = 1;
    int64_t n = 0;
    int64_t d = 0;
    bool operator==(const ProblemShape&) const = default;
};

struct RunOptions {
    DType dtype = DType::f32;
    bool read_back = false;  // copy O back into RunResult::out
    int repeats = 1;         // timed repeats; gpu_ms is the median
    int warmup = 0;
    double warmup_ms = 0;    // before timing, run the kernel for at least this long (GPU clocks)
    KernelPath path = KernelPath::automatic;  // kernel family (choose_path); forced ones must fit
    TiledRequest tiled{};  // tiled kernel: forced sizes (choose_tiled_shape), default = its pick
    // Build the kernel's pipeline for this run's mode (dense, band, block mask, split), so the
    // driver drops the other modes' code: nullopt = on GPUs, off on CPU devices (SALAB_FIX_MODE).
    std::optional<bool> fix_mode;
};

struct RunResult {
    std::vector<float> out;      // [heads, n, d] when read_back
    double gpu_ms = 0.0;         // median kernel time from timestamp queries
    double min_ms = 0.0, max_ms = 0.0;  // spread of the timed repeats
    int runs = 0;                // timed repeats (0: the device has no timestamps)
    KernelPath kernel = KernelPath::tiled;  // the family that ran
    // Which kernel variant ran, e.g. "tiled-f32", "rowwise-f16", "nv-coopmat-f16+split",
    // "nv-coopmat2-f16+band"; the tiled kernel adds its variant: "-t4" (4 invocations per row),
    // "-r4" (4 rows per invocation), "-bcast" (the lane-broadcast loop), see choose_tiled_shape.
    std::string path;
    int64_t registers = -1;  // "Register Count" of its attention pipeline, -1 when not reported
};

// A rectangle of the weight matrix of one head: rows [row0, row0+rows), keys [col0, col0+cols),
// sampled with `stride` tokens per cell (stride 1: exact cells).
struct Viewport {
    int head = 0;
    int64_t row0 = 0, col0 = 0;
    int64_t rows = 0, cols = 0;
    int64_t stride = 1;
    bool operator==(const Viewport&) const = default;
};

// A grid of cells over a token rectangle of one head, for mask_density: cells_y x cells_x cells
// partition rows [row0, row0 + rows) and keys [col0, col0 + cols) per axis, cell (r, c) covering
// rows [row0 + floor(r*rows/cells_y), row0 + floor((r+1)*rows/cells_y)) and keys likewise (the
// floor partition of the rectangle into cells_y x cells_x cells, as an image of that many
// pixels over it; cells need not be square or equal). Parts past n are cut off. Needs
// rows >= cells_y >= 1 and cols >= cells_x >= 1.
struct DensityGrid {
    int head = 0;
    int64_t row0 = 0, col0 = 0;
    int64_t rows = 0, cols = 0;
    int64_t cells_y = 0, cells_x = 0;
    // Most query rows counted per cell: 0 = mask_density_sample_rows(widest cell); a smaller
    // value trades exactness for time (the cost is linear in it; lavapipe is a CPU).
    int64_t max_rows = 0;
    bool operator==(const DensityGrid&) const = default;
};

// What the driver reports about one attention pipeline (VK_KHR_pipeline_executable_properties).
struct KernelStatistics {
    std::string shader;
    int64_t registers = -1;  // "Register Count", -1 when not reported
    std::vector<std::pair<std::string, std::string>> values;  // every statistic, name -> value
};

class AttentionEngine {
public:
    explicit AttentionEngine(VulkanContext& ctx);
    ~AttentionEngine();
    AttentionEngine(const AttentionEngine&) = delete;
    AttentionEngine& operator=(const AttentionEngine&) = delete;

    // Checks that a problem fits this device; returns "" or a one-line reason with a fix.
    std::string check_fits(const ProblemShape& shape, int64_t mask_bytes = 0) const;

    // Uploads Q, K, V (float32 [heads, n, d]). Throws InputError when it does not fit.
    void upload(std::span<const float> q, std::span<const float> k, std::span<const float> v,
                const ProblemShape& shape);
    const ProblemShape& shape() const;

    // Attention as `plan` says (compute/kernel_plan.h): the one entry point of every kernel.
    // plan.heads must equal shape.heads; a block mask must match n and have shape.heads heads
    // or one (shared by every head). Throws InputError when it does not, or when
    // options.path is forced and cannot run here.
    RunResult run(const KernelPlan& plan, const RunOptions& options = {});
    // Shorthands for run(plan_blocks(mask)), run(plan_dense(causal)) and run(plan_band(...)):
    // a band keeps keys [i - left, i + right] of row i (cut at [0, n)); a window of radius r is
    // (r, r), a causal window (r, 0).
    RunResult run(const BlockMask& mask, const RunOptions& options = {});
    RunResult run_dense(bool causal, const RunOptions& options = {});
    RunResult run_band(int64_t left, int64_t right, const RunOptions& options = {});
    // Softmax weights P(i, j) on a viewport, for `mask` (or all pairs when mask is null).
    // Returns rows x cols floats; cells whose pair is not kept are 0.
    std::vector<float> probabilities(const BlockMask* mask, const Viewport& view);
    // The same for `mask` and for dense attention (causal: j <= i) in one pass over the scores,
    // which both need: what the heatmap and the row plot show side by side, in half the time of
    // two probabilities() calls. mask must not be null.
    struct WeightPair {
        std::vector<float> sparse, dense;
    };
    WeightPair probabilities_pair(const BlockMask& mask, bool dense_causal, const Viewport& view);

    // Density image of `mask` on a viewport, computed on the GPU from the block mask alone (no
    // Q/K/V upload needed, no n x n work on the host: what a mask view at n = 65,536 needs).
    // Cell (r, c) covers query rows [row0 + r*stride, +stride) and keys [col0 + c*stride,
    // +stride), cut at n; it holds kept pairs / pairs of the cell, or 0 when it lies past n. Returns rows x cols floats
    // in [0, 1]. Cells covering more than mask_density_sample_rows(stride) query rows are estimated from that many
    // evenly spaced rows (rows row_begin + floor(s * row_count / samples)); other cells are exact (up to float
    // rounding). mask.heads == 1 serves every head.
    std::vector<float> mask_density(const BlockMask& mask, const Viewport& view);
    // The same on a per-axis floor partition (what the GUI's mask view shows: w x h pixels over
    // the visible tokens). Returns cells_y x cells_x floats. A cell covering more than
    // density_rows(grid) query rows is estimated from that many evenly spaced rows, as above.
    std::vector<float> mask_density(const BlockMask& mask, const DensityGrid& grid);
    // A block mask uploaded once for repeated mask_density calls (the GUI's pan and zoom count
    // it again without re-uploading: the partial-block bitmasks of 3 random keys per query at
    // n = 65,536 are of the order of 100 MB, and re-uploading them took ~1 s on lavapipe).
    // Valid while this engine lives. Throws InputError for masks mask_density cannot read.
    struct DeviceMask;
    std::shared_ptr<const DeviceMask> upload_for_density(const BlockMask& mask);
    std::vector<float> mask_density(const DeviceMask& mask, const DensityGrid& grid);
    // Query rows sampled per cell by mask_density (64, fewer for very wide cells so the kernel's
    // per-invocation loop steps stay within lavapipe's budget).
    static int64_t mask_density_sample_rows(int64_t stride);
    // Query rows counted per cell of a grid: mask_density_sample_rows of its widest cell, capped
    // by grid.max_rows when that is > 0.
    static int64_t density_rows(const DensityGrid& grid);

    const DeviceInfo& device() const;

    // Builds the tensor-core attention pipelines this device can run for head dimension d (the
    // coopmat2 variants, the coopmat v1 kernel) and returns their driver statistics.
    std::vector<KernelStatistics> kernel_statistics(int64_t d);

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace salab
