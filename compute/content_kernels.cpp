#include "content_kernels.h"
#include "threads.h"

#include "content_shared.h"
#include "gpu_buffer.h"
#include "gpu_timer.h"
#include "pipeline.h"
#include "synthetic.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>

namespace salab {

namespace {

// Largest scratch (score rows, W matrices) one submission uses; bigger problems go in batches.
constexpr uint64_t kScratchBytes = uint64_t(64) << 20;
// Most workgroups in one grid dimension (the guaranteed minimum of maxComputeWorkGroupCount).
constexpr uint32_t kMaxGroups = 65535;

// Rows of [n, d] copied into [n, 4 * d4] with zero padding, so the shaders load whole vec4s.
std::vector<float> pad_rows(std::span<const float> x, int64_t n, int64_t d, uint32_t d4) {
    const size_t w = size_t(d4) * 4;
    std::vector<float> out(size_t(n) * w, 0.0f);
    for (int64_t i = 0; i < n; ++i)
        std::copy_n(x.begin() + std::ptrdiff_t(i * d), d, out.begin() + std::ptrdiff_t(size_t(i) * w));
    return out;
}

// gamma_m = m u / (1 - m u): the bound on the relative error of an m-term float dot product in
// any summation order, with or without fused multiply-add (Higham, Accuracy and Stability, 3.1).
double gamma(double m, double u) { return m * u / (1.0 - m * u); }
constexpr double kUnitF = 0x1.0p-24;
constexpr double kUnitD = 0x1.0p-53;
// Absolute slack for denormals flushed to zero by some devices (lavapipe among them).
constexpr double kTiny = 1e-30;

double norm2(const float* x, int64_t d) {
    double s = 0.0;
    for (int64_t a = 0; a < d; ++a) s += double(x[a]) * double(x[a]);
    return std::sqrt(s);
}

void check_qk(std::span<const float> q, std::span<const float> k, int64_t n, int64_t d, const char* what) {
    const std::string w(what);
    if (n < 1 || n > max_tokens)
        throw InputError(w + ": n must be in [1, " + std::to_string(max_tokens) + "], got " + std::to_string(n));
    if (d < 1 || d > 256) throw InputError(w + ": d must be in [1, 256], got " + std::to_string(d));
    const size_t need = size_t(n) * size_t(d);
    if (q.size() != need || k.size() != need)
        throw InputError(w + ": Q and K must each hold n * d = " + std::to_string(need) + " floats, got " +
                         std::to_string(q.size()) + " and " + std::to_string(k.size()));
}

// Runs f(i) for i in [0, count) on up to available_cpus() threads when there is enough work.
template <class F>
void parallel_for(int64_t count, double work_each, F f) {
    const unsigned hw = unsigned(available_cpus());
    const int64_t threads = std::min<int64_t>(hw, std::max<int64_t>(1, int64_t(double(count) * work_each / 4e6)));
    if (threads <= 1) {
        for (int64_t i = 0; i < count; ++i) f(i);
        return;
    }
    std::vector<std::thread> pool;
    for (int64_t t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            for (int64_t i = count * t / threads; i < count * (t + 1) / threads; ++i) f(i);
        });
    for (auto& th : pool) th.join();
}

// The oracle's bucket of one token (mask.h: projections summed over a in order, in double).
int32_t hash_in_double(const float* x, int64_t d, const std::vector<double>& w, int64_t half) {
    int64_t best = 0;
    double best_v = -std::numeric_limits<double>::infinity();
    std::vector<double> proj(size_t(half), 0.0);
    for (int64_t a = 0; a < d; ++a) {
        const double xa = double(x[a]);
        for (int64_t c = 0; c < half; ++c) proj[size_t(c)] += xa * w[size_t(a * half + c)];
    }
    for (int64_t c = 0; c < 2 * half; ++c) {
        const double v = c < half ? proj[size_t(c)] : -proj[size_t(c - half)];
        if (v > best_v) best_v = v, best = c;
    }
    return int32_t(best);
}

// The oracle's top-k row (mask.h: double scores in order, NaN as -inf, best by larger score
// then smaller j), ascending, into out.
void topk_row_in_double(std::span<const float> q, std::span<const float> k, int64_t d, int64_t i, int64_t lim,
                        int64_t kk, int32_t* out) {
    std::vector<double> score(static_cast<size_t>(lim));
    std::vector<int32_t> idx(static_cast<size_t>(lim));
    const float* qi = &q[size_t(i * d)];
    for (int64_t j = 0; j < lim; ++j) {
        const float* kj = &k[size_t(j * d)];
        double s = 0.0;
        for (int64_t a = 0; a < d; ++a) s += double(qi[a]) * double(kj[a]);
        score[size_t(j)] = std::isnan(s) ? -std::numeric_limits<double>::infinity() : s;
        idx[size_t(j)] = int32_t(j);
    }
    auto better = [&](int32_t a, int32_t b) {
        return score[size_t(a)] > score[size_t(b)] || (score[size_t(a)] == score[size_t(b)] && a < b);
    };
    if (kk < lim) std::nth_element(idx.begin(), idx.begin() + std::ptrdiff_t(kk - 1), idx.end(), better);
    std::sort(idx.begin(), idx.begin() + std::ptrdiff_t(kk));
    std::copy_n(idx.begin(), kk, out);
}

void compute_barrier(VkCommandBuffer cb, VkPipelineStageFlags dst_stage, VkAccessFlags dst_access) {
    VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    b.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    b.dstAccessMask = dst_access;
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, dst_stage, 0, 1, &b,
                         0, nullptr, 0, nullptr);
}

}  // namespace

struct ContentKernels::Impl {
    VulkanContext& ctx;
    PipelineCache pipelines;
    GpuTimer timer;

    explicit Impl(VulkanContext& c) : ctx(c), pipelines(c, gpu::kContentBindings, sizeof(gpu::ContentPush)), timer(c) {}

    uint64_t max_buffer() const {
        const uint64_t range = ctx.info().max_storage_buffer_range;
        return range ? range : (uint64_t(1) << 27);
    }
    void check_buffer(uint64_t bytes, const std::string& what) const {
        if (bytes > max_buffer())
            throw InputError(what + " needs a buffer of " + std::to_string(bytes >> 20) + " MiB, more than " +
                             ctx.info().name + "'s storage buffer range (" + std::to_string(max_buffer() >> 20) +
                             " MiB): use a smaller n");
    }
};

ContentKernels::ContentKernels(VulkanContext& ctx) : impl_(std::make_unique<Impl>(ctx)) {}
ContentKernels::~ContentKernels() = default;

ContentKernels::TopkResult ContentKernels::topk(std::span<const float> q, std::span<const float> k, int64_t n,
                                                int64_t d, int64_t kk, bool causal, bool refine) {
    check_qk(q, k, n, d, "topk");
    if (kk < 1) throw InputError("topk: k must be >= 1, got " + std::to_string(kk));
    Impl& im = *impl_;
    const uint32_t d4 = d4_for(d);
    const int64_t slots = std::min(kk, n);
    im.check_buffer(uint64_t(n) * uint64_t(slots) * 4, "topk with k = " + std::to_string(kk) + " (key lists)");
    im.check_buffer(uint64_t(n) * d4 * 16, "topk (padded Q/K)");
    const uint64_t row_bytes = uint64_t(n) * 4;
    const uint64_t scratch_cap = std::min(kScratchBytes, im.max_buffer());
    if (row_bytes > scratch_cap)
        throw InputError("topk: one score row of n = " + std::to_string(n) + " exceeds " +
                         std::to_string(scratch_cap >> 20) + " MiB: use a smaller n");
    const int64_t batch = std::min<int64_t>({n, int64_t(kMaxGroups), int64_t(scratch_cap / row_bytes)});

    const auto qp = pad_rows(q, n, d, d4), kp = pad_rows(k, n, d, d4);
    GpuBuffer qb(im.ctx, qp.size() * 4), kb(im.ctx, kp.size() * 4);
    qb.write(im.ctx, qp.data(), qp.size() * 4);
    kb.write(im.ctx, kp.data(), kp.size() * 4);
    GpuBuffer scores(im.ctx, uint64_t(batch) * row_bytes);
    GpuBuffer keys(im.ctx, uint64_t(n) * uint64_t(slots) * 4);
    GpuBuffer bounds(im.ctx, uint64_t(n) * 8);

    const Pipeline& score_pipe = im.pipelines.get("topk_scores", {d4});
    const Pipeline& select_pipe = im.pipelines.get("topk_select", {d4});
    const std::array<VkBuffer, gpu::kContentBindings> bufs{qb.handle(), kb.handle(), scores.handle(), keys.handle(),
                                                           bounds.handle()};
    VkDescriptorSet set = im.pipelines.bind_buffers(bufs);
    gpu::ContentPush pc{};
    pc.n = uint32_t(n);
    pc.k = uint32_t(slots);
    pc.causal = causal ? 1u : 0u;

    TopkResult res;
    res.n = n;
    res.slots = slots;
    const int64_t batches = (n + batch - 1) / batch;
    // Timer sections: 0 the whole pass, then per batch its scores and its select.
    im.ctx.submit_and_wait([&](VkCommandBuffer cb) {
        im.timer.start(cb, uint32_t(2 * batches + 1));
        vkCmdFillBuffer(cb, keys.handle(), 0, VK_WHOLE_SIZE, 0xFFFFFFFFu);  // -1 past each count
        compute_barrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT);
        const uint32_t total = im.timer.begin(cb);
        vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, im.pipelines.layout(), 0, 1, &set, 0, nullptr);
        for (int64_t row0 = 0; row0 < n; row0 += batch) {
            const int64_t rows = std::min(batch, n - row0);
            pc.row0 = uint32_t(row0);
            pc.rows = uint32_t(rows);
            // Causal rows see keys < row0 + rows only: later key chunks have nothing to score.
            const int64_t key_span = causal ? row0 + rows : n;
            if (row0 > 0)  // the previous batch's select reads the score rows this one rewrites
                compute_barrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT);
            {
                const GpuTimer::Scope score_section(im.timer, cb);
                vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, score_pipe.pipeline);
                vkCmdPushConstants(cb, im.pipelines.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(pc), &pc);
                vkCmdDispatch(cb, uint32_t((rows + gpu::kContentRows - 1) / gpu::kContentRows),
                              uint32_t((key_span + gpu::kScoreKeyChunk - 1) / gpu::kScoreKeyChunk), 1);
            }
            compute_barrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT);
            {
                const GpuTimer::Scope select_section(im.timer, cb);
                vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, select_pipe.pipeline);
                vkCmdPushConstants(cb, im.pipelines.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(pc), &pc);
                vkCmdDispatch(cb, uint32_t(rows), 1, 1);
            }
        }
        im.timer.end(cb, total);
        compute_barrier(cb, VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                        VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT);
    });

    if (const std::vector<double> ms = im.timer.read_ms(); !ms.empty()) {
        res.gpu_ms = ms[0];
        for (int64_t b = 0; b < batches; ++b) {
            res.score_ms += ms[size_t(2 * b + 1)];
            res.select_ms += ms[size_t(2 * b + 2)];
        }
    }
    res.keys.resize(size_t(n) * size_t(slots));
    keys.read(im.ctx, res.keys.data(), res.keys.size() * 4);
    std::vector<float> bound(size_t(n) * 2);
    bounds.read(im.ctx, bound.data(), bound.size() * 4);
    res.counts.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) res.counts[size_t(i)] = int32_t(std::min(kk, causal ? i + 1 : n));
    if (!refine) return res;

    // Rows whose k-th best float score is within twice the error bound of the best one left
    // out may select differently in double: redo those exactly as the oracle does.
    double kmax = 0.0;
    for (int64_t j = 0; j < n; ++j) kmax = std::max(kmax, norm2(&k[size_t(j * d)], d));
    const double rel = gamma(4.0 * d4 + 1, kUnitF) + gamma(double(d) + 1, kUnitD);
    std::vector<int64_t> redo;
    for (int64_t i = 0; i < n; ++i) {
        const int64_t lim = causal ? i + 1 : n;
        if (lim <= kk) continue;
        const double gap = double(bound[size_t(2 * i)]) - double(bound[size_t(2 * i + 1)]);
        const double err = 1.01 * rel * norm2(&q[size_t(i * d)], d) * kmax + kTiny;
        if (!(gap > 2.0 * err)) redo.push_back(i);  // also NaN gaps (infinite inputs)
    }
    parallel_for(int64_t(redo.size()), double(n) * double(d), [&](int64_t r) {
        const int64_t i = redo[size_t(r)];
        topk_row_in_double(q, k, d, i, causal ? i + 1 : n, slots, &res.keys[size_t(i) * size_t(slots)]);
    });
    res.refined = int64_t(redo.size());
    return res;
}

ContentKernels::LshResult ContentKernels::lsh(std::span<const float> q, std::span<const float> k, int64_t n, int64_t d,
                                              const Component& c, bool refine) {
    check_qk(q, k, n, d, "lsh");
    if (c.type != ComponentType::lsh) throw InputError("lsh: the component is a " + std::string(to_string(c.type)));
    if (c.buckets < 2 || c.buckets % 2 != 0 || c.buckets > 65536 || c.rounds < 1 || c.rounds > 64)
        throw InputError("lsh: buckets must be even in [2, 65536] and rounds in [1, 64]");
    Impl& im = *impl_;
    const uint32_t d4 = d4_for(d);
    const int64_t half = c.buckets / 2, R = c.rounds;
    im.check_buffer(uint64_t(R) * 2 * uint64_t(n) * 4, "lsh (buckets)");
    im.check_buffer(uint64_t(n) * d4 * 16, "lsh (padded Q/K)");
    const uint64_t round_bytes = uint64_t(half) * d4 * 16;
    const int64_t group =
        std::max<int64_t>(1, std::min<int64_t>(R, int64_t(std::min(kScratchBytes, im.max_buffer()) / round_bytes)));
    im.check_buffer(round_bytes, "lsh (projections)");

    std::vector<std::vector<double>> w(static_cast<size_t>(R));
    for (int64_t r = 0; r < R; ++r) w[size_t(r)] = lsh_projection(c, d, r);

    const auto qp = pad_rows(q, n, d, d4), kp = pad_rows(k, n, d, d4);
    GpuBuffer qb(im.ctx, qp.size() * 4), kb(im.ctx, kp.size() * 4);
    qb.write(im.ctx, qp.data(), qp.size() * 4);
    kb.write(im.ctx, kp.data(), kp.size() * 4);
    GpuBuffer wb(im.ctx, uint64_t(group) * round_bytes);
    GpuBuffer buckets(im.ctx, uint64_t(R) * 2 * uint64_t(n) * 4);
    GpuBuffer margins(im.ctx, uint64_t(R) * 2 * uint64_t(n) * 4);
    const Pipeline& pipe = im.pipelines.get("lsh_hash", {d4});

    LshResult res;
    res.n = n;
    res.rounds = R;
    res.buckets = c.buckets;
    std::vector<float> wt(size_t(group) * size_t(half) * d4 * 4);
    for (int64_t r0 = 0; r0 < R; r0 += group) {
        const int64_t rounds = std::min(group, R - r0);
        // W_r transposed to [round][col][a] (padded), in float.
        std::fill(wt.begin(), wt.end(), 0.0f);
        for (int64_t r = 0; r < rounds; ++r)
            for (int64_t col = 0; col < half; ++col)
                for (int64_t a = 0; a < d; ++a)
                    wt[size_t((r * half + col) * d4 * 4 + a)] = float(w[size_t(r0 + r)][size_t(a * half + col)]);
        wb.write(im.ctx, wt.data(), uint64_t(rounds) * round_bytes);
        const std::array<VkBuffer, gpu::kContentBindings> bufs{qb.handle(), kb.handle(), wb.handle(), buckets.handle(),
                                                               margins.handle()};
        VkDescriptorSet set = im.pipelines.bind_buffers(bufs);
        gpu::ContentPush pc{};
        pc.n = uint32_t(n);
        pc.half_b = uint32_t(half);
        pc.round0 = uint32_t(r0);
        im.ctx.submit_and_wait([&](VkCommandBuffer cb) {
            im.timer.start(cb, 1);
            const uint32_t pass = im.timer.begin(cb);
            vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipe.pipeline);
            vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, im.pipelines.layout(), 0, 1, &set, 0, nullptr);
            const int64_t per_dispatch = int64_t(kMaxGroups) * gpu::kContentRows;
            for (int64_t t0 = 0; t0 < n; t0 += per_dispatch) {
                pc.token0 = uint32_t(t0);
                vkCmdPushConstants(cb, im.pipelines.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(pc), &pc);
                const int64_t tokens = std::min(per_dispatch, n - t0);
                vkCmdDispatch(cb, uint32_t((tokens + gpu::kContentRows - 1) / gpu::kContentRows), 2, uint32_t(rounds));
            }
            im.timer.end(cb, pass);
            compute_barrier(cb, VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                            VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT);
        });
        if (const std::vector<double> ms = im.timer.read_ms(); !ms.empty()) res.gpu_ms += ms[0];
    }

    std::vector<int32_t> all(size_t(R) * 2 * size_t(n));
    std::vector<float> margin(all.size());
    buckets.read(im.ctx, all.data(), all.size() * 4);
    margins.read(im.ctx, margin.data(), margin.size() * 4);
    res.q_buckets.resize(size_t(R * n));
    res.k_buckets.resize(size_t(R * n));
    for (int64_t r = 0; r < R; ++r) {
        std::copy_n(all.begin() + std::ptrdiff_t(size_t(2 * r) * size_t(n)), n,
                    res.q_buckets.begin() + std::ptrdiff_t(r * n));
        std::copy_n(all.begin() + std::ptrdiff_t(size_t(2 * r + 1) * size_t(n)), n,
                    res.k_buckets.begin() + std::ptrdiff_t(r * n));
    }
    if (!refine) return res;

    // Tokens whose best projection is within twice the error bound of the runner-up may hash
    // differently in double: rehash those exactly as the oracle does. The float error of a
    // projection includes rounding W to float (one more unit).
    const double rel = gamma(4.0 * d4 + 2, kUnitF) + gamma(double(d) + 1, kUnitD);
    for (int64_t r = 0; r < R; ++r) {
        const auto& wr = w[size_t(r)];
        double wmax = 0.0;
        for (int64_t col = 0; col < half; ++col) {
            double s = 0.0;
            for (int64_t a = 0; a < d; ++a) s += wr[size_t(a * half + col)] * wr[size_t(a * half + col)];
            wmax = std::max(wmax, std::sqrt(s));
        }
        for (int side = 0; side < 2; ++side) {
            std::span<const float> x = side == 0 ? q : k;
            std::vector<int32_t>& out = side == 0 ? res.q_buckets : res.k_buckets;
            const float* m = &margin[size_t(2 * r + side) * size_t(n)];
            for (int64_t t = 0; t < n; ++t) {
                const float* xt = &x[size_t(t * d)];
                const double err = 1.01 * rel * norm2(xt, d) * wmax + kTiny;
                if (double(m[t]) > 2.0 * err) continue;  // NaN margins and flags (-1) fall through
                out[size_t(r * n + t)] = hash_in_double(xt, d, wr, half);
                ++res.refined;
            }
        }
    }
    return res;
}

Csr topk_csr(const ContentKernels::TopkResult& r) {
    Csr csr;
    csr.n = r.n;
    csr.row_ptr.assign(size_t(r.n) + 1, 0);
    for (int64_t i = 0; i < r.n; ++i) {
        const auto* row = &r.keys[size_t(i) * size_t(r.slots)];
        csr.cols.insert(csr.cols.end(), row, row + r.counts[size_t(i)]);
        csr.row_ptr[size_t(i) + 1] = int64_t(csr.cols.size());
    }
    return csr;
}

Csr lsh_csr(const ContentKernels::LshResult& r, bool causal) {
    const int64_t n = r.n, B = r.buckets;
    // Keys of each (round, bucket), ascending (stable counting sort, as mask.cpp).
    std::vector<int64_t> ptr(size_t(r.rounds * (B + 1)), 0);
    std::vector<int32_t> list(size_t(r.rounds * n));
    for (int64_t rd = 0; rd < r.rounds; ++rd) {
        int64_t* p = &ptr[size_t(rd * (B + 1))];
        const int32_t* kb = &r.k_buckets[size_t(rd * n)];
        for (int64_t j = 0; j < n; ++j) ++p[kb[j] + 1];
        for (int64_t b = 0; b < B; ++b) p[b + 1] += p[b];
        std::vector<int64_t> fill(p, p + B);
        for (int64_t j = 0; j < n; ++j) list[size_t(rd * n + fill[size_t(kb[j])]++)] = int32_t(j);
    }
    Csr csr;
    csr.n = n;
    csr.row_ptr.assign(size_t(n) + 1, 0);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t lim = causal ? i + 1 : n;
        const size_t base = csr.cols.size();
        for (int64_t rd = 0; rd < r.rounds; ++rd) {
            const int64_t* p = &ptr[size_t(rd * (B + 1) + r.q_buckets[size_t(rd * n + i)])];
            for (int64_t t = p[0]; t < p[1] && list[size_t(rd * n + t)] < lim; ++t)
                csr.cols.push_back(list[size_t(rd * n + t)]);
        }
        if (r.rounds > 1) {
            std::sort(csr.cols.begin() + std::ptrdiff_t(base), csr.cols.end());
            csr.cols.erase(std::unique(csr.cols.begin() + std::ptrdiff_t(base), csr.cols.end()), csr.cols.end());
        }
        csr.row_ptr[size_t(i) + 1] = int64_t(csr.cols.size());
    }
    return csr;
}

Csr unite_csr(const Csr& a, const Csr& b) {
    if (a.n != b.n) throw std::invalid_argument("unite_csr: CSRs of different n");
    Csr out;
    out.n = a.n;
    out.row_ptr.assign(size_t(a.n) + 1, 0);
    out.cols.reserve(a.cols.size() + b.cols.size());
    for (int64_t i = 0; i < a.n; ++i) {
        std::set_union(a.cols.begin() + a.row_ptr[size_t(i)], a.cols.begin() + a.row_ptr[size_t(i) + 1],
                       b.cols.begin() + b.row_ptr[size_t(i)], b.cols.begin() + b.row_ptr[size_t(i) + 1],
                       std::back_inserter(out.cols));
        out.row_ptr[size_t(i) + 1] = int64_t(out.cols.size());
    }
    return out;
}

Csr build_head_csr(ContentKernels& kernels, const HeadPattern& head, int64_t n, const HeadQK& qk, ContentStats* stats) {
    HeadPattern structural{head.causal, {}};
    for (const Component& c : head.components)
        if (!needs_qk(c)) structural.components.push_back(c);
    Csr csr = build_csr(HeadMask(structural, n));  // validates n and the structural parts
    ContentStats st;
    for (const Component& c : head.components) {
        if (!needs_qk(c)) continue;
        if (c.type == ComponentType::lsh) {
            auto r = kernels.lsh(qk.q, qk.k, n, qk.d, c);
            st.gpu_ms += r.gpu_ms;
            st.refined += r.refined;
            csr = unite_csr(csr, lsh_csr(r, head.causal));
        } else {
            auto r = kernels.topk(qk.q, qk.k, n, qk.d, c.k, head.causal);
            st.gpu_ms += r.gpu_ms;
            st.refined += r.refined;
            csr = unite_csr(csr, topk_csr(r));
        }
    }
    if (stats) *stats = st;
    return csr;
}

}  // namespace salab
