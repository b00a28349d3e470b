// Synthetic Q/K/V: i.i.d. Gaussian for timing and checks, "structured" for attention whose
// statistics (sink mass, locality, entropy) are those of trained heads
// (docs/synthetic-attention.md).
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

// The calibration constants of the head types (docs/synthetic-attention.md gives the sources):
// p the power-law exponent of the locality decay, the causal sink mass S is solved for, and the
// topic (content) logit T.
struct TypeParams {
    double p, sink_mass, topic;
};
TypeParams type_params(HeadType t) {
    switch (t) {
    case HeadType::local: return {1.8, 0.12, 1.0};
    case HeadType::sink: return {1.1, 0.58, 1.0};
    case HeadType::broad: return {0.15, 0.05, 2.0};
    }
    return {1.1, 0.6, 1.0};
}

// The first token is the strongest sink; the next three share the rest (sum 1).
constexpr double kSinkShare[4] = {0.70, 0.15, 0.10, 0.05};

void structured_head(int h, int64_t n, int64_t d, uint64_t seed, HeadType type, float* q, float* k) {
    const uint64_t key = mix64(seed ^ mix64(0x68656164ull + uint64_t(h)));  // "head"
    // Per-head jitter of +-15% around the type's constants, so heads of one type differ.
    auto jitter = [&](uint64_t salt) { return 1.0 + 0.3 * (unit_open(mix64(key ^ salt)) - 0.5); };
    const TypeParams tp = type_params(type);
    const double p = tp.p * jitter(0x70), topic_w = tp.topic * jitter(0x74);
    const double target = std::clamp(tp.sink_mass * jitter(0x73), 0.01, 0.95);

    // Coordinates: 0 the sink, [1, 1 + t) the topic, [1 + t, d) local frequency pairs.
    const int64_t t = d >= 8 ? std::clamp<int64_t>(d / 4, 2, 16) : 0;
    const int64_t pairs = std::max<int64_t>(0, (d - 1 - t) / 2);
    const double log_range = std::log(2.0 * double(std::max<int64_t>(n, 1)));
    const double amp_total = pairs > 0 ? p * log_range : 0.0;  // A: local(0) - local(far)
    std::vector<double> omega(static_cast<size_t>(pairs));
    for (int64_t f = 0; f < pairs; ++f)
        omega[size_t(f)] = std::exp(-log_range * (pairs > 1 ? double(f) / double(pairs - 1) : 0.0));
    const double amp = pairs > 0 ? std::sqrt(amp_total / double(pairs)) : 0.0;

    std::vector<std::vector<double>> topic_dir;
    if (t > 0)
        for (int a = 0; a < num_topics; ++a) topic_dir.push_back(unit_vector(key, uint64_t(a) + 1, t));
    const std::vector<int> topic = topics(n, key);
    const double tamp = t > 0 ? std::sqrt(topic_w) : 0.0;
    double topic_dot[num_topics][num_topics] = {};
    for (int a = 0; a < num_topics && t > 0; ++a)
        for (int b = 0; b < num_topics; ++b) {
            double s = 0;
            for (int64_t e = 0; e < t; ++e) s += topic_dir[size_t(a)][size_t(e)] * topic_dir[size_t(b)][size_t(e)];
            topic_dot[a][b] = topic_w * s;
        }

    // The sink logit S: logit(target) plus the mean over causal queries i in [n/4, n) of
    // log sum_{4 <= j <= i} exp(local + topic) - log sum_{j < 4} share_j exp(local + topic),
    // so that the sink keys take ~target of each row's mass.
    double sink = 0;
    if (n > 4) {
        std::vector<double> local(static_cast<size_t>(n));
        for (int64_t delta = 0; delta < n; ++delta) {
            double c = 0;
            for (int64_t f = 0; f < pairs; ++f) c += std::cos(omega[size_t(f)] * double(delta));
            local[size_t(delta)] = pairs > 0 ? amp_total * c / double(pairs) : 0.0;
        }
        const int samples = int(std::min<int64_t>(16, n - 4));
        const int64_t lo = std::max<int64_t>(4, n / 4);
        double mean_lse = 0;
        for (int s = 0; s < samples; ++s) {
            const int64_t i = std::min(n - 1, lo + (n - lo) * s / samples);
            double mx = -1e300;
            for (int64_t j = 4; j <= i; ++j)
                mx = std::max(mx, local[size_t(i - j)] + topic_dot[topic[size_t(i)]][topic[size_t(j)]]);
            double z = 0;
            for (int64_t j = 4; j <= i; ++j)
                z += std::exp(local[size_t(i - j)] + topic_dot[topic[size_t(i)]][topic[size_t(j)]] - mx);
            // The sink keys carry their own local and topic logits on top of s_j.
            double own = 0;
            for (int64_t j = 0; j < 4; ++j)
                own += kSinkShare[j] * std::exp(local[size_t(i - j)] + topic_dot[topic[size_t(i)]][topic[size_t(j)]] - mx);
            mean_lse += (std::log(z) - std::log(own)) / samples;
        }
        sink = mean_lse + std::log(target / (1.0 - target));
    }

    // q.k / sqrt(d) = (Q.K) when q = d^(1/4) Q and k = d^(1/4) K. K's noise gives logit noise
    // of standard deviation 0.3 (|Q|^2 = 1 + A + T for every query).
    const double scale = std::pow(double(d), 0.25);
    const double noise = 0.3 / std::sqrt(1.0 + amp_total + (t > 0 ? topic_w : 0.0));
    const uint64_t noise_k = mix64(key + 2);
    for (int64_t i = 0; i < n; ++i) {
        float* qi = q + i * d;
        float* ki = k + i * d;
        for (int64_t a = 0; a < d; ++a) {
            double qa = 0, ka = 0;
            if (a == 0) {
                qa = 1.0;
                ka = i < 4 ? sink + std::log(kSinkShare[i]) : 0.0;
            } else if (a < 1 + t) {
                qa = ka = tamp * topic_dir[size_t(topic[size_t(i)])][size_t(a - 1)];
            } else if (const int64_t f = (a - 1 - t) / 2; f < pairs) {
                const double ph = omega[size_t(f)] * double(i);
                qa = ka = amp * ((a - 1 - t) % 2 == 0 ? std::cos(ph) : std::sin(ph));
            }
            ka += noise * gaussian_at(noise_k, uint64_t(i * d + a));
            qi[a] = float(scale * qa);
            ki[a] = float(scale * ka);
        }
    }
}

}  // namespace

const char* to_string(QkvSource s) {
    switch (s) {
    case QkvSource::gaussian: return "gaussian";
    case QkvSource::structured: return "structured";
    case QkvSource::npy: return "npy";
    case QkvSource::structured_local: return "local";
    case QkvSource::structured_sink: return "sink";
    case QkvSource::structured_broad: return "broad";
    }
    return "structured";
}

bool parse_qkv_source(const std::string& name, QkvSource& out) {
    static const std::pair<const char*, QkvSource> names[] = {
        {"gaussian", QkvSource::gaussian},       {"structured", QkvSource::structured}, {"synthetic", QkvSource::structured},
        {"mixed", QkvSource::structured},        {"local", QkvSource::structured_local}, {"sink", QkvSource::structured_sink},
        {"broad", QkvSource::structured_broad},  {"npy", QkvSource::npy}};
    for (const auto& [n, s] : names)
        if (name == n) return out = s, true;
    return false;
}

const char* to_string(HeadType t) {
    switch (t) {
    case HeadType::local: return "local";
    case HeadType::sink: return "sink-heavy";
    case HeadType::broad: return "broad";
    }
    return "local";
}

HeadType head_type(QkvSource src, int h) {
    switch (src) {
    case QkvSource::structured_local: return HeadType::local;
    case QkvSource::structured_sink: return HeadType::sink;
    case QkvSource::structured_broad: return HeadType::broad;
    default: break;
    }
    static constexpr HeadType mixed[4] = {HeadType::sink, HeadType::local, HeadType::sink, HeadType::broad};
    return mixed[((h % 4) + 4) % 4];
}

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
    if (!is_structured(src)) {
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
                structured_head(h, n, d, seed, head_type(src, h), qkv.q.data() + int64_t(h) * n * d,
                                qkv.k.data() + int64_t(h) * n * d);
        });
    for (auto& th : pool)
        th.join();
    return qkv;
}

QKV make_head_qk(int h, int64_t n, int64_t d, uint64_t seed, QkvSource src) {
    if (h < 0) throw InputError("head " + std::to_string(h) + " does not exist");
    if (src == QkvSource::npy) throw InputError("Q/K/V from .npy files are read, not generated: give the files");
    if (!is_structured(src)) {
        // Gaussian: the slice of head h of the [heads, n, d] streams.
        QKV one;
        const int64_t per = n * d;
        check_host_memory(8.0 * double(per), "Q/K of one head", "use a smaller n or d");
        one.q.resize(size_t(per));
        one.k.resize(size_t(per));
        const uint64_t kq = stream_key(seed), kk = stream_key(seed + 1);
        for (int64_t e = 0; e < per; ++e) {
            one.q[size_t(e)] = float(gaussian_at(kq, uint64_t(h * per + e)));
            one.k[size_t(e)] = float(gaussian_at(kk, uint64_t(h * per + e)));
        }
        return one;
    }
    int64_t count = 0;
    if (!checked_mul(n, d, count)) throw InputError("Q/K of n = " + std::to_string(n) + ", d = " + std::to_string(d) + " do not fit in 64 bits");
    check_host_memory(8.0 * double(count), "Q/K of one head", "use a smaller n or d");
    QKV one;
    one.q.resize(size_t(count));
    one.k.resize(size_t(count));
    structured_head(h, n, d, seed, head_type(src, h), one.q.data(), one.k.data());
    return one;
}

HeadQK head_qk(const QKV& qkv, int h, int64_t n, int64_t d) {
    const size_t per = size_t(n * d), off = size_t(h) * per;
    return HeadQK{std::span<const float>(qkv.q).subspan(off, per),
                  std::span<const float>(qkv.k).subspan(off, per), d};
}

}  // namespace salab
