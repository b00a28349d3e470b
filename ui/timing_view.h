// Timing: live sparse and dense kernel times over recent runs, speedup against the 1/density
// that theory promises, effective GFLOP/s, mask build time, the device; a scaling sweep with
// progress and cancel, on log-log axes with O(n^2) and O(n k) reference slopes.
#pragma once

#include "app_state.h"
#include "view_context.h"

#include <deque>
#include <vector>

namespace salab::ui {

// The latest sample of each (pattern, n, d, heads), newest first: what the recent-runs table and
// the speedup plot show (never a history that mixes presets in run order).
std::vector<const TimingSample*> latest_per_problem(const std::deque<TimingSample>& samples);

// Reference line y = y0 * (x / x0)^slope through the first point, sampled at xs.
std::vector<double> slope_line(const std::vector<double>& xs, double x0, double y0, double slope);

class TimingView {
public:
    void draw(AppState& s, const ViewContext& ctx, ViewActions& actions);

private:
    int sweep_max_log2_ = 14;
};

// Stats: kept pairs, density, keys per query, block counts, memory of the structures.
void draw_stats(const AppState& s, const ViewContext& ctx);

}  // namespace salab::ui
