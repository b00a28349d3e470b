// The calibrated structured source (compute/synthetic.h, source_stats.h): every head type lands
// in its documented ranges of sink mass, mass within 16 tokens and normalised entropy over sizes
// and seeds; the types differ as their names say; the source names parse; the output is
// deterministic.
#include "source_stats.h"
#include "synthetic.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>

using namespace salab;

TEST_SUITE("synthetic") {
    TEST_CASE("structured head types land in their calibrated ranges (causal, window 16)") {
        for (HeadType t : {HeadType::local, HeadType::sink, HeadType::broad}) {
            const QkvSource src = t == HeadType::local  ? QkvSource::structured_local
                                  : t == HeadType::sink ? QkvSource::structured_sink
                                                        : QkvSource::structured_broad;
            const TypeTargets want = type_targets(t);
            for (int64_t n : {256, 1024, 4096}) {
                for (int64_t d : {32, 64, 128}) {
                    if (n == 4096 && d != 64) continue;
                    const int heads = 2;
                    const QKV x = make_qkv(heads, n, d, uint64_t(n + d), src);
                    const SourceStats s = measure_source(x, heads, n, d, {.causal = true, .window = 16, .rows = 32});
                    for (int h = 0; h < heads; ++h) {
                        const HeadStats& hs = s.heads[size_t(h)];
                        const std::string type = to_string(t);
                        CAPTURE(type);
                        CAPTURE(n);
                        CAPTURE(d);
                        CAPTURE(h);
                        CAPTURE(describe(hs, 16));
                        MESSAGE(std::string(to_string(t)), " n=", n, " d=", d, " h=", h, ": ", describe(hs, 16));
                        CHECK(want.sink_mass.contains(hs.sink_mass));
                        CHECK(want.local_mass.contains(hs.local_mass));
                        CHECK(want.entropy_norm.contains(hs.entropy_norm));
                    }
                }
            }
        }
    }
}

TEST_SUITE("synthetic") {
    TEST_CASE("structured source: mixed heads cycle sink, local, sink, broad, names parse, output is deterministic") {
        CHECK(head_type(QkvSource::structured, 0) == HeadType::sink);
        CHECK(head_type(QkvSource::structured, 1) == HeadType::local);
        CHECK(head_type(QkvSource::structured, 3) == HeadType::broad);
        CHECK(head_type(QkvSource::structured_broad, 0) == HeadType::broad);
        for (QkvSource s : {QkvSource::gaussian, QkvSource::structured, QkvSource::npy, QkvSource::structured_local,
                            QkvSource::structured_sink, QkvSource::structured_broad}) {
            QkvSource back{};
            REQUIRE(parse_qkv_source(to_string(s), back));
            CHECK(back == s);
        }
        QkvSource x{};
        CHECK(parse_qkv_source("synthetic", x));
        CHECK(x == QkvSource::structured);
        CHECK_FALSE(parse_qkv_source("sinks", x));
        const QKV a = make_qkv(4, 300, 64, 9, QkvSource::structured),
                  b = make_qkv(4, 300, 64, 9, QkvSource::structured);
        CHECK(a.q == b.q);
        CHECK(a.k == b.k);
        // Each head of the mixed source measures as its type does.
        const SourceStats st = measure_source(a, 4, 300, 64);
        for (int h = 0; h < 4; ++h) {
            const TypeTargets want = type_targets(head_type(QkvSource::structured, h));
            CAPTURE(h);
            CHECK(want.sink_mass.contains(st.heads[size_t(h)].sink_mass));
            CHECK(want.entropy_norm.contains(st.heads[size_t(h)].entropy_norm));
        }
        // Tiny and odd head dimensions still give finite data.
        for (int64_t d : {1, 2, 3, 7}) {
            const QKV t = make_qkv(1, 20, d, 1, QkvSource::structured);
            for (float v : t.k) CHECK(std::isfinite(v));
        }
        CHECK_THROWS_AS(measure_source(a, 4, 301, 64), InputError);
    }
}

#include "compare.h"

TEST_SUITE("synthetic") {
    TEST_CASE("calibrated source: keeping the sinks keeps most of the mass, as the literature says") {
        auto kept = [](const std::string& components, int64_t n, QkvSource src, bool causal) {
            const Pattern p = parse_pattern(R"({"name":"p","n":)" + std::to_string(n) + R"(,"causal":)" +
                                            (causal ? "true" : "false") + R"(,"components":[)" + components + "]}");
            ProblemOptions po;
            po.d = 64;
            po.seed = 3;
            po.source = src;
            CompareOptions o;
            o.hops = false;
            return pattern_stats(prepare_problem(p, po), o).kept_mass;
        };
        const std::string window = R"({"type":"window","radius":32})";
        const std::string sinks = R"({"type":"global","first":4})";
        for (bool causal : {true, false}) {
            CAPTURE(causal);
            // Sink-heavy heads: a window plus 4 sink tokens keeps most of the dense mass, far more
            // than the window alone.
            const double ws = kept(window + "," + sinks, 1024, QkvSource::structured_sink, causal);
            const double w = kept(window, 1024, QkvSource::structured_sink, causal);
            CHECK(ws > 0.75);
            CHECK(ws > w + 0.25);
            // Local heads: the window alone already keeps most of it.
            CHECK(kept(window, 1024, QkvSource::structured_local, causal) > 0.6);
            // Broad heads: a window keeps little; sparse patterns are honestly bad there.
            CHECK(kept(window + "," + sinks, 1024, QkvSource::structured_broad, causal) < 0.5);
        }
        // The illustrated hybrid (window 4, globals every 250, 2 random) on the default mix keeps far
        // more than Gaussian Q/K would suggest, and more than a window of the same key count.
        const std::string hybrid =
            R"({"type":"window","radius":4},{"type":"global","every":250},{"type":"random","per_query":2,"seed":1})";
        const double h = kept(hybrid, 1000, QkvSource::structured, false);
        CHECK(h > 0.5);
        CHECK(h > kept(R"({"type":"window","radius":7})", 1000, QkvSource::structured, false));
        CHECK(h > 2 * kept(hybrid, 1000, QkvSource::gaussian, false));
    }
}
