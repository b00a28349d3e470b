// Timing: live sparse and dense kernel times over recent runs, speedup against the 1/density
// that theory promises, effective GFLOP/s, mask build time, the device; a scaling sweep with
// progress and cancel, on log-log axes with O(n^2) and O(n k) reference slopes.
#pragma once

#include "app_state.h"
#include "view_context.h"

#include <deque>
#include <string>
#include <vector>

namespace salab::ui {

// The latest sample of each (pattern, n, d, heads), newest first: what the recent-runs table and
// the speedup plot show (never a history that mixes presets in run order).
std::vector<const TimingSample*> latest_per_problem(const std::deque<TimingSample>& samples);

// The speedup plot's points: one per (pattern, n, d, heads) with a measured dense time, at
// x = 1/density, y = dense/sparse, sorted by x (a line through them never zigzags in run order),
// each labelled "pattern, n = 4,096".
struct SpeedupPoint {
    double inv_density = 0, speedup = 0;
    std::string label;
    bool current = false;  // of the current params
};
std::vector<SpeedupPoint> speedup_points(const std::deque<TimingSample>& samples, uint64_t current_gen);

// Reference line y = y0 * (x / x0)^slope through the first point, sampled at xs.
std::vector<double> slope_line(const std::vector<double>& xs, double x0, double y0, double slope);

// The kernel-path picker (issue 15): one item per path of compute/kernel_plan.h. An item is
// selectable when the device runs it; else it is drawn disabled with this reason: the device's
// path_unsupported() text, or "the compute device is not open yet" before the first timing.
std::string path_pick_reason(const std::vector<PathChoice>* choices, KernelPath path);
// "nv-coopmat (f16)": the path and the storage it is timed in; "auto (fastest here)".
std::string path_pick_label(KernelPath path);
// The combo itself; returns true when `chosen` changed.
bool draw_path_picker(KernelPath& chosen, const std::vector<PathChoice>* choices, float width);

class TimingView {
public:
    void draw(AppState& s, const ViewContext& ctx, ViewActions& actions);

private:
    int sweep_max_log2_ = 14;
};

// Stats: kept pairs, density, keys per query, block counts, memory of the structures.
void draw_stats(const AppState& s, const ViewContext& ctx);

}  // namespace salab::ui
