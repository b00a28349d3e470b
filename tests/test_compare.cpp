// A/B compare (compute/compare.h): overlap counts against brute force, identical patterns,
// quality against the CPU oracle, and salab-cli compare --json.
#include "compare.h"
#include "figure.h"
#include "reference.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sys/wait.h>

using namespace salab;

namespace {

Pattern pattern(const std::string& components, int64_t n, bool causal = false) {
    return parse_pattern(R"({"name":"p","n":)" + std::to_string(n) + R"(,"causal":)" + (causal ? "true" : "false") +
                         R"(,"components":[)" + components + "]}");
}

Problem problem(const Pattern& p, int64_t d = 16) {
    ProblemOptions po;
    po.d = d;
    po.source = QkvSource::structured;
    return prepare_problem(p, po);
}

}  // namespace

TEST_SUITE("compare") {
    TEST_CASE("compare of identical patterns: no A-only or B-only pairs, every ratio 1") {
        const Pattern p = pattern(R"({"type":"window","radius":3},{"type":"random","per_query":2,"seed":5})", 150);
        const Problem a = problem(p), b = problem(p);
        const CompareReport r = compare_problems(a, b);
        CHECK(r.overlap.a_only == 0);
        CHECK(r.overlap.b_only == 0);
        CHECK(r.overlap.both == a.kept_pairs());
        CHECK(r.overlap.pairs == 150 * 150);
        CHECK(*ratio(r.a.density, r.b.density) == 1.0);
        CHECK(*ratio(r.a.kept_mass, r.b.kept_mass) == 1.0);
        CHECK(*ratio(double(r.a.kept_pairs), double(r.b.kept_pairs)) == 1.0);
        REQUIRE(r.a.hops);
        REQUIRE(r.b.hops);
        CHECK(r.a.hops->mean_hops == r.b.hops->mean_hops);
        const auto j = nlohmann::json::parse(to_json(r));
        CHECK(j["ratio_b_over_a"]["density"] == 1.0);
        CHECK(j["overlap"]["a_only"] == 0);
    }

    TEST_CASE("compare window inside window+globals: overlap counts are exact vs brute force") {
        for (int64_t n : {1, 2, 33, 97, 200}) {
            for (bool causal : {false, true}) {
                CAPTURE(n);
                CAPTURE(causal);
                const int64_t w = 4, e = 16;
                const Pattern pa = pattern(R"({"type":"window","radius":4})", n, causal);
                const Pattern pb = pattern(R"({"type":"window","radius":4},{"type":"global","every":16})", n, causal);
                HeadMask ma(pa.layers[0].heads[0], n), mb(pb.layers[0].heads[0], n);
                const MaskOverlap o = mask_overlap(ma, mb);
                int64_t a_only = 0, b_only = 0, both = 0;
                for (int64_t i = 0; i < n; ++i)
                    for (int64_t j = 0; j < n; ++j) {
                        const bool cut = causal && j > i;
                        const bool in_a = !cut && std::abs(i - j) <= w;
                        const bool in_b = !cut && (in_a || i % e == 0 || j % e == 0);
                        a_only += in_a && !in_b;
                        b_only += in_b && !in_a;
                        both += in_a && in_b;
                    }
                CHECK(o.a_only == a_only);
                CHECK(o.a_only == 0);
                CHECK(o.b_only == b_only);
                CHECK(o.both == both);
                const MaskOverlap back = mask_overlap(mb, ma);
                CHECK(back.a_only == b_only);
                CHECK(back.b_only == 0);
            }
        }
        HeadMask a(pattern(R"({"type":"window","radius":1})", 10).layers[0].heads[0], 10);
        HeadMask b(pattern(R"({"type":"window","radius":1})", 11).layers[0].heads[0], 11);
        CHECK_THROWS_AS(mask_overlap(a, b), InputError);
    }

    TEST_CASE("compare quality: kept mass and output error agree with the CPU oracle") {
        const int64_t n = 96, d = 16;
        const Pattern p = pattern(R"({"type":"window","radius":5},{"type":"global","first":2})", n);
        const Problem pr = problem(p, d);
        const PatternStats s = pattern_stats(pr);
        CHECK(s.rows_used == n);
        CHECK_FALSE(s.sampled);
        // Oracle: the sparse and dense outputs of reference_attention (head 0).
        std::vector<float> sparse(size_t(n * d)), dense(size_t(n * d));
        const std::span<const float> q(pr.qkv.q.data(), size_t(n * d)), k(pr.qkv.k.data(), size_t(n * d)),
            v(pr.qkv.v.data(), size_t(n * d));
        reference_attention(pr.mask(0), q, k, v, d, sparse);
        HeadMask full(pattern(R"({"type":"dense"})", n).layers[0].heads[0], n);
        reference_attention(full, q, k, v, d, dense);
        CHECK(s.output_error == doctest::Approx(relative_error(sparse, dense)).epsilon(1e-4));
        // Kept mass: a dense pattern keeps all of it, the sparse one strictly less.
        const PatternStats sd = pattern_stats(problem(pattern(R"({"type":"dense"})", n), d));
        CHECK(sd.kept_mass == doctest::Approx(1.0));
        CHECK(sd.output_error < 1e-6);
        CHECK(s.kept_mass > 0.0);
        CHECK(s.kept_mass < 1.0);
        // Sampled above the exact limit.
        CompareOptions o;
        o.exact_rows_up_to = 50;
        o.sample_rows = 10;
        const PatternStats ss = pattern_stats(pr, o);
        CHECK(ss.sampled);
        CHECK(ss.rows_used == 10);
    }
}

TEST_SUITE("compare") {
    TEST_CASE("compare figure: A, B and their overlap as three panels whose colours match the masks") {
        const int64_t n = 40;
        const Pattern pa = pattern(R"({"type":"window","radius":2})", n);
        const Pattern pb = pattern(R"({"type":"window","radius":1},{"type":"global","first":1})", n);
        const HeadMask a(pa.layers[0].heads[0], n), b(pb.layers[0].heads[0], n);
        const FigureSpec spec = compare_figure("win2", "win1+g", a, b, 40);
        REQUIRE(spec.panels.size() == 3);
        CHECK(spec.panels[0].title.find("A = win2") != std::string::npos);
        CHECK(spec.panels[1].title.find("B = win1+g") != std::string::npos);
        // One token per cell: the A and B panels are the masks, the third is the overlap class.
        const MaskOverlap o = mask_overlap(a, b);
        int64_t a_only = 0, b_only = 0, both = 0;
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < n; ++j) {
                const bool ka = std::abs(i - j) <= 2, kb = std::abs(i - j) <= 1 || i == 0 || j == 0;
                const Rgb8 ca = spec.panels[0].grid.colors[size_t(i * n + j)];
                const Rgb8 cb = spec.panels[1].grid.colors[size_t(i * n + j)];
                CHECK((ca == kEmptyRgb) == !ka);
                CHECK((cb == kEmptyRgb) == !kb);
                const Rgb8 c = spec.panels[2].grid.colors[size_t(i * n + j)];
                a_only += c == kCompareAOnlyRgb;
                b_only += c == kCompareBOnlyRgb;
                both += c == kCompareBothRgb;
                if (ka && kb) CHECK(c == kCompareBothRgb);
                else if (ka) CHECK(c == kCompareAOnlyRgb);
                else if (kb) CHECK(c == kCompareBOnlyRgb);
                else CHECK(c == kEmptyRgb);
            }
        CHECK(a_only == o.a_only);
        CHECK(b_only == o.b_only);
        CHECK(both == o.both);
        const Figure f = make_figure(spec);
        CHECK(f.plots.size() == 3);
        int legends = 0;
        for (const FigItem& it : f.items) legends += it.role == "legend" && it.text == "A only";
        CHECK(legends == 1);
        const HeadMask c(pa.layers[0].heads[0], n + 1);
        CHECK_THROWS_AS(compare_figure("a", "b", a, c, 40), InputError);
    }
}

TEST_SUITE("cli") {
    TEST_CASE("compare --json parses and bad input fails with one line") {
        const std::string dir = std::string(SALAB_SOURCE_DIR) + "/assets/presets/";
        auto run = [](const std::string& args, int& code) {
            std::string text;
            FILE* p = popen((std::string(SALAB_CLI) + " " + args).c_str(), "r");
            REQUIRE(p);
            char buf[4096];
            while (size_t k = fread(buf, 1, sizeof buf, p)) text.append(buf, k);
            const int st = pclose(p);
            code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            return text;
        };
        int code = -1;
        const std::string out = run("compare --a " + dir + "illustrated_hybrid.json --b " + dir +
                                    "bigbird.json --n 256 --no-time --json 2>/dev/null", code);
        CAPTURE(out);
        CHECK(code == 0);
        const auto j = nlohmann::json::parse(out);
        CHECK(j["a"]["n"] == 256);
        CHECK(j["b"]["n"] == 256);
        CHECK(j["overlap"]["a_only"].get<int64_t>() + j["overlap"]["both"].get<int64_t>() == j["a"]["kept_pairs"]);
        CHECK(j["overlap"]["b_only"].get<int64_t>() + j["overlap"]["both"].get<int64_t>() == j["b"]["kept_pairs"]);
        CHECK(j["ratio_b_over_a"]["density"].get<double>() ==
              doctest::Approx(j["b"]["density"].get<double>() / j["a"]["density"].get<double>()));
        const std::string text = run("compare --a " + dir + "illustrated_hybrid.json --b " + dir +
                                     "bigbird.json 2>&1", code);
        CAPTURE(text);
        CHECK(code != 0);
        CHECK(std::count(text.begin(), text.end(), '\n') == 1);
        CHECK(text.find("--n") != std::string::npos);
        const std::string missing = run("compare --a /no/such.json --b " + dir + "bigbird.json 2>&1", code);
        CHECK(code != 0);
        CHECK(std::count(missing.begin(), missing.end(), '\n') == 1);
    }
}
