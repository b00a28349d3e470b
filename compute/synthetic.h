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
#include <string>
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
    gaussian,          // i.i.d. N(0, 1): q = gaussian_tensor(heads*n*d, seed), k: seed + 1, v: seed + 2
    structured,        // calibrated like trained attention, heads of mixed types (see make_qkv)
    npy,               // the user's .npy files (LiveParams; make_qkv below throws InputError for it)
    structured_local,  // every head of type local
    structured_sink,   // every head of type sink-heavy
    structured_broad,  // every head of type broad
};

// Names for CLIs and sessions: gaussian, structured (also "synthetic", "mixed"), local, sink,
// broad, npy. parse_qkv_source returns false for anything else.
const char* to_string(QkvSource s);
bool parse_qkv_source(const std::string& name, QkvSource& out);
// True for the calibrated sources (structured and its single-type variants).
inline bool is_structured(QkvSource s) {
    return s == QkvSource::structured || s == QkvSource::structured_local || s == QkvSource::structured_sink ||
           s == QkvSource::structured_broad;
}

// The head types of the structured source, each calibrated to a range of published statistics
// of trained heads (docs/synthetic-attention.md; the ranges are source_stats.h's targets).
enum class HeadType { local, sink, broad };
const char* to_string(HeadType t);
// The type of head h under `src` (structured: sink, local, sink, broad, repeating, so half of the
// heads are sink-heavy as in the "streaming heads" majority of trained LLMs).
HeadType head_type(QkvSource src, int h);

// Row-major [heads, n, d] each.
struct QKV {
    std::vector<float> q, k, v;
};

// Deterministic in (heads, n, d, seed, src).
//
// structured sources: per head, Q and K are built on disjoint coordinates so that the logits
// q_i.k_j / sqrt(d) are exactly the sum of
//   local(i - j) = A * mean_f cos(w_f (i - j)), w_f log-spaced from 1 to 1/(2n) over the
//                  (d - 1 - t) / 2 RoPE-like frequency pairs: ~ A (1 - ln|i-j| / ln 2n), so the
//                  weight falls as a power law |i - j|^-p with p = A / ln 2n (the head type sets p)
//   + sink(j)      keys 0..3 get s_j = S + ln(0.70, 0.15, 0.10, 0.05) on one coordinate every
//                  query shares (the first token the strongest sink); S is solved per head so that
//                  the sink mass of causal queries in [n/4, n) meets the type's target
//   + topic(i, j)  T * u_a . u_b on t = clamp(d / 4, 2, 16) coordinates, a and b the tokens'
//                  topics: segments of 16..127 tokens, 8 topics, u random unit vectors
//   + noise        small Gaussian noise on K
// with the type's (p, sink target, T) jittered per head. d < 8 keeps the sink and what fits.
QKV make_qkv(int heads, int64_t n, int64_t d, uint64_t seed, QkvSource src = QkvSource::gaussian);

// Q and K of head h alone, as make_qkv(h + 1, n, d, seed, src) would give them for that head
// (v left empty): what the GUI measures without generating every head.
QKV make_head_qk(int h, int64_t n, int64_t d, uint64_t seed, QkvSource src);

// The Q/K of head h of a [heads, n, d] QKV, as HeadMask takes them. The spans point into qkv.
HeadQK head_qk(const QKV& qkv, int h, int64_t n, int64_t d);

}  // namespace salab
