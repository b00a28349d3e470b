// HeadMask against DESIGN.md's table: hand-checked rows, an independent brute-force oracle
// (which re-implements the seeded draws from their documentation in mask.h / synthetic.h),
// determinism, large n, and thread safety.
#include "mask.h"
#include "pattern.h"
#include "synthetic.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <random>
#include <set>
#include <thread>
#include <vector>

using namespace salab;

namespace {

using Keys = std::vector<int32_t>;

Keys row_of(const HeadMask& m, int64_t i) {
    Keys out;
    m.row(i, out);
    return out;
}

Keys range(int32_t lo, int32_t hi) {  // [lo, hi)
    Keys k;
    for (int32_t j = lo; j < hi; ++j)
        k.push_back(j);
    return k;
}

HeadPattern head_of(const std::string& components, bool causal = false) {
    return parse_pattern(R"({"n": 268435456, "causal": )" + std::string(causal ? "true" : "false") +
                         R"(, "components": [)" + components + "]}")
        .layers[0]
        .heads[0];
}

// --- the oracle: written from the documentation, sharing no code with mask.cpp --------------

uint64_t o_mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

struct ORng {
    uint64_t s;
    uint64_t below(uint64_t bound) {
        const uint64_t threshold = (~bound + 1) % bound;
        for (;;) {
            const uint64_t x = o_mix(s);
            s += 0x9E3779B97F4A7C15ull;
            if (x >= threshold)
                return x % bound;
        }
    }
};

ORng o_stream(uint64_t tag, uint64_t seed, int64_t row, int64_t count, bool causal) {
    uint64_t s = o_mix(o_mix(o_mix(seed) ^ tag) + uint64_t(row));
    return ORng{o_mix(s + 2 * uint64_t(count) + (causal ? 1 : 0))};
}

std::set<int64_t> o_floyd(ORng rng, int64_t r, int64_t m) {
    std::set<int64_t> s;
    if (r >= m) {
        for (int64_t t = 0; t < m; ++t)
            s.insert(t);
        return s;
    }
    for (int64_t t = m - r; t < m; ++t) {
        const int64_t x = int64_t(rng.below(uint64_t(t + 1)));
        s.insert(s.count(x) ? t : x);
    }
    return s;
}

double o_gauss(uint64_t key, uint64_t e) {
    auto u = [](uint64_t h) { return (double(h >> 11) + 0.5) / 9007199254740992.0; };
    const double u1 = u(o_mix(key + 2 * e)), u2 = u(o_mix(key + 2 * e + 1));
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

struct QK {
    std::vector<float> q, k;
    int64_t d = 0;
    HeadQK view() const { return HeadQK{q, k, d}; }
};

// bits[i * n + j]: the component bitmask of (i, j), after the causal cut.
std::vector<uint32_t> oracle(const HeadPattern& h, int64_t n, const QK& qk) {
    std::vector<uint32_t> bits(size_t(n * n), 0);
    for (size_t ci = 0; ci < h.components.size(); ++ci) {
        const Component& c = h.components[ci];
        auto M = [&](int64_t i, int64_t j) -> bool {
            const int64_t diff = std::abs(i - j);
            switch (c.type) {
            case ComponentType::window:
                return diff <= c.radius * c.dilation && (i - j) % c.dilation == 0;
            case ComponentType::global: {
                auto in_g = [&](int64_t x) {
                    return x < c.first || (c.every > 0 && x % c.every == 0) ||
                           std::find(c.tokens.begin(), c.tokens.end(), x) != c.tokens.end();
                };
                return in_g(i) || in_g(j);
            }
            case ComponentType::random:
                return o_floyd(o_stream(0x72616e646f6dull, c.seed, i, n, h.causal), c.per_query,
                               h.causal ? i + 1 : n)
                    .count(j);
            case ComponentType::strided:
                return diff < c.stride || (i - j) % c.stride == 0;
            case ComponentType::fixed:
                return i / c.block == j / c.block || j % c.block >= c.block - c.summary;
            case ComponentType::block: {
                const int64_t b = c.block, I = i / b, J = j / b, nb = (n + b - 1) / b;
                if (std::abs(I - J) <= c.window_blocks || I < c.global_blocks ||
                    J < c.global_blocks)
                    return true;
                std::vector<int64_t> cand;
                for (int64_t x = 0; x < (h.causal ? I + 1 : nb); ++x)
                    if (!(std::abs(I - x) <= c.window_blocks || I < c.global_blocks ||
                          x < c.global_blocks))
                        cand.push_back(x);
                for (int64_t idx : o_floyd(o_stream(0x626c6f636bull, c.seed, I, nb, h.causal),
                                           c.random_blocks, int64_t(cand.size())))
                    if (cand[size_t(idx)] == J)
                        return true;
                return false;
            }
            case ComponentType::lsh: {
                const int64_t half = c.buckets / 2;
                for (int64_t r = 0; r < c.rounds; ++r) {
                    const uint64_t key = o_mix(o_mix(o_mix(c.seed) ^ 0x6c7368ull) + uint64_t(r));
                    auto hash = [&](const float* x) {
                        int64_t best = -1;
                        double best_v = 0;
                        for (int64_t col = 0; col < 2 * half; ++col) {
                            double p = 0;
                            for (int64_t a = 0; a < qk.d; ++a)
                                p += double(x[a]) * o_gauss(key, uint64_t(a * half + col % half));
                            if (col >= half)
                                p = -p;
                            if (best < 0 || p > best_v)
                                best = col, best_v = p;
                        }
                        return best;
                    };
                    if (hash(&qk.q[size_t(i * qk.d)]) == hash(&qk.k[size_t(j * qk.d)]))
                        return true;
                }
                return false;
            }
            case ComponentType::topk: {
                const int64_t lim = h.causal ? i + 1 : n;
                std::vector<std::pair<double, int64_t>> s;
                for (int64_t x = 0; x < lim; ++x) {
                    double dot = 0;
                    for (int64_t a = 0; a < qk.d; ++a)
                        dot +=
                            double(qk.q[size_t(i * qk.d + a)]) * double(qk.k[size_t(x * qk.d + a)]);
                    s.push_back({-dot, x});
                }
                std::sort(s.begin(), s.end());
                for (int64_t t = 0; t < std::min<int64_t>(c.k, lim); ++t)
                    if (s[size_t(t)].second == j)
                        return true;
                return false;
            }
            case ComponentType::dense:
                return true;
            }
            return false;
        };
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < n; ++j)
                if ((!h.causal || j <= i) && M(i, j))
                    bits[size_t(i * n + j)] |= 1u << ci;
    }
    return bits;
}

QK random_qk(std::mt19937_64& rng, int64_t n, int64_t d, bool integer_values) {
    QK qk;
    qk.d = d;
    std::normal_distribution<float> g;
    std::uniform_int_distribution<int> u(-2, 2);
    for (int64_t e = 0; e < n * d; ++e) {
        qk.q.push_back(integer_values ? float(u(rng)) : g(rng));
        qk.k.push_back(integer_values ? float(u(rng)) : g(rng));
    }
    return qk;
}

Component random_component(std::mt19937_64& rng, int64_t n) {
    auto pick = [&](int64_t lo, int64_t hi) {
        return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
    };
    Component c;
    c.type = ComponentType(pick(0, 8));
    c.seed = rng();
    switch (c.type) {
    case ComponentType::window:
        c.radius = pick(0, 5);
        c.dilation = pick(1, 4);
        break;
    case ComponentType::global:
        c.first = pick(0, 3);
        c.every = pick(0, 1) ? pick(1, n + 3) : 0;
        for (int64_t t = pick(0, 3); t > 0; --t)
            c.tokens.push_back(pick(0, n - 1));
        break;
    case ComponentType::random:
        c.per_query = pick(0, 6);
        break;
    case ComponentType::strided:
        c.stride = pick(1, 12);
        break;
    case ComponentType::fixed:
        c.block = pick(1, 12);
        c.summary = pick(1, c.block);
        break;
    case ComponentType::block:
        c.block = pick(1, 9);
        c.window_blocks = pick(0, 2);
        c.global_blocks = pick(0, 2);
        c.random_blocks = pick(0, 3);
        break;
    case ComponentType::lsh:
        c.buckets = 2 * pick(1, 5);
        c.rounds = pick(1, 3);
        break;
    case ComponentType::topk:
        c.k = pick(1, 9);
        break;
    case ComponentType::dense:
        break;
    }
    return c;
}

}  // namespace

TEST_SUITE("mask") {

    TEST_CASE("window: radius and dilation, clipped at the edges") {
        const HeadMask m(head_of(R"({"type": "window", "radius": 2})"), 10);
        CHECK(row_of(m, 0) == Keys{0, 1, 2});
        CHECK(row_of(m, 5) == Keys{3, 4, 5, 6, 7});
        CHECK(row_of(m, 9) == Keys{7, 8, 9});
        const HeadMask dil(head_of(R"({"type": "window", "radius": 2, "dilation": 3})"), 10);
        CHECK(row_of(dil, 5) == Keys{2, 5, 8});
        CHECK(row_of(dil, 1) == Keys{1, 4, 7});
        const HeadMask causal(head_of(R"({"type": "window", "radius": 2, "dilation": 2})", true),
                              10);
        CHECK(row_of(causal, 5) == Keys{1, 3, 5});
        const HeadMask zero(head_of(R"({"type": "window"})"), 4);
        CHECK(row_of(zero, 2) == Keys{2});
        const HeadMask huge(
            head_of(R"({"type": "window", "radius": 9000000000000000000, "dilation": 2})"), 7);
        CHECK(row_of(huge, 3) == Keys{1, 3, 5});
    }

    TEST_CASE("global: first, every, tokens, and rows of G attend everything") {
        // G = {0, 1} u {0, 4, 8} u {7} for n = 10.
        const HeadMask m(head_of(R"({"type": "global", "first": 2, "every": 4, "tokens": [7, 7]})"),
                         10);
        CHECK(row_of(m, 3) == Keys{0, 1, 4, 7, 8});
        CHECK(row_of(m, 4) == range(0, 10));
        CHECK(row_of(m, 7) == range(0, 10));
        CHECK(m.kept(3, 7));
        CHECK_FALSE(m.kept(3, 5));
        CHECK(m.kept(7, 5));
        const HeadMask causal(
            head_of(R"({"type": "global", "first": 2, "every": 4, "tokens": [7]})", true), 10);
        CHECK(row_of(causal, 3) == Keys{0, 1});
        CHECK(row_of(causal, 4) == range(0, 5));
        CHECK(row_of(causal, 9) == Keys{0, 1, 4, 7, 8});
        const HeadMask none(head_of(R"({"type": "global"})"), 5);
        CHECK(row_of(none, 2).empty());
    }

    TEST_CASE("strided and fixed, n not divisible by stride or block") {
        const HeadMask s(head_of(R"({"type": "strided", "stride": 3})"), 10);
        CHECK(row_of(s, 5) == Keys{2, 3, 4, 5, 6, 7, 8});
        CHECK(row_of(s, 0) == Keys{0, 1, 2, 3, 6, 9});
        CHECK(row_of(s, 9) == Keys{0, 3, 6, 7, 8, 9});
        const HeadMask sc(head_of(R"({"type": "strided", "stride": 3})", true), 10);
        CHECK(row_of(sc, 8) == Keys{2, 5, 6, 7, 8});
        const HeadMask f(head_of(R"({"type": "fixed", "block": 4, "summary": 1})"), 10);
        CHECK(row_of(f, 5) == Keys{3, 4, 5, 6, 7});
        CHECK(row_of(f, 9) == Keys{3, 7, 8, 9});
        CHECK(row_of(f, 0) == Keys{0, 1, 2, 3, 7});
        const HeadMask f2(head_of(R"({"type": "fixed", "block": 4, "summary": 2})", true), 11);
        CHECK(row_of(f2, 5) == Keys{2, 3, 4, 5});
        CHECK(row_of(f2, 10) == Keys{2, 3, 6, 7, 8, 9, 10});
    }

    TEST_CASE("block: window and global blocks, last block short") {
        const HeadMask m(
            head_of(R"({"type": "block", "block": 2, "window_blocks": 0, "global_blocks": 1})"), 7);
        CHECK(row_of(m, 0) == range(0, 7));
        CHECK(row_of(m, 3) == Keys{0, 1, 2, 3});
        CHECK(row_of(m, 6) == Keys{0, 1, 6});
        const HeadMask w(head_of(R"({"type": "block", "block": 3, "window_blocks": 1})", true), 10);
        CHECK(row_of(w, 7) == range(3, 8));
        CHECK(row_of(w, 9) == range(6, 10));
    }

    TEST_CASE("block: random blocks come from blocks not already kept, causal only J <= I") {
        for (bool causal : {false, true}) {
            const int64_t n = 200, b = 5, nb = 40;
            const HeadMask m(
                head_of(R"({"type": "block", "block": 5, "window_blocks": 1, "global_blocks": 2,
                                     "random_blocks": 3, "seed": 11})",
                        causal),
                n);
            for (int64_t I = 0; I < nb; ++I) {
                std::set<int64_t> kept_blocks;
                Keys keys = row_of(m, I * b);
                for (int32_t j : keys)
                    kept_blocks.insert(j / b);
                if (I < 2) {
                    CHECK(kept_blocks.size() == size_t(causal ? I + 1 : nb));
                    continue;
                }
                int64_t structural = 0, candidates = 0;
                for (int64_t J = 0; J < (causal ? I + 1 : nb); ++J) {
                    const bool s = std::abs(I - J) <= 1 || J < 2;
                    structural += s;
                    candidates += !s;
                }
                CHECK(int64_t(kept_blocks.size()) == structural + std::min<int64_t>(3, candidates));
                if (causal)
                    CHECK(*kept_blocks.rbegin() <= I);
                // Every query of the block-row sees the same blocks.
                std::set<int64_t> other;
                for (int32_t j : row_of(m, std::min(n - 1, I * b + b - 1)))
                    other.insert(j / b);
                if (!causal)
                    CHECK(other == kept_blocks);
            }
        }
    }

    TEST_CASE("random: r distinct keys in range, fewer when the range is smaller") {
        const HeadMask m(head_of(R"({"type": "random", "per_query": 3, "seed": 5})"), 1000);
        std::vector<int64_t> hist(10, 0);
        for (int64_t i = 0; i < 1000; ++i) {
            const Keys k = row_of(m, i);
            REQUIRE(k.size() == 3);
            for (int32_t j : k)
                ++hist[size_t(j / 100)];
        }
        for (int64_t h : hist)
            CHECK((h > 220 && h < 380));  // 300 expected per tenth
        const HeadMask c(head_of(R"({"type": "random", "per_query": 3, "seed": 5})", true), 50);
        CHECK(row_of(c, 0) == Keys{0});
        CHECK(row_of(c, 1) == Keys{0, 1});
        CHECK(row_of(c, 2) == Keys{0, 1, 2});
        for (int64_t i = 3; i < 50; ++i) {
            const Keys k = row_of(c, i);
            CHECK(k.size() == 3);
            CHECK(k.back() <= i);
        }
        const HeadMask all(head_of(R"({"type": "random", "per_query": 5})"), 3);
        CHECK(row_of(all, 1) == Keys{0, 1, 2});
        const HeadMask big(head_of(R"({"type": "random", "per_query": 200, "seed": 1})"), 300);
        CHECK(row_of(big, 7).size() == 200);
    }

    TEST_CASE("random: the draw depends only on (seed, i, n, causal)") {
        const auto a = head_of(R"({"type": "random", "per_query": 4, "seed": 9})");
        const auto b = head_of(
            R"({"type": "window", "radius": 1}, {"type": "random", "per_query": 4, "seed": 9})");
        const auto other_seed = head_of(R"({"type": "random", "per_query": 4, "seed": 10})");
        const HeadMask ma(a, 500), ma2(a, 500), mb(b, 500), mo(other_seed, 500), mn(a, 501);
        int differ_seed = 0, differ_n = 0;
        for (int64_t i = 0; i < 500; ++i) {
            const Keys ka = row_of(ma, i);
            CHECK(ka == row_of(ma2, i));
            for (int32_t j : ka)
                CHECK((mb.components_keeping(i, j) & 2u) != 0);
            differ_seed += ka != row_of(mo, i);
            differ_n += ka != row_of(mn, i);
        }
        CHECK(build_csr(ma) == build_csr(ma2));
        CHECK(differ_seed > 490);
        CHECK(differ_n > 490);
    }

    TEST_CASE(
        "the illustrated example: 1,000 tokens, window 4, global every 250, 2 random per query") {
        const HeadMask m(
            head_of(R"({"type": "window", "radius": 4}, {"type": "global", "every": 250},
                                 {"type": "random", "per_query": 2, "seed": 0})"),
            1000);
        // DESIGN.md: M(i, j) = 1 when i in G or j in G. 500 = 2 * 250 is in G, so its row is every
        // key, and every query keeps key 500.
        CHECK(row_of(m, 500) == range(0, 1000));
        for (int64_t i = 0; i < 1000; ++i)
            CHECK(m.kept(i, 500));
        // A token outside G keeps its window, the globals and two random keys: at most 15.
        for (int32_t q : {501, 499, 137, 999}) {
            const Keys k = row_of(m, q);
            CHECK(k.size() <= 15);
            for (int32_t j : {0, 250, 500, 750})
                CHECK(std::binary_search(k.begin(), k.end(), j));
            for (int32_t j = std::max(0, q - 4); j <= std::min(999, q + 4); ++j)
                CHECK(std::binary_search(k.begin(), k.end(), j));
            int64_t extra = 0;
            for (int32_t j : k)
                extra += std::abs(j - q) > 4 && j % 250 != 0;
            CHECK(extra <= 2);
        }
    }

    TEST_CASE("lsh: matches the documented hash, B = 2 splits by the sign of one projection") {
        std::mt19937_64 rng(3);
        const int64_t n = 40;
        const QK qk = random_qk(rng, n, 8, false);
        for (bool causal : {false, true}) {
            const auto h =
                head_of(R"({"type": "lsh", "buckets": 6, "rounds": 2, "seed": 17})", causal);
            const HeadMask m(h, n, qk.view());
            const auto want = oracle(h, n, qk);
            for (int64_t i = 0; i < n; ++i)
                for (int64_t j = 0; j < n; ++j)
                    CHECK(m.components_keeping(i, j) == want[size_t(i * n + j)]);
        }
        // Two buckets: h(x) = 0 when the projection is >= 0, else 1. Every row is one of two
        // complementary key sets.
        const HeadMask two(head_of(R"({"type": "lsh", "buckets": 2})"), n, qk.view());
        const Keys r0 = row_of(two, 0);
        for (int64_t i = 1; i < n; ++i) {
            const Keys ri = row_of(two, i);
            if (ri == r0)
                continue;
            Keys both;
            std::set_union(r0.begin(), r0.end(), ri.begin(), ri.end(), std::back_inserter(both));
            CHECK(both == range(0, int32_t(n)));
            CHECK(r0.size() + ri.size() == size_t(n));
        }
    }

    TEST_CASE("topk: k largest scores, ties to the smaller key, causal among j <= i") {
        // Integer Q/K make ties frequent.
        std::mt19937_64 rng(5);
        const int64_t n = 30;
        const QK qk = random_qk(rng, n, 3, true);
        for (bool causal : {false, true}) {
            const auto h = head_of(R"({"type": "topk", "k": 4})", causal);
            const HeadMask m(h, n, qk.view());
            const auto want = oracle(h, n, qk);
            for (int64_t i = 0; i < n; ++i) {
                CHECK(int64_t(row_of(m, i).size()) == std::min<int64_t>(4, causal ? i + 1 : n));
                for (int64_t j = 0; j < n; ++j)
                    CHECK(m.components_keeping(i, j) == want[size_t(i * n + j)]);
            }
        }
        // All scores equal: the k smallest keys win.
        QK flat;
        flat.d = 1;
        flat.q.assign(5, 1.0f);
        flat.k.assign(5, 1.0f);
        const HeadMask ties(head_of(R"({"type": "topk", "k": 2})"), 5, flat.view());
        CHECK(row_of(ties, 4) == Keys{0, 1});
    }

    TEST_CASE("content components without Q/K, or with the wrong size, throw InputError") {
        const auto lsh = head_of(R"({"type": "window"}, {"type": "lsh", "buckets": 4})");
        CHECK_THROWS_WITH_AS(HeadMask(lsh, 10),
                             doctest::Contains("components[1] (lsh) needs Q and K"), InputError);
        std::vector<float> q(10 * 4), k(9 * 4);
        CHECK_THROWS_WITH_AS(HeadMask(lsh, 10, HeadQK{q, k, 4}), doctest::Contains("[10, 4]"),
                             InputError);
        CHECK_THROWS_AS(HeadMask(head_of(R"({"type": "topk"})"), 10, HeadQK{q, q, 0}), InputError);
        CHECK_NOTHROW(HeadMask(head_of(R"({"type": "topk"})"), 10, HeadQK{q, q, 4}));
        // Bad parameters are caught even when a HeadPattern is built by hand.
        HeadPattern bad;
        bad.components.push_back(Component());
        bad.components[0].radius = -1;
        CHECK_THROWS_AS(HeadMask(bad, 10), InputError);
        CHECK_THROWS_AS(HeadMask(HeadPattern{}, 0), InputError);
    }

    TEST_CASE("union, causal cut, empty rows and the component bitmask") {
        const HeadMask m(
            head_of(R"({"type": "window", "radius": 1}, {"type": "global", "tokens": [3]})", true),
            6);
        CHECK(row_of(m, 0) == Keys{0});
        CHECK(row_of(m, 5) == Keys{3, 4, 5});
        CHECK(m.components_keeping(4, 3) == 3u);
        CHECK(m.components_keeping(5, 3) == 2u);
        CHECK(m.components_keeping(3, 4) == 0u);  // causal cut
        CHECK(m.components_keeping(-1, 0) == 0u);
        CHECK(m.components_keeping(0, 6) == 0u);
        const HeadMask empty(HeadPattern{}, 4);
        CHECK(row_of(empty, 2).empty());
        CHECK(build_csr(empty).nnz() == 0);
        CHECK(build_csr(empty).row_ptr.size() == 5);
        CHECK_THROWS_AS(row_of(m, 6), std::out_of_range);
    }

    TEST_CASE("CSR and components_keeping agree with the oracle over many small random patterns") {
        std::mt19937_64 rng(2024);
        int checked = 0;
        for (int trial = 0; trial < 400; ++trial) {
            const int64_t n = std::uniform_int_distribution<int64_t>(1, 70)(rng);
            HeadPattern h;
            h.causal = rng() % 2;
            for (int64_t c = std::uniform_int_distribution<int64_t>(0, 3)(rng); c > 0; --c)
                h.components.push_back(random_component(rng, n));
            const QK qk = random_qk(rng, n, 1 + int64_t(rng() % 4), rng() % 2);
            CAPTURE(to_json(Pattern{"", "", n, {Layer{{h}}}}, -1));
            const HeadMask m(h, n, qk.view());
            const Csr csr = build_csr(m);
            const auto want = oracle(h, n, qk);
            REQUIRE(csr.row_ptr.size() == size_t(n + 1));
            for (int64_t i = 0; i < n; ++i) {
                Keys from_oracle;
                for (int64_t j = 0; j < n; ++j) {
                    const uint32_t bits = m.components_keeping(i, j);
                    if (bits != want[size_t(i * n + j)]) {
                        FAIL_CHECK("bits differ at (" << i << ", " << j << "): " << bits << " vs "
                                                      << want[size_t(i * n + j)]);
                    }
                    if (want[size_t(i * n + j)])
                        from_oracle.push_back(int32_t(j));
                }
                const Keys row(csr.cols.begin() + csr.row_ptr[size_t(i)],
                               csr.cols.begin() + csr.row_ptr[size_t(i + 1)]);
                CHECK(row == from_oracle);
            }
            ++checked;
        }
        CHECK(checked == 400);
    }

    TEST_CASE("structural components scale to n = 1M without n x n memory") {
        const int64_t n = 1 << 20;
        const HeadMask m(head_of(R"({"type": "window", "radius": 3}, {"type": "global", "first": 1},
                                 {"type": "random", "per_query": 2, "seed": 1}, {"type": "strided", "stride": 4096},
                                 {"type": "block", "block": 64, "window_blocks": 1, "random_blocks": 1}, {"type": "fixed",
                                  "block": 2048, "summary": 1})",
                                 true),
                         n);
        const Keys k = row_of(m, 700000);
        CHECK(k.size() < 6000);
        CHECK(std::binary_search(k.begin(), k.end(), 0));
        CHECK(std::binary_search(k.begin(), k.end(), 699997));
        CHECK(row_of(m, 0) == Keys{0});
        const HeadMask w(head_of(R"({"type": "window", "radius": 2})"), n);
        const Csr csr = build_csr(w);
        CHECK(csr.nnz() == 5 * n - 6);
        const HeadMask g(head_of(R"({"type": "global", "first": 1})"), n);
        CHECK(row_of(g, 0).size() == size_t(n));
        CHECK(row_of(g, 12345) == Keys{0});
    }

    TEST_CASE("rows may be read from several threads at once") {
        std::mt19937_64 rng(1);
        const int64_t n = 300;
        const QK qk = random_qk(rng, n, 16, false);
        const HeadMask m(
            head_of(
                R"({"type": "window", "radius": 2}, {"type": "random", "per_query": 3, "seed": 4},
                                 {"type": "lsh", "buckets": 8, "rounds": 2}, {"type": "topk", "k": 5},
                                 {"type": "block", "block": 16, "random_blocks": 2})"),
            n, qk.view());
        const Csr serial = build_csr(m);
        std::vector<Csr> parts(4);
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] {
                const HeadMask copy = m;  // copies share the precomputed state
                parts[size_t(t)] = build_csr(t % 2 ? copy : m);
            });
        for (auto& th : threads)
            th.join();
        for (const auto& p : parts)
            CHECK(p == serial);
    }

    TEST_CASE("every preset parses, round-trips and builds every row") {
        int presets = 0;
        for (const auto& entry : std::filesystem::directory_iterator(
                 std::filesystem::path(SALAB_SOURCE_DIR) / "assets/presets")) {
            if (entry.path().extension() != ".json")
                continue;
            CAPTURE(entry.path().string());
            const Pattern p = load_pattern(entry.path().string());
            CHECK_FALSE(p.name.empty());
            CHECK_FALSE(p.description.empty());
            CHECK(p.description.find('\n') == std::string::npos);
            CHECK((p.n >= 1000 && p.n <= 4096));
            CHECK(parse_pattern(to_json(p)) == p);
            for (int l = 0; l < p.num_layers(); ++l) {
                const int heads = p.num_heads(l);
                const QKV qkv = p.needs_qk() ? make_qkv(heads, p.n, 64, 0) : QKV{};
                for (int h = 0; h < heads; ++h) {
                    const HeadMask m(p.layers[size_t(l)].heads[size_t(h)], p.n,
                                     p.needs_qk() ? head_qk(qkv, h, p.n, 64) : HeadQK{});
                    const Csr csr = build_csr(m);
                    CHECK(csr.nnz() > 0);
                    CHECK(csr.nnz() <= p.n * p.n);
                }
            }
            ++presets;
        }
        CHECK(presets >= 12);
    }

    TEST_CASE("component_row: each component's share of the row, their union is the row") {
        std::mt19937_64 rng(77);
        const int64_t n = 64;
        const QK qk = random_qk(rng, n, 4, false);
        for (bool causal : {false, true}) {
            const auto h = head_of(
                R"({"type": "window", "radius": 1}, {"type": "random", "per_query": 2, "seed": 1},
                                  {"type": "fixed", "block": 8, "summary": 1}, {"type": "topk", "k": 3},
                                  {"type": "lsh", "buckets": 4}, {"type": "global", "tokens": [9]})",
                causal);
            const HeadMask m(h, n, qk.view());
            CHECK(m.lsh_buckets(4, false).size() == size_t(n));
            CHECK(m.lsh_buckets(0, true).empty());
            for (int64_t i = 0; i < n; ++i) {
                std::set<int32_t> all;
                Keys part;
                for (size_t c = 0; c < h.components.size(); ++c) {
                    m.component_row(c, i, part);
                    CHECK(std::is_sorted(part.begin(), part.end()));
                    for (int32_t j : part) {
                        CHECK(((m.components_keeping(i, j) >> c) & 1u) != 0);
                        all.insert(j);
                    }
                }
                CHECK(Keys(all.begin(), all.end()) == row_of(m, i));
            }
        }
    }

    TEST_CASE("gaussian_tensor follows the documented counter-based generator") {
        const std::vector<float> a = gaussian_tensor(100000, 42);
        CHECK(a == gaussian_tensor(100000, 42));
        const std::vector<float> prefix = gaussian_tensor(10, 42);
        CHECK(std::equal(prefix.begin(), prefix.end(), a.begin()));
        CHECK(gaussian_tensor(10, 43) != prefix);
        for (uint64_t e : {0ull, 1ull, 977ull, 99999ull})
            CHECK(a[e] == float(o_gauss(o_mix(42), e)));
        double mean = 0, var = 0;
        for (float x : a)
            mean += x, var += double(x) * x;
        mean /= double(a.size());
        var = var / double(a.size()) - mean * mean;
        CHECK(std::abs(mean) < 0.02);
        CHECK(std::abs(var - 1.0) < 0.02);
        CHECK(gaussian_tensor(0, 1).empty());
    }

    TEST_CASE("make_qkv: gaussian is q = seed, k = seed + 1, v = seed + 2, structured looks like "
              "attention") {
        const QKV g = make_qkv(2, 10, 3, 7);
        CHECK(g.q == gaussian_tensor(60, 7));
        CHECK(g.k == gaussian_tensor(60, 8));
        CHECK(g.v == gaussian_tensor(60, 9));
        const HeadQK h1 = head_qk(g, 1, 10, 3);
        CHECK(h1.q.data() == g.q.data() + 30);
        CHECK(h1.q.size() == 30);
        CHECK(h1.d == 3);

        const int64_t n = 400, d = 64;
        const QKV s = make_qkv(4, n, d, 1, QkvSource::structured);
        CHECK(s.q == make_qkv(4, n, d, 1, QkvSource::structured).q);
        CHECK(s.q.size() == size_t(4 * n * d));
        CHECK(s.v == gaussian_tensor(4 * n * d, 3));
        for (int h = 0; h < 4; ++h) {
            CAPTURE(h);
            auto score = [&](int64_t i, int64_t j) {
                double dot = 0;
                for (int64_t a = 0; a < d; ++a)
                    dot += double(s.q[size_t((h * n + i) * d + a)]) *
                           double(s.k[size_t((h * n + j) * d + a)]);
                return dot / std::sqrt(double(d));
            };
            double diag = 0, far = 0, sink = 0;
            for (int64_t i = 100; i < 300; ++i)
                diag += score(i, i), far += score(i, i - 97), sink += score(i, 0);
            CHECK(diag > far + 200 * 1.0);  // local: nearby keys score higher
            CHECK(sink > far + 200 * 1.0);  // key 0 is an attention sink
        }
    }

}  // TEST_SUITE
