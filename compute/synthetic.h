// Deterministic synthetic data: the one random generator of the engine (seeded mask draws,
// LSH projections, Q/K/V when the user gives none), written down exactly so that a shader or a
// Python script can reproduce it bit for bit.
//
//   mix64(x)          splitmix64's output function of the state x:
//                       z = x + 0x9E3779B97F4A7C15
//                       z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
//                       z = (z ^ (z >> 27)) * 0x94D049BB133111EB
//                       return z ^ (z >> 31)                      (all uint64, wrapping)
//   unit_open(h)      ((h >> 11) + 0.5) * 2^-53, a double in (0, 1)
//   gaussian_at(key, e)  standard normal number e of the stream `key` (Box-Muller, cosine branch,
//                     computed in double with std::log/std::cos/std::sqrt):
//                       u1 = unit_open(mix64(key + 2e)), u2 = unit_open(mix64(key + 2e + 1))
//                       return sqrt(-2 ln u1) * cos(2 pi u2)
//   stream_key(seed)  mix64(seed): the key of the stream that `seed` names.
//
// Counter-based on purpose: element e is computed on its own, so a GPU thread (or numpy over
// an index array) can produce any element without running through the ones before it.
//
// Synthetic Q/K/V (make_qkv) are what `salab-cli run` uses when no --q/--k/--v are given, what
// export uses for content components (lsh, topk), and what the GUI heatmap shows.
#pragma once

#include "mask.h"

#include <cmath>
#include <cstdint>
#include <vector>

namespace salab {

constexpr uint64_t mix64(uint64_t x) {
    uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

constexpr double unit_open(uint64_t h) {
    return (double(h >> 11) + 0.5) * 0x1.0p-53;
}

constexpr uint64_t stream_key(uint64_t seed) {
    return mix64(seed);
}

inline double gaussian_at(uint64_t key, uint64_t e) {
    const double u1 = unit_open(mix64(key + 2 * e));
    const double u2 = unit_open(mix64(key + 2 * e + 1));
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586476925 * u2);
}

// A sequential splitmix64 stream: next() returns mix64(state) and advances state by the golden
// gamma, i.e. the outputs are mix64(s), mix64(s + g), mix64(s + 2g), ...
struct SplitMix64 {
    uint64_t state = 0;
    uint64_t next() {
        const uint64_t r = mix64(state);
        state += 0x9E3779B97F4A7C15ull;
        return r;
    }
    // Uniform in [0, bound), bound >= 1, unbiased: draws x = next() until
    // x >= (2^64 - bound) mod bound, then returns x mod bound.
    uint64_t below(uint64_t bound) {
        const uint64_t threshold = (0 - bound) % bound;
        for (;;) {
            const uint64_t x = next();
            if (x >= threshold)
                return x % bound;
        }
    }
};

// count standard normal floats: element e = float(gaussian_at(stream_key(seed), e)).
std::vector<float> gaussian_tensor(int64_t count, uint64_t seed);

enum class QkvSource {
    gaussian,    // i.i.d. N(0, 1): q = gaussian_tensor(heads*n*d, seed), k: seed + 1, v: seed + 2
    structured,  // looks like trained attention (see make_qkv); v as for gaussian
    npy,         // the user's .npy files (LiveParams; make_qkv below throws InputError for it)
};

// Row-major [heads, n, d] each.
struct QKV {
    std::vector<float> q, k, v;
};

// Deterministic in (heads, n, d, seed, src).
//
// structured: per head h, Q and K are sums of parts chosen so that the logits q_i.k_j / sqrt(d)
// are, apart from noise, approximately
//   local(i - j)   a sum of cosines of (i - j) at wavelengths 6 .. 384 tokens (RoPE-like
//                  sinusoid pairs): a peak on the diagonal that decays with distance
//   + sink(j)      keys 0..3 carry a large component along a direction every query shares:
//                  the "attention sink" columns of trained models
//   + topic(i, j)  tokens come in segments of 16..127 tokens, each with one of 8 topics;
//                  same-topic pairs (also far apart) score higher: content clusters
// with per-head weights, so heads differ (more local, more content, stronger sinks).
QKV make_qkv(int heads, int64_t n, int64_t d, uint64_t seed, QkvSource src = QkvSource::gaussian);

// The Q/K of head h of a [heads, n, d] QKV, as HeadMask takes them. The spans point into qkv.
HeadQK head_qk(const QKV& qkv, int h, int64_t n, int64_t d);

}  // namespace salab
