#include "live_problem.h"

#include "size_limits.h"

#include "hops.h"
#include "npy.h"
#include "reference.h"
#include "vk_context.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <utility>

namespace salab {

namespace {
std::vector<HeadCost> costs_of(const std::vector<HeadMask>& heads) {
    std::vector<HeadCost> out;
    for (const HeadMask& m : heads) out.push_back(head_cost(m));
    return out;
}
}  // namespace

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// Timed repeats that keep one live update under ~a second on slow devices (the sweep's rule).
int repeats_for(double pairs, int64_t d) { return 4.0 * double(d) * pairs > 2e9 ? 1 : 3; }

// Time of the live view's timed repeats of one kernel, and the calibration run's target.
constexpr double kRepeatBudgetMs = 1500;
constexpr double kCalibrationTargetMs = 400;
// Warm-up by time (GPU clocks ramp up): for kernels shorter than this, run them this long first.
constexpr double kWarmupMs = 200;

// Query rows the mask view's GPU density counts per pixel on a CPU device: 16 (twice the CPU
// path's 8) keeps a 558 x 558 image of n = 65,536 near 0.2 s on lavapipe; a GPU counts up to
// 64, exactly.
constexpr int64_t kDensityRowsOnCpuDevice = 16;

bool is_causal(const LiveParams& p) { return head_pattern(p, 0).causal; }


// What a dense run depends on (never the pattern).
struct DenseKey {
    int64_t n = 0, d = 0;
    int heads = 0;
    bool causal = false;
    QkvSource source{};
    uint64_t seed = 0;
    std::string q, k, v;
    KernelPath path = KernelPath::automatic;
    bool operator==(const DenseKey&) const = default;
};
DenseKey dense_key(const LiveParams& p, int heads, KernelPath path) {
    return {p.pattern.n, p.d, heads, is_causal(p), p.source, p.data_seed, p.q_path, p.k_path, p.v_path, path};
}

// A measured dense run at a smaller n, for estimates of dense runs the live view does not make.
struct DenseCalibrationKey {
    int64_t d = 0;
    int heads = 0;
    bool causal = false;
    KernelPath path = KernelPath::automatic;
    bool operator==(const DenseCalibrationKey&) const = default;
};
struct DenseCalibration {
    DenseCalibrationKey key;
    int64_t n_lo = 0;  // the smaller measured n and its median
    double ms_lo = 0;
    int64_t n = 0;     // the larger one, and its timed runs
    double ms = 0;
    int runs = 0;
};

struct DenseRun {
    DenseKey key;
    double ms = 0, min_ms = 0, max_ms = 0;
    int runs = 0;
    std::vector<float> out;
};

}  // namespace

int layer_heads(const LiveParams& p) {
    if (p.pattern.layers.empty()) return 0;
    const int layer = p.layer < p.pattern.num_layers() ? p.layer : 0;
    return p.pattern.is_flat() ? p.heads : p.pattern.num_heads(layer);
}

const HeadPattern& head_pattern(const LiveParams& p, int h) {
    const int layer = p.layer < p.pattern.num_layers() ? p.layer : 0;
    const auto& heads = p.pattern.layers.at(size_t(layer)).heads;
    return p.pattern.is_flat() ? heads.at(0) : heads.at(h < int(heads.size()) ? size_t(h) : 0);
}

QKV make_qkv(const LiveParams& p, int heads) {
    const int64_t n = p.pattern.n, d = p.d;
    if (p.source != QkvSource::npy) return make_qkv(heads, n, d, p.data_seed, p.source);
    QKV r;
    r.q = read_qkv(p.q_path, heads, n, d);
    r.k = read_qkv(p.k_path, heads, n, d);
    r.v = p.v_path.empty() ? r.k : read_qkv(p.v_path, heads, n, d);
    return r;
}

void LiveUpdate::merge(LiveUpdate&& later) {
    const auto take = [](auto& mine, auto& theirs) {
        if (theirs) mine = std::move(theirs);
    };
    take(model, later.model);
    take(mask, later.mask);
    take(timing, later.timing);
    take(heat, later.heat);
    take(row, later.row);
    take(accuracy, later.accuracy);
    take(hops, later.hops);
    take(token_hops, later.token_hops);
    take(compute_error, later.compute_error);
    take(device_name, later.device_name);
    take(paths, later.paths);
}

std::string_view stage_name(LiveStage s) {
    switch (s) {
        case LiveStage::model: return "building masks";
        case LiveStage::mask_image: return "drawing the mask";
        case LiveStage::block_mask: return "compiling the block mask";
        case LiveStage::upload: return "generating and uploading Q/K/V";
        case LiveStage::sparse_timing: return "timing the sparse kernel";
        case LiveStage::heatmap: return "computing attention weights";
        case LiveStage::row_weights: return "weights of the inspected query";
        case LiveStage::kept_mass: return "measuring kept attention mass";
        case LiveStage::hops: return "analysing hops";
        case LiveStage::token_hops: return "hops of one token";
        case LiveStage::dense_timing: return "timing the dense kernel";
        case LiveStage::sparse_refine: return "timing the sparse kernel again";
        case LiveStage::idle: return "";
    }
    return "";
}

int repeats_within(double one_run_ms, double budget_ms) {
    if (!(one_run_ms > 0)) return 3;
    const double fit = budget_ms / one_run_ms;
    // Two runs whenever one fits: a spread, however small, says more than none.
    return fit >= 3 ? int(std::min(fit, 15.0)) : fit >= 1 ? 2 : 1;
}

int64_t calibration_n(int64_t n, double estimate_ms, double target_ms) {
    if (!(estimate_ms > 0)) return std::min<int64_t>(n, 256);
    const double scaled = double(n) * std::sqrt(target_ms / estimate_ms);
    const int64_t c = int64_t(scaled) / 64 * 64;
    return std::clamp<int64_t>(c, std::min<int64_t>(n, 256), std::max<int64_t>(std::min<int64_t>(n, 256), n / 2));
}

double extrapolate_dense_ms(int64_t n_lo, double ms_lo, int64_t n_hi, double ms_hi, int64_t n) {
    const double a2 = double(n_lo) * double(n_lo), b2 = double(n_hi) * double(n_hi), x2 = double(n) * double(n);
    if (n_hi <= 0) return 0;
    const double slope = b2 > a2 ? (ms_hi - ms_lo) / (b2 - a2) : 0.0;
    // A non-increasing pair is noise: fall back to pure n^2 scaling of the larger run.
    if (!(slope > 0)) return ms_hi * x2 / b2;
    return std::max(ms_hi, ms_hi + slope * (x2 - b2));
}

double estimate_dense_ms(double sparse_ms, double dense_pairs, double visited_pairs) {
    return sparse_ms * dense_pairs / std::max(1.0, visited_pairs);
}

std::vector<HeadMask> build_head_masks(const LiveParams& p, const QKV& qkv) {
    const int heads = layer_heads(p);
    std::vector<HeadMask> masks;
    masks.reserve(size_t(std::max(heads, 0)));
    for (int h = 0; h < heads; ++h)
        masks.emplace_back(head_pattern(p, h), p.pattern.n, qkv.q.empty() ? HeadQK{} : head_qk(qkv, h, p.pattern.n, p.d));
    return masks;
}

KernelPlan live_plan(const std::vector<HeadMask>& masks, std::shared_ptr<const BlockMask> blocks) {
    return plan_kernel(masks, std::move(blocks), int(masks.size()));
}

MaskStats mask_stats(const std::vector<HeadMask>& masks, const BlockMask& b, const KernelPlan& plan) {
    MaskStats st;
    const int heads = int(masks.size());
    const int64_t n = b.n;
    st.n = n;
    st.heads = heads;
    st.kept_pairs = b.kept_pairs;
    st.density = b.density();
    st.keys_min = b.min_keys_per_query;
    st.keys_max = b.max_keys_per_query;
    st.keys_mean = double(b.kept_pairs) / double(std::max<int64_t>(1, n * heads));
    st.empty_rows = b.empty_rows;
    st.full_blocks = b.full_blocks;
    st.partial_blocks = b.partial_blocks;
    st.skipped_blocks = int64_t(heads) * b.num_blocks * b.num_blocks - b.listed_blocks();
    if (plan.blocks && plan.blocks.get() != &b) {
        st.run_blocks = plan.blocks->listed_blocks();
        st.gathered_blocks = plan.blocks->gathered_blocks;
    }
    st.band = plan.kind == KernelPlan::Kind::band;
    st.plan = plan.describe();
    st.block = b.block;
    st.visited_pairs = block_stats(b).visited_pairs;
    st.block_mask_bytes = b.bytes();
    st.csr_bytes = int64_t(heads) * (8 * (n + 1)) + 4 * b.kept_pairs;
    st.dense_mask_bytes = int64_t(heads) * n * n;
    return st;
}

struct LiveProblem::State {
    VulkanContext* ctx = nullptr;
    std::unique_ptr<AttentionEngine> engine;

    // The model of generation `gen`.
    uint64_t gen = 0;
    bool started = false;   // the model stage ran for `gen`
    bool model_ok = false;  // and the params are valid (else every later stage is skipped)
    QKV qkv;
    std::vector<HeadMask> heads;
    std::shared_ptr<const BlockMask> blocks;  // plain: views and statistics
    std::optional<KernelPlan> plan;           // what the timing runs
    // `blocks` on the device for the mask view's density images (uploaded once per model; pan
    // and zoom only count again). Released before the engine.
    std::shared_ptr<const AttentionEngine::DeviceMask> density_mask;
    std::unique_ptr<HopsGraph> hops_graph;
    // Dense reference with the pattern's causality (a causal pattern is compared with causal
    // dense attention, not with attention to the future); null: every pair.
    std::shared_ptr<const BlockMask> dense_ref;
    std::shared_ptr<const DenseRun> dense_cache;  // kept across generations
    std::optional<DenseCalibration> dense_calibration;  // kept across generations
    ModelResult model;  // as published

    // What is done for `gen`.
    std::optional<MaskImageRequest> mask_done;
    std::optional<HeatRequest> heat_done;
    std::optional<RowRequest> row_done;
    std::optional<int64_t> token_hops_done;
    bool uploaded = false, sparse_done = false, accuracy_done = false, hops_done = false, dense_done = false,
         sparse_refined = false;
    TimingSample timing;
    AccuracyResult accuracy;
    // The kernel family the timing runs: the params' path where the device can run it, else auto.
    KernelPath run_path = KernelPath::automatic;
    // The mask image is counted on the GPU from the block mask when wants_gpu_density says so,
    // except on a CPU device (lavapipe) when the CPU walk visits every query row of every pixel
    // anyway (at most AggregateOptions::max_rows_per_pixel): exact either way, and at n = 4,096
    // in a 551-pixel view 2-3 ms on the CPU against 77-110 ms through lavapipe.
    bool gpu_density(const MaskImageRequest& v) const {
        if (!wants_gpu_density(v)) return false;
        const bool cpu_device = ctx && ctx->info().type == "cpu";
        return !(cpu_device && v.region.rows <= int64_t(AggregateOptions{}.max_rows_per_pixel) * v.h);
    }
    RunOptions run_options() const {
        RunOptions ro;
        ro.path = run_path;
        ro.dtype = path_dtype(run_path);
        return ro;
    }
    std::vector<float> sparse_out;

    int64_t n() const { return model.stats.n; }

    // Forgets everything of the last generation but the device and the dense cache.
    void reset(uint64_t g) {
        density_mask.reset();
        State fresh;
        fresh.ctx = ctx;
        fresh.engine = std::move(engine);
        fresh.dense_cache = std::move(dense_cache);
        fresh.dense_calibration = dense_calibration;
        *this = std::move(fresh);
        gen = g;
        started = true;
    }

    void stage_model(const LiveRequest& r, const std::function<bool()>& stale, LiveUpdate& out);
    void stage_mask_image(const LiveRequest& r, const std::function<bool()>& stale, LiveUpdate& out);
    void stage_block_mask(const LiveRequest& r, LiveUpdate& out);
    void stage_upload(const LiveRequest& r, const std::function<bool()>& stale);
    void stage_sparse_timing(const LiveRequest& r, LiveUpdate& out);
    void stage_heatmap(const LiveRequest& r, const std::function<bool()>& stale, LiveUpdate& out);
    void stage_kept_mass(const std::function<bool()>& stale, LiveUpdate& out);
    void stage_row_weights(const LiveRequest& r, const std::function<bool()>& stale, LiveUpdate& out);
    void stage_hops(const LiveRequest& r, const std::function<bool()>& stale, std::stop_token stop, LiveUpdate& out);
    void stage_token_hops(const LiveRequest& r, const std::function<bool()>& stale, std::stop_token stop,
                          LiveUpdate& out);
    void stage_dense_timing(const LiveRequest& r, LiveUpdate& out);
    const DenseCalibration& calibrate_dense(const LiveParams& p, int heads, bool causal, double first_guess_ms);
    void stage_sparse_refine(const LiveRequest& r, const std::function<bool()>& stale, LiveUpdate& out);

    DensityImage gpu_mask_image(const MaskImageRequest& v, const TokenRect& region, int h);

    void record_sparse(const RunResult& r, int64_t d) {
        timing.sparse_ms = r.gpu_ms;
        timing.sparse_min_ms = r.min_ms;
        timing.sparse_max_ms = r.max_ms;
        timing.sparse_runs = r.runs;
        timing.sparse_gflops = attention_gflops(double(blocks->kept_pairs), d, r.gpu_ms);
    }
};

void LiveProblem::State::stage_model(const LiveRequest& r, const std::function<bool()>& stale, LiveUpdate& out) {
    reset(r.gen);
    const LiveParams& p = r.params;
    ModelResult m;
    m.gen = r.gen;
    try {
        validate(p.pattern);
        const int h = layer_heads(p);
        if (h < 1 || h > kMaxHeads)
            throw InputError("heads must be in [1, " + std::to_string(kMaxHeads) + "], got " + std::to_string(h));
        if (p.d < 1 || p.d > kMaxHeadDim)
            throw InputError("d must be in [1, " + std::to_string(kMaxHeadDim) + "], got " + std::to_string(p.d));
        // Q/K first only when the mask depends on them; otherwise after the mask is on screen
        // (generating them takes seconds at large n).
        if (p.pattern.needs_qk()) qkv = make_qkv(p, h);
        if (stale()) {
            started = false;
            return;
        }
        const auto t0 = Clock::now();
        heads = build_head_masks(p, qkv);
        m.stats.n = p.pattern.n;
        m.stats.heads = h;
        m.stats.mask_build_ms = ms_since(t0);
        m.heads = heads;
        model_ok = true;
    } catch (const std::exception& e) {  // InputError, invalid_argument, bad_alloc
        m.error = e.what();
    }
    model = m;
    out.model = std::move(m);
}

DensityImage LiveProblem::State::gpu_mask_image(const MaskImageRequest& v, const TokenRect& region, int h) {
    // The same cells as aggregate_mask (cell_grid), counted by mask_density.
    if (!density_mask) density_mask = engine->upload_for_density(*blocks);
    const CellGrid g = cell_grid(region, v.w, v.h);
    DensityGrid dg{h, region.row0, region.col0, region.rows, region.cols, g.ch, g.cw};
    if (ctx->info().type == "cpu") dg.max_rows = kDensityRowsOnCpuDevice;
    std::vector<float> cells = engine->mask_density(*density_mask, dg);
    return image_from_cells(region, v.w, v.h, g, std::move(cells), AttentionEngine::density_rows(dg));
}

void LiveProblem::State::stage_mask_image(const LiveRequest& req, const std::function<bool()>& stale,
                                          LiveUpdate& out) {
    const MaskImageRequest& v = req.view.mask;
    const int64_t n = this->n();
    const auto t0 = Clock::now();
    const int h = std::clamp(v.head, 0, int(heads.size()) - 1);
    MaskImageResult r;
    r.gen = gen;
    r.id = next_version();
    r.request = v;
    TokenRect region = v.region;  // clipped to n, defensively
    region.row0 = std::clamp<int64_t>(region.row0, 0, n);
    region.col0 = std::clamp<int64_t>(region.col0, 0, n);
    region.rows = std::clamp<int64_t>(region.rows, 0, n - region.row0);
    region.cols = std::clamp<int64_t>(region.cols, 0, n - region.col0);
    if (gpu_density(v) && !region.empty()) {
        if (!engine) {
            r.gpu_error = "no Vulkan compute device";
        } else {
            try {
                r.image = gpu_mask_image(v, region, h);
                r.on_gpu = true;
            } catch (const std::exception& e) {
                r.gpu_error = e.what();  // drawn on the CPU below; the view says why
            }
        }
    }
    if (stale()) return;
    if (!r.on_gpu) {
        std::vector<HeadMask> comps;
        if (v.by_component) {
            const HeadPattern& hp = heads[size_t(h)].pattern();
            const HeadQK qk = qkv.q.empty() ? HeadQK{} : head_qk(qkv, h, n, req.params.d);
            for (const Component& c : hp.components) comps.emplace_back(HeadPattern{hp.causal, {c}}, n, qk);
        }
        AggregateOptions ao;
        ao.threads = 2;
        ao.cancelled = stale;
        r.image = aggregate_mask(heads[size_t(h)], region, v.w, v.h, comps, ao);
    }
    r.ms = ms_since(t0);
    if (stale()) return;
    mask_done = v;
    out.mask = std::move(r);
}

void LiveProblem::State::stage_block_mask(const LiveRequest& req, LiveUpdate& out) {
    ModelResult m = model;
    try {
        const auto t0 = Clock::now();
        check_block_mask(costs_of(heads), n(), "the block mask");  // size_limits.h
        blocks = std::make_shared<const BlockMask>(compile_block_mask(heads, 64));
        plan = live_plan(heads, blocks);
        const double block_ms = ms_since(t0);
        if (is_causal(req.params))
            dense_ref = std::make_shared<const BlockMask>(dense_block_mask(n(), int(heads.size()), 64, true));
        const double mask_ms = m.stats.mask_build_ms;
        m.stats = mask_stats(heads, *blocks, *plan);
        m.stats.mask_build_ms = mask_ms;
        m.stats.block_build_ms = block_ms;
        m.blocks = blocks;
        model = m;
    } catch (const std::exception& e) {
        m.error = e.what();
        model_ok = false;
    }
    out.model = std::move(m);
}

void LiveProblem::State::stage_upload(const LiveRequest& req, const std::function<bool()>& stale) {
    const LiveParams& p = req.params;
    const int h = int(heads.size());
    if (qkv.q.empty()) qkv = make_qkv(p, h);
    if (stale()) return;
    engine->upload(qkv.q, qkv.k, qkv.v, {h, n(), p.d});
    uploaded = true;
    const std::string why = path_unsupported(ctx->info(), path_dtype(p.kernel_path), p.d, p.kernel_path);
    run_path = why.empty() ? p.kernel_path : KernelPath::automatic;
    timing.gen = gen;
    timing.path_note =
        why.empty() ? "" : std::string(path_name(p.kernel_path)) + " cannot run here (" + why + "): ran auto";
    timing.pattern = p.pattern.name;
    timing.pattern_key = std::hash<std::string>{}(to_json(p.pattern, -1));
    timing.n = n();
    timing.d = p.d;
    timing.heads = h;
    timing.density = blocks->density();
    timing.mask_build_ms = model.stats.mask_build_ms + model.stats.block_build_ms;
    timing.device = ctx->info().name;
    timing.plan = plan->describe();
    timing.visited_share = double(model.stats.visited_pairs) / (double(n()) * double(n()) * double(h));
    accuracy.gen = gen;
}

void LiveProblem::State::stage_sparse_timing(const LiveRequest& req, LiveUpdate& out) {
    // One timed run, so the update (mask + heatmap + timing) lands soon after a slider change;
    // the repeated, median timing replaces it once the rest is done.
    RunOptions ro = run_options();
    ro.read_back = true;
    RunResult r = engine->run(*plan, ro);
    record_sparse(r, req.params.d);
    timing.path = r.path;
    sparse_out = std::move(r.out);
    sparse_done = true;
    out.timing = timing;
    out.paths = path_choices(ctx->info(), req.params.d);
}

void LiveProblem::State::stage_heatmap(const LiveRequest& req, const std::function<bool()>& stale,
                                       LiveUpdate& out) {
    const HeatRequest& v = req.view.heat;
    const int64_t n = this->n();
    const auto t0 = Clock::now();
    Viewport vp;
    vp.head = std::clamp(v.head, 0, int(heads.size()) - 1);
    vp.row0 = std::clamp<int64_t>(v.region.row0, 0, n - 1);
    vp.col0 = std::clamp<int64_t>(v.region.col0, 0, n - 1);
    vp.stride = std::max<int64_t>(1, v.stride);
    vp.rows = std::max<int64_t>(1, (std::min(v.region.rows, n - vp.row0) + vp.stride - 1) / vp.stride);
    vp.cols = std::max<int64_t>(1, (std::min(v.region.cols, n - vp.col0) + vp.stride - 1) / vp.stride);
    HeatResult r;
    r.gen = gen;
    r.id = next_version();
    r.request = v;
    r.w = int(vp.cols);
    r.h = int(vp.rows);
    // The mask's weights and dense attention's from one pass over the scores (dense_ref is the
    // causal dense mask when the pattern is causal, else null: every pair).
    AttentionEngine::WeightPair w = engine->probabilities_pair(*blocks, dense_ref != nullptr, vp);
    if (stale()) return;
    r.sparse = std::move(w.sparse);
    r.dense = std::move(w.dense);
    r.ms = ms_since(t0);
    heat_done = v;
    out.heat = std::move(r);
}

void LiveProblem::State::stage_row_weights(const LiveRequest& req, const std::function<bool()>& stale,
                                           LiveUpdate& out) {
    const RowRequest& v = req.view.row;
    Viewport vp;
    vp.head = std::clamp(v.head, 0, int(heads.size()) - 1);
    vp.row0 = std::clamp<int64_t>(v.query, 0, n() - 1);
    vp.rows = 1;
    vp.cols = n();
    RowWeights r;
    r.gen = gen;
    r.id = next_version();
    r.request = v;
    AttentionEngine::WeightPair w = engine->probabilities_pair(*blocks, dense_ref != nullptr, vp);
    if (stale()) return;
    r.sparse = std::move(w.sparse);
    r.dense = std::move(w.dense);
    row_done = v;
    out.row = std::move(r);
}

void LiveProblem::State::stage_kept_mass(const std::function<bool()>& stale, LiveUpdate& out) {
    // Dense weights on stripes of rows; the share on kept pairs, averaged over rows. Exact for
    // n <= 2048, else 8 evenly spaced stripes of 32 rows per head.
    const int64_t n = this->n();
    const int64_t stripe = n <= 2048 ? std::min<int64_t>(n, 64) : 32;
    const int64_t stripes = n <= 2048 ? (n + stripe - 1) / stripe : 8;
    double sum = 0;
    int64_t rows_used = 0;
    std::vector<int32_t> keys;
    for (int h = 0; h < int(heads.size()) && !stale(); ++h) {
        for (int64_t sidx = 0; sidx < stripes && !stale(); ++sidx) {
            Viewport vp;
            vp.head = h;
            vp.row0 = n <= 2048 ? sidx * stripe : (2 * sidx + 1) * n / (2 * stripes) - stripe / 2;
            vp.row0 = std::clamp<int64_t>(vp.row0, 0, n - 1);
            vp.rows = std::min(stripe, n - vp.row0);
            vp.cols = n;
            const std::vector<float> w = engine->probabilities(dense_ref.get(), vp);
            for (int64_t r = 0; r < vp.rows; ++r) {
                heads[size_t(h)].row(vp.row0 + r, keys);
                double kept = 0;
                for (int32_t j : keys) kept += w[size_t(r * n + j)];
                sum += kept;
                ++rows_used;
            }
        }
    }
    if (stale()) return;
    accuracy_done = true;
    accuracy.kept_mass = rows_used ? sum / double(rows_used) : 0.0;
    accuracy.rows_used = rows_used;
    accuracy.sampled = rows_used < int64_t(heads.size()) * n;
    out.accuracy = accuracy;
}

void LiveProblem::State::stage_hops(const LiveRequest& req, const std::function<bool()>& stale, std::stop_token stop,
                                    LiveUpdate& out) {
    const LiveParams& p = req.params;
    HopResult hr;
    hr.gen = gen;
    try {
        const auto t0 = Clock::now();
        HopsStack stack;
        const int selected = std::min(p.layer, p.pattern.num_layers() - 1);
        {  // refused up front when the token CSRs would not fit (size_limits.h)
            std::vector<std::vector<HeadCost>> costs;
            for (int l = 0; l < p.pattern.num_layers(); ++l) {
                costs.emplace_back();
                if (l == selected) costs.back() = costs_of(heads);
                else
                    for (const HeadPattern& hp : p.pattern.layers[size_t(l)].heads) costs.back().push_back(head_cost(hp, n()));
            }
            check_hops(costs, n());
        }
        for (int l = 0; l < p.pattern.num_layers() && !stale(); ++l) {
            std::vector<Csr> layer;
            if (l == selected) {
                for (const HeadMask& m : heads) layer.push_back(build_csr(m));
            } else {
                LiveParams lp = p;
                lp.layer = l;
                for (const HeadMask& m : build_head_masks(lp, qkv)) layer.push_back(build_csr(m));
            }
            stack.push_back(std::move(layer));
        }
        if (stale()) return;
        hops_graph = std::make_unique<HopsGraph>(stack);
        hr.build_ms = ms_since(t0);
        HopsOptions ho;
        ho.stop = stop;
        ho.threads = 2;
        auto rep = std::make_shared<HopsReport>(analyze_hops(*hops_graph, hops_causal_pairs(p.pattern), ho));
        if (rep->cancelled || stale()) return;
        hr.report = std::move(rep);
    } catch (const std::exception& e) {
        hr.error = e.what();
    }
    hops_done = true;
    out.hops = std::move(hr);
}

void LiveProblem::State::stage_token_hops(const LiveRequest& req, const std::function<bool()>& stale,
                                          std::stop_token stop, LiveUpdate& out) {
    TokenHopResult tr;
    tr.gen = gen;
    tr.id = next_version();
    tr.token = std::clamp<int64_t>(req.view.hop_token, 0, n() - 1);
    HopsOptions ho;
    ho.stop = stop;
    ho.threads = 2;
    auto th = std::make_shared<TokenHops>(token_hops(*hops_graph, tr.token, ho));
    if (th->cancelled || stale()) return;
    tr.hops = std::move(th);
    token_hops_done = req.view.hop_token;
    out.token_hops = std::move(tr);
}

void LiveProblem::State::stage_dense_timing(const LiveRequest& req, LiveUpdate& out) {
    const LiveParams& p = req.params;
    const int h = int(heads.size());
    const bool causal = is_causal(p);
    const double pairs = double(h) * double(n()) * double(n()) * (causal ? 0.5 : 1.0);
    // Dense attention does not depend on the pattern: reuse the last dense run when only the
    // pattern changed (dragging a pattern slider then costs no dense run).
    const DenseKey key = dense_key(p, h, run_path);
    if (!dense_cache || !(dense_cache->key == key)) {
        // A kernel cannot be interrupted, so a dense run over the live budget (large n on a CPU
        // device) would hold up the next change. Whether it is over is decided from a measured
        // dense run at a smaller n scaled by the pairs (never from one noisy sparse sample); when
        // it is, that scaled measurement is shown, labelled as an estimate.
        const double guess = estimate_dense_ms(timing.sparse_ms, pairs, double(model.stats.visited_pairs));
        double expect = guess;
        if (guess > kLiveDenseBudgetMs / 20) {
            const DenseCalibration& cal = calibrate_dense(p, h, causal, guess);
            expect = extrapolate_dense_ms(cal.n_lo, cal.ms_lo, cal.n, cal.ms, n());
            if (expect > kLiveDenseBudgetMs) {
                dense_done = true;
                timing.dense_skipped_estimate_ms = expect;
                timing.dense_calibration_n = cal.n;
                timing.dense_calibration_ms = cal.ms;
                timing.dense_calibration_runs = cal.runs;
                timing.dense_calibration_n_lo = cal.n_lo;
                timing.dense_calibration_ms_lo = cal.ms_lo;
                char why[160];
                std::snprintf(why, sizeof why, "dense not run: ~%.0f s, fitted to measured runs at n = %lld and %lld",
                              expect / 1000.0, (long long)cal.n_lo, (long long)cal.n);
                accuracy.rel_error_missing = why;
                out.timing = timing;
                out.accuracy = accuracy;
                return;
            }
        }
        RunOptions ro = run_options();
        ro.read_back = true;
        ro.repeats = repeats_within(expect, kRepeatBudgetMs * 2);
        ro.warmup_ms = expect < kWarmupMs ? kWarmupMs : 0;
        RunResult r = engine->run(plan_dense(h, causal), ro);
        dense_cache = std::make_shared<const DenseRun>(DenseRun{key, r.gpu_ms, r.min_ms, r.max_ms, r.runs, std::move(r.out)});
    }
    timing.dense_ms = dense_cache->ms;
    timing.dense_min_ms = dense_cache->min_ms;
    timing.dense_max_ms = dense_cache->max_ms;
    timing.dense_runs = dense_cache->runs;
    timing.dense_gflops = attention_gflops(pairs, p.d, dense_cache->ms);
    accuracy.rel_error = relative_error(sparse_out, dense_cache->out);
    dense_done = true;
    out.timing = timing;
    out.accuracy = accuracy;
}

const DenseCalibration& LiveProblem::State::calibrate_dense(const LiveParams& p, int h, bool causal, double guess_ms) {
    const DenseCalibrationKey key{p.d, h, causal, run_path};
    if (dense_calibration && dense_calibration->key == key) return *dense_calibration;
    const auto measure = [&](int64_t cn) {
        const QKV q = make_qkv(h, cn, p.d, 1, QkvSource::gaussian);
        engine->upload(q.q, q.k, q.v, {h, cn, p.d});
        RunOptions ro = run_options();
        ro.repeats = 3;
        ro.warmup = 1;
        return engine->run(plan_dense(h, causal), ro);
    };
    // Small runs are mostly fixed cost (launch, a software rasteriser's threads): two sizes give
    // the overhead and the per-pair cost apart (t = a + b n^2), and that fit picks the n of a
    // third, calibrating run of ~0.4 s, which is fitted with the larger of the first two.
    DenseCalibration cal{key, std::min<int64_t>(n(), 128), 0, std::min<int64_t>(n(), 256), 0, 0};
    const RunResult ra = measure(cal.n_lo);
    const RunResult rb = cal.n > cal.n_lo ? measure(cal.n) : ra;
    cal.ms_lo = ra.gpu_ms, cal.ms = rb.gpu_ms, cal.runs = rb.runs;
    const int64_t n1 = calibration_n(n(), extrapolate_dense_ms(cal.n_lo, cal.ms_lo, cal.n, cal.ms, n()), kCalibrationTargetMs);
    if (n1 > cal.n) {
        const RunResult rc = measure(n1);
        cal.n_lo = cal.n, cal.ms_lo = cal.ms;
        cal.n = n1, cal.ms = rc.gpu_ms, cal.runs = rc.runs;
    }
    // The live problem's own Q/K/V back on the device (the heatmap and the next runs read them).
    engine->upload(qkv.q, qkv.k, qkv.v, {h, n(), p.d});
    (void)guess_ms;
    dense_calibration = cal;
    return *dense_calibration;
}

void LiveProblem::State::stage_sparse_refine(const LiveRequest& req, const std::function<bool()>& stale,
                                             LiveUpdate& out) {
    // The median of repeated runs replaces the first single run: as many as fit in ~1.5 s (3..15),
    // after a warm-up by time for short kernels (the first run warmed up the long ones).
    const double first = timing.sparse_ms;
    int repeats = repeats_within(first, kRepeatBudgetMs);
    // A first run of 1.5-3 s is measured twice more, as the dense run of that length is (its
    // budget is twice this one): one noisy first sample on a busy CPU device otherwise stood
    // as the sparse time against a dense median (BigBird at n = 512 on a loaded lavapipe read
    // sparse 2.07 s against dense 0.77 s; bench: 151 vs 158 ms).
    if (repeats == 1 && first <= 2 * kRepeatBudgetMs) repeats = 2;
    if (repeats > 1) {
        RunOptions ro = run_options();
        ro.repeats = repeats;
        ro.warmup_ms = first < kWarmupMs ? kWarmupMs : 0;
        const RunResult r = engine->run(*plan, ro);
        if (stale()) return;
        record_sparse(r, req.params.d);
        out.timing = timing;
    }
    sparse_refined = true;
}

LiveProblem::LiveProblem() : s_(std::make_unique<State>()) {}
LiveProblem::~LiveProblem() {
    s_->density_mask.reset();  // before the engine it lives on
}

void LiveProblem::set_device(VulkanContext* ctx) {
    s_->density_mask.reset();
    s_->engine.reset();
    s_->ctx = ctx;
    if (ctx) s_->engine = std::make_unique<AttentionEngine>(*ctx);
    s_->dense_cache.reset();
    s_->started = false;  // rebuild everything on the new device
}

const KernelPlan* LiveProblem::plan() const { return s_->plan ? &*s_->plan : nullptr; }

LiveStage LiveProblem::next_stage(const LiveRequest& req) const {
    const State& s = *s_;
    const LiveView& v = req.view;
    if (!s.started || req.gen != s.gen) return LiveStage::model;
    if (!s.model_ok) return LiveStage::idle;
    const bool mask_pending = s.mask_done != v.mask && v.mask.w > 0;
    // A zoomed-out image is counted on the GPU from the block mask: compile that first.
    const bool mask_needs_blocks = s.engine && s.gpu_density(v.mask) && !s.blocks;
    if (mask_pending && !mask_needs_blocks) return LiveStage::mask_image;
    if (!s.blocks) return LiveStage::block_mask;
    if (!s.engine) return LiveStage::idle;  // no device: mask views and statistics only
    if (!s.uploaded) return LiveStage::upload;
    if (!s.sparse_done) return LiveStage::sparse_timing;
    if (s.heat_done != v.heat && !v.heat.region.empty()) return LiveStage::heatmap;
    if (s.row_done != v.row && v.row.query >= 0 && v.row.query < s.n()) return LiveStage::row_weights;
    if (!s.accuracy_done) return LiveStage::kept_mass;
    if (!s.hops_done) return LiveStage::hops;
    if (s.hops_graph && s.token_hops_done != v.hop_token) return LiveStage::token_hops;
    if (!s.sparse_refined) return LiveStage::sparse_refine;
    if (!s.dense_done) return LiveStage::dense_timing;
    return LiveStage::idle;
}

void LiveProblem::run_stage(LiveStage stage, const LiveRequest& req, const std::function<bool()>& stale,
                            LiveUpdate& out, std::stop_token hop_stop) {
    State& s = *s_;
    // SALAB_STAGE_LOG=1: one line per stage on stderr (generation, stage, wall ms), to see where
    // an update's latency goes.
    static const bool log = [] {
        const char* v = std::getenv("SALAB_STAGE_LOG");
        return v && *v && *v != '0';
    }();
    const auto t0 = Clock::now();
    try {
        switch (stage) {
            case LiveStage::model: s.stage_model(req, stale, out); break;
            case LiveStage::mask_image: s.stage_mask_image(req, stale, out); break;
            case LiveStage::block_mask: s.stage_block_mask(req, out); break;
            case LiveStage::upload: s.stage_upload(req, stale); break;
            case LiveStage::sparse_timing: s.stage_sparse_timing(req, out); break;
            case LiveStage::heatmap: s.stage_heatmap(req, stale, out); break;
            case LiveStage::row_weights: s.stage_row_weights(req, stale, out); break;
            case LiveStage::kept_mass: s.stage_kept_mass(stale, out); break;
            case LiveStage::hops: s.stage_hops(req, stale, hop_stop, out); break;
            case LiveStage::token_hops: s.stage_token_hops(req, stale, hop_stop, out); break;
            case LiveStage::dense_timing: s.stage_dense_timing(req, out); break;
            case LiveStage::sparse_refine: s.stage_sparse_refine(req, stale, out); break;
            case LiveStage::idle: break;
        }
    } catch (const std::exception& e) {
        // A failed run (device lost, out of memory, a problem too large): report it and stop
        // working on this generation rather than retrying in a loop.
        s.model_ok = false;
        out.compute_error = e.what();
    }
    if (log && stage != LiveStage::idle)
        std::fprintf(stderr, "salab: stage gen %llu %s %.1f ms\n", static_cast<unsigned long long>(req.gen),
                     std::string(stage_name(stage)).c_str(), ms_since(t0));
}

LiveLayer sweep_layer(const LiveParams& p, int64_t n, const QKV& qkv) {
    LiveParams at = p;
    at.pattern = with_n(p.pattern, n);
    LiveLayer l;
    l.masks = build_head_masks(at, qkv);
    check_block_mask(costs_of(l.masks), n, "the block mask");
    l.blocks = std::make_shared<const BlockMask>(compile_block_mask(l.masks, 64));
    l.plan = live_plan(l.masks, l.blocks);
    return l;
}

SweepPoint sweep_point(AttentionEngine& engine, const LiveParams& p, int64_t n, const std::function<bool()>& stopped) {
    LiveParams at = p;
    at.pattern = with_n(p.pattern, n);
    const int heads = layer_heads(at);
    if (std::string why = engine.check_fits({heads, n, at.d}); !why.empty()) throw InputError(why);
    const QKV qkv = make_qkv(at, heads);
    const LiveLayer l = sweep_layer(p, n, qkv);
    SweepPoint pt;
    pt.n = n;
    pt.density = l.blocks->density();
    pt.keys_per_query = double(l.blocks->kept_pairs) / double(heads * n);
    if (stopped()) return pt;
    engine.upload(qkv.q, qkv.k, qkv.v, {heads, n, at.d});
    RunOptions ro;
    // The live view's kernel path where the device runs it (else auto, as the live view does).
    if (path_unsupported(engine.device(), path_dtype(p.kernel_path), at.d, p.kernel_path).empty()) {
        ro.path = p.kernel_path;
        ro.dtype = path_dtype(p.kernel_path);
    }
    ro.repeats = repeats_for(double(l.blocks->kept_pairs), at.d);
    ro.warmup = 1;
    pt.sparse_ms = engine.run(l.plan, ro).gpu_ms;
    if (stopped()) return pt;
    ro.repeats = repeats_for(double(heads) * double(n) * double(n), at.d);
    ro.warmup = ro.repeats > 1 ? 1 : 0;
    pt.dense_ms = engine.run(plan_dense(heads, is_causal(at)), ro).gpu_ms;
    return pt;
}

}  // namespace salab
