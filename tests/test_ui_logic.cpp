// View-independent logic of the GUI: zoom maths, mask aggregation, colour scales, plot ticks,
// sessions. No window, no GPU.
#ifdef SALAB_HAVE_UI

#include <doctest/doctest.h>

#include "mask_image.h"
#include "colormap.h"
#include "hop_view.h"
#include "plot.h"
#include "presets.h"
#include "live_types.h"
#include "session.h"
#include "timing_view.h"
#include "zoom.h"
#include "format.h"
#include "palette.h"

#include <cmath>

using namespace salab;
using namespace salab::ui;

namespace {

HeadPattern window_head(int64_t radius, bool causal = false) {
    HeadPattern h;
    h.causal = causal;
    Component c;
    c.type = ComponentType::window;
    c.radius = radius;
    h.components = {c};
    return h;
}

float luminance(ImU32 c) {
    return 0.299f * float(c & 0xff) + 0.587f * float((c >> 8) & 0xff) + 0.114f * float((c >> 16) & 0xff);
}

}  // namespace

TEST_SUITE("ui") {

TEST_CASE("zoom: fit centres the matrix and maps both ways") {
    const ZoomTransform t = ZoomTransform::fit(1000, 600, 400);
    CHECK(t.tokens_per_px == doctest::Approx(2.5));
    CHECK(t.to_px_y(0) == doctest::Approx(0));
    CHECK(t.to_px_y(1000) == doctest::Approx(400));
    CHECK(t.to_px_x(0) == doctest::Approx(100));  // (600 - 400) / 2
    CHECK(t.to_token_x(t.to_px_x(123.4)) == doctest::Approx(123.4));
    CHECK(t.shows_all(1000, 600, 400));
    const TokenRect r = t.visible(1000, 600, 400);
    CHECK(r == TokenRect{0, 0, 1000, 1000});
}

TEST_CASE("zoom: zoom_at keeps the token under the cursor") {
    ZoomTransform t = ZoomTransform::fit(4096, 512, 512);
    const double px = 137, py = 301;
    const double tx = t.to_token_x(px), ty = t.to_token_y(py);
    t.zoom_at(px, py, 4.0, 4096, 512, 512);
    CHECK(t.tokens_per_px == doctest::Approx(2.0));
    CHECK(t.to_token_x(px) == doctest::Approx(tx));
    CHECK(t.to_token_y(py) == doctest::Approx(ty));
    CHECK_FALSE(t.shows_all(4096, 512, 512));
    // Clamped: never beyond 64 px per token, never further out than twice the fit.
    for (int i = 0; i < 50; ++i) t.zoom_at(px, py, 2.0, 4096, 512, 512);
    CHECK(t.tokens_per_px == doctest::Approx(1.0 / 64.0));
    for (int i = 0; i < 50; ++i) t.zoom_at(px, py, 0.5, 4096, 512, 512);
    CHECK(t.tokens_per_px == doctest::Approx(16.0));
}

TEST_CASE("zoom: visible region is clipped to the matrix and image size capped") {
    ZoomTransform t;
    t.x0 = -10.5;
    t.y0 = 90.2;
    t.tokens_per_px = 0.5;
    const TokenRect r = t.visible(100, 100, 100);
    CHECK(r.col0 == 0);
    CHECK(r.cols == 40);  // ceil(-10.5 + 50)
    CHECK(r.row0 == 90);
    CHECK(r.rows == 10);
    const PixelSize s = image_size_for(t, r, 1024);
    CHECK(s.w == 80);
    CHECK(s.h == 20);
    ZoomTransform far = ZoomTransform::fit(65536, 800, 800);
    const PixelSize big = image_size_for(far, far.visible(65536, 800, 800), 512);
    CHECK(big.w == 512);
}

TEST_CASE("aggregate: cells partition the region") {
    for (int64_t len : {1, 7, 64, 1000})
        for (int64_t count : {int64_t(1), int64_t(3), len}) {
            if (count > len) continue;
            for (int64_t k = 0; k < len; ++k) {
                const int64_t c = cell_of(k, len, count);
                REQUIRE(c >= 0);
                REQUIRE(c < count);
                CHECK(cell_begin(c, len, count) <= k);
                CHECK(k < cell_begin(c + 1, len, count));
            }
        }
}

TEST_CASE("aggregate: exact at one pixel per token, fractions when coarser, crisp when finer") {
    const HeadMask m(window_head(1), 10);
    const DensityImage exact = aggregate_mask(m, {0, 0, 10, 10}, 10, 10);
    REQUIRE(exact.w == 10);
    for (int i = 0; i < 10; ++i)
        for (int j = 0; j < 10; ++j)
            CHECK(exact.density[size_t(i * 10 + j)] == (std::abs(i - j) <= 1 ? 1.0f : 0.0f));
    CHECK_FALSE(exact.sampled);

    // 2x2 tokens per pixel: the diagonal pixel keeps 4 of 4 pairs, its neighbour 1 of 4.
    const DensityImage half = aggregate_mask(m, {0, 0, 10, 10}, 5, 5);
    CHECK(half.density[0] == doctest::Approx(1.0));
    CHECK(half.density[1] == doctest::Approx(0.25));
    CHECK(half.density[2] == doctest::Approx(0.0));

    // 3 px per token: each token's value repeated.
    const DensityImage up = aggregate_mask(m, {2, 2, 4, 4}, 12, 12);
    REQUIRE(up.density.size() == 144);
    CHECK(up.density[0] == 1.0f);             // (2, 2)
    CHECK(up.density[3 * 12 + 0] == 1.0f);    // (3, 2)
    CHECK(up.density[9 * 12 + 0] == 0.0f);    // (5, 2)
    CHECK(up.density[9 * 12 + 11] == 1.0f);   // (5, 5)

    // Components: one plane each.
    HeadPattern two = window_head(0);
    Component g;
    g.type = ComponentType::global;
    g.first = 1;
    two.components.push_back(g);
    const HeadMask mm(two, 6);
    std::vector<HeadMask> parts{HeadMask(HeadPattern{false, {two.components[0]}}, 6), HeadMask(HeadPattern{false, {g}}, 6)};
    const DensityImage c = aggregate_mask(mm, {0, 0, 6, 6}, 6, 6, parts);
    REQUIRE(c.components.size() == 2);
    CHECK(c.components[0][7] == 1.0f);  // (1, 1): diagonal
    CHECK(c.components[1][7] == 0.0f);
    CHECK(c.components[1][6] == 1.0f);  // (1, 0): global token 0
}

TEST_CASE("aggregate: sampling rows when a pixel covers many") {
    const HeadMask m(window_head(0), 4096);
    AggregateOptions o;
    o.max_rows_per_pixel = 4;
    const DensityImage img = aggregate_mask(m, {0, 0, 4096, 4096}, 64, 64, {}, o);
    CHECK(img.sampled);
    CHECK(img.rows_per_pixel == 64);
    // The diagonal of a radius-0 window: 64 of 64*64 pairs per diagonal pixel.
    CHECK(img.density[0] == doctest::Approx(1.0 / 64.0));
    CHECK(img.density[1] == 0.0f);
    o.cancelled = [] { return true; };
    CHECK(aggregate_mask(m, {0, 0, 4096, 4096}, 64, 64, {}, o).density.empty());
}

TEST_CASE("aggregate: which mask images the GPU counts, exact pair counts for the tooltip") {
    MaskImageRequest r;
    r.region = {0, 0, 4096, 4096};
    r.w = r.h = 558;
    CHECK(wants_gpu_density(r));  // 7.3 tokens per pixel
    r.by_component = true;
    CHECK_FALSE(wants_gpu_density(r));  // component planes: CPU
    r.by_component = false;
    r.region = {100, 200, 558, 300};
    CHECK_FALSE(wants_gpu_density(r));  // 1:1 or closer: exact CPU rows
    r.region = {100, 200, 559, 300};
    CHECK(wants_gpu_density(r));
    r.w = 0;
    CHECK_FALSE(wants_gpu_density(r));

    const CellGrid g = cell_grid({0, 0, 1000, 10}, 300, 300);
    CHECK(g.cw == 10);
    CHECK(g.ch == 300);
    CHECK(image_from_cells({0, 0, 1000, 10}, 300, 300, g, std::vector<float>(5), 8).density.empty());  // wrong size
    const DensityImage img = image_from_cells({0, 0, 1000, 10}, 300, 300, g, std::vector<float>(3000, 0.5f), 2);
    CHECK(img.w == 300);
    CHECK(img.rows_per_pixel == 4);
    CHECK(img.rows_visited == 2);
    CHECK(img.sampled);

    HeadPattern hp;
    Component w;
    w.type = ComponentType::window;
    w.radius = 2;
    hp.components = {w};
    const HeadMask m(hp, 100);
    const PairCount pc = count_pairs(m, 10, 20, 0, 100);
    CHECK(pc.pairs == 1000);
    CHECK(pc.kept == 50);
    CHECK(count_pairs(m, 0, 1, 0, 100).kept == 3);
    CHECK(count_pairs(m, 98, 200, 99, 300).pairs == 2);  // clipped to n
}

TEST_CASE("colour scales") {
    CHECK(scale_to_unit(ColorScale::linear, 0.0f, 0.0f, 2.0f) == 0.0f);
    CHECK(scale_to_unit(ColorScale::linear, 1.0f, 0.0f, 2.0f) == doctest::Approx(0.5));
    CHECK(scale_to_unit(ColorScale::linear, 5.0f, 0.0f, 2.0f) == 1.0f);
    CHECK(scale_to_unit(ColorScale::log, 1e-2f, 1e-4f, 1.0f) == doctest::Approx(0.5));
    CHECK(scale_to_unit(ColorScale::log, 0.0f, 1e-4f, 1.0f) == 0.0f);
    CHECK(scale_to_unit(ColorScale::log, 1e-9f, 1e-4f, 1.0f) == 0.0f);
    // Sequential: brighter as t grows.
    float prev = -1;
    for (int i = 0; i <= 20; ++i) {
        const float l = luminance(sequential_color(float(i) / 20));
        CHECK(l > prev);
        prev = l;
    }
    // Diverging: dark in the middle, symmetric brightness.
    CHECK(luminance(diverging_color(0)) < luminance(diverging_color(1)));
    CHECK(luminance(diverging_color(0)) < luminance(diverging_color(-1)));
    const std::vector<float> v{0.0f, 0.5f, 1.0f, -1.0f};
    const Rgba8Image img = colorize_values(v, 2, 2, ColorScale::linear, 0, 1);
    CHECK(img.px[0] == empty_color);
    CHECK(img.px[3] == empty_color);  // negative: nothing
    CHECK(img.px[2] == sequential_color(1.0f));
    CHECK(img.version != 0);
    CHECK(component_color(0) != component_color(1));
    CHECK(short_number(12345) == "12.3k");
    CHECK(short_number(1000) == "1000");
    CHECK(short_number(0.5) == "0.5");
}

TEST_CASE("plot ticks and reference slopes") {
    const auto lt = linear_ticks(0, 1, 5);
    REQUIRE(!lt.empty());
    CHECK(lt.front().value == doctest::Approx(0));
    CHECK(lt.back().value == doctest::Approx(1));
    CHECK(lt.size() == 6);  // step 0.2
    const auto lg = log_ticks(1, 1000);
    REQUIRE(lg.size() == 4);
    CHECK(lg[3].value == doctest::Approx(1000));
    CHECK(log_ticks(3, 40).size() == 3);  // 5, 10, 20
    // One style down a decade axis: 0.1, 0.01, 1e-3 (the row-weights plot read "0.01, 1.0e-03").
    const auto small = log_ticks(1e-5, 1);
    REQUIRE(small.size() == 6);
    CHECK(small[0].label == "1e-5");
    CHECK(small[2].label == "1e-3");
    CHECK(small[3].label == "0.01");
    CHECK(small[5].label == "1");
    CHECK(log_ticks(2e-4, 2e-3)[1].label == "5e-4");
    CHECK(linear_ticks(1, 1).empty());
    const auto ys = slope_line({256, 512, 1024}, 1024, 8.0, 2.0);
    CHECK(ys[0] == doctest::Approx(0.5));
    CHECK(ys[2] == doctest::Approx(8.0));
}

TEST_CASE("reach theory for a window") {
    Pattern p;
    p.n = 101;
    p.layers = {Layer{{window_head(10)}}};
    const ReachTheory t = reach_theory(p, 12);
    REQUIRE(t.reach.size() == 12);
    CHECK(t.reach[9] == doctest::Approx(1.0));  // 10 layers x 10 = 100 = n - 1
    CHECK(t.reach[0] < t.reach[1]);
    REQUIRE(t.full_at);
    CHECK(*t.full_at == doctest::Approx(10));
}

TEST_CASE("session round trip") {
    AppState s;
    s.params.pattern = default_pattern();
    s.params.pattern.n = 2048;
    s.params.pattern.layers[0].heads[0].causal = true;
    s.params.d = 32;
    s.params.heads = 3;
    s.params.device = 1;
    s.params.source = QkSource::gaussian;
    s.params.data_seed = 99;
    s.view.head = 2;
    s.view.color_by_component = true;
    s.view.show_blocks = true;
    s.view.heat_scale = ColorScale::linear;
    s.view.hop_token = 77;
    s.view.hop_depth = 3;
    s.preset_path = "assets/presets/bigbird.json";
    const AppState back = session_from_json(session_to_json(s));
    CHECK(back.params == s.params);
    CHECK(back.view == s.view);
    CHECK(back.preset_path == s.preset_path);

    CHECK_THROWS_AS(session_from_json("{"), InputError);
    CHECK_THROWS_AS(session_from_json("{\"x\": 1}"), InputError);
    CHECK_THROWS_AS(session_from_json(R"({"pattern": {"n": 8, "components": [{"type": "window", "radius": -1}]}})"), InputError);
}

}  // TEST_SUITE


TEST_CASE("number formats: times, spreads, rates, counts, ordinals") {
    CHECK(format_ms(1.234) == "1.23 ms");
    CHECK(format_ms(24190.0) == "24.2 s");
    CHECK(format_ms(0.0123) == "12.3 us");
    CHECK(format_ms(123.4) == "123 ms");
    CHECK(format_timing(1.23, 1.2, 1.31, 5) == "1.23 ms (1.20-1.31 ms, 5 runs)");
    CHECK(format_timing(1.23, 1.23, 1.23, 1) == "1.23 ms (1 run)");
    CHECK(format_timing(900, 800, 1200, 3) == "900 ms (800 ms-1.20 s, 3 runs)");
    CHECK(format_rate(0) == "n/a");  // never "0.0 GFLOP/s" for a skipped run
    CHECK(format_rate(45.61) == "45.6 GFLOP/s");
    CHECK(format_rate(1234) == "1.23 TFLOP/s");
    CHECK(format_rate(0.0012) == "1.20 MFLOP/s");  // a tiny run on lavapipe: not "0.00 GFLOP/s"
    CHECK(format_rate(2e-7) == "0.20 kFLOP/s");
    CHECK(format_count(16384) == "16,384");
    CHECK(format_count(-1234567) == "-1,234,567");
    CHECK(format_value(16384.0) == "16,384");  // not "1.638e+04"
    CHECK(format_value(24190.5) == "2.42e+04");
    CHECK(format_value(0.5) == "0.5");
    CHECK(ordinal(1) == "1st");
    CHECK(ordinal(2) == "2nd");
    CHECK(ordinal(3) == "3rd");
    CHECK(ordinal(11) == "11th");
    CHECK(ordinal(12) == "12th");
    CHECK(ordinal(22) == "22nd");
    CHECK(ordinal(113) == "113th");
}

TEST_CASE("the hop token follows n instead of clamping to an old one") {
    CHECK(rescale_token(127, 128, 16384) == 16383);  // the last token stays the last
    CHECK(rescale_token(64, 129, 16385) == 8192);    // the middle stays the middle
    CHECK(rescale_token(5, 65536, 65536) == 5);
    CHECK(rescale_token(70000, 65536, 1024) == 1023);
    CHECK(rescale_token(-3, 100, 50) == 0);
    CHECK(rescale_token(10, 100, 0) == 0);
}

TEST_CASE("component colours never collide with the kept colour, block kinds or the background") {
    const auto dist = [](Rgb8 a, Rgb8 b) {
        const double dr = double(a.r) - b.r, dg = double(a.g) - b.g, db = double(a.b) - b.b;
        return std::sqrt(dr * dr + dg * dg + db * db);
    };
    const Rgb8 kept = sequential_rgb(1.0f);
    for (int c = 0; c < 8; ++c) {
        CAPTURE(c);
        for (Rgb8 base : {kept, kBlockFullRgb, kBlockPartialRgb, kBlockSkippedRgb, kEmptyRgb})
            CHECK(dist(component_rgb(c), base) > 60.0);
        for (int o = 0; o < c; ++o) CHECK(dist(component_rgb(c), component_rgb(o)) > 60.0);
    }
}

#endif  // SALAB_HAVE_UI
