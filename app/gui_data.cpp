#include "gui_data.h"

#include "npy.h"
#include "synthetic.h"

#include <cmath>
#include <thread>

namespace salab::gui {

namespace {

// Structured source. Scores q_i.k_j / sqrt(d) get three terms, each from its own slice of the
// d dimensions:
//   local: rotary pairs at a few wavelengths, so score falls off with |i - j| (bands);
//   sink:  one shared direction that every query has and the first 4 keys carry strongly;
//   content: tokens fall in seeded runs of one of 8 clusters; same cluster, higher score.
// plus Gaussian noise. Strengths are in logits so the picture does not depend on d.
void fill_structured(std::vector<float>& q, std::vector<float>& k, int heads, int64_t n, int64_t d,
                     uint64_t seed) {
    const double sqrt_d = std::sqrt(double(d));
    const int64_t pairs = std::max<int64_t>(1, d / 4);  // rotary pairs: dims [0, 2*pairs)
    const int64_t sink_dim = std::min<int64_t>(2 * pairs, d - 1);
    const int64_t content0 = std::min<int64_t>(sink_dim + 1, d);
    const int64_t content_dims = d - content0;
    constexpr int clusters = 8;
    auto work = [&](int h) {
        const uint64_t key = stream_key(seed * 1315423911ull + uint64_t(h) * 7919ull + 17);
        // Cluster centroids, unit-norm-ish over the content dims.
        std::vector<double> centroid(size_t(clusters * std::max<int64_t>(content_dims, 1)));
        for (size_t e = 0; e < centroid.size(); ++e)
            centroid[e] = gaussian_at(key ^ 0xc1u, e) / std::sqrt(double(std::max<int64_t>(content_dims, 1)));
        // Runs of tokens: a new cluster every 16..143 tokens.
        std::vector<int> cluster(static_cast<size_t>(n));
        SplitMix64 rng{key ^ 0x5eedu};
        for (int64_t i = 0; i < n;) {
            const int64_t len = 16 + int64_t(rng.below(128));
            const int c = int(rng.below(clusters));
            for (int64_t t = i; t < std::min(n, i + len); ++t) cluster[size_t(t)] = c;
            i += len;
        }
        const double local_logits = 4.0 + 0.5 * (h % 3), sink_logits = 4.0, content_logits = 1.5, noise = 0.35;
        for (int64_t i = 0; i < n; ++i) {
            float* qi = q.data() + (int64_t(h) * n + i) * d;
            float* ki = k.data() + (int64_t(h) * n + i) * d;
            // Wavelengths 8 .. ~n/4: head-dependent so heads differ in their reach.
            for (int64_t p = 0; p < pairs && 2 * p + 1 < d; ++p) {
                const double wavelength = 8.0 * std::pow(2.0, double(p % 6) + 0.5 * (h % 2));
                const double a = 6.283185307179586 * double(i) / wavelength;
                const double amp = std::sqrt(local_logits * sqrt_d / double(pairs));
                qi[2 * p] = float(amp * std::cos(a));
                qi[2 * p + 1] = float(amp * std::sin(a));
                ki[2 * p] = float(amp * std::cos(a));
                ki[2 * p + 1] = float(amp * std::sin(a));
            }
            if (sink_dim < d && sink_dim >= 2 * pairs) {
                qi[sink_dim] = float(std::sqrt(sink_logits * sqrt_d));
                ki[sink_dim] = i < 4 ? float(std::sqrt(sink_logits * sqrt_d)) : 0.0f;
            }
            const double* c = centroid.data() + size_t(cluster[size_t(i)]) * size_t(std::max<int64_t>(content_dims, 1));
            const double camp = std::sqrt(content_logits * sqrt_d);
            for (int64_t a = 0; a < content_dims; ++a) {
                const uint64_t e = uint64_t((i * d + content0 + a) * 2);
                qi[content0 + a] = float(camp * c[a] + noise * gaussian_at(key, e));
                ki[content0 + a] = float(camp * c[a] + noise * gaussian_at(key, e + 1));
            }
        }
    };
    std::vector<std::jthread> pool;
    for (int h = 0; h < heads; ++h) pool.emplace_back(work, h);
}

void fill_gaussian(std::vector<float>& x, uint64_t key) {
    for (size_t e = 0; e < x.size(); ++e) x[e] = float(gaussian_at(key, e));
}

}  // namespace

Qkv make_qkv(const ui::Params& p, int heads) {
    const int64_t n = p.pattern.n, d = p.d;
    Qkv r;
    if (p.source == ui::QkSource::npy) {
        r.q = read_qkv(p.q_path, heads, n, d);
        r.k = read_qkv(p.k_path, heads, n, d);
        r.v = p.v_path.empty() ? r.k : read_qkv(p.v_path, heads, n, d);
        return r;
    }
    const size_t count = size_t(heads) * size_t(n) * size_t(d);
    r.q.assign(count, 0.0f);
    r.k.assign(count, 0.0f);
    r.v.assign(count, 0.0f);
    const uint64_t key = stream_key(p.data_seed);
    if (p.source == ui::QkSource::structured) {
        fill_structured(r.q, r.k, heads, n, d, p.data_seed);
    } else {
        fill_gaussian(r.q, key ^ 0x71u);
        fill_gaussian(r.k, key ^ 0x6bu);
    }
    fill_gaussian(r.v, key ^ 0x76u);
    return r;
}

}  // namespace salab::gui
