// Figures (compute/figure.h, svg.h, render.h panels): ticks, layout, the SVG and PNG back ends,
// the mask pixels against aggregate_mask, and salab-cli render of every view.
#include "figure.h"
#include "mask_image.h"
#include "pattern.h"
#include "svg.h"

#include <doctest/doctest.h>
#include <stb/stb_image.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

using namespace salab;
namespace fs = std::filesystem;

namespace {

HeadPattern window_globals(int64_t w, int64_t every) {
    Pattern p = parse_pattern(R"({"name":"wg","n":100,"components":[{"type":"window","radius":)" + std::to_string(w) +
                              R"(},{"type":"global","every":)" + std::to_string(every) + "}]}");
    return p.layers[0].heads[0];
}

// A tiny XML checker: every tag closes in order, attributes are quoted, no stray '<' or '&'.
bool well_formed_xml(const std::string& s, std::string& why) {
    std::vector<std::string> stack;
    size_t i = 0;
    if (s.rfind("<?xml", 0) == 0) i = s.find("?>") + 2;
    while (i < s.size()) {
        if (s[i] == '&') {
            const size_t semi = s.find(';', i);
            const std::string ent = s.substr(i, semi == std::string::npos ? 0 : semi - i + 1);
            if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;") return why = "bad entity at " + std::to_string(i), false;
            i = semi + 1;
            continue;
        }
        if (s[i] != '<') {
            ++i;
            continue;
        }
        const size_t end = s.find('>', i);
        if (end == std::string::npos) return why = "unclosed tag", false;
        std::string tag = s.substr(i + 1, end - i - 1);
        if (tag.find('<') != std::string::npos) return why = "'<' inside a tag", false;
        size_t quotes = 0;
        for (char c : tag) quotes += c == '"';
        if (quotes % 2) return why = "odd quotes in <" + tag + ">", false;
        if (tag[0] == '/') {
            if (stack.empty() || stack.back() != tag.substr(1)) return why = "mismatched </" + tag.substr(1) + ">", false;
            stack.pop_back();
        } else if (tag.back() != '/') {
            stack.push_back(tag.substr(0, tag.find_first_of(" \n")));
        }
        i = end + 1;
    }
    if (!stack.empty()) return why = "unclosed <" + stack.back() + ">", false;
    return true;
}

struct Output {
    int code = -1;
    std::string text;
};
Output run_cli(const std::string& args) {
    Output o;
    FILE* p = popen((std::string(SALAB_CLI) + " " + args + " 2>&1").c_str(), "r");
    REQUIRE(p);
    char buf[4096];
    while (size_t k = fread(buf, 1, sizeof buf, p)) o.text.append(buf, k);
    const int status = pclose(p);
    o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return o;
}

std::string preset(const std::string& name) { return std::string(SALAB_SOURCE_DIR) + "/assets/presets/" + name + ".json"; }

}  // namespace

TEST_SUITE("figure") {
    TEST_CASE("nice ticks are 1-2-5 steps inside the range, 0 included") {
        CHECK(nice_ticks(0, 1000, 6) == std::vector<double>{0, 200, 400, 600, 800, 1000});
        CHECK(nice_ticks(0, 4096, 5) == std::vector<double>{0, 1000, 2000, 3000, 4000});
        CHECK(nice_ticks(0, 7, 8) == std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7});
        for (double hi : {1.0, 3.0, 17.0, 100.0, 999.0, 1024.0, 65536.0, 1e6 + 7}) {
            for (int m : {2, 3, 5, 8, 11}) {
                const auto t = nice_ticks(0, hi, m);
                CAPTURE(hi);
                CAPTURE(m);
                REQUIRE(t.size() >= 1);
                CHECK(t.front() == 0);
                CHECK(int(t.size()) <= m + 1);
                CHECK(t.back() <= hi);
                const double step = t.size() > 1 ? t[1] - t[0] : 1;
                const double mant = step / std::pow(10.0, std::floor(std::log10(step)));
                CHECK((std::fabs(mant - 1) < 1e-9 || std::fabs(mant - 2) < 1e-9 || std::fabs(mant - 5) < 1e-9));
                for (size_t k = 1; k < t.size(); ++k) CHECK(t[k] - t[k - 1] == doctest::Approx(step));
            }
        }
        CHECK(nice_ticks(5, 4, 5).empty());
        CHECK(nice_ticks(0, std::nan(""), 5).empty());
        CHECK(token_label(16000) == "16k");
        CHECK(token_label(4096) == "4096");
        CHECK(token_label(250) == "250");
    }

    TEST_CASE("figure layout: title, legend and caption inside the page, none over a plot") {
        for (int64_t n : {1, 7, 100, 1000}) {
            for (int size : {64, 300}) {
                CAPTURE(n);
                CAPTURE(size);
                HeadMask m(window_globals(2, 25), n);
                FigureSpec spec;
                spec.title = "a page";
                spec.plot_size = size;
                spec.panels.push_back(mask_panel("wg", m, size));
                spec.panels.push_back(mask_panel("wg again", m, size));
                spec.columns = 2;
                const Figure f = make_figure(spec);
                const FRect page{0, 0, double(f.width), double(f.height)};
                REQUIRE(f.plots.size() == 2);
                CHECK_FALSE(f.plots[0].overlaps(f.plots[1]));
                int titles = 0, captions = 0, legends = 0;
                for (const FigItem& it : f.items) {
                    CAPTURE(it.text);
                    CHECK(page.contains(it.box));
                    if (it.kind != FigItem::Kind::text) continue;
                    titles += it.role == "title";
                    captions += it.role == "caption";
                    legends += it.role == "legend";
                    for (const FRect& p : f.plots) CHECK_FALSE(p.overlaps(it.box));
                }
                CHECK(titles == 3);
                CHECK(captions == 2);
                CHECK(legends >= 2);
                // Text items of different roles never overlap one another.
                for (size_t a = 0; a < f.items.size(); ++a)
                    for (size_t b = a + 1; b < f.items.size(); ++b) {
                        const FigItem &x = f.items[a], &y = f.items[b];
                        if (x.kind == FigItem::Kind::text && y.kind == FigItem::Kind::text && x.role != y.role &&
                            x.role != "axis" && y.role != "axis") {
                            CAPTURE(x.text);
                            CAPTURE(y.text);
                            CHECK_FALSE(x.box.overlaps(y.box));
                        }
                    }
            }
        }
        CHECK_THROWS_AS(make_figure(FigureSpec{}), InputError);
    }

    TEST_CASE("figure mask pixels are aggregate_mask's colours and the PNG has the figure's size") {
        for (int64_t n : {37, 300, 1000}) {
            CAPTURE(n);
            const int size = 128;
            HeadMask m(window_globals(3, 40), n);
            FigureSpec spec;
            spec.plot_size = size;
            spec.panels.push_back(mask_panel("wg", m, size));
            const Figure f = make_figure(spec);
            const Image img = rasterize(f);
            REQUIRE(img.width == f.width);
            REQUIRE(img.height == f.height);
            const int64_t cells = int64_t(f.grids.empty() ? 0 : f.grids[0]->cols);
            REQUIRE(cells >= 1);
            const int64_t tokens = (n + size - 1) / size > 1 ? (n + size - 1) / size : 1;
            AggregateOptions ao;
            ao.max_rows_per_pixel = 1 << 30;
            const DensityImage d = aggregate_mask(m, TokenRect{0, 0, n, n}, int(cells), int(cells), {}, ao);
            (void)tokens;
            const FRect p = f.plots[0];
            // Every plot pixel shows the colour of the aggregate_mask cell it covers.
            int checked = 0, mismatched = 0;
            const int W = int(p.w), H = int(p.h);
            for (int y = 0; y < H; ++y)
                for (int x = 0; x < W; ++x) {
                    const int64_t cx = int64_t(x) * cells / W, cy = int64_t(y) * cells / H;
                    const float v = d.density[size_t(cy * cells + cx)];
                    const Rgb8 want = v > 0 ? sequential_rgb(mask_density_shade(v)) : kEmptyRgb;
                    const uint8_t* px = &img.rgba[(size_t(int(p.y) + y) * size_t(img.width) + size_t(int(p.x) + x)) * 4];
                    mismatched += !(Rgb8{px[0], px[1], px[2]} == want);
                    ++checked;
                }
            CHECK(checked == W * H);
            CHECK(W == size);
            CHECK(mismatched == 0);
            // The PNG on disk decodes to the same size.
            const fs::path file = fs::path(SALAB_BINARY_DIR) / "figure_test.png";
            write_figure(file.string(), f);
            int w = 0, h = 0, c = 0;
            unsigned char* data = stbi_load(file.string().c_str(), &w, &h, &c, 4);
            REQUIRE(data);
            CHECK(w == f.width);
            CHECK(h == f.height);
            stbi_image_free(data);
        }
    }

    TEST_CASE("figure SVG is well formed and a band mask stays a few rectangles per row") {
        const int64_t n = 20000;
        HeadMask m(window_globals(8, 0), n);
        FigureSpec spec;
        spec.plot_size = 256;
        spec.panels.push_back(mask_panel("band <&> \"test\"", m, 256));
        const std::string svg = to_svg(make_figure(spec));
        std::string why;
        CHECK_MESSAGE(well_formed_xml(svg, why), why);
        CHECK(svg.find("<svg") != std::string::npos);
        CHECK(svg.find("band &lt;&amp;&gt; &quot;test&quot;") != std::string::npos);
        size_t rects = 0;
        for (size_t at = 0; (at = svg.find("<rect", at)) != std::string::npos; ++at) ++rects;
        // 256 rows of a band: a handful of runs each plus legend and frame, never one per cell.
        CHECK(rects < 256 * 6 + 64);
        CHECK(rects > 256);
        std::string bad = "<a><b></a></b>";
        CHECK_FALSE(well_formed_xml(bad, why));
    }
}

TEST_SUITE("cli") {
    TEST_CASE("render of each view writes a figure, .svg by extension, and bad args fail with one line") {
        const fs::path dir = fs::path(SALAB_BINARY_DIR) / "figure_cli";
        fs::create_directories(dir);
        for (std::string view : {"mask", "blocks", "hops", "heatmap", "figure"}) {
            for (std::string ext : {".png", ".svg"}) {
                const fs::path out = dir / (view + ext);
                fs::remove(out);
                const Output o = run_cli("render --pattern " + preset("illustrated_hybrid") + " --n 200 --size 96 --view " +
                                         view + " --out " + out.string());
                CAPTURE(view);
                CAPTURE(o.text);
                CHECK(o.code == 0);
                REQUIRE(fs::exists(out));
                std::ifstream in(out, std::ios::binary);
                std::string head(8, '\0');
                in.read(head.data(), 8);
                if (ext == ".png")
                    CHECK(head.substr(1, 3) == "PNG");
                else
                    CHECK(head.substr(0, 5) == "<?xml");
            }
        }
        for (std::string args : {"render --pattern " + preset("bigbird") + " --view nope --out x.png",
                                 "render --pattern " + preset("bigbird") + " --view mask --size 3 --out x.png",
                                 "render --pattern " + preset("bigbird") + " --view mask --out /nonexistent/dir/x.svg",
                                 std::string("render --pattern /no/such.json --view mask --out x.png")}) {
            const Output o = run_cli(args);
            CAPTURE(args);
            CAPTURE(o.text);
            CHECK(o.code != 0);
            CHECK(std::count(o.text.begin(), o.text.end(), '\n') == 1);
        }
    }
}

TEST_CASE("token tick labels: which tokens get their text at a given zoom") {
    using V = std::vector<int64_t>;
    // Roomy: every visible token.
    CHECK(token_tick_indices(0, 10, 10, 20.0, 11.0) == V{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    // 5 px a token, 11 px a label: every 5th (2 x 5 = 10 < 11), from the first multiple in range.
    CHECK(token_tick_indices(0, 10, 10, 5.0, 11.0) == V{0, 5});
    CHECK(token_tick_indices(3, 20, 30, 6.0, 11.0) == V{4, 6, 8, 10, 12, 14, 16, 18, 20, 22});
    CHECK(token_tick_indices(7, 3, 12, 1.0, 30.0).empty());   // step 50: no multiple in 7..9
    CHECK(token_tick_indices(0, 48, 48, 0.5, 20.0) == V{0});  // step 50: only token 0
    // Figures: label_px 0, every token up to kMaxTokenTicks of them.
    V all(static_cast<size_t>(kMaxTokenTicks));
    for (size_t k = 0; k < all.size(); ++k) all[k] = int64_t(k) + 100;
    CHECK(token_tick_indices(100, kMaxTokenTicks, 200, 1.0, 0.0) == all);
    // Too many tokens in view, or text missing for part of the range: no token labels.
    CHECK(token_tick_indices(0, kMaxTokenTicks + 1, 1000, 40.0, 11.0).empty());
    CHECK(token_tick_indices(5, 10, 14, 40.0, 11.0).empty());
    CHECK(token_tick_indices(0, 10, 0, 40.0, 11.0).empty());
    CHECK(token_tick_indices(0, 0, 10, 40.0, 11.0).empty());
    CHECK(token_tick_indices(-1, 5, 10, 40.0, 11.0).empty());
}
