// Figures of what the GUI's views show right now, for its "export PNG" (figure.h: title, token
// axes, legend or colour bar, caption; .svg gives SVG). Built from the live results the views
// draw (the mask view's density image over its region, the weights view's heatmap), so an export
// has the view's zoom but never its hover tooltip or selection. No UI code.
//
//   LiveFigureContext c{.name = pattern.name, .n = n, .head = 0, .mask = &model.heads[0]};
//   write_figure("mask.png", make_figure(mask_view_figure(c, mask_result.image)));
#pragma once

#include "figure.h"
#include "live_types.h"

#include <string>
#include <vector>

namespace salab {

struct LiveFigureContext {
    std::string name;  // the pattern's name, for titles
    int64_t n = 0;
    int head = 0;
    const HeadMask* mask = nullptr;  // the head shown: exact kept-pair counts in the caption (may be null)
    int plot_size = 512;
    std::vector<std::string> tokens;  // a real model's tokens (all n): tick labels when zoomed to a few
};

// The mask view's image over its region: kept share per cell on the sequential scale (or, when
// the image has per-component planes, the colour of the component keeping most of the cell).
// Throws InputError for an empty image.
FigureSpec mask_view_figure(const LiveFigureContext& c, const DensityImage& img);

// The weights view's region: dense, sparse and sparse - dense, on one scale (log: down to 1e-4
// of the largest weight shown). Throws InputError for an empty heatmap.
FigureSpec heat_view_figure(const LiveFigureContext& c, const HeatResult& h, bool log_scale);

// Hops of the whole stack (every layer's masks rebuilt from the pattern, content components on
// the synthetic Q/K of export.h), as salab-cli render --view hops draws them. Refuses n above
// max_hops_figure_n with a one-line InputError.
inline constexpr int64_t max_hops_figure_n = 8192;
FigureSpec hops_view_figure(const Pattern& p, int plot_size = 512);

}  // namespace salab
