// Legends of the mask view: one per colour encoding that is on screen (density, components,
// kernel blocks, hop overlay, selection), built as data from the view settings and the head's
// components (pure, tested) and drawn as a strip of swatches under the canvas.
#pragma once

#include "app_state.h"
#include "palette.h"

#include <string>
#include <vector>

namespace salab::ui {

// The selected query's row and column in the mask view: white, the colour of "0 hops" (the
// token itself), apart from every component colour.
inline constexpr Rgb8 kSelectionRgb{255, 255, 255};

struct LegendItem {
    std::string label;
    Rgb8 color;
};

struct Legend {
    std::string title;
    std::vector<LegendItem> items;
    bool gradient = false;  // items are the ends (and middle) of a continuous scale
    std::string help;       // tooltip of the legend ("" none)
};

// Every colour the mask view draws with these settings, with what it means. `max_hops`: the
// largest hop count of the overlay (<= 0: not known yet).
std::vector<Legend> mask_legends(const ViewSettings& v, const HeadPattern& head, int max_hops, bool selection);

// Draws the legends as rows of swatches (ImGui widgets, at the cursor), wrapping to `width`.
void draw_legends(const std::vector<Legend>& legends, float width);
// Rows draw_legends needs at `width` (to reserve the space before drawing the canvas).
int legend_rows(const std::vector<Legend>& legends, float width);

}  // namespace salab::ui
