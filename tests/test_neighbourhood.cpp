// The arc diagram's data: a token's neighbourhood against a brute-force BFS over kept(), and its
// aggregation into token bins (ranges exact at odd n, counts conserved).
#include "components.h"
#include "neighbourhood.h"

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <set>
#include <tuple>

using namespace salab;

namespace {

HeadPattern head_of(std::vector<Component> comps, bool causal = false) {
    HeadPattern h;
    h.causal = causal;
    h.components = std::move(comps);
    return h;
}

// Plain BFS over n x n kept() tests: the edges j -> i (i first reached at depth d - 1) as a set.
std::set<std::tuple<int, int32_t, int32_t>> brute_edges(const std::vector<HeadMask>& heads, int64_t tok, int depth) {
    const int64_t n = heads[0].n();
    std::vector<int> dist(size_t(n), -1);
    dist[size_t(tok)] = 0;
    std::set<std::tuple<int, int32_t, int32_t>> out;
    for (int d = 1; d <= depth; ++d)
        for (int64_t i = 0; i < n; ++i) {
            if (dist[size_t(i)] != d - 1) continue;
            for (int64_t j = 0; j < n; ++j) {
                if (j == i) continue;
                bool kept = false;
                for (const HeadMask& h : heads) kept = kept || h.kept(i, j);
                if (!kept) continue;
                out.insert({d, int32_t(j), int32_t(i)});
                if (dist[size_t(j)] < 0) dist[size_t(j)] = d;
            }
        }
    return out;
}

}  // namespace

TEST_CASE("token bins: contiguous near-equal ranges, exact at odd n") {
    const TokenBins b(7, 3);
    CHECK(b.bins() == 3);
    CHECK(b.start(0) == 0);
    CHECK(b.start(1) == 3);
    CHECK(b.start(2) == 5);
    CHECK(b.start(3) == 7);
    const int expect[7] = {0, 0, 0, 1, 1, 2, 2};
    for (int t = 0; t < 7; ++t) CHECK(b.bin_of(t) == expect[t]);
    CHECK(b.center(0) == doctest::Approx(1.0));
    CHECK(b.center(2) == doctest::Approx(5.5));

    CHECK(TokenBins(5, 100).bins() == 5);  // fewer tokens than bins: one token per bin
    CHECK(TokenBins(5, 0).bins() == 1);
    CHECK(TokenBins(1, 3).bins() == 1);

    for (int64_t n : {1, 2, 3, 7, 63, 64, 65, 999, 1000, 4095, 4096, 4097}) {
        for (int64_t max_bins : {1, 2, 3, 7, 200, 333, 5000}) {
            const TokenBins tb(n, max_bins);
            REQUIRE(tb.bins() == std::min(n, max_bins));
            CHECK(tb.start(0) == 0);
            CHECK(tb.start(tb.bins()) == n);
            int64_t lo = n, hi = 0;
            for (int bin = 0; bin < tb.bins(); ++bin) lo = std::min(lo, tb.size(bin)), hi = std::max(hi, tb.size(bin));
            CHECK(lo >= 1);
            CHECK(hi - lo <= 1);
            for (int64_t t = 0; t < n; ++t) {
                const int bin = tb.bin_of(t);
                REQUIRE(bin >= 0);
                REQUIRE(bin < tb.bins());
                CHECK(tb.start(bin) <= t);
                CHECK(t < tb.start(bin + 1));
            }
        }
    }
}

TEST_CASE("bin_arcs: counts conserved per depth and bin pair, heaviest first") {
    std::mt19937 rng(5);
    for (int64_t n : {1, 7, 1000, 4096}) {
        std::uniform_int_distribution<int32_t> tok(0, int32_t(n - 1));
        std::vector<NeighbourhoodEdge> edges;
        for (int k = 0; k < 3000; ++k) edges.push_back({tok(rng), tok(rng), 1 + k % 3, k % 5 == 0 ? 1 : 0});
        for (int64_t max_bins : {1, 3, 199, 600, 5000}) {
            const TokenBins tb(n, max_bins);
            const std::vector<BinnedArc> arcs = bin_arcs(edges, tb);
            std::map<std::tuple<int, int, int, int>, int64_t> want, got;
            for (const NeighbourhoodEdge& e : edges) ++want[{e.depth, tb.bin_of(e.from), tb.bin_of(e.to), e.component}];
            int64_t total = 0;
            for (size_t k = 0; k < arcs.size(); ++k) {
                const BinnedArc& a = arcs[k];
                CHECK(a.count >= 1);
                total += a.count;
                CHECK(got.count({a.depth, a.from_bin, a.to_bin, a.component}) == 0);  // each key once
                got[{a.depth, a.from_bin, a.to_bin, a.component}] = a.count;
                if (k > 0) {
                    const BinnedArc& p = arcs[k - 1];
                    CHECK((p.depth < a.depth || (p.depth == a.depth && p.count >= a.count)));
                }
            }
            CHECK(total == int64_t(edges.size()));
            CHECK(got == want);
        }
    }
    CHECK_THROWS_AS(bin_arcs(std::vector<NeighbourhoodEdge>{{0, 7, 1, 0}}, TokenBins(7, 3)), std::out_of_range);
    CHECK(bin_arcs({}, TokenBins(7, 3)).empty());
}

TEST_CASE("token neighbourhood: the edges of a brute-force BFS, heads united") {
    SUBCASE("window radius 1, depth 2, by hand") {
        const std::vector<HeadMask> heads{HeadMask(head_of({test::window(1)}), 10)};
        const Neighbourhood nb = token_neighbourhood(heads, 5, 2);
        CHECK_FALSE(nb.truncated);
        const std::vector<NeighbourhoodEdge> want{{4, 5, 1, 0}, {6, 5, 1, 0}, {3, 4, 2, 0},
                                                  {5, 4, 2, 0}, {5, 6, 2, 0}, {7, 6, 2, 0}};
        CHECK(nb.edges == want);
    }
    SUBCASE("sweep against kept(): odd n, causal, two heads, global and random keys") {
        for (int64_t n : {1, 2, 13, 64, 97}) {
            const std::vector<HeadMask> heads{HeadMask(head_of({test::window(2), test::random_keys(2, 3)}, true), n),
                                              HeadMask(head_of({test::global_first(1), test::window(1)}), n)};
            for (int64_t tok : {int64_t(0), n / 2, n - 1}) {
                for (int depth = 1; depth <= 3; ++depth) {
                    const Neighbourhood nb = token_neighbourhood(heads, tok, depth);
                    CHECK_FALSE(nb.truncated);
                    std::set<std::tuple<int, int32_t, int32_t>> got;
                    for (const NeighbourhoodEdge& e : nb.edges) {
                        CHECK(got.insert({e.depth, e.from, e.to}).second);  // no edge twice
                        // Credited to the first head that keeps it, lowest component.
                        const uint32_t b0 = heads[0].components_keeping(e.to, e.from);
                        const uint32_t bits = b0 ? b0 : heads[1].components_keeping(e.to, e.from);
                        REQUIRE(bits != 0);
                        CHECK((bits & (1u << e.component)) != 0);
                        CHECK((bits & ((1u << e.component) - 1)) == 0);
                    }
                    CHECK(got == brute_edges(heads, tok, depth));
                }
            }
        }
    }
    SUBCASE("truncated at max_edges; out-of-range token: empty") {
        const std::vector<HeadMask> heads{HeadMask(head_of({test::global_first(1)}), 50)};
        const Neighbourhood nb = token_neighbourhood(heads, 0, 2, 10);
        CHECK(nb.truncated);
        CHECK(nb.edges.size() == 10);
        CHECK(token_neighbourhood(heads, 50, 2).edges.empty());
        CHECK(token_neighbourhood(heads, -1, 2).edges.empty());
        CHECK(token_neighbourhood({}, 0, 2).edges.empty());
    }
}
