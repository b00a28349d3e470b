// Statistics of a Q/K/V source's dense attention, the numbers the literature reports for trained
// heads: sink mass (weight on the first 4 keys), mass within distance w of the query, and the
// entropy of each row. Measured on evenly spaced query rows, per head; CPU, double accumulation.
//
//   QKV x = make_qkv(4, 4096, 64, 1, QkvSource::structured);
//   SourceStats s = measure_source(x, 4, 4096, 64, {.causal = true});
//   s.heads[0].sink_mass, s.mean.entropy_norm
//
// type_targets() are the ranges the structured head types are calibrated to
// (docs/synthetic-attention.md cites what they come from); tests check the source lands in them.
#pragma once

#include "synthetic.h"

#include <cstdint>
#include <string>
#include <vector>

namespace salab {

struct HeadStats {
    double sink_mass = 0;     // mean over rows of the weight on keys 0..3
    double local_mass = 0;    // mean over rows of the weight on keys with |i - j| <= window
    double entropy = 0;       // mean row entropy, nats
    double entropy_norm = 0;  // mean of entropy / ln(keys of the row): 0 one key, 1 uniform
};

struct SourceStatsOptions {
    bool causal = true;   // keys j <= i, as in the decoder LMs the statistics come from
    int64_t window = 16;  // "local" distance
    int rows = 48;        // query rows measured per head, evenly spaced in [n/4, n)
};

struct SourceStats {
    std::vector<HeadStats> heads;
    HeadStats mean;  // over heads
    SourceStatsOptions options;
    int64_t rows_used = 0;  // per head
};

// qkv: [heads, n, d] (make_qkv's layout). Throws InputError when the sizes do not match or n < 1.
SourceStats measure_source(const QKV& qkv, int heads, int64_t n, int64_t d, const SourceStatsOptions& o = {});

struct StatRange {
    double lo = 0, hi = 1;
    bool contains(double v) const { return v >= lo && v <= hi; }
};
// The calibration targets of a head type (causal, window 16, 256 <= n <= 16384).
struct TypeTargets {
    StatRange sink_mass, local_mass, entropy_norm;
};
TypeTargets type_targets(HeadType t);

// "sink 0.61 | within 16: 0.32 | entropy 2.9 nats (0.38 of uniform)"
std::string describe(const HeadStats& s, int64_t window);

}  // namespace salab
