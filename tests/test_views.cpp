// The views' logic a researcher has to trust (issue 16), without a window or a GPU: key events
// through ImGui's IO in headless frames, the deferred click, the hop token across n, preset
// labels, legends, freshness and the timing plots' keys and formats.
#ifdef SALAB_HAVE_UI

#include <doctest/doctest.h>

#include "format.h"
#include "hop_view.h"
#include "hops.h"
#include "input.h"
#include "heatmap_view.h"
#include "stack_view.h"
#include "zoom.h"
#include "query_view.h"
#include "timing_view.h"
#include "colormap.h"
#include "legend.h"
#include "query_inspect.h"
#include "block_mask.h"
#include "mask.h"
#include "presets.h"

#include <imgui.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>

using namespace salab;
using namespace salab::ui;

namespace {

constexpr int kEnter = 257, kCtrl = 341, kKeyS = 83;  // GLFW's codes, as the app uses them

// A headless ImGui context: fonts built, no backend, no window.
struct HeadlessImGui {
    ImGuiContext* ctx;
    HeadlessImGui() : ctx(ImGui::CreateContext()) {
        ImGuiIO& io = ImGui::GetIO();
        io.IniFilename = nullptr;
        io.DisplaySize = {800, 600};
        io.DeltaTime = 1.0f / 60.0f;
        io.KeyMap[ImGuiKey_Enter] = kEnter;
        unsigned char* px = nullptr;
        int w = 0, h = 0;
        io.Fonts->GetTexDataAsRGBA32(&px, &w, &h);
    }
    ~HeadlessImGui() { ImGui::DestroyContext(ctx); }
    HeadlessImGui(const HeadlessImGui&) = delete;
    HeadlessImGui& operator=(const HeadlessImGui&) = delete;
    // One frame with `body` inside a window.
    void frame(const std::function<void()>& body) {
        ImGui::NewFrame();
        ImGui::SetNextWindowPos({0, 0});
        ImGui::SetNextWindowSize({400, 300});
        ImGui::Begin("test");
        body();
        ImGui::End();
        ImGui::EndFrame();
    }
};

// Types "42" and Enter, all within one frame, into a focused field; `queued` routes the keys
// through KeyEventQueue, else straight into io.KeysDown as ImGui 1.86's GLFW backend does.
// Returns whether the field reported Enter, and whether it still wants text afterwards.
std::pair<bool, bool> type_and_enter(bool queued) {
    HeadlessImGui g;
    KeyEventQueue q(ModifierKeys{{kCtrl, -1}});
    char buf[16] = "";
    bool entered = false;
    const auto field = [&] {
        if (ImGui::InputText("field", buf, sizeof buf, ImGuiInputTextFlags_EnterReturnsTrue)) entered = true;
    };
    g.frame([&] {
        ImGui::SetKeyboardFocusHere();
        field();
    });
    bool editing = false;  // io.WantTextInput as the frame sees it (set by NewFrame)
    const auto frame = [&] {
        g.frame([&] {
            editing = ImGui::GetIO().WantTextInput;
            field();
        });
    };
    frame();
    frame();
    CHECK(editing);
    ImGuiIO& io = ImGui::GetIO();
    io.AddInputCharactersUTF8("42");
    if (queued) {
        q.push(kEnter, true);
        q.push(kEnter, false);
    } else {
        io.KeysDown[kEnter] = true;
        io.KeysDown[kEnter] = false;
    }
    for (int f = 0; f < 3; ++f) {
        q.apply(io);
        frame();
    }
    CHECK(std::string(buf) == "42");
    return {entered, editing};
}

}  // namespace

TEST_SUITE("ui") {

TEST_CASE("keys: a press released within the same frame still reaches ImGui") {
    // ImGui 1.86 with its GLFW backend as it is: Enter is lost and the field stays in edit mode.
    const auto [entered_direct, still_editing_direct] = type_and_enter(false);
    CHECK_FALSE(entered_direct);
    CHECK(still_editing_direct);
    // Through the queue: Enter is seen, the field lets go, shortcuts work again.
    const auto [entered, still_editing] = type_and_enter(true);
    CHECK(entered);
    CHECK_FALSE(still_editing);
}

TEST_CASE("keys: Ctrl+S typed within one frame is one Ctrl+S, released the next frame") {
    HeadlessImGui g;
    KeyEventQueue q(ModifierKeys{{kCtrl, -1}});
    for (auto [k, down] : {std::pair{kCtrl, true}, {kKeyS, true}, {kKeyS, false}, {kCtrl, false}}) q.push(k, down);
    ImGuiIO& io = ImGui::GetIO();
    int saves = 0;
    const auto shortcuts = [&] {
        if (io.KeyCtrl && ImGui::IsKeyPressed(kKeyS, false)) ++saves;
    };
    CHECK(q.apply(io));  // the releases wait for the next frame
    CHECK(io.KeyCtrl);
    g.frame(shortcuts);
    CHECK_FALSE(q.apply(io));
    CHECK_FALSE(io.KeyCtrl);
    CHECK_FALSE(io.KeysDown[kKeyS]);
    g.frame(shortcuts);
    g.frame(shortcuts);
    CHECK(saves == 1);
    // Auto-repeat (down while down) is no transition; keys outside KeysDown are ignored.
    q.push(kKeyS, true);
    q.push(kKeyS, true);
    q.push(100000, true);
    CHECK_FALSE(q.apply(io));
    CHECK(io.KeysDown[kKeyS]);
}

TEST_CASE("click: the first click of a double-click never selects") {
    DeferredClick c;
    c.click(10.0, 77);
    CHECK(c.pending());
    CHECK_FALSE(c.take(10.1, 0.3));
    c.double_click();  // the second click came: fit, no selection
    CHECK_FALSE(c.take(11.0, 0.3));
    c.click(20.0, 5);
    CHECK_FALSE(c.take(20.29, 0.3));
    CHECK(c.take(20.31, 0.3) == 5);  // a single click: selected once the double-click time passed
    CHECK_FALSE(c.pending());
}

TEST_CASE("hop token: follows every change of n and never sticks to an old clamp") {
    // n 16384 -> 128 -> 16384, the token untouched: it comes back to the middle, not 127.
    int64_t t = carry_token(16384, 8192, 128, 8192);
    CHECK(t == 64);
    t = carry_token(128, t, 16384, t);
    CHECK(t > 8000);
    CHECK(t < 8400);
    CHECK(carry_token(128, 127, 16384, 127) == 16383);  // the last stays the last
    // Set for the new n in the same frame (a preset, a tour chapter): kept, only clamped.
    CHECK(carry_token(4096, 2048, 1000, 500) == 500);
    CHECK(carry_token(4096, 2048, 1000, 4000) == 999);
    CHECK(carry_token(0, 0, 1000, 999) == 999);  // the first frame
    CHECK(carry_token(1000, 3, 1000, 3) == 3);
    CHECK(carry_token(1000, 3, 0, 3) == 0);
}

TEST_CASE("presets: a preset opened by a relative path is that preset, edits are marked, the summary follows") {
    namespace fs = std::filesystem;
    const std::string dir = std::string(SALAB_SOURCE_DIR) + "/assets/presets";
    const std::vector<PresetInfo> presets = list_presets(dir);
    REQUIRE(!presets.empty());
    const std::string rel = fs::relative(fs::path(dir) / "bigbird.json", fs::current_path()).string();
    REQUIRE(fs::path(rel).is_relative());
    const std::string key = preset_key(rel);
    CHECK(key == preset_key(dir + "/../presets/./bigbird.json"));
    Pattern p = load_pattern(rel);
    PresetMatch m = match_preset(presets, key, p);
    REQUIRE(m.preset != nullptr);
    CHECK(m.label == "BigBird");
    CHECK_FALSE(m.edited);
    p.n = 65536;  // another n is the same preset
    CHECK(match_preset(presets, key, p).label == "BigBird");
    const std::string before = pattern_summary(p);
    CHECK(before == "block b=64 (window 1, global 2, random 3); bidirectional");
    p.layers[0].heads[0].components[0].random_blocks = 0;
    m = match_preset(presets, key, p);
    CHECK(m.edited);
    CHECK(m.label == "BigBird (edited)");
    CHECK(pattern_summary(p) == "block b=64 (window 1, global 2, random 0); bidirectional");
    p.layers[0].heads[0].causal = true;  // the causal toggle (C) counts as an edit too
    p.layers[0].heads[0].components[0].random_blocks = 3;
    CHECK(match_preset(presets, key, p).edited);
    CHECK(match_preset(presets, "", p).label == "(custom)");
    CHECK_FALSE(match_preset(presets, "", p).edited);
}

TEST_CASE("legends: every colour on the mask view is explained, and no two meanings share a colour") {
    HeadPattern h;
    for (ComponentType t : {ComponentType::window, ComponentType::global, ComponentType::random, ComponentType::strided,
                            ComponentType::fixed}) {
        Component c;
        c.type = t;
        h.components.push_back(c);
    }
    const auto dist = [](Rgb8 a, Rgb8 b) {
        const double dr = double(a.r) - b.r, dg = double(a.g) - b.g, db = double(a.b) - b.b;
        return std::sqrt(dr * dr + dg * dg + db * db);
    };
    const auto titles = [](const std::vector<Legend>& ls) {
        std::string t;
        for (const Legend& l : ls) t += l.title + "|";
        return t;
    };
    ViewSettings v;
    CHECK_FALSE(v.show_hop_overlay);  // off by default: its strips are an opt-in
    std::vector<Legend> ls = mask_legends(v, h, 0, false);
    REQUIRE(ls.size() == 1);
    CHECK(ls[0].title == "kept pairs per pixel");
    CHECK(ls[0].gradient);
    CHECK(ls[0].items.front().color == kEmptyRgb);
    CHECK(ls[0].items.back().color == sequential_rgb(1.0f));

    v.color_by_component = v.show_blocks = v.show_hop_overlay = true;
    ls = mask_legends(v, h, 5, true);
    CHECK(titles(ls) == "kept by|kernel blocks|hops to token||");
    REQUIRE(ls[0].items.size() == h.components.size() + 1);
    CHECK(ls[0].items[3].label == "strided");
    // The 4th component is not the density map's "kept" yellow, nor any block or selection colour.
    std::vector<Rgb8> others{sequential_rgb(1.0f), kEmptyRgb, kSelectionRgb};
    for (const LegendItem& it : ls[1].items) others.push_back(it.color);
    for (size_t c = 0; c < h.components.size(); ++c)
        for (Rgb8 o : others) {
            CAPTURE(c);
            CHECK(dist(ls[0].items[c].color, o) > 60.0);
        }
    const Legend& hops = ls[2];
    for (const LegendItem& it : hops.items) {  // hop shades are not "kept", nor a component
        CAPTURE(it.label);
        CHECK(dist(it.color, sequential_rgb(1.0f)) > 60.0);
        for (size_t c = 0; c < h.components.size(); ++c) CHECK(dist(it.color, component_rgb(int(c))) > 40.0);
    }
    CHECK(hops.items.front().label == "0");
    CHECK(hops.items[2].label == "5");
    CHECK(hops.items.back().label == "never");
    CHECK(ls[3].items[0].label == "selected query");
}

TEST_CASE("inspector: BigBird's rule and the kernel block of a pair") {
    Component c;
    c.type = ComponentType::block;
    c.block = 4;
    c.window_blocks = 1;
    c.global_blocks = 1;
    c.random_blocks = 1;
    c.seed = 3;
    const int64_t n = 64;
    CHECK(std::string(block_rule(c, 20, 17, n, false)) == "window");  // blocks 5 and 4
    CHECK(std::string(block_rule(c, 20, 1, n, false)) == "global");   // key block 0
    CHECK(std::string(block_rule(c, 2, 40, n, false)) == "global");   // query block 0
    const std::vector<int64_t> drawn = block_component_random_blocks(c, 8, n, false);
    REQUIRE(drawn.size() == 1);
    CHECK(std::string(block_rule(c, 33, drawn[0] * 4 + 2, n, false)) == "random");
    for (int64_t J = 2; J < 16; ++J)
        if (std::abs(J - 8) > 1 && J != drawn[0]) CHECK(std::string(block_rule(c, 33, J * 4, n, false)) == "not kept");

    HeadPattern h;
    Component w;
    w.type = ComponentType::window;
    w.radius = 3;
    h.components = {w};
    const BlockMask b = compile_block_mask(std::vector<HeadMask>{HeadMask(h, 256)}, 64);
    CHECK(std::string(kernel_block_kind(b, 0, 10, 12)) == "partial");  // the band's diagonal block
    CHECK(std::string(kernel_block_kind(b, 0, 10, 200)) == "skipped");
    CHECK(std::string(kernel_block_kind(b, 0, -1, 0)) == "skipped");
}

TEST_CASE("freshness: a reach curve of older parameters never shares a plot with the new theory line") {
    Pattern p;
    p.n = 512;
    HeadPattern h;
    Component w;
    w.type = ComponentType::window;
    w.radius = 8;
    h.components = {w};
    p.layers = {Layer{{h}}};
    HopsReport old;
    old.reach_after_layers = {0.1, 0.3, 0.6, 1.0};
    const ReachPlot cur = reach_plot(&old, true, p);
    REQUIRE(cur.series.size() == 2);
    CHECK(cur.series[1].label == "theory");
    CHECK(cur.theory_label == "L x radius");
    CHECK(cur.layers == 5);
    const ReachPlot stale = reach_plot(&old, false, p);
    REQUIRE(stale.series.size() == 1);  // the old curve alone (the view veils it, "updating...")
    CHECK(stale.series[0].label == "reached");
    CHECK(stale.theory_label.empty());
    CHECK(reach_plot(nullptr, true, p).series.size() == 1);  // no curve yet: the theory of the current pattern
}

TEST_CASE("timing plots: one point per (pattern, n), sorted by 1/density, labelled, never in run order") {
    std::deque<TimingSample> runs;
    const auto add = [&](uint64_t gen, const char* name, uint64_t key, int64_t n, double density, double sparse, double dense) {
        TimingSample t;
        t.gen = gen;
        t.pattern = name;
        t.pattern_key = key;
        t.n = n;
        t.d = 64;
        t.heads = 1;
        t.density = density;
        t.sparse_ms = sparse;
        if (dense > 0) t.dense_ms = dense;
        runs.push_back(t);
    };
    add(1, "BigBird", 7, 4096, 0.1, 2.0, 10.0);
    add(2, "Longformer", 8, 4096, 0.01, 1.0, 30.0);
    add(3, "BigBird", 7, 4096, 0.1, 1.0, 10.0);    // a later run of the same problem replaces the first
    add(4, "BigBird", 9, 4096, 0.05, 1.0, 12.0);   // edited (another key), same name: its own point
    add(5, "BigBird", 7, 16384, 0.025, 1.0, 0.0);  // no dense time: no point
    const std::vector<SpeedupPoint> pts = speedup_points(runs, 4);
    REQUIRE(pts.size() == 3);
    CHECK(pts[0].inv_density == doctest::Approx(10.0));
    CHECK(pts[0].speedup == doctest::Approx(10.0));
    CHECK(pts[0].label == "BigBird, n = 4,096");
    CHECK(pts[1].inv_density == doctest::Approx(20.0));
    CHECK(pts[1].current);
    CHECK(pts[2].label == "Longformer, n = 4,096");
    CHECK(latest_per_problem(runs).size() == 4);
}

TEST_CASE("inspector: a row of weights binned for a plot keeps every peak") {
    std::vector<float> w(1000, 0.0f);
    w[3] = 0.5f;
    w[517] = 0.25f;
    w[999] = 0.125f;
    const RowBins b = bin_row(w, 100);
    REQUIRE(b.x.size() == 100);
    CHECK(b.y[0] == doctest::Approx(0.5));   // keys 0..9
    CHECK(b.y[51] == doctest::Approx(0.25)); // keys 510..519
    CHECK(b.y[99] == doctest::Approx(0.125));
    CHECK(b.x[0] == doctest::Approx(4.5));
    double peaks = 0;
    for (double y : b.y) peaks += y;
    CHECK(peaks == doctest::Approx(0.875));
    CHECK(bin_row(w, 5000).x.size() == 1000);  // never more bins than keys
    CHECK(bin_row({}, 10).x.empty());
}

TEST_CASE("heatmap follows the mask: the mask's region fits the square panel, centred") {
    const TokenRect wide{100, 200, 50, 150};  // rows 100..149, keys 200..349
    const ZoomTransform z = ZoomTransform::fit_region(wide, 300, 300);
    CHECK(z.tokens_per_px == doctest::Approx(0.5));  // 150 keys over 300 px
    const TokenRect v = z.visible(4096, 300, 300);
    CHECK(v.col0 == 200);
    CHECK(v.cols == 150);
    CHECK(v.row0 <= 100);
    CHECK(v.row0 + v.rows >= 150);
    CHECK(z.to_px_y(125.0) == doctest::Approx(150.0));  // the region's middle row in the panel's middle
    // A few tokens never zoom past 64 pixels per token.
    CHECK(ZoomTransform::fit_region({5, 5, 1, 1}, 300, 300).tokens_per_px == doctest::Approx(1.0 / 64.0));
    ViewSettings vs;
    CHECK(vs.heat_follow_mask);  // on by default
}

TEST_CASE("stack overview: one thumbnail per layer and head, its density, Q/K heads left blank") {
    Pattern p = load_pattern(std::string(SALAB_SOURCE_DIR) + "/assets/presets/gemma_stack.json");
    p.n = 256;
    const std::vector<StackThumb> t = stack_thumbnails(p, 16);
    size_t want = 0;
    for (const Layer& l : p.layers) want += l.heads.size();
    REQUIRE(t.size() == want);
    CHECK(t[1].label == "L0 H1");
    for (const StackThumb& th : t) {
        CAPTURE(th.label);
        CHECK(th.image.w == 16);
        CHECK(th.density > 0.0);
        CHECK(th.density <= 1.0);
    }
    HeadPattern lsh;
    Component c;
    c.type = ComponentType::lsh;
    c.buckets = 4;
    c.rounds = 1;
    lsh.components = {c};
    p.layers[0].heads[0] = lsh;
    CHECK(stack_thumbnails(p, 16)[0].image.w == 0);
}

TEST_CASE("heatmap: the log floor reaches the weights of a long row, so n = 65,536 is not blank") {
    const std::vector<float> dense(64, 1.0f / 65536.0f), sparse{0.5f, 0.0f, 0.25f};
    const float f = log_floor(dense, sparse, 0.5f);
    CHECK(f == doctest::Approx(1.0f / 65536.0f));
    CHECK(scale_to_unit(ColorScale::log, dense[0], f, 0.5f) >= 0.0f);
    const std::vector<float> tiny{1e-12f};
    CHECK(log_floor(tiny, {}, 0.5f) == doctest::Approx(0.5f * 1e-8f));  // never below vmax * 1e-8
    const std::vector<float> peaked{0.4f, 0.1f};
    CHECK(log_floor(peaked, {}, 0.5f) == doctest::Approx(0.5f * 1e-4f));  // never above vmax * 1e-4
}

}  // TEST_SUITE

#endif  // SALAB_HAVE_UI
