// The GUI's frame loop: AppState, the views, the worker, and what ties them (layout, keyboard
// shortcuts, sessions, screenshots, --stats instrumentation). The window and Vulkan live in
// gui_vulkan.h; compute in gui_worker.h.
#pragma once

#include <cstdint>
#include <string>

namespace salab::gui {

struct AppOptions {
    std::string pattern_path;    // --pattern
    int64_t n = 0;               // --n: override the pattern's n (0: keep)
    int device = -1;             // --device
    std::string session_path;    // --session
    std::string model_dir;       // --model DIR: a Q/K/V stack from scripts/qkv_from_hf.py
    std::string compare_a;       // --compare A.json: pin A.json as A, open the A/B window
    std::string export_figure;   // --export-figure F: with --screenshot, also "export PNG" of --screenshot-view as a figure
    std::string screenshot;      // --screenshot F.png
    std::string screenshot_view; // --screenshot-view: crop to one view ("" = whole window)
    double screenshot_scale = 1; // --screenshot-scale: downscale the PNG (docs)
    int frames = 3;              // --frames K
    double wait_s = 120;         // --wait: cap on waiting for the first results (screenshot)
    bool stats = false;          // --stats: print frame rate and update latency
    int bench_changes = 0;       // --bench-changes N: scripted slider changes (with --stats)
    bool screenshot_change = false;  // --screenshot-change: one scripted change once results are in,
                                     // the screenshot --frames frames later (the "updating" state)
    bool tour = false;           // --tour: open the guided tour
    int tour_chapter = 0;        // --tour-chapter K (1-based; 0: the session's or the first)
    int width = 1600, height = 1000;  // --size WxH: initial window size (screen coordinates)
    bool advisor = false;        // --advisor: open the pattern advisor and start its search
    std::string exe_dir;         // to find assets
};

// Returns the process exit code. Prints one-line errors on stderr.
int run_app(const AppOptions& options);

}  // namespace salab::gui
