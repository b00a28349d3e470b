// Figures that explain themselves: one or more panels (a cell grid such as a mask, a block map,
// a heatmap or a hop matrix), each with a title, token axes with nice ticks, a legend or colour
// bar and a one-line caption, laid out on one page. A Figure is a small display list that both
// back ends draw the same way: rasterize() / write_png() for PNG, to_svg() / write_svg() (svg.h)
// for vector output. No UI code.
//
//   FigureSpec spec;
//   spec.panels.push_back(mask_panel(pattern.name, HeadMask(head, n), 512));  // render.h
//   Figure f = make_figure(spec);
//   write_figure("mask.svg", f);   // .svg -> SVG, anything else -> PNG
#pragma once

#include "palette.h"
#include "render.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace salab {

// --- ticks ------------------------------------------------------------------------------------

// Nice tick values in [lo, hi]: multiples of a step 1, 2 or 5 x 10^k chosen so that at most
// `max_ticks` (>= 2) fall in the range; ascending. Empty when hi < lo or the values are not finite.
std::vector<double> nice_ticks(double lo, double hi, int max_ticks);
// Token tick label: 0, 250, 1000, 4096 -> "4096", 16384 -> "16k" when a multiple of 1024 or 1000.
std::string token_label(double v);
// Caption numbers: 16384 -> "16,384"; a fraction 0.0311 -> "3.11%" (3 significant digits below 0.1%).
std::string grouped_count(int64_t v);
std::string percent_label(double fraction);

// --- panel data -------------------------------------------------------------------------------

// A grid of cells drawn in a square plot: colors[row * cols + col]; row 0 at the top.
struct CellGrid8 {
    int cols = 0, rows = 0;
    std::vector<Rgb8> colors;
};

struct Swatch {
    Rgb8 color;
    std::string label;
};

// A legend is either a list of colour swatches or a vertical colour bar.
struct Legend {
    std::string title;
    std::vector<Swatch> swatches;
    // Colour bar: `bar` samples bottom (lo) to top (hi); ticks at fractions in [0, 1] of its height.
    std::vector<Rgb8> bar;
    std::vector<std::pair<double, std::string>> bar_ticks;
    std::vector<std::string> notes;  // short lines under the legend (components, sampling)
};

struct PanelData {
    std::string title;            // "window+globals, n = 1,000: mask (head 0)"
    CellGrid8 grid;
    int64_t extent = 0;           // tokens each axis spans (ticks are in tokens)
    // A zoomed region: keys [x0, x0 + extent) across, queries [y0, y0 + y_extent) down (y_extent
    // 0: extent). The plot is plot_size wide and plot_size * y_extent / extent high (clamped to
    // [1/4, 2] x plot_size), so a token is square.
    int64_t x0 = 0, y0 = 0, y_extent = 0;
    // Token strings (a real model's input, all n of them): when each axis spans at most
    // kMaxTokenTicks tokens, every token gets a tick labelled with its text instead of numbers.
    std::vector<std::string> tokens;
    std::string x_label = "key j";
    std::string y_label = "query i";
    Legend legend;
    std::string caption;          // "density 1.5% | 15,000 of 1,000,000 pairs kept"
};

inline constexpr int64_t kMaxTokenTicks = 48;

// Which tokens of an axis's visible range [first, first + count) are labelled with their text,
// when a token is px_per_token pixels along the axis and a label needs label_px of it (its height
// on a vertical axis, its width on a horizontal one): none when the text of the range is missing
// (tokens_size < first + count) or the range spans more than kMaxTokenTicks tokens; else the
// multiples of step in the range, step the smallest of 1, 2, 5, 10, 20, 50 with
// step * px_per_token >= label_px. Figures (label_px 0) label every token; the live mask view
// passes its zoom and font.
std::vector<int64_t> token_tick_indices(int64_t first, int64_t count, int64_t tokens_size, double px_per_token,
                                        double label_px);

struct FigureSpec {
    std::string title;            // page title over several panels (may be empty)
    std::vector<PanelData> panels;
    int columns = 2;              // panels per row when there are several
    int plot_size = 512;          // side of each panel's square plot in pixels
};

// --- the display list -------------------------------------------------------------------------

struct FRect {
    double x = 0, y = 0, w = 0, h = 0;
    bool contains(const FRect& o) const {
        return o.x >= x - 1e-9 && o.y >= y - 1e-9 && o.x + o.w <= x + w + 1e-9 && o.y + o.h <= y + h + 1e-9;
    }
    bool overlaps(const FRect& o) const { return x < o.x + o.w && o.x < x + w && y < o.y + o.h && o.y < y + h; }
};

enum class Anchor { start, middle, end };

struct FigItem {
    enum class Kind { rect, line, text, grid } kind = Kind::rect;
    FRect box;              // rect / grid: the area; line: (x, y) to (x + w, y + h); text: its bounds
    Rgb8 color;
    double stroke = 0;      // rect: outline width (0: filled); line: width
    std::string text;
    double font_px = 12;
    double tx = 0, ty = 0;  // text: anchor point on the baseline
    Anchor anchor = Anchor::start;
    bool vertical = false;  // text rotated 90 degrees counter-clockwise
    const CellGrid8* grid = nullptr;  // points into Figure::grids
    std::string role;       // "title", "plot", "legend", "caption", "axis": what tests and layout check
};

struct Figure {
    int width = 0, height = 0;
    Rgb8 background{255, 255, 255};
    std::vector<FigItem> items;
    std::vector<FRect> plots;  // each panel's plot area, in panel order
    std::vector<std::unique_ptr<CellGrid8>> grids;
};

// Lays the panels out (title, plot with axes and ticks, legend right of the plot, caption under
// it) and returns the display list. Throws InputError for a spec without panels or a panel
// whose grid is empty or inconsistent.
Figure make_figure(const FigureSpec& spec);

// Pixel width of `text` at `px` pixels in the figure font.
double text_width(const std::string& text, double px);
// Which font figures use: the TrueType file's path, or "built-in (stb_easy_font)" when no
// TrueType font was found (SALAB_FONT, then DejaVu Sans).
std::string figure_font_name();

Image rasterize(const Figure& f);
void write_png(const std::string& path, const Figure& f);
// .svg (any case) -> SVG, anything else -> PNG.
void write_figure(const std::string& path, const Figure& f);

}  // namespace salab
