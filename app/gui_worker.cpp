#include "gui_worker.h"

#include "attention.h"
#include "block_mask.h"
#include "gui_data.h"
#include "image.h"
#include "hops.h"
#include "reference.h"
#include "vk_context.h"

#include <algorithm>
#include <utility>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <chrono>
#include <cmath>

namespace salab::gui {

namespace {

using Clock = std::chrono::steady_clock;
// Compute yields to the frame loop: on a CPU device (lavapipe) both share the same cores, and
// a frame late is worse than a result late. Linux nice values are per thread and inherited by
// threads created afterwards, so the driver's worker threads (spawned when this thread creates
// its device) and our helper threads inherit it too.
void lower_thread_priority() {
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
}

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// HeadQK for head h of [heads, n, d] Q and K (empty when the pattern needs none).
HeadQK head_qk(const Qkv& qkv, int h, int64_t n, int64_t d) {
    if (qkv.q.empty()) return {};
    const size_t off = size_t(h) * size_t(n) * size_t(d), len = size_t(n) * size_t(d);
    return {std::span<const float>(qkv.q).subspan(off, len), std::span<const float>(qkv.k).subspan(off, len), d};
}

// Useful FLOPs of attention: q.k (2d) and p.v (2d) per kept pair.
double gflops(double pairs, int64_t d, double ms) { return ms > 0 ? 4.0 * double(d) * pairs / (ms * 1e6) : 0.0; }

// Longest dense kernel the live view runs (estimated from the sparse time); beyond it the
// scaling sweep is the place to time dense attention.
constexpr double dense_budget_ms = 12000;

// Query rows the mask view's GPU density counts per pixel on a CPU device (see the mask stage).
constexpr int64_t density_rows_on_cpu_device = 16;

// Timed repeats that keep one live update under ~a second on slow devices.
int repeats_for(double pairs, int64_t d) { return 4.0 * double(d) * pairs > 2e9 ? 1 : 3; }

}  // namespace

// What a dense run depends on (never the pattern).
struct DenseKey {
    int64_t n = 0, d = 0;
    int heads = 0;
    bool causal = false;
    int device = -1;
    ui::QkSource source{};
    uint64_t seed = 0;
    std::string q, k, v;
    bool operator==(const DenseKey&) const = default;
};
struct DenseRun {
    DenseKey key;
    double ms = 0;
    std::vector<float> out;
};

struct Worker::State {
    // Device.
    int device_index = -2;  // -2: not created yet
    std::unique_ptr<VulkanContext> ctx;
    std::unique_ptr<AttentionEngine> engine;
    std::string device_error;

    // Model of the current generation.
    uint64_t gen = 0;
    bool model_ok = false;
    ui::Params params;
    Qkv qkv;
    std::vector<HeadMask> heads;
    std::shared_ptr<const BlockMask> blocks;
    // What the kernels run: `blocks` with scattered key blocks gathered (compute/block_mask.h),
    // or `blocks` itself when gathering packs nothing. The views and statistics use `blocks`.
    std::shared_ptr<const BlockMask> run_blocks;
    // Every head the same band (windows only): the kernels run it from two integers instead.
    std::optional<Band> band;
    // `blocks` on the device for the mask view's density images (uploaded once per model; pan
    // and zoom only count again). Released before the engine.
    std::shared_ptr<const AttentionEngine::DeviceMask> density_mask;
    double mask_build_ms = 0;
    std::unique_ptr<HopsGraph> hops_graph;
    // Dense reference with the pattern's causality (a causal pattern is compared with causal
    // dense attention, not with attention to the future).
    std::shared_ptr<const BlockMask> dense_ref;
    std::shared_ptr<const DenseRun> dense_cache;  // kept across generations
    ui::ModelResult model;  // as published before the block mask was compiled
    double block_build_ms = 0;

    // What is done for `gen`.
    std::optional<ui::MaskImageRequest> mask_done;
    std::optional<ui::HeatRequest> heat_done;
    bool uploaded = false, sparse_done = false, sparse_refined = false, dense_done = false, accuracy_done = false,
         hops_done = false;
    std::optional<int64_t> token_hops_done;
    ui::TimingSample timing;
    std::vector<float> sparse_out;

    // The timed sparse kernel: the band when every head is one, else the (gathered) block mask.
    RunResult run_sparse(const RunOptions& ro) {
        return band ? engine->run_band(band->left, band->right, ro) : engine->run(*run_blocks, ro);
    }
};

Worker::Worker(std::function<void()> wake) : wake_(std::move(wake)), state_(std::make_unique<State>()) {
    thread_ = std::jthread([this](std::stop_token st) { run(st); });
}

Worker::~Worker() {
    hops_stop_.request_stop();
    thread_.request_stop();
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    sweep_thread_.request_stop();
}

void Worker::post(uint64_t gen, const ui::Params& params, const ViewRequest& view) {
    {
        std::lock_guard lock(mutex_);
        if (gen != latest_.gen) hops_stop_.request_stop();
        latest_ = {gen, params, view};
        has_job_ = true;
    }
    latest_gen_ = gen;
    cv_.notify_all();
}

Inbox Worker::take() {
    std::lock_guard lock(mutex_);
    return std::exchange(inbox_, {});
}

std::string Worker::activity() const {
    std::lock_guard lock(mutex_);
    return activity_;
}

bool Worker::idle() const {
    std::lock_guard lock(mutex_);
    return !has_work_locked();
}

void Worker::publish(const std::function<void(Inbox&)>& f) {
    {
        std::lock_guard lock(mutex_);
        f(inbox_);
    }
    if (wake_) wake_();
}

void Worker::set_activity(std::string s) {
    std::lock_guard lock(mutex_);
    activity_ = std::move(s);
}

bool Worker::has_work_locked() const {
    if (!has_job_) return false;
    const State& s = *state_;
    if (latest_.gen != s.gen) return true;
    if (!s.model_ok) return false;
    const ViewRequest& v = latest_.view;
    if (s.mask_done != v.mask && v.mask.w > 0) return true;
    if (!s.blocks) return true;
    if (!s.engine) return false;  // no device: mask views and statistics only
    if (!s.uploaded || !s.sparse_done || !s.dense_done || !s.accuracy_done || !s.sparse_refined) return true;
    if (s.heat_done != v.heat && !v.heat.region.empty()) return true;
    if (!s.hops_done) return true;
    if (s.token_hops_done != v.hop_token && s.hops_graph) return true;
    return false;
}

void Worker::run(std::stop_token stop) {
    lower_thread_priority();
    State& s = *state_;
    while (!stop.stop_requested()) {
        Job job;
        std::stop_token hop_stop;
        {
            std::unique_lock lock(mutex_);
            if (!has_work_locked()) activity_.clear();
            cv_.wait(lock, stop, [&] { return has_work_locked(); });
            if (stop.stop_requested()) return;
            job = latest_;
            if (job.gen != s.gen) hops_stop_ = std::stop_source();
            hop_stop = hops_stop_.get_token();
        }
        const auto stale = [&] { return latest_gen_.load() != job.gen || stop.stop_requested(); };
        const ui::Params& p = job.params;
        const int64_t n = p.pattern.n;
        try {
            // Device: (re)created when the choice changes; failure leaves mask-only views.
            if (s.device_index != p.device) {
                set_activity("opening Vulkan device");
                s.density_mask.reset();  // its buffers belong to the old device
                s.engine.reset();
                s.ctx.reset();
                s.device_index = p.device;
                ContextOptions co;
                co.device_index = p.device;
                ContextResult cr = VulkanContext::create(co);
                s.ctx = std::move(cr.context);
                s.device_error = cr.error;
                if (s.ctx) s.engine = std::make_unique<AttentionEngine>(*s.ctx);
                const std::string err = s.ctx ? "" : "no Vulkan compute device: " + cr.error;
                const std::string name = s.ctx ? s.ctx->info().name : "";
                publish([&](Inbox& in) {
                    in.compute_error = err;
                    in.device_name = name;
                });
                s.gen = 0;  // rebuild everything on the new device
            }

            if (job.gen != s.gen) {
                set_activity("building masks");
                {
                    auto cache = std::move(s.dense_cache);
                    s = State{s.device_index, std::move(s.ctx), std::move(s.engine), s.device_error};
                    s.dense_cache = std::move(cache);
                }
                s.gen = job.gen;
                s.params = p;
                ui::ModelResult m;
                m.gen = job.gen;
                try {
                    validate(p.pattern);
                    const int heads = ui::layer_heads(p);
                    if (heads < 1 || heads > 64) throw InputError("heads must be in [1, 64], got " + std::to_string(heads));
                    if (p.d < 1 || p.d > 256) throw InputError("d must be in [1, 256], got " + std::to_string(p.d));
                    // Q/K first only when the mask depends on them; otherwise after the mask is
                    // on screen (generating them takes seconds at large n).
                    if (p.pattern.needs_qk()) s.qkv = make_qkv(p, heads);
                    if (stale()) continue;
                    const auto t0 = Clock::now();
                    for (int h = 0; h < heads; ++h)
                        s.heads.emplace_back(ui::head_pattern(p, h), n, head_qk(s.qkv, h, n, p.d));
                    s.mask_build_ms = ms_since(t0);
                    m.stats.n = n;
                    m.stats.heads = heads;
                    m.stats.mask_build_ms = s.mask_build_ms;
                    m.heads = s.heads;
                    s.model_ok = true;
                    s.model = m;
                } catch (const InputError& e) {
                    m.error = e.what();
                } catch (const std::invalid_argument& e) {
                    m.error = e.what();
                }
                publish([&](Inbox& in) { in.model = std::move(m); });
                continue;
            }
            if (!s.model_ok) continue;

            const ViewRequest& v = job.view;
            const bool mask_pending = s.mask_done != v.mask && v.mask.w > 0;
            // A zoomed-out image is counted on the GPU from the block mask: compile it first.
            const bool mask_on_gpu = mask_pending && s.engine && ui::wants_gpu_density(v.mask);
            if (mask_pending && !(mask_on_gpu && !s.blocks)) {
                set_activity("drawing the mask");
                const auto t0 = Clock::now();
                const int h = std::clamp(v.mask.head, 0, int(s.heads.size()) - 1);
                ui::MaskImageResult r;
                r.gen = job.gen;
                r.id = ui::next_image_version();
                r.request = v.mask;
                ui::TokenRect region = v.mask.region;  // clipped to n, defensively
                region.row0 = std::clamp<int64_t>(region.row0, 0, n);
                region.col0 = std::clamp<int64_t>(region.col0, 0, n);
                region.rows = std::clamp<int64_t>(region.rows, 0, n - region.row0);
                region.cols = std::clamp<int64_t>(region.cols, 0, n - region.col0);
                if (mask_on_gpu && !region.empty()) {
                    // The same cells as aggregate_mask (ui::cell_grid), counted by mask_density.
                    try {
                        if (!s.density_mask) s.density_mask = s.engine->upload_for_density(*s.blocks);
                        const ui::CellGrid g = ui::cell_grid(region, v.mask.w, v.mask.h);
                        DensityGrid dg{h, region.row0, region.col0, region.rows, region.cols, g.ch, g.cw};
                        // On a CPU device (lavapipe) the kernel's cost is linear in the rows it
                        // counts per pixel: 16 (twice the CPU path's 8) keeps a 558 x 558 image
                        // of n = 65,536 near 0.2 s; a GPU counts up to 64, exactly.
                        if (s.ctx->info().type == "cpu") dg.max_rows = density_rows_on_cpu_device;
                        std::vector<float> cells = s.engine->mask_density(*s.density_mask, dg);
                        r.image = ui::image_from_cells(region, v.mask.w, v.mask.h, g, std::move(cells),
                                                       AttentionEngine::density_rows(dg));
                        r.on_gpu = true;
                    } catch (const std::exception& e) {
                        r.gpu_error = e.what();  // drawn on the CPU below; the view says why
                    }
                }
                if (!s.engine && ui::wants_gpu_density(v.mask)) r.gpu_error = "no Vulkan compute device";
                if (stale()) continue;
                if (!r.on_gpu) {
                    std::vector<HeadMask> comps;
                    if (v.mask.by_component) {
                        const HeadPattern& hp = s.heads[size_t(h)].pattern();
                        for (const Component& c : hp.components)
                            comps.emplace_back(HeadPattern{hp.causal, {c}}, n, head_qk(s.qkv, h, n, p.d));
                    }
                    ui::AggregateOptions ao;
                    ao.threads = 2;
                    ao.cancelled = stale;
                    r.image = ui::aggregate_mask(s.heads[size_t(h)], region, v.mask.w, v.mask.h, comps, ao);
                }
                r.ms = ms_since(t0);
                if (stale()) continue;
                s.mask_done = v.mask;
                publish([&](Inbox& in) { in.mask = std::move(r); });
                continue;
            }
            if (!s.blocks) {
                // Before a zoomed-out mask image (the GPU counts it from the block mask), else after
                // the first (1:1 or by-component) image: compiling takes seconds at large n.
                set_activity("compiling the block mask");
                ui::ModelResult m = s.model;
                const int heads = int(s.heads.size());
                try {
                    const auto t1 = Clock::now();
                    s.blocks = std::make_shared<const BlockMask>(compile_block_mask(s.heads, 64));
                    s.band = band_of(s.heads);
                    s.run_blocks = s.blocks;
                    if (!s.band) {  // a band needs no block mask, gathered or not
                        auto gathered = std::make_shared<const BlockMask>(gather_blocks(*s.blocks));
                        if (gathered->gathered_blocks > 0) s.run_blocks = std::move(gathered);
                    }
                    const double block_ms = ms_since(t1);
                    s.block_build_ms = block_ms;
                    if (ui::head_pattern(p, 0).causal)
                        s.dense_ref = std::make_shared<const BlockMask>(dense_block_mask(n, heads, 64, true));
                    const BlockMask& b = *s.blocks;
                    ui::MaskStats& st = m.stats;
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
                    if (s.run_blocks != s.blocks) {
                        st.run_blocks = s.run_blocks->listed_blocks();
                        st.gathered_blocks = s.run_blocks->gathered_blocks;
                    }
                    st.band = s.band.has_value();
                    st.block = b.block;
                    for (int h = 0; h < heads; ++h)
                        for (int64_t I = 0; I < b.num_blocks; ++I) {
                            const size_t rb = size_t(int64_t(h) * b.num_blocks + I);
                            const int64_t rows = std::min<int64_t>(b.block, n - I * b.block);
                            for (uint32_t e = b.row_ptr[rb]; e < b.row_ptr[rb + 1]; ++e) {
                                const int64_t J = int64_t(b.entries[2 * size_t(e)] & 0x7fffffffu);
                                st.visited_pairs += rows * std::min<int64_t>(b.block, n - J * b.block);
                            }
                        }
                    st.block_mask_bytes = b.bytes();
                    st.csr_bytes = int64_t(heads) * (8 * (n + 1)) + 4 * b.kept_pairs;
                    st.dense_mask_bytes = int64_t(heads) * n * n;
                    st.mask_build_ms = s.mask_build_ms;
                    st.block_build_ms = block_ms;
                    m.blocks = s.blocks;
                } catch (const std::exception& e) {
                    m.error = e.what();
                    s.model_ok = false;
                }
                publish([&](Inbox& in) { in.model = std::move(m); });
                continue;
            }
            if (!s.engine) continue;

            const int heads = int(s.heads.size());
            const ProblemShape shape{heads, n, p.d};
            if (!s.uploaded) {
                set_activity("generating and uploading Q/K/V");
                if (s.qkv.q.empty()) s.qkv = make_qkv(p, heads);
                if (stale()) continue;
                s.engine->upload(s.qkv.q, s.qkv.k, s.qkv.v, shape);
                s.uploaded = true;
                s.timing.gen = job.gen;
                s.timing.n = n;
                s.timing.d = p.d;
                s.timing.heads = heads;
                s.timing.density = s.blocks->density();
                s.timing.mask_build_ms = s.mask_build_ms + s.block_build_ms;
                s.timing.device = s.ctx->info().name;
                continue;
            }
            if (!s.sparse_done) {
                // One timed run, so the update (mask + heatmap + timing) lands soon after a
                // slider change; the repeated, median timing replaces it once the rest is done.
                set_activity("timing the sparse kernel");
                RunOptions ro;
                ro.read_back = true;
                RunResult r = s.run_sparse(ro);
                s.timing.sparse_ms = r.gpu_ms;
                s.timing.sparse_gflops = gflops(double(s.blocks->kept_pairs), p.d, r.gpu_ms);
                s.timing.path = r.path;
                s.sparse_out = std::move(r.out);
                s.sparse_done = true;
                publish([&](Inbox& in) { in.timings.push_back(s.timing); });
                continue;
            }
            if (s.heat_done != v.heat && !v.heat.region.empty()) {
                set_activity("computing attention weights");
                const auto t0 = Clock::now();
                const int h = std::clamp(v.heat.head, 0, heads - 1);
                Viewport vp;
                vp.head = h;
                vp.row0 = std::clamp<int64_t>(v.heat.region.row0, 0, n - 1);
                vp.col0 = std::clamp<int64_t>(v.heat.region.col0, 0, n - 1);
                vp.stride = std::max<int64_t>(1, v.heat.stride);
                vp.rows = std::max<int64_t>(1, (std::min(v.heat.region.rows, n - vp.row0) + vp.stride - 1) / vp.stride);
                vp.cols = std::max<int64_t>(1, (std::min(v.heat.region.cols, n - vp.col0) + vp.stride - 1) / vp.stride);
                ui::HeatResult r;
                r.gen = job.gen;
                r.id = ui::next_image_version();
                r.request = v.heat;
                r.w = int(vp.cols);
                r.h = int(vp.rows);
                r.sparse = s.engine->probabilities(s.blocks.get(), vp);
                if (stale()) continue;
                r.dense = s.engine->probabilities(s.dense_ref.get(), vp);
                r.ms = ms_since(t0);
                s.heat_done = v.heat;
                publish([&](Inbox& in) { in.heat = std::move(r); });
                continue;
            }
            if (!s.accuracy_done) {
                set_activity("measuring kept attention mass");
                // Dense weights on stripes of rows; the share on kept pairs, averaged over rows.
                // Exact for n <= 2048, else 8 evenly spaced stripes of 32 rows per head.
                const int64_t stripe = n <= 2048 ? std::min<int64_t>(n, 64) : 32;
                const int64_t stripes = n <= 2048 ? (n + stripe - 1) / stripe : 8;
                double sum = 0;
                int64_t rows_used = 0;
                std::vector<int32_t> keys;
                for (int h = 0; h < heads && !stale(); ++h) {
                    for (int64_t sidx = 0; sidx < stripes && !stale(); ++sidx) {
                        Viewport vp;
                        vp.head = h;
                        vp.row0 = n <= 2048 ? sidx * stripe : (2 * sidx + 1) * n / (2 * stripes) - stripe / 2;
                        vp.row0 = std::clamp<int64_t>(vp.row0, 0, n - 1);
                        vp.rows = std::min(stripe, n - vp.row0);
                        vp.cols = n;
                        const std::vector<float> w = s.engine->probabilities(s.dense_ref.get(), vp);
                        for (int64_t r = 0; r < vp.rows; ++r) {
                            s.heads[size_t(h)].row(vp.row0 + r, keys);
                            double kept = 0;
                            for (int32_t j : keys) kept += w[size_t(r * n + j)];
                            sum += kept;
                            ++rows_used;
                        }
                    }
                }
                if (stale()) continue;
                s.accuracy_done = true;
                ui::AccuracyResult acc;
                acc.gen = job.gen;
                acc.kept_mass = rows_used ? sum / double(rows_used) : 0.0;
                acc.rows_used = rows_used;
                acc.sampled = rows_used < int64_t(heads) * n;
                acc.rel_error = -1;  // comes with the dense run
                publish([&](Inbox& in) { in.accuracy.push_back(acc); });
                continue;
            }
            if (!s.hops_done) {
                set_activity("analysing hops");
                ui::HopResult hr;
                hr.gen = job.gen;
                try {
                    const auto t0 = Clock::now();
                    HopsStack stack;
                    for (int l = 0; l < p.pattern.num_layers(); ++l) {
                        std::vector<Csr> layer;
                        if (l == std::min(p.layer, p.pattern.num_layers() - 1)) {
                            for (const HeadMask& m : s.heads) layer.push_back(build_csr(m));
                        } else {
                            const int lh = p.pattern.num_heads(l);
                            for (int h = 0; h < lh; ++h)
                                layer.push_back(build_csr(HeadMask(p.pattern.layers[size_t(l)].heads[size_t(h)], n,
                                                                   head_qk(s.qkv, std::min(h, heads - 1), n, p.d))));
                        }
                        stack.push_back(std::move(layer));
                        if (stale()) break;
                    }
                    if (stale()) continue;
                    s.hops_graph = std::make_unique<HopsGraph>(stack);
                    hr.build_ms = ms_since(t0);
                    HopsOptions ho;
                    ho.stop = hop_stop;
                    ho.threads = 2;
                    auto rep = std::make_shared<HopsReport>(analyze_hops(*s.hops_graph, hops_causal_pairs(p.pattern), ho));
                    if (rep->cancelled || stale()) continue;
                    hr.report = std::move(rep);
                } catch (const std::exception& e) {
                    hr.error = e.what();
                }
                s.hops_done = true;
                publish([&](Inbox& in) { in.hops = std::move(hr); });
                continue;
            }
            if (s.hops_graph && s.token_hops_done != v.hop_token) {
                set_activity("hops of one token");
                ui::TokenHopResult tr;
                tr.gen = job.gen;
                tr.id = ui::next_image_version();
                tr.token = std::clamp<int64_t>(v.hop_token, 0, n - 1);
                HopsOptions ho;
                ho.stop = hop_stop;
                ho.threads = 2;
                auto th = std::make_shared<TokenHops>(token_hops(*s.hops_graph, tr.token, ho));
                if (th->cancelled || stale()) continue;
                tr.hops = std::move(th);
                s.token_hops_done = v.hop_token;
                publish([&](Inbox& in) { in.token_hops = std::move(tr); });
                continue;
            }
            if (!s.dense_done) {
                set_activity("timing the dense kernel");
                const bool causal = ui::head_pattern(p, 0).causal;
                const double pairs = double(heads) * double(n) * double(n) * (causal ? 0.5 : 1.0);
                // The dense kernel costs ~pairs / kept_pairs times the sparse one. When that is
                // more than a few seconds (large n on a CPU device) the live view skips it: a
                // kernel cannot be interrupted, and it would hold up the next slider change.
                const double estimate_ms =
                    s.timing.sparse_ms * pairs / std::max(1.0, double(s.blocks->kept_pairs));
                // Dense attention does not depend on the pattern: reuse the last dense run when
                // only the pattern changed (dragging a pattern slider then costs no dense run).
                DenseKey key{n, p.d, heads, causal, p.device, p.source, p.data_seed, p.q_path, p.k_path, p.v_path};
                if (s.dense_cache && s.dense_cache->key == key) {
                    s.timing.dense_ms = s.dense_cache->ms;
                    s.timing.dense_gflops = gflops(pairs, p.d, s.dense_cache->ms);
                    s.dense_done = true;
                    ui::AccuracyResult acc;
                    acc.gen = job.gen;
                    acc.kept_mass = -1;
                    acc.rel_error = relative_error(s.sparse_out, s.dense_cache->out);
                    publish([&](Inbox& in) {
                        in.timings.push_back(s.timing);
                        in.accuracy.push_back(acc);
                    });
                    continue;
                }
                if (estimate_ms > dense_budget_ms) {
                    s.timing.dense_ms = -1;
                    s.timing.dense_estimate_ms = estimate_ms;
                    s.dense_done = true;
                    ui::AccuracyResult acc;
                    acc.gen = job.gen;
                    acc.kept_mass = -1;
                    acc.rel_error = -2;  // not measured
                    publish([&](Inbox& in) {
                        in.timings.push_back(s.timing);
                        in.accuracy.push_back(acc);
                    });
                    continue;
                }
                RunOptions ro;
                ro.read_back = true;
                ro.repeats = repeats_for(pairs, p.d);
                ro.warmup = ro.repeats > 1 ? 1 : 0;
                RunResult r = s.engine->run_dense(causal, ro);
                s.timing.dense_ms = r.gpu_ms;
                s.timing.dense_gflops = gflops(pairs, p.d, r.gpu_ms);
                s.dense_done = true;
                ui::AccuracyResult acc;
                acc.gen = job.gen;
                acc.kept_mass = -1;
                acc.rel_error = relative_error(s.sparse_out, r.out);
                s.dense_cache = std::make_shared<DenseRun>(DenseRun{key, r.gpu_ms, std::move(r.out)});
                publish([&](Inbox& in) {
                    // Replaces the sparse-only sample of this generation.
                    in.timings.push_back(s.timing);
                    in.accuracy.push_back(acc);
                });
                continue;
            }
            if (!s.sparse_refined) {
                // The median of repeated runs (after a warm-up) replaces the first single run.
                // (Marked done only after the runs: idle() must not report idle during them.)
                const int repeats = repeats_for(double(s.blocks->kept_pairs), p.d);
                if (repeats > 1) {
                    set_activity("timing the sparse kernel again");
                    RunOptions ro;
                    ro.repeats = repeats;
                    ro.warmup = 1;
                    const RunResult r = s.run_sparse(ro);
                    if (stale()) continue;
                    s.timing.sparse_ms = r.gpu_ms;
                    s.timing.sparse_gflops = gflops(double(s.blocks->kept_pairs), p.d, r.gpu_ms);
                    publish([&](Inbox& in) { in.timings.push_back(s.timing); });
                }
                s.sparse_refined = true;
                continue;
            }
        } catch (const std::exception& e) {
            // A failed run (device lost, out of memory, a problem too large): report it and
            // stop working on this generation rather than retrying in a loop.
            const std::string msg = e.what();
            s.model_ok = false;
            publish([&](Inbox& in) { in.compute_error = msg; });
        }
    }
}

std::string sweep_status(int64_t n, const char* what) { return "n = " + std::to_string(n) + ": " + what; }

void Worker::start_sweep(const ui::Params& params, int64_t max_n) {
    cancel_sweep();
    {
        std::lock_guard lock(sweep_mutex_);
        sweep_ = {};
        sweep_.running = true;
        sweep_.status = "starting";
    }
    sweep_thread_ = std::jthread([this, params, max_n](std::stop_token st) { run_sweep(st, params, max_n); });
}

void Worker::cancel_sweep() {
    if (sweep_thread_.joinable()) {
        sweep_thread_.request_stop();
        sweep_thread_.join();
    }
}

ui::SweepState Worker::sweep() const {
    std::lock_guard lock(sweep_mutex_);
    return sweep_;
}

void Worker::run_sweep(std::stop_token stop, ui::Params params, int64_t max_n) {
    const auto set = [&](auto f) {
        {
            std::lock_guard lock(sweep_mutex_);
            f(sweep_);
        }
        if (wake_) wake_();
    };
    lower_thread_priority();
    try {
        ContextOptions co;
        co.device_index = params.device;
        ContextResult cr = VulkanContext::create(co);
        if (!cr.context) throw std::runtime_error("no Vulkan device: " + cr.error);
        AttentionEngine engine(*cr.context);
        std::vector<int64_t> sizes;
        for (int64_t n = 256; n <= max_n; n *= 2) sizes.push_back(n);
        for (size_t idx = 0; idx < sizes.size() && !stop.stop_requested(); ++idx) {
            const int64_t n = sizes[idx];
            set([&](ui::SweepState& s) { s.status = sweep_status(n, "building the mask"); });
            ui::Params p = params;
            try {
                p.pattern = with_n(p.pattern, n);
            } catch (const InputError& e) {
                set([&](ui::SweepState& s) { s.status = sweep_status(n, "skipped: ") + e.what(); });
                continue;
            }
            const int heads = ui::layer_heads(p);
            if (std::string why = engine.check_fits({heads, n, p.d}); !why.empty()) {
                set([&](ui::SweepState& s) { s.status = "stopped at n = " + std::to_string(n) + ": " + why; });
                break;
            }
            Qkv qkv = make_qkv(p, heads);
            std::vector<HeadMask> hm;
            for (int h = 0; h < heads; ++h) hm.emplace_back(ui::head_pattern(p, h), n, head_qk(qkv, h, n, p.d));
            const BlockMask bm = compile_block_mask(hm, 64);
            if (stop.stop_requested()) break;
            engine.upload(qkv.q, qkv.k, qkv.v, {heads, n, p.d});
            set([&](ui::SweepState& s) { s.status = sweep_status(n, "sparse kernel"); });
            RunOptions ro;
            ro.repeats = repeats_for(double(bm.kept_pairs), p.d);
            ro.warmup = 1;
            const std::optional<Band> band = band_of(hm);
            const double sparse_ms = (band ? engine.run_band(band->left, band->right, ro) : engine.run(bm, ro)).gpu_ms;
            if (stop.stop_requested()) break;
            set([&](ui::SweepState& s) { s.status = sweep_status(n, "dense kernel"); });
            const bool causal = ui::head_pattern(p, 0).causal;
            const double pairs = double(heads) * double(n) * double(n);
            ro.repeats = repeats_for(pairs, p.d);
            ro.warmup = ro.repeats > 1 ? 1 : 0;
            const double dense_ms = engine.run_dense(causal, ro).gpu_ms;
            ui::SweepPoint pt{n, sparse_ms, dense_ms, bm.density(), double(bm.kept_pairs) / double(heads * n)};
            set([&](ui::SweepState& s) {
                s.points.push_back(pt);
                s.progress = double(idx + 1) / double(sizes.size());
            });
        }
        set([&](ui::SweepState& s) {
            s.running = false;
            if (stop.stop_requested()) s.status = "cancelled";
            else if (s.status.rfind("stopped", 0) != 0) s.status = "done";
        });
    } catch (const std::exception& e) {
        set([&](ui::SweepState& s) {
            s.running = false;
            s.status = std::string("failed: ") + e.what();
        });
    }
}

}  // namespace salab::gui
