// The pattern advisor's chart: kept mass (or output error) against cost, one point per pattern
// of the family, the Pareto front drawn, dense and the current pattern marked. Hover shows a
// point's parameters and metrics; a click asks the app to load its pattern into the editor.
#pragma once

#include "advisor.h"

#include <cstdint>
#include <optional>
#include <string>

namespace salab::ui {

// What the app's background search hands the view (a snapshot; the view keeps no pointers).
struct AdvisorViewData {
    const AdvisorResult* result = nullptr;  // null before the first search ends
    bool running = false;
    int64_t done = 0, planned = 0;
    double seconds = 0;
    std::string error;
    std::string current_pattern;  // name of the editor's pattern, to mark it
    double current_cost = -1, current_mass = -1;  // the editor's pattern when known
};

struct AdvisorActions {
    bool start = false, cancel = false;
    std::optional<Pattern> load;  // clicked point, or "load recommended"
    // "export mask_mod": the recommended pattern as a FlexAttention Python file at flex_path
    // (the app writes it: export_flex_python, the same file as `salab-cli export --flex`).
    std::optional<Pattern> export_flex;
    std::string flex_path;
};

class AdvisorView {
public:
    std::string family_path = "assets/families/window_globals_random.json";
    double budget_mass = 0.95;
    int filter_diameter = 0;      // 0: no filter ("diameter <= h")
    float filter_density = 1.0f;  // "density <= x"
    bool show_error = false;      // y axis: output error instead of kept mass
    std::string flex_path = "mask_mod.py";  // where "export mask_mod" writes
    void draw(const AdvisorViewData& data, AdvisorActions& out);
    // Points passing the filters (pure; tested).
    bool passes(const PointMetrics& p) const;
};

}  // namespace salab::ui
