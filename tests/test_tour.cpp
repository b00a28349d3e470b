// The tour's claims against the engine, recomputed here independently (mask rows, hop analysis,
// block stats), so the chapter texts cannot drift from what the engine does.
#include "block_mask.h"
#include "hops.h"
#include "tour.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

using namespace salab;

namespace {

int chapter(const std::string& key) {
    const auto& ch = tour_chapters();
    for (size_t k = 0; k < ch.size(); ++k)
        if (ch[k].key == key) return int(k);
    FAIL("no chapter " << key);
    return -1;
}

TourPage page_of(const std::string& key, const TourMeasurements& m = {}) {
    const int k = chapter(key);
    LiveParams p;
    p.pattern = tour_chapters()[size_t(k)].pattern;
    return tour_page(k, p, tour_chapters()[size_t(k)].token, m);
}

bool text_has(const TourPage& page, const std::string& s) {
    return std::any_of(page.sentences.begin(), page.sentences.end(),
                       [&](const std::string& t) { return t.find(s) != std::string::npos; });
}

std::optional<int> diameter(const Pattern& p) {
    const HeadMask m(p.layers[0].heads[0], p.n);
    return analyze_hops(HopsStack{{build_csr(m)}}, false).diameter;
}

}  // namespace

TEST_CASE("tour: 8-12 chapters, each with 2-4 sentences and a note-free page for its own pattern") {
    const auto& ch = tour_chapters();
    CHECK(ch.size() >= 8);
    CHECK(ch.size() <= 12);
    for (size_t k = 0; k < ch.size(); ++k) {
        CAPTURE(ch[k].key);
        TourMeasurements m;
        m.kept_mass = 0.9, m.rel_error = 0.1, m.sparse_ms = 1, m.dense_ms = 4;
        const TourPage page = page_of(ch[k].key, m);
        CHECK(page.sentences.size() >= 2);
        CHECK(page.sentences.size() <= 4);
        CHECK(page.note.empty());
        CHECK(!page.facts.empty());
    }
    CHECK_THROWS_AS(tour_page(int(ch.size()), LiveParams{}, 0, {}), std::out_of_range);
}

TEST_CASE("tour: dense chapter counts n^2 scores and 4x at 2n") {
    const TourPage p = page_of("dense");
    const double n = p.fact("n");
    CHECK(p.fact("pairs") == n * n);
    CHECK(p.fact("pairs_2n") == 4 * n * n);
    CHECK(p.fact("growth_2n") == 4.0);
    CHECK(p.fact("density") == 1.0);
    CHECK(text_has(p, tour_int(n * n)));
}

TEST_CASE("tour: window chapter, the receptive field grows by 2w per layer") {
    const TourPage p = page_of("window");
    const double w = p.fact("w");
    CHECK(w == 4);
    CHECK(p.fact("keys") == 2 * w + 1);
    CHECK(p.fact("rf1") == 2 * w + 1);
    CHECK(p.fact("rf2") == 4 * w + 1);
    CHECK(p.fact("rf3") == 6 * w + 1);
    CHECK(p.fact("growth") == 2 * w);
}

TEST_CASE("tour: a window alone needs ceil((n - 1) / w) layers") {
    const TourPage p = page_of("window_hops");
    const Pattern& pat = tour_chapters()[size_t(chapter("window_hops"))].pattern;
    const double n = double(pat.n), w = p.fact("w");
    CHECK(p.fact("theory") == std::ceil((n - 1) / w));
    CHECK(p.fact("diameter") == p.fact("theory"));
    CHECK(p.fact("diameter") == double(*diameter(pat)));
    CHECK(text_has(p, "= " + tour_int(std::ceil((n - 1) / w)) + " layers"));
}

TEST_CASE("tour: globals give a 2-hop diameter, random keys a small one") {
    const TourPage g = page_of("global");
    CHECK(g.fact("globals") == 4);
    CHECK(g.fact("diameter") == 2);
    CHECK(g.fact("window_diameter") == 250);
    const TourPage r = page_of("random");
    const Pattern& pat = tour_chapters()[size_t(chapter("random"))].pattern;
    CHECK(r.fact("diameter") == double(*diameter(pat)));
    CHECK(r.fact("diameter") * 10 < r.fact("window_diameter"));
    CHECK(r.fact("random") == 2);
}

TEST_CASE("tour: the illustrated hybrid, 15 keys of 1,000 and the global token 500 reads all") {
    const int k = chapter("hybrid");
    const TourChapter& ch = tour_chapters()[size_t(k)];
    // The chapter is the shipped preset.
    CHECK(ch.pattern.layers == load_pattern(std::string(SALAB_SOURCE_DIR) + "/assets/presets/illustrated_hybrid.json").layers);
    const TourPage p = page_of("hybrid");
    const HeadMask m(ch.pattern.layers[0].heads[0], ch.pattern.n);
    std::vector<int32_t> row;
    m.row(ch.token, row);
    CHECK(row.size() == 15);
    CHECK(p.fact("keys") == 15);
    CHECK(p.fact("window_lo") == double(ch.token - 4));
    CHECK(p.fact("window_hi") == double(ch.token + 4));
    CHECK(p.fact("global_keys") == 4);
    CHECK(p.fact("random_keys") == 2);
    for (int32_t g : {0, 250, 500, 750}) CHECK(std::binary_search(row.begin(), row.end(), g));
    CHECK(p.fact("fewer") == doctest::Approx(1000.0 / 15));
    CHECK(text_has(p, "67x fewer"));
    CHECK(p.fact("hub") == 500);
    m.row(500, row);
    CHECK(p.fact("hub_keys") == double(row.size()));
    CHECK(row.size() == 1000);
    CHECK(p.fact("diameter") == 2);
}

TEST_CASE("tour: strided keys ~ 2l + n/l and 2 hops, blocks full for BigBird") {
    const TourPage s = page_of("strided");
    const double l = s.fact("stride"), n = 1024;
    CHECK(std::abs(s.fact("keys_mean") - (2 * l - 1 + n / l)) < 2);
    CHECK(s.fact("diameter") == 2);
    const Pattern& sp = tour_chapters()[size_t(chapter("strided"))].pattern;
    const BlockStats st = block_stats(compile_block_mask(std::vector<HeadMask>{HeadMask(sp.layers[0].heads[0], sp.n)}, 64, 1));
    CHECK(s.fact("efficiency") == doctest::Approx(double(st.kept_pairs) / double(st.visited_pairs)));
    CHECK(s.fact("partial_blocks") == double(st.partial_blocks));
    const TourPage b = page_of("blocks");
    CHECK(b.fact("efficiency") == 1.0);
    CHECK(b.fact("full_blocks") == b.fact("listed_blocks"));
    CHECK(b.fact("strided_efficiency") == doctest::Approx(s.fact("efficiency")));
    CHECK(b.fact("strided_efficiency") < 0.5);
}

TEST_CASE("tour: quality chapter quotes the measurements and 1 / density") {
    TourMeasurements m;
    m.kept_mass = 0.8125, m.rel_error = 0.25, m.sparse_ms = 0.5, m.dense_ms = 3.0;
    const TourPage p = page_of("quality", m);
    const Pattern& pat = tour_chapters()[size_t(chapter("quality"))].pattern;
    const BlockStats st = block_stats(compile_block_mask(std::vector<HeadMask>{HeadMask(pat.layers[0].heads[0], pat.n)}, 64, 1));
    CHECK(p.fact("ideal_speedup") == doctest::Approx(double(pat.n) * double(pat.n) / double(st.kept_pairs)));
    CHECK(p.fact("speedup") == 6.0);
    CHECK(text_has(p, "6.0x"));
    CHECK(text_has(p, "81%"));
    CHECK(text_has(p, "25%"));
    const TourPage none = page_of("quality");
    CHECK(!none.has("speedup"));
    CHECK(!none.has("kept_mass"));
}

TEST_CASE("tour: content chapter, top-k keeps k keys and more mass than a window of k keys") {
    const TourPage p = page_of("content");
    CHECK(p.fact("keys_max") == p.fact("k"));
    CHECK(p.fact("keys_mean") == p.fact("k"));
    CHECK(p.fact("kept_mass") > p.fact("window_kept_mass"));
    CHECK(p.fact("kept_mass") <= 1.0);
}

TEST_CASE("tour: an edited pattern of the chapter's structure is what the page talks about") {
    const int k = chapter("window_hops");
    LiveParams p;
    p.pattern = tour_chapters()[size_t(k)].pattern;
    p.pattern.n = 301;
    p.pattern.layers[0].heads[0].components[0].radius = 10;
    const TourPage page = tour_page(k, p, 0, {});
    CHECK(page.note.empty());
    CHECK(page.fact("theory") == 30);
    CHECK(page.fact("diameter") == 30);
    p.pattern.layers[0].heads[0].components[0].type = ComponentType::strided;
    CHECK(!tour_page(k, p, 0, {}).note.empty());
}
