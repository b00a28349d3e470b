// salab: the Sparse Attention Lab window. Wiring only: arguments and environment checks here,
// the frame loop in gui_app.cpp.
//
//   salab [--pattern P.json] [--device I] [--screenshot F.png --frames K] [--stats]
//         [--session S.json] [--n N] [--screenshot-view mask|heatmap|...] [--bench-changes N]
//         [--size WxH] [--tour] [--tour-chapter K] [--screenshot-change]
#include "gui_app.h"
#include "tour.h"
#include "view_context.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

int main(int argc, char** argv) {
    salab::gui::AppOptions o;
    CLI::App cli{"salab: see what a sparse attention pattern does, live (mask, weights, hops, kernel time)"};
    cli.add_option("--pattern", o.pattern_path, "pattern or preset JSON to open");
    cli.add_option("--n", o.n, "override the pattern's n (tokens)")->check(CLI::Range(int64_t(1), int64_t(1) << 20));
    cli.add_option("--device", o.device, "Vulkan device index for compute (see salab-cli devices)");
    cli.add_option("--screenshot-scale", o.screenshot_scale, "scale the screenshot (area filter), e.g. 0.75 for docs")
        ->check(CLI::Range(0.1, 1.0));
    cli.add_option("--session", o.session_path, "session JSON to open (pattern, settings, view)");
    cli.add_option("--export-figure", o.export_figure,
                   "with --screenshot and --screenshot-view mask|heatmap|hops: also write that view's export figure here");
    cli.add_option("--compare", o.compare_a, "pin this pattern as A and open the A/B compare window (B: --pattern)");
    cli.add_option("--model", o.model_dir, "Q/K/V of a real model: the directory scripts/qkv_from_hf.py wrote");
    cli.add_option("--screenshot", o.screenshot, "render, write the window to this PNG and exit");
    cli.add_option("--screenshot-view", o.screenshot_view, "crop the screenshot to one view")
        ->check(CLI::IsMember([] {
            std::vector<std::string> keys;
            for (const auto& w : salab::ui::kDashWindows) keys.push_back(w.key);
            return keys;
        }()));
    cli.add_option("--frames", o.frames, "frames to render before the screenshot (after the first results)")->check(CLI::Range(1, 100000));
    cli.add_option("--wait", o.wait_s, "seconds to wait at most for the first results before a screenshot");
    cli.add_flag("--tour", o.tour, "open the guided tour (PageUp / PageDown between chapters)");
    cli.add_option("--tour-chapter", o.tour_chapter, "open the tour at chapter K (1-based; implies --tour)")
        ->check(CLI::Range(1, int(salab::tour_chapters().size())));
    cli.add_flag("--stats", o.stats, "print frame rate and slider-to-update latency");
    cli.add_flag("--advisor", o.advisor, "open the pattern advisor and start its search (assets/families/window_globals_random.json)");
    cli.add_option("--bench-changes", o.bench_changes,
                   "with --stats: make N scripted slider changes (each once the app is idle), print when each "
                   "new mask + heatmap + timing is shown, then frame rates, and exit");
    cli.add_flag("--screenshot-change", o.screenshot_change,
                 "with --screenshot: once the first results are in, make one slider change and take the screenshot "
                 "--frames frames later (the views still show the old results, marked as updating)");
    std::string size;
    cli.add_option("--size", size, "initial window size WxH (default 1600x1000)");
    CLI11_PARSE(cli, argc, argv);
    if (!size.empty()) {
        int w = 0, h = 0;
        char x = 0, extra = 0;
        if (std::sscanf(size.c_str(), "%d%c%d%c", &w, &x, &h, &extra) != 3 || (x != 'x' && x != 'X') || w < 640 ||
            h < 400 || w > 16384 || h > 16384) {
            std::fprintf(stderr, "salab: --size must be WxH with 640 <= W, 400 <= H, both <= 16384 (got '%s')\n", size.c_str());
            return 2;
        }
        o.width = w;
        o.height = h;
    }

    std::error_code ec;
    o.exe_dir = std::filesystem::weakly_canonical(std::filesystem::path(argv[0]), ec).parent_path().string();

    const char* display = std::getenv("DISPLAY");
    const char* wayland = std::getenv("WAYLAND_DISPLAY");
    if ((!display || !*display) && (!wayland || !*wayland)) {
        std::fprintf(stderr, "salab: no display (DISPLAY unset); run under xvfb-run or use salab-cli render\n");
        return 2;
    }
    return salab::gui::run_app(o);
}
