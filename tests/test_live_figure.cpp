// The GUI's export figures (compute/live_figure.h): a zoomed mask view keeps its region on the
// axes and its exact counts in the caption, the weights view gives dense / sparse / difference
// panels, and an empty or oversized view is a one-line InputError.
#include "live_figure.h"
#include "mask_image.h"
#include "pattern.h"

#include <doctest/doctest.h>

#include <algorithm>

using namespace salab;

namespace {

std::vector<std::string> texts(const Figure& f, const std::string& role) {
    std::vector<std::string> out;
    for (const FigItem& it : f.items)
        if (it.kind == FigItem::Kind::text && it.role == role) out.push_back(it.text);
    return out;
}

std::string grouped(int64_t v) {
    std::string d = std::to_string(v);
    for (int i = int(d.size()) - 3; i > 0; i -= 3) d.insert(size_t(i), ",");
    return d;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_SUITE("figure") {
    TEST_CASE("export figure of a zoomed mask view: region ticks, exact caption counts, legend") {
        const Pattern p = parse_pattern(
            R"({"name":"wg","n":1000,"components":[{"type":"window","radius":3},{"type":"global","every":250}]})");
        const HeadMask m(p.layers[0].heads[0], 1000);
        const TokenRect region{400, 300, 200, 400};  // rows 400..599, keys 300..699: wider than high
        const DensityImage img = aggregate_mask(m, region, 200, 100);
        LiveFigureContext c{"wg", 1000, 0, &m, 400};
        const FigureSpec spec = mask_view_figure(c, img);
        REQUIRE(spec.panels.size() == 1);
        const PairCount pc = count_pairs(m, 400, 600, 300, 700);
        CAPTURE(spec.panels[0].caption);
        CHECK(spec.panels[0].caption.find(grouped(pc.kept) + " of " + grouped(pc.pairs) + " pairs kept") !=
              std::string::npos);
        const Figure f = make_figure(spec);
        REQUIRE(f.plots.size() == 1);
        // A token is square: 400 keys across the width, 200 rows down half of it.
        CHECK(f.plots[0].w == doctest::Approx(400));
        CHECK(f.plots[0].h == doctest::Approx(200));
        const auto axis = texts(f, "axis");
        CHECK(has(axis, "300"));  // first key of the region
        CHECK(has(axis, "700"));
        CHECK(has(axis, "400"));  // first query
        CHECK(has(axis, "600"));
        CHECK_FALSE(has(axis, "0"));
        CHECK(has(axis, "key j \u2192"));
        CHECK(!texts(f, "title").empty());
        CHECK(!texts(f, "legend").empty());
        // Every cell is the density's colour: the figure shows what the view counted.
        for (size_t e = 0; e < img.density.size(); ++e)
            CHECK(spec.panels[0].grid.colors[e] ==
                  (img.density[e] > 0 ? sequential_rgb(mask_density_shade(img.density[e])) : kEmptyRgb));
    }

    TEST_CASE("export figure of the weights view: dense, sparse and difference panels") {
        HeatResult h;
        h.w = 4;
        h.h = 2;
        h.request.region = {10, 20, 2, 4};
        h.dense = {0.1f, 0.2f, 0.3f, 0.4f, 0.25f, 0.25f, 0.25f, 0.25f};
        h.sparse = {0.0f, 0.5f, 0.5f, 0.0f, 0.5f, 0.5f, 0.0f, 0.0f};
        LiveFigureContext c{"p", 64, 1, nullptr, 200};
        for (bool log_scale : {false, true}) {
            const FigureSpec spec = heat_view_figure(c, h, log_scale);
            REQUIRE(spec.panels.size() == 3);
            CHECK(spec.panels[0].grid.colors[0] != kEmptyRgb);
            CHECK(spec.panels[1].grid.colors[0] == kEmptyRgb);  // not kept
            CHECK(spec.panels[1].x0 == 20);
            CHECK(spec.panels[1].y0 == 10);
            const Figure f = make_figure(spec);
            CHECK(f.plots.size() == 3);
            CHECK(has(texts(f, "axis"), "20"));
        }
        HeatResult empty;
        CHECK_THROWS_AS(heat_view_figure(c, empty, true), InputError);
        CHECK_THROWS_AS(mask_view_figure(c, DensityImage{}), InputError);
    }

    TEST_CASE("export figure of the hops view: every layer, refused above its n limit") {
        const Pattern p = parse_pattern(
            R"({"name":"w","n":64,"components":[{"type":"window","radius":4},{"type":"global","first":1}]})");
        const FigureSpec spec = hops_view_figure(p, 128);
        REQUIRE(spec.panels.size() == 1);
        CHECK(spec.panels[0].caption.find("most hops 2") != std::string::npos);
        CHECK_THROWS_AS(hops_view_figure(with_n(p, max_hops_figure_n + 1)), InputError);
    }
}

TEST_SUITE("figure") {
    TEST_CASE("export figure with a model's tokens: each token labels its tick when n is small") {
        const Pattern p =
            parse_pattern(R"({"name":"w","n":6,"causal":true,"components":[{"type":"window","radius":1}]})");
        const HeadMask m(p.layers[0].heads[0], 6);
        const DensityImage img = aggregate_mask(m, TokenRect{0, 0, 6, 6}, 6, 6);
        LiveFigureContext c{"w", 6, 0, &m, 240, {"<s>", "The", "quick", "brown", "fox", "jumps"}};
        const Figure f = make_figure(mask_view_figure(c, img));
        const auto axis = texts(f, "axis");
        for (const char* t : {"<s>", "quick", "jumps"}) CHECK(has(axis, t));
        CHECK_FALSE(has(axis, "5"));  // token text replaces the numbers
        // Vertical labels under the plot stay inside the figure and clear of the caption.
        for (const FigItem& it : f.items) {
            CHECK(it.box.x >= -1);
            CHECK(it.box.y + it.box.h <= f.height + 1);
        }
        // Without tokens (or with too many tokens per axis), numeric ticks.
        c.tokens.clear();
        CHECK(has(texts(make_figure(mask_view_figure(c, img)), "axis"), "5"));
    }
}
