// Component builders shared by the test suites (one place, the field names of pattern.h).
#pragma once

#include "mask.h"
#include "pattern.h"
#include "reference.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

namespace salab::test {

inline Component window(int64_t radius, int64_t dilation = 1) {
    Component c;
    c.type = ComponentType::window;
    c.radius = radius;
    c.dilation = dilation;
    return c;
}
inline Component global_first(int64_t first) {
    Component c;
    c.type = ComponentType::global;
    c.first = first;
    return c;
}
inline Component random_keys(int64_t per_query, uint64_t seed) {
    Component c;
    c.type = ComponentType::random;
    c.per_query = per_query;
    c.seed = seed;
    return c;
}
inline Component lsh_component(int64_t buckets, int64_t rounds, uint64_t seed) {
    Component c;
    c.type = ComponentType::lsh;
    c.buckets = buckets;
    c.rounds = rounds;
    c.seed = seed;
    return c;
}
inline Component topk_component(int64_t k) {
    Component c;
    c.type = ComponentType::topk;
    c.k = k;
    return c;
}

// Heads with different patterns, the GPU suites' odd masks (every kernel path runs the same
// ones): head h % 3 == 0 a window + a global token (a dense row) + random keys, h % 3 == 1 a
// dilated causal window + random keys, h % 3 == 2 a wide window + two global tokens with every
// third row (i % 3 == 1) emptied. MixedHeads sets the random keys per row and the wide window.
struct MixedHeads {
    int64_t random0 = 2, random1 = 1, wide = 40;
};
inline std::vector<Csr> mixed_heads(int64_t n, int heads, MixedHeads m = {}) {
    std::vector<Csr> out;
    for (int h = 0; h < heads; ++h) {
        HeadPattern hp;
        if (h % 3 == 0) hp.components = {window(3), global_first(1), random_keys(m.random0, 7)};
        if (h % 3 == 1) {
            hp.causal = true;
            hp.components = {window(5, 2), random_keys(m.random1, 3)};
        }
        if (h % 3 == 2) hp.components = {window(m.wide), global_first(2)};
        Csr c = build_csr(HeadMask(hp, n));
        if (h % 3 == 2) {
            Csr e;
            e.n = n;
            e.row_ptr.push_back(0);
            for (int64_t i = 0; i < n; ++i) {
                if (i % 3 != 1)
                    e.cols.insert(e.cols.end(), c.cols.begin() + c.row_ptr[size_t(i)],
                                  c.cols.begin() + c.row_ptr[size_t(i) + 1]);
                e.row_ptr.push_back(int64_t(e.cols.size()));
            }
            c = std::move(e);
        }
        out.push_back(std::move(c));
    }
    return out;
}

// Checks a run of mixed_heads(n, heads) (output `got`, kernel `path` as RunResult::path names
// it) against the oracle's `want`: `path` starts with `path_prefix` ("" takes any), the relative
// error is below `tolerance`, and with 3 or more heads and n >= 7 head 2's emptied row 1 is exact
// zeros.
inline void check_mixed_heads(const std::vector<float>& got, const std::string& path, std::string_view path_prefix,
                              const std::vector<float>& want, int64_t n, int64_t d, int heads,
                              double tolerance = 1e-4) {
    CAPTURE(path);
    CHECK(path.starts_with(path_prefix));
    CHECK(relative_error(got, want) < tolerance);
    if (heads >= 3 && n >= 7) {
        const size_t row = size_t(2 * n + 1) * size_t(d);
        for (int64_t c = 0; c < d; ++c) CHECK(got[row + size_t(c)] == 0.0f);
    }
}

}  // namespace salab::test
