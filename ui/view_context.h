// What every view reads in a frame: the current Params generation and the latest results
// (possibly older than the current generation: views then show an "updating" state).
#pragma once

#include "image.h"
#include "live_types.h"

#include <deque>
#include <string>
#include <vector>

namespace salab::ui {

struct DeviceEntry {
    int index = -1;
    std::string name;
    std::string type;  // "discrete", "integrated", "cpu", ...
    bool usable = true;
    std::string reason;  // why not usable
};

struct ViewContext {
    uint64_t gen = 0;  // generation of the current Params
    const ModelResult* model = nullptr;
    const MaskImageResult* mask = nullptr;
    const HeatResult* heat = nullptr;
    const RowWeights* row = nullptr;  // the inspected query's weights
    const AccuracyResult* accuracy = nullptr;
    const std::deque<TimingSample>* timings = nullptr;
    const HopResult* hops = nullptr;
    const TokenHopResult* token_hops = nullptr;
    const SweepState* sweep = nullptr;
    std::string activity;       // what the worker does now
    std::string compute_error;  // device / run failure
    std::string device_name;    // compute device
    const std::vector<PathChoice>* paths = nullptr;  // its kernel paths at the current d (null: not open yet)
    Textures* textures = nullptr;

    bool current(uint64_t result_gen) const { return result_gen == gen; }
};

// The dashboard's windows, in layout order: the one list behind window rectangles, PNG export
// crops and salab --screenshot-view.
enum class DashWindow { pattern, mask, stats, heatmap, timing, hops, count };
struct DashWindowInfo {
    const char* key;    // --screenshot-view name
    const char* label;  // shown in the export picker
};
inline constexpr DashWindowInfo kDashWindows[int(DashWindow::count)] = {
    {"pattern", "pattern"}, {"mask", "mask"},     {"stats", "stats"},
    {"heatmap", "attention weights"}, {"timing", "timing"}, {"hops", "hops"}};
inline const DashWindowInfo& dash_window(DashWindow w) { return kDashWindows[int(w)]; }

// Requests from views that the app carries out (files, clipboard, threads).
struct ViewActions {
    bool save_session = false, load_session = false, copy_pattern = false;
    std::string session_path;
    bool start_sweep = false, cancel_sweep = false;
    int64_t sweep_max_n = 0;
    bool export_png = false;  // screenshot to export_path
    std::string export_path;
    int export_view = -1;     // -1: the whole window, else a DashWindow
    std::string load_preset;  // path of a preset to load
    bool fit_views = false;
};

}  // namespace salab::ui
