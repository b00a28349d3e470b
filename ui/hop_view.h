// Hop connectivity views: headline numbers (diameter, mean hops, layers to full reach), the
// reach-vs-layers chart with the theory line for the pattern, the hop map of one token as a
// colour strip (to it and from it), and an arc diagram of its 1-, 2-, 3-hop neighbourhood with
// edges coloured by the component that created them.
#pragma once

#include "app_state.h"
#include "plot.h"
#include "view_context.h"

#include "neighbourhood.h"

#include <optional>
#include <string>
#include <vector>

namespace salab::ui {

// What theory says about the reach of a flat pattern, when it says something.
struct ReachTheory {
    std::string label;            // "window: layers x radius", ...
    std::vector<double> reach;    // fraction reached after 1..L layers (empty: only full_at)
    std::optional<double> full_at;  // layers to full reach
};
ReachTheory reach_theory(const Pattern& p, int layers);

// The reach chart: the measured curve and, only when that curve is of the current params, the
// theory line of `p` (a stale curve never shares a plot with the new pattern's theory).
struct ReachPlot {
    std::vector<PlotSeries> series;
    int layers = 4;             // x range 1..layers
    std::string theory_label;   // "" when no theory line is drawn
};
ReachPlot reach_plot(const HopsReport* report, bool current, const Pattern& p);

// One line of headline numbers for the timing panel ("diameter 3 · mean 2.1 hops · ...").
std::string hop_headline(const ViewContext& ctx);

class HopView {
public:
    void draw(AppState& s, const ViewContext& ctx);

private:
    // Neighbourhood of the arc diagram and its binned arcs, cached by what they came from.
    Neighbourhood nb_;
    uint64_t nb_gen_ = 0;
    int64_t nb_token_ = -1;
    int nb_depth_ = 0;
    std::vector<BinnedArc> arcs_;
    int arcs_bins_ = 0;          // TokenBins::bins() of arcs_ (0: stale)
    bool only_deepest_ = false;  // draw only the edges of the deepest hop
};

}  // namespace salab::ui
