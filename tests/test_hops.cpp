// Hop analysis against a plain per-source, step-by-step BFS oracle, plus the exact theory
// cases of DESIGN.md (window, global, Sparse Transformer strided) and stacks of differing
// layers. Csr are built by hand here so that the engine is tested on its own.
#include "hops.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <random>

using namespace salab;

namespace {

Csr csr_from(int64_t n, const std::function<bool(int64_t, int64_t)>& keep) {
    Csr c;
    c.n = n;
    c.row_ptr.push_back(0);
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < n; ++j)
            if (keep(i, j))
                c.cols.push_back(static_cast<int32_t>(j));
        c.row_ptr.push_back(static_cast<int64_t>(c.cols.size()));
    }
    return c;
}

// Window of radius w without building n x n (large n).
Csr window_csr(int64_t n, int64_t w, bool causal = false) {
    Csr c;
    c.n = n;
    c.row_ptr.push_back(0);
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = std::max<int64_t>(0, i - w); j <= (causal ? i : std::min(n - 1, i + w));
             ++j)
            c.cols.push_back(static_cast<int32_t>(j));
        c.row_ptr.push_back(static_cast<int64_t>(c.cols.size()));
    }
    return c;
}

Csr global0_csr(int64_t n) {
    return csr_from(n, [](int64_t i, int64_t j) { return i == 0 || j == 0; });
}

// hops[j][i] = hops(j -> i), -1 when not reached within cap: a BFS by steps, one source at a
// time, straight from the heads' rows (no union, no bitsets, no dirty lists).
std::vector<std::vector<int>> oracle_hops(const HopsStack& stack, int64_t cap) {
    const int64_t n = stack[0][0].n;
    const auto layers = static_cast<int64_t>(stack.size());
    std::vector<std::vector<int>> hops(n, std::vector<int>(n, -1));
    for (int64_t s = 0; s < n; ++s) {
        std::vector<char> reached(n, 0);
        reached[s] = 1;
        hops[s][s] = 0;
        int64_t idle = 0, count = 1;
        for (int64_t step = 1; step <= cap && count < n && idle < layers; ++step) {
            const auto& heads = stack[(step - 1) % layers];
            std::vector<char> next = reached;
            bool grew = false;
            for (int64_t i = 0; i < n; ++i) {
                if (reached[i])
                    continue;
                for (const Csr& h : heads)
                    for (int64_t k = h.row_ptr[i]; k < h.row_ptr[i + 1]; ++k)
                        if (reached[h.cols[k]])
                            next[i] = 1;
                if (next[i]) {
                    hops[s][i] = static_cast<int>(step);
                    grew = true;
                    ++count;
                }
            }
            reached = std::move(next);
            idle = grew ? 0 : idle + 1;
        }
    }
    return hops;
}

struct Expected {
    int64_t required = 0, unreachable = 0;
    std::optional<int> diameter;
    double mean = 0;
    std::vector<int64_t> reached_within; // [k]: pairs with hops <= k, k >= 1
    std::vector<int> eccentricity;
    int last = 0;
};

Expected expect(const std::vector<std::vector<int>>& hops, const std::vector<int32_t>& sources,
                bool causal) {
    const auto n = static_cast<int64_t>(hops.size());
    Expected e;
    e.eccentricity.assign(n, 0);
    int64_t sum = 0, reached = 0;
    std::vector<int64_t> at;
    for (int32_t j : sources)
        for (int64_t i = 0; i < n; ++i) {
            if (i == j || (causal && j > i))
                continue;
            ++e.required;
            const int h = hops[j][i];
            if (h < 0) {
                ++e.unreachable;
                e.eccentricity[i] = -1;
                continue;
            }
            ++reached;
            sum += h;
            e.last = std::max(e.last, h);
            if (e.eccentricity[i] >= 0)
                e.eccentricity[i] = std::max(e.eccentricity[i], h);
            if (at.size() <= static_cast<size_t>(h))
                at.resize(h + 1, 0);
            ++at[h];
        }
    if (e.unreachable == 0)
        e.diameter = e.last;
    e.mean = reached ? static_cast<double>(sum) / static_cast<double>(reached) : 0.0;
    e.reached_within.assign(std::max<size_t>(at.size(), 2), 0);
    for (size_t k = 1; k < e.reached_within.size(); ++k)
        e.reached_within[k] = e.reached_within[k - 1] + (k < at.size() ? at[k] : 0);
    return e;
}

void check_report(const HopsReport& r, const Expected& e) {
    CHECK(r.required_pairs == e.required);
    CHECK(r.unreachable_pairs == e.unreachable);
    CHECK(r.diameter == e.diameter);
    CHECK(r.mean_hops == doctest::Approx(e.mean));
    CHECK(r.eccentricity == e.eccentricity);
    if (!r.capped) {
        REQUIRE(r.reach_after_layers.size() == static_cast<size_t>(std::max(1, e.last)));
    }
    for (size_t k = 1; k <= r.reach_after_layers.size(); ++k) {
        const int64_t within = e.reached_within[std::min(k, e.reached_within.size() - 1)];
        const double f =
            e.required ? static_cast<double>(within) / static_cast<double>(e.required) : 1.0;
        CHECK(r.reach_after_layers[k - 1] == doctest::Approx(f));
    }
}

std::vector<int32_t> all_tokens(int64_t n) {
    std::vector<int32_t> v(n);
    for (int64_t i = 0; i < n; ++i)
        v[i] = static_cast<int32_t>(i);
    return v;
}

// A random head: a few keys per row (sometimes none), unsorted with duplicates, some self
// edges; causal heads keep j <= i.
Csr random_head(std::mt19937_64& rng, int64_t n, bool causal) {
    std::uniform_real_distribution<double> u(0, 1);
    const double mean_keys = u(rng) * u(rng) * 4.0;
    const double empty_rows = u(rng) < 0.3 ? u(rng) * 0.5 : 0.0;
    Csr c;
    c.n = n;
    c.row_ptr.push_back(0);
    for (int64_t i = 0; i < n; ++i) {
        if (u(rng) >= empty_rows) {
            std::poisson_distribution<int> keys(mean_keys);
            const int k = keys(rng);
            for (int x = 0; x < k; ++x) {
                const int64_t hi = causal ? i : n - 1;
                std::uniform_int_distribution<int64_t> pick(0, hi);
                const int64_t j = u(rng) < 0.5 ? std::clamp<int64_t>(i + (x % 3) - 1, 0, hi)
                                               : pick(rng); // local and long-range keys
                c.cols.push_back(static_cast<int32_t>(j));
            }
        }
        c.row_ptr.push_back(static_cast<int64_t>(c.cols.size()));
    }
    return c;
}

HopsStack random_stack(std::mt19937_64& rng, int64_t n, bool& all_causal) {
    std::uniform_int_distribution<int> pick(1, 3);
    const int distinct = pick(rng);
    const int repeats = std::uniform_int_distribution<int>(1, 2)(rng);
    HopsStack base;
    all_causal = true;
    for (int l = 0; l < distinct; ++l) {
        std::vector<Csr> heads;
        const int h = pick(rng);
        for (int x = 0; x < h; ++x) {
            const bool causal = std::uniform_int_distribution<int>(0, 2)(rng) != 0;
            all_causal &= causal;
            heads.push_back(random_head(rng, n, causal));
        }
        base.push_back(std::move(heads));
    }
    HopsStack stack;
    for (int r = 0; r < repeats; ++r) // [A, B, A, B] must behave as [A, B]
        stack.insert(stack.end(), base.begin(), base.end());
    return stack;
}

} // namespace

TEST_SUITE("hops") {

    TEST_CASE("engine matches a per-source BFS on random stacks") {
        std::mt19937_64 rng(20240605);
        for (int trial = 0; trial < 400; ++trial) {
            const int64_t n =
                trial < 8 ? trial + 1 : std::uniform_int_distribution<int64_t>(1, 80)(rng);
            bool all_causal = false;
            const HopsStack stack = random_stack(rng, n, all_causal);
            const bool causal = all_causal || trial % 4 == 0; // also causal_pairs on non-causal
            CAPTURE(trial);
            CAPTURE(n);
            CAPTURE(stack.size());
            CAPTURE(causal);
            const HopsGraph g(stack);
            const auto hops = oracle_hops(stack, std::max<int64_t>(4, g.period()) * n);

            HopsOptions opts;
            opts.threads = 1 + trial % 3;
            const HopsReport r = analyze_hops(g, causal, opts);
            CHECK(r.exact);
            CHECK(r.sources == n);
            CHECK(!r.capped);
            CHECK(!r.cancelled);
            CHECK(r.stack_layers == static_cast<int>(stack.size()));
            check_report(r, expect(hops, all_tokens(n), causal));

            // Sampled sources: the same numbers over the sampled pairs only.
            HopsOptions sampled = opts;
            sampled.exact_threshold = 0;
            sampled.sample_sources = std::max<int64_t>(1, n / 3);
            sampled.seed = static_cast<uint64_t>(trial);
            const HopsReport rs = analyze_hops(g, causal, sampled);
            if (sampled.sample_sources < n) {
                CHECK(!rs.exact);
                CHECK(rs.sources == sampled.sample_sources);
                REQUIRE(rs.source_tokens.size() == static_cast<size_t>(rs.sources));
                CHECK(std::is_sorted(rs.source_tokens.begin(), rs.source_tokens.end()));
                check_report(rs, expect(hops, rs.source_tokens, causal));
            }

            // The hop map of a few tokens.
            for (int64_t t : {int64_t{0}, n / 2, n - 1}) {
                const TokenHops th = token_hops(g, t, opts);
                std::vector<int> to(n);
                for (int64_t j = 0; j < n; ++j)
                    to[j] = hops[j][t];
                CHECK(th.from == hops[t]);
                CHECK(th.to == to);
                CHECK(!th.capped);
            }
        }
    }

    TEST_CASE("a small step cap counts later pairs as unreachable") {
        std::mt19937_64 rng(7);
        for (int trial = 0; trial < 120; ++trial) {
            const int64_t n = std::uniform_int_distribution<int64_t>(2, 60)(rng);
            bool all_causal = false;
            const HopsStack stack = random_stack(rng, n, all_causal);
            const int64_t cap = std::uniform_int_distribution<int64_t>(1, 6)(rng);
            CAPTURE(trial);
            const HopsGraph g(stack);
            const auto full = oracle_hops(stack, std::max<int64_t>(4, g.period()) * n);
            const auto capped = oracle_hops(stack, cap);
            HopsOptions opts;
            opts.max_layers = cap;
            const HopsReport r = analyze_hops(g, all_causal, opts);
            CHECK(r.layers_cap == cap);
            check_report(r, expect(capped, all_tokens(n), all_causal));
            bool later = false; // some pair needs more than cap steps
            for (int64_t j = 0; j < n; ++j)
                for (int64_t i = 0; i < n; ++i)
                    later |= full[j][i] > cap && (!all_causal || j <= i);
            if (later)
                CHECK(r.capped);
            if (r.capped)
                CHECK(r.reach_after_layers.size() == static_cast<size_t>(cap));
            const TokenHops th = token_hops(g, n / 2, opts);
            CHECK(th.from == capped[n / 2]);
            for (int64_t j = 0; j < n; ++j)
                CHECK(th.to[j] == capped[j][n / 2]);
        }
    }

    TEST_CASE("window of radius w: diameter ceil((n - 1) / w)") {
        for (int64_t n : {1, 2, 3, 7, 16, 33, 100, 257}) {
            for (int64_t w : {1, 2, 3, 5, 8, 40}) {
                for (bool causal : {false, true}) {
                    CAPTURE(n);
                    CAPTURE(w);
                    CAPTURE(causal);
                    const HopsReport r =
                        analyze_hops(HopsStack{{window_csr(n, w, causal)}}, causal);
                    const int64_t expected = (n - 1 + w - 1) / w;
                    REQUIRE(r.diameter.has_value());
                    CHECK(*r.diameter == expected);
                    CHECK(theory_diameter_window(n, w) == expected);
                    CHECK(r.unreachable_pairs == 0);
                    CHECK(r.reach_after_layers.back() == doctest::Approx(1.0));
                    // The last token hears from token 0 last.
                    CHECK(r.eccentricity[n - 1] == expected);
                }
            }
        }
        // Radius 0: nothing moves.
        const HopsReport r = analyze_hops(HopsStack{{window_csr(9, 0)}}, false);
        CHECK(!r.diameter.has_value());
        CHECK(r.unreachable_pairs == 9 * 8);
        CHECK(theory_diameter_window(9, 0) == std::nullopt);
        CHECK(std::all_of(r.eccentricity.begin(), r.eccentricity.end(),
                          [](int e) { return e == -1; }));
    }

    TEST_CASE("one global token plus window radius 0: diameter 2") {
        for (int64_t n = 1; n <= 40; ++n) {
            CAPTURE(n);
            const HopsStack stack{{global0_csr(n), window_csr(n, 0)}};
            const HopsReport r = analyze_hops(stack, false);
            REQUIRE(r.diameter.has_value());
            CHECK(*r.diameter == (n >= 3 ? 2 : n - 1));
            CHECK(r.eccentricity[0] == (n >= 2 ? 1 : 0));
            if (n >= 3) {
                // Pairs through token 0: 2 (n - 1) direct, the rest 2 hops.
                const double direct = 2.0 * static_cast<double>(n - 1);
                const double pairs = static_cast<double>(n * (n - 1));
                CHECK(r.reach_after_layers[0] == doctest::Approx(direct / pairs));
                CHECK(r.mean_hops == doctest::Approx((direct + 2 * (pairs - direct)) / pairs));
            }
        }
    }

    TEST_CASE("causal strided (Sparse Transformer): every earlier token within 2") {
        for (int64_t l = 2; l <= 9; ++l) {
            for (int64_t n : {l, l * l - 1, l * l}) {
                CAPTURE(l);
                CAPTURE(n);
                const Csr local =
                    csr_from(n, [&](int64_t i, int64_t j) { return j <= i && i - j < l; });
                const Csr stride =
                    csr_from(n, [&](int64_t i, int64_t j) { return j <= i && (i - j) % l == 0; });
                const Csr both = csr_from(n, [&](int64_t i, int64_t j) {
                    return j <= i && (i - j < l || (i - j) % l == 0);
                });
                for (const HopsStack& stack : {HopsStack{{local, stride}}, HopsStack{{both}}}) {
                    const HopsReport r = analyze_hops(stack, true);
                    CHECK(r.unreachable_pairs == 0);
                    REQUIRE(r.diameter.has_value());
                    CHECK(*r.diameter <= 2);
                    bool all_direct = true; // every earlier token a key of every query
                    for (int64_t i = 0; i < n; ++i)
                        for (int64_t j = 0; j < i; ++j)
                            all_direct &= i - j < l || (i - j) % l == 0;
                    CHECK(*r.diameter == (all_direct ? 1 : 2));
                    CHECK(r.required_pairs == n * (n - 1) / 2);
                    const TokenHops th = token_hops(HopsGraph(stack), n - 1);
                    for (int64_t j = 0; j < n; ++j) {
                        CHECK(th.to[j] >= 0);
                        CHECK(th.to[j] <= 2);
                    }
                    // Causal: nothing flows back.
                    CHECK(std::count(th.from.begin(), th.from.end(), -1) == n - 1);
                }
            }
        }
    }

    TEST_CASE("isolated and sink tokens are unreachable with the right count") {
        const int64_t n = 12, k = 5;
        // Global token 0 (without k) + nothing else: k neither reads nor is read.
        const Csr isolated = csr_from(
            n, [&](int64_t i, int64_t j) { return (i == 0 || j == 0) && i != k && j != k; });
        HopsReport r = analyze_hops(HopsStack{{isolated}}, false);
        CHECK(!r.diameter.has_value());
        CHECK(r.unreachable_pairs == 2 * (n - 1));
        CHECK(r.required_pairs == n * (n - 1));
        CHECK(r.mean_hops > 1.0);
        // Everyone misses k, and k misses everyone: no token has a finite eccentricity.
        CHECK(std::count(r.eccentricity.begin(), r.eccentricity.end(), -1) == n);
        const nlohmann::json js = nlohmann::json::parse(to_json(r));
        CHECK(js["diameter"].is_null());
        CHECK(js["unreachable_pairs"] == 2 * (n - 1));
        CHECK(js["eccentricity"]["min"].is_null());
        CHECK(js["eccentricity"]["unreachable_tokens"] == n);

        // k reads token 0 but nobody reads k: only pairs (k -> i), i != k, are missing.
        const Csr sink = csr_from(
            n, [&](int64_t i, int64_t j) { return (j == 0 && i != 0) || (i == 0 && j != k); });
        r = analyze_hops(HopsStack{{sink}}, false);
        CHECK(r.unreachable_pairs == n - 1);
        CHECK(r.eccentricity[k] == 2);
        CHECK(std::count(r.eccentricity.begin(), r.eccentricity.end(), -1) == n - 1);
        const TokenHops th = token_hops(HopsGraph(sink), k);
        CHECK(std::count(th.from.begin(), th.from.end(), -1) == n - 1);
        CHECK(th.to[0] == 1);

        // Everything empty, and n = 1.
        r = analyze_hops(HopsStack{{csr_from(4, [](int64_t, int64_t) { return false; })}}, false);
        CHECK(r.unreachable_pairs == 12);
        CHECK(r.reach_after_layers == std::vector<double>{0.0});
        r = analyze_hops(HopsStack{{csr_from(1, [](int64_t, int64_t) { return true; })}}, true);
        CHECK(r.diameter == 0);
        CHECK(r.required_pairs == 0);
        CHECK(r.reach_after_layers == std::vector<double>{1.0});
        CHECK(r.eccentricity == std::vector<int>{0});
    }

    TEST_CASE("stacks of differing layers: order matters, and the stack cycles") {
        const int64_t n = 8;
        const Csr window = window_csr(n, 1), global = global0_csr(n);
        // Hand computed. [window, global]: step 1 gives {i-1, i, i+1}; step 2 gives token 0
        // everything and every token {0, 1}; step 3 gives token 1 everything; step 4 everyone.
        HopsReport r = analyze_hops(HopsStack{{window}, {global}}, false);
        CHECK(r.diameter == 4);
        CHECK(r.eccentricity[0] == 2);
        CHECK(r.eccentricity[1] == 3);
        CHECK(r.eccentricity[7] == 4);
        CHECK(r.reach_after_layers.size() == 4);
        // [global, window]: step 1 gives token 0 everything; step 2 gives token 1 everything;
        // step 3 (global again: cycled) gives everyone everything.
        r = analyze_hops(HopsStack{{global}, {window}}, false);
        CHECK(r.diameter == 3);
        CHECK(r.eccentricity[0] == 1);
        CHECK(r.eccentricity[1] == 2);
        CHECK(r.eccentricity[5] == 3);
        // The flat union of both: 2.
        r = analyze_hops(HopsStack{{window, global}}, false);
        CHECK(r.diameter == 2);

        // [window radius 1, nothing]: distance d is crossed at step 2d - 1.
        const Csr none = csr_from(10, [](int64_t, int64_t) { return false; });
        r = analyze_hops(HopsStack{{window_csr(10, 1)}, {none}}, false);
        CHECK(r.diameter == 2 * 9 - 1);
        CHECK(r.layers_cap == 4 * 10);
        CHECK(!r.capped);
        // 12 equal layers are one graph.
        CHECK(HopsGraph(HopsStack(12, {window})).period() == 1);
        CHECK(HopsGraph(HopsStack{{window}, {global}, {window}, {global}}).period() == 2);
    }

    TEST_CASE("sampled mode on n = 5000") {
        const int64_t n = 5000, w = 16;
        const HopsGraph g(HopsStack{{window_csr(n, w)}});
        const HopsReport r = analyze_hops(g, false);
        CHECK(!r.exact);
        CHECK(r.sources == 256);
        REQUIRE(r.source_tokens.size() == 256);
        CHECK(r.unreachable_pairs == 0);
        CHECK(r.required_pairs == 256 * (n - 1));
        // The diameter over sampled sources is exactly the farthest reach of those sources.
        int64_t expected = 0;
        for (int32_t s : r.source_tokens)
            expected = std::max({expected, (s + w - 1) / w, (n - 1 - s + w - 1) / w});
        REQUIRE(r.diameter.has_value());
        CHECK(*r.diameter == expected);
        CHECK(*r.diameter <= *theory_diameter_window(n, w));
        CHECK(*r.diameter >= (n - 1) / 2 / w);
        // Deterministic for a seed.
        CHECK(analyze_hops(g, false).source_tokens == r.source_tokens);

        HopsOptions exact;
        exact.exact_threshold = n;
        const HopsReport e = analyze_hops(g, false, exact);
        CHECK(e.exact);
        CHECK(e.diameter == theory_diameter_window(n, w));
        CHECK(*r.diameter <= *e.diameter);
    }

    TEST_CASE("cancellation, progress, options and bad input") {
        const HopsGraph g(HopsStack{{window_csr(700, 2)}});
        std::vector<double> seen;
        HopsOptions opts;
        opts.threads = 2;
        opts.progress = [&](double f) { seen.push_back(f); };
        const HopsReport r = analyze_hops(g, false, opts);
        CHECK(!r.cancelled);
        REQUIRE(!seen.empty());
        CHECK(std::is_sorted(seen.begin(), seen.end()));
        CHECK(seen.back() == doctest::Approx(1.0));

        std::stop_source stop;
        stop.request_stop();
        opts.stop = stop.get_token();
        CHECK(analyze_hops(g, false, opts).cancelled);
        CHECK(token_hops(g, 3, opts).cancelled);

        HopsOptions bad;
        bad.max_layers = -1;
        CHECK_THROWS_AS(analyze_hops(g, false, bad), std::invalid_argument);
        CHECK_THROWS_AS(token_hops(g, 700), std::out_of_range);
        CHECK_THROWS_AS(HopsGraph(HopsStack{}), std::invalid_argument);
        CHECK_THROWS_AS(HopsGraph(HopsStack{{}}), std::invalid_argument);
        CHECK_THROWS_AS(HopsGraph(HopsStack{{window_csr(5, 1), window_csr(6, 1)}}),
                        std::invalid_argument);
        Csr broken = window_csr(5, 1);
        broken.cols[3] = 5;
        CHECK_THROWS_AS(HopsGraph(HopsStack{{broken}}), std::invalid_argument);
        broken = window_csr(5, 1);
        broken.row_ptr.pop_back();
        CHECK_THROWS_AS(HopsGraph(HopsStack{{broken}}), std::invalid_argument);
    }

    TEST_CASE("to_json carries every field") {
        HopsOptions opts;
        opts.max_layers = 3;
        const HopsReport r = analyze_hops(HopsStack{{window_csr(20, 2)}}, false, opts);
        CHECK(r.capped);
        const nlohmann::json j = nlohmann::json::parse(to_json(r, true));
        for (const char* key :
             {"diameter", "unreachable_pairs", "mean_hops", "reach_after_layers", "exact",
              "sources", "n", "layers_cap", "capped", "eccentricity", "ms"})
            CHECK(j.contains(key));
        CHECK(j["diameter"].is_null());
        CHECK(j["layers_cap"] == 3);
        CHECK(j["capped"] == true);
        CHECK(j["reach_after_layers"].size() == 3);
        CHECK(j["eccentricity"]["values"].size() == 20);
        CHECK(!nlohmann::json::parse(to_json(r)).at("eccentricity").contains("values"));

        const HopsReport ok = analyze_hops(HopsStack{{window_csr(20, 2)}}, false);
        const nlohmann::json k = nlohmann::json::parse(to_json(ok));
        CHECK(k["diameter"] == 10);
        CHECK(k["eccentricity"]["max"] == 10);
        CHECK(k["eccentricity"]["min"] == 5);
        CHECK(k["eccentricity"]["unreachable_tokens"] == 0);
    }

} // TEST_SUITE("hops")
