// Synthetic Q/K/V: i.i.d. Gaussian for timing and checks, "structured" for pictures that look
// like the attention of a trained model.
#include "synthetic.h"

#include "file_io.h"
#include "pattern.h"
#include "size_limits.h"
#include "threads.h"

#include <algorithm>
#include <thread>

namespace salab {

namespace {

// Fills out[e] = f(e) for e in [0, count), on several threads when count is large.
template <class F> void fill_parallel(float* out, int64_t count, F f) {
    const unsigned hw = unsigned(available_cpus());
    const int64_t threads = std::min<int64_t>(hw, std::max<int64_t>(1, count / (1 << 18)));
    auto work = [&](int64_t b, int64_t e) {
        for (int64_t x = b; x < e; ++x)
            out[x] = f(x);
    };
    if (threads <= 1)
        return work(0, count);
    std::vector<std::thread> pool;
    for (int64_t t = 0; t < threads; ++t)
        pool.emplace_back(work, count * t / threads, count * (t + 1) / threads);
    for (auto& th : pool)
        th.join();
}

constexpr int num_topics = 8;

// Topic of every token: segments of 16..127 tokens, each with a topic drawn from the stream.
std::vector<int> topics(int64_t n, uint64_t seed) {
    std::vector<int> t(static_cast<size_t>(n));
    SplitMix64 rng{mix64(seed ^ 0x746f706963ull)};  // "topic"
    for (int64_t i = 0; i < n;) {
        const int64_t len = 16 + int64_t(rng.below(112));
        const int topic = int(rng.below(num_topics));
        for (int64_t e = i + len; i < std::min(n, e); ++i)
            t[size_t(i)] = topic;
    }
    return t;
}

// A unit vector of the stream (key, index).
std::vector<double> unit_vector(uint64_t key, uint64_t index, int64_t d) {
    std::vector<double> v(static_cast<size_t>(d));
    double norm = 0;
    for (int64_t a = 0; a < d; ++a) {
        v[size_t(a)] = gaussian_at(key, index * uint64_t(d) + uint64_t(a));
        norm += v[size_t(a)] * v[size_t(a)];
    }
    norm = std::sqrt(std::max(norm, 1e-30));
    for (auto& x : v)
        x /= norm;
    return v;
}

void structured_head(int h, int64_t n, int64_t d, uint64_t seed, float* q, float* k) {
    const uint64_t key = mix64(seed ^ mix64(0x68656164ull + uint64_t(h)));  // "head"
    // Logit weights of the three parts; they vary over heads so heads look different.
    static constexpr double local_w[4] = {4.0, 1.5, 5.0, 2.5};
    static constexpr double topic_w[4] = {1.5, 4.0, 0.5, 3.0};
    static constexpr double sink_w[4] = {5.0, 3.5, 2.0, 6.0};
    const double wl = local_w[h % 4], wt = topic_w[h % 4], ws = sink_w[h % 4];
    const double noise = 0.35;

    // q.k / sqrt(d) = (Q.K) when q = d^(1/4) Q and k = d^(1/4) K.
    const double scale = std::pow(double(d), 0.25);
    const int64_t pairs = std::max<int64_t>(1, d / 2);
    const std::vector<double> sink_dir = unit_vector(key, 0, d);
    std::vector<std::vector<double>> topic_dir;
    for (int t = 0; t < num_topics; ++t)
        topic_dir.push_back(unit_vector(key, uint64_t(t) + 1, d));
    const std::vector<int> topic = topics(n, key);
    const uint64_t noise_q = mix64(key + 1), noise_k = mix64(key + 2);

    for (int64_t i = 0; i < n; ++i) {
        float* qi = q + i * d;
        float* ki = k + i * d;
        for (int64_t a = 0; a < d; ++a) {
            // Local: sinusoid pairs (cos, sin) at wavelengths 6 * 64^(f / (pairs - 1)), so
            // Q_i.K_j = wl * mean_f cos(w_f (i - j)).
            const int64_t f = a / 2;
            double local = 0;
            if (f < pairs) {
                const double frac = pairs > 1 ? double(f) / double(pairs - 1) : 0.0;
                const double omega = 6.283185307179586 / (6.0 * std::pow(64.0, frac));
                const double amp = std::sqrt(wl / double(pairs));
                local =
                    amp * (a % 2 == 0 ? std::cos(omega * double(i)) : std::sin(omega * double(i)));
            }
            const double tdir = topic_dir[size_t(topic[size_t(i)])][size_t(a)] * std::sqrt(wt);
            // Sinks: queries carry 1 along sink_dir, keys 0..3 carry ws, ws/2, ws/3, ws/4.
            const double sq = sink_dir[size_t(a)];
            const double sk = i < 4 ? sink_dir[size_t(a)] * ws / double(i + 1) : 0.0;
            const double eq =
                noise * gaussian_at(noise_q, uint64_t(i * d + a)) / std::sqrt(double(d));
            const double ek =
                noise * gaussian_at(noise_k, uint64_t(i * d + a)) / std::sqrt(double(d));
            qi[a] = float(scale * (local + tdir + sq + eq));
            ki[a] = float(scale * (local + tdir + sk + ek));
        }
    }
}

}  // namespace

std::vector<float> gaussian_tensor(int64_t count, uint64_t seed) {
    std::vector<float> out(static_cast<size_t>(std::max<int64_t>(count, 0)));
    const uint64_t key = stream_key(seed);
    fill_parallel(out.data(), int64_t(out.size()),
                  [key](int64_t e) { return float(gaussian_at(key, uint64_t(e))); });
    return out;
}

QKV make_qkv(int heads, int64_t n, int64_t d, uint64_t seed, QkvSource src) {
    if (src == QkvSource::npy) throw InputError("Q/K/V from .npy files are read, not generated: give the files");
    int64_t count = 0;
    if (heads < 0 || !checked_mul(int64_t(heads), n, count) || !checked_mul(count, d, count))
        throw InputError("Q/K/V of heads = " + std::to_string(heads) + ", n = " + std::to_string(n) + ", d = " +
                         std::to_string(d) + " have more elements than fit in 64 bits");
    check_host_memory(12.0 * double(count), "Q/K/V of heads = " + std::to_string(heads) + ", n = " +
                      std::to_string(n) + ", d = " + std::to_string(d), "use fewer heads or a smaller n or d");
    QKV qkv;
    qkv.v = gaussian_tensor(count, seed + 2);
    if (src == QkvSource::gaussian) {
        qkv.q = gaussian_tensor(count, seed);
        qkv.k = gaussian_tensor(count, seed + 1);
        return qkv;
    }
    qkv.q.resize(size_t(count));
    qkv.k.resize(size_t(count));
    std::vector<std::thread> pool;
    const int threads = int(std::min<unsigned>(unsigned(available_cpus()),
                                               unsigned(std::max(heads, 1))));
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            for (int h = t; h < heads; h += threads)
                structured_head(h, n, d, seed, qkv.q.data() + int64_t(h) * n * d,
                                qkv.k.data() + int64_t(h) * n * d);
        });
    for (auto& th : pool)
        th.join();
    return qkv;
}

HeadQK head_qk(const QKV& qkv, int h, int64_t n, int64_t d) {
    const size_t per = size_t(n * d), off = size_t(h) * per;
    return HeadQK{std::span<const float>(qkv.q).subspan(off, per),
                  std::span<const float>(qkv.k).subspan(off, per), d};
}

}  // namespace salab
