#include "source_stats.h"

#include "errors.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace salab {

SourceStats measure_source(const QKV& qkv, int heads, int64_t n, int64_t d, const SourceStatsOptions& o) {
    if (heads < 1 || n < 1 || d < 1)
        throw InputError("source statistics need heads, n and d >= 1, got " + std::to_string(heads) + ", " +
                         std::to_string(n) + ", " + std::to_string(d));
    const size_t want = size_t(heads) * size_t(n) * size_t(d);
    if (qkv.q.size() != want || qkv.k.size() != want)
        throw InputError("source statistics: Q/K hold " + std::to_string(qkv.q.size()) +
                         " values, expected heads x n x d = " + std::to_string(want));
    SourceStats out;
    out.options = o;
    const int64_t lo = n / 4;
    const int64_t rows = std::clamp<int64_t>(o.rows, 1, n - lo);
    out.rows_used = rows;
    const double scale = 1.0 / std::sqrt(double(d));
    std::vector<double> logits(static_cast<size_t>(n));
    for (int h = 0; h < heads; ++h) {
        const float* Q = qkv.q.data() + size_t(h) * size_t(n * d);
        const float* K = qkv.k.data() + size_t(h) * size_t(n * d);
        HeadStats hs;
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t i = std::min(n - 1, lo + (n - lo) * r / rows);
            const int64_t keys = o.causal ? i + 1 : n;
            double mx = -1e300;
            for (int64_t j = 0; j < keys; ++j) {
                double s = 0;
                for (int64_t a = 0; a < d; ++a) s += double(Q[i * d + a]) * double(K[j * d + a]);
                logits[size_t(j)] = s * scale;
                mx = std::max(mx, logits[size_t(j)]);
            }
            double z = 0;
            for (int64_t j = 0; j < keys; ++j) z += std::exp(logits[size_t(j)] - mx);
            double sink = 0, local = 0, ent = 0;
            for (int64_t j = 0; j < keys; ++j) {
                const double pj = std::exp(logits[size_t(j)] - mx) / z;
                if (j < 4) sink += pj;
                if (std::abs(i - j) <= o.window) local += pj;
                if (pj > 0) ent -= pj * std::log(pj);
            }
            hs.sink_mass += sink / double(rows);
            hs.local_mass += local / double(rows);
            hs.entropy += ent / double(rows);
            hs.entropy_norm += (keys > 1 ? ent / std::log(double(keys)) : 0.0) / double(rows);
        }
        out.heads.push_back(hs);
        out.mean.sink_mass += hs.sink_mass / heads;
        out.mean.local_mass += hs.local_mass / heads;
        out.mean.entropy += hs.entropy / heads;
        out.mean.entropy_norm += hs.entropy_norm / heads;
    }
    return out;
}

// Where the ranges come from (docs/synthetic-attention.md):
//  - sink: StreamingLLM (Xiao et al. 2023) finds most heads of Llama-2 past the first layers put a
//    large share of their weight on the first token(s); Gu et al. 2024 count a head as a sink head
//    when its mean first-token weight exceeds 0.3. Sink-heavy heads: 0.4-0.8; others below.
//  - locality: streaming / "A-shape" heads (DuoAttention, Xiao et al. 2024; MInference, Jiang et
//    al. 2024) keep most non-sink mass in a recent window; Clark et al. 2019 find BERT heads with
//    most of their mass on a neighbouring token. Local heads: >= 0.55 within 16 tokens.
//  - entropy: Clark et al. 2019 report per-head mean entropies from near 0 (sharp heads) to close
//    to uniform (broad first-layer heads). Broad heads: >= 0.7 of ln(keys); local <= 0.45, sink-heavy <= 0.6.
TypeTargets type_targets(HeadType t) {
    switch (t) {
    case HeadType::local: return {{0.05, 0.30}, {0.55, 1.0}, {0.0, 0.45}};
    case HeadType::sink: return {{0.40, 0.80}, {0.10, 0.55}, {0.0, 0.60}};
    case HeadType::broad: return {{0.0, 0.15}, {0.0, 0.45}, {0.70, 1.0}};
    }
    return {};
}

std::string describe(const HeadStats& s, int64_t window) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "sink %.2f | within %lld: %.2f | entropy %.2f nats (%.2f of uniform)", s.sink_mass,
                  (long long)window, s.local_mass, s.entropy, s.entropy_norm);
    return buf;
}

}  // namespace salab
