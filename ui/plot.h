// A small line-plot module on ImDrawList: linear or log axes with "nice" ticks, several
// series with a legend, reference lines, and a tooltip with the nearest point. Tick maths is
// pure and unit tested.
#pragma once

#include <imgui.h>

#include <functional>
#include <string>
#include <vector>

namespace salab::ui {

struct PlotSeries {
    std::string label;
    std::vector<double> x, y;
    ImU32 color = IM_COL32(255, 255, 255, 255);
    bool markers = true;
    bool lines = true;    // false: markers only (points of unrelated problems)
    bool dashed = false;  // reference lines (theory, slopes)
    float thickness = 2.0f;
    std::vector<std::string> point_labels;  // per point, first line of its tooltip (e.g. "BigBird, n = 4,096")
};

struct PlotSpec {
    std::string x_label, y_label;
    bool log_x = false, log_y = false;
    // Fixed ranges when lo < hi; otherwise fitted to the data (with 5% margins).
    double x_lo = 0, x_hi = 0, y_lo = 0, y_hi = 0;
    bool y_from_zero = false;  // linear y: include 0
    // Tooltip formats of the coordinates (default: format_value, "16,384" or "0.123").
    std::function<std::string(double)> x_format, y_format;
};

struct Tick {
    double value;
    std::string label;
};

// 1-2-5 ticks covering [lo, hi] (about `target` of them).
std::vector<Tick> linear_ticks(double lo, double hi, int target = 5);
// Decade ticks (1, 10, 100, ...) covering [lo, hi] > 0; adds 2x and 5x when few decades.
std::vector<Tick> log_ticks(double lo, double hi);

// Draws the plot in a child region of `size` (x <= 0: available width). Returns true when hovered.
bool draw_plot(const char* id, const PlotSpec& spec, const std::vector<PlotSeries>& series, ImVec2 size);

}  // namespace salab::ui
