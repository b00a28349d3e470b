#include "live_figure.h"

#include "errors.h"
#include "export.h"
#include "hops.h"
#include "mask_image.h"
#include "palette.h"
#include "render.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace salab {

namespace {

std::string grouped(int64_t v) { return grouped_count(v); }
std::string pct(double f) { return percent_label(f); }

std::string sci(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2g", v);
    return buf;
}

// "keys 0 .. 4,095, queries 0 .. 4,095" or "the whole n x n".
std::string region_text(const TokenRect& r, int64_t n) {
    if (r.row0 == 0 && r.col0 == 0 && r.rows >= n && r.cols >= n)
        return "all " + grouped(n) + " x " + grouped(n) + " pairs";
    return "queries " + grouped(r.row0) + "-" + grouped(r.row0 + r.rows - 1) + ", keys " + grouped(r.col0) + "-" +
           grouped(r.col0 + r.cols - 1);
}

void set_region(PanelData& p, const TokenRect& r, const LiveFigureContext& c) {
    if (int64_t(c.tokens.size()) == c.n) p.tokens = c.tokens;
    p.x0 = r.col0;
    p.y0 = r.row0;
    p.extent = std::max<int64_t>(1, r.cols);
    p.y_extent = std::max<int64_t>(1, r.rows);
}

std::string head_text(int head) { return head ? ", head " + std::to_string(head) : ""; }

}  // namespace

FigureSpec mask_view_figure(const LiveFigureContext& c, const DensityImage& img) {
    if (img.w <= 0 || img.h <= 0 || img.density.size() != size_t(img.w) * size_t(img.h) || img.region.empty())
        throw InputError("the mask view has no image yet: wait for it to appear, then export");
    PanelData p;
    set_region(p, img.region, c);
    p.title = c.name + ": mask, n = " + grouped(c.n) + head_text(c.head);
    p.grid = CellGrid8{img.w, img.h, {}};
    p.grid.colors.reserve(img.density.size());
    const bool by_component =
        !img.components.empty() && c.mask && img.components.size() == c.mask->pattern().components.size();
    for (size_t e = 0; e < img.density.size(); ++e) {
        const float d = img.density[e];
        if (!(d > 0)) {
            p.grid.colors.push_back(kEmptyRgb);
        } else if (by_component) {
            size_t best = 0;
            for (size_t k = 1; k < img.components.size(); ++k)
                if (img.components[k][e] > img.components[best][e]) best = k;
            p.grid.colors.push_back(component_rgb(int(best)));
        } else {
            p.grid.colors.push_back(sequential_rgb(mask_density_shade(d)));
        }
    }
    const double tokens = std::max(double(img.region.cols) / img.w, double(img.region.rows) / img.h);
    if (by_component) {
        p.legend.title = "component keeping most of the cell";
        const auto& comps = c.mask->pattern().components;
        for (size_t k = 0; k < comps.size(); ++k)
            p.legend.swatches.push_back(
                {component_rgb(int(k)), std::to_string(k + 1) + ". " + std::string(to_string(comps[k].type))});
        p.legend.swatches.push_back({kEmptyRgb, "not kept"});
    } else if (tokens <= 1.0) {
        p.legend.title = "query i reads key j?";
        p.legend.swatches = {{sequential_rgb(mask_density_shade(1.0f)), "kept"}, {kEmptyRgb, "not kept"}};
    } else {
        char buf[64];
        std::snprintf(buf, sizeof buf, "kept share of the ~%.0fx%.0f pairs per cell", std::ceil(tokens),
                      std::ceil(tokens));
        p.legend.title = buf;
        p.legend.bar.push_back(kEmptyRgb);
        for (int k = 1; k <= 63; ++k) p.legend.bar.push_back(sequential_rgb(mask_density_shade(float(k) / 63.0f)));
        p.legend.bar_ticks = {{0.0, "0 (none)"}, {0.25, "25%"}, {0.5, "50%"}, {0.75, "75%"}, {1.0, "100%"}};
    }
    if (img.sampled)
        p.legend.notes.push_back("rows sampled: " + grouped(img.rows_visited) + " of " + grouped(img.rows_per_pixel) +
                                 " per cell");
    // Exact counts of the region when the head is at hand and the row walk is short.
    const TokenRect& r = img.region;
    double kept_share = 0;
    std::string kept;
    if (c.mask && r.rows <= 16384) {
        const PairCount pc = count_pairs(*c.mask, r.row0, r.row0 + r.rows, r.col0, r.col0 + r.cols);
        kept_share = double(pc.kept) / double(std::max<int64_t>(1, pc.pairs));
        kept = grouped(pc.kept) + " of " + grouped(pc.pairs) + " pairs kept";
    } else {
        double sum = 0;
        for (float d : img.density) sum += d;
        kept_share = sum / double(img.density.size());
        kept = "~" + grouped(int64_t(std::llround(kept_share * double(r.rows) * double(r.cols)))) + " pairs kept";
    }
    p.caption = "density " + pct(kept_share) + "  |  " + kept + "  |  " + region_text(r, c.n);
    FigureSpec spec;
    spec.plot_size = c.plot_size;
    spec.panels.push_back(std::move(p));
    return spec;
}

FigureSpec heat_view_figure(const LiveFigureContext& c, const HeatResult& h, bool log_scale) {
    const size_t cells = size_t(std::max(0, h.w)) * size_t(std::max(0, h.h));
    if (cells == 0 || h.dense.size() != cells || h.sparse.size() != cells || h.request.region.empty())
        throw InputError("the weights view has no heatmap yet: wait for it to appear, then export");
    float vmax = 0, dmax = 0;
    for (size_t e = 0; e < cells; ++e) {
        vmax = std::max({vmax, h.dense[e], h.sparse[e]});
        dmax = std::max(dmax, std::abs(h.sparse[e] - h.dense[e]));
    }
    vmax = std::max(vmax, 1e-30f);
    const double vmin = log_scale ? double(vmax) * 1e-4 : 0.0;
    auto unit = [&](float v) -> double {
        if (!(v > 0)) return -1;
        if (!log_scale) return double(v) / double(vmax);
        if (double(v) <= vmin) return 0.02;
        return std::clamp(std::log10(double(v) / vmin) / 4.0, 0.02, 1.0);
    };
    auto weight_panel = [&](const std::string& what, const std::vector<float>& v) {
        PanelData p;
        set_region(p, h.request.region, c);
        p.title = c.name + ": " + what + ", n = " + grouped(c.n) + head_text(c.head);
        p.grid = CellGrid8{h.w, h.h, {}};
        for (float x : v) {
            const double t = unit(x);
            p.grid.colors.push_back(t < 0 ? kEmptyRgb : sequential_rgb(float(t)));
        }
        p.legend.title = log_scale ? "softmax weight (log)" : "softmax weight";
        p.legend.bar.push_back(kEmptyRgb);
        for (int k = 1; k <= 63; ++k) p.legend.bar.push_back(sequential_rgb(float(std::max(0.02, double(k) / 63.0))));
        if (log_scale)
            p.legend.bar_ticks = {{1.0, sci(vmax)},
                                  {0.75, sci(vmax * 1e-1)},
                                  {0.5, sci(vmax * 1e-2)},
                                  {0.25, sci(vmax * 1e-3)},
                                  {0.0, "<= " + sci(vmin) + " / none"}};
        else
            p.legend.bar_ticks = {{1.0, sci(vmax)}, {0.5, sci(vmax * 0.5)}, {0.0, "0 / none"}};
        p.caption =
            std::string(h.request.stride > 1 ? "every " + std::to_string(h.request.stride) + "th row and key, " : "") +
            region_text(h.request.region, c.n);
        return p;
    };
    FigureSpec spec;
    spec.plot_size = std::min(c.plot_size, 400);
    spec.columns = 3;
    spec.title = c.name + ": attention weights, dense vs this pattern";
    spec.panels.push_back(weight_panel("dense softmax", h.dense));
    spec.panels.push_back(weight_panel("sparse softmax", h.sparse));
    PanelData d;
    set_region(d, h.request.region, c);
    d.title = "sparse - dense";
    d.grid = CellGrid8{h.w, h.h, {}};
    for (size_t e = 0; e < cells; ++e)
        d.grid.colors.push_back(diverging_rgb(dmax > 0 ? (h.sparse[e] - h.dense[e]) / dmax : 0.0f));
    d.legend.title = "sparse - dense weight";
    for (int k = 0; k < 64; ++k) d.legend.bar.push_back(diverging_rgb(float(k) / 31.5f - 1.0f));
    d.legend.bar_ticks = {{1.0, "+" + sci(dmax) + " (more)"}, {0.5, "0"}, {0.0, "-" + sci(dmax) + " (less)"}};
    d.caption = "red: the pattern puts more weight there, blue: less";
    spec.panels.push_back(std::move(d));
    return spec;
}

FigureSpec hops_view_figure(const Pattern& p, int plot_size) {
    if (p.n > max_hops_figure_n)
        throw InputError("the hops figure is drawn up to n = " + grouped(max_hops_figure_n) +
                         ": use salab-cli render --view hops --n " + std::to_string(p.n));
    const StackMasks masks = build_stack_masks(p);
    std::vector<std::vector<Csr>> stack;
    for (const auto& layer : masks) {
        stack.emplace_back();
        for (const HeadMask& m : layer) stack.back().push_back(build_csr(m));
    }
    FigureSpec spec;
    spec.plot_size = plot_size;
    spec.panels.push_back(hops_panel(p.name, stack, plot_size));
    return spec;
}

}  // namespace salab
