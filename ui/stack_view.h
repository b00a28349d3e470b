// The layers x heads overview of a stack (BertViz's "model view" for masks): one small mask per
// (layer, head) with its density; click one to show it in every view. Thumbnails are counted on
// the CPU (aggregate_mask at 24 x 24, a few rows per pixel) when the pattern or n changes, and
// only while the overview is on screen.
#pragma once

#include "app_state.h"
#include "view_context.h"

#include <string>
#include <vector>

namespace salab::ui {

struct StackThumb {
    int layer = 0, head = 0;
    DensityImage image;   // empty when the head needs Q/K (lsh, top-k): not drawn here
    double density = 0;   // kept share of the sampled pairs
    std::string label;    // "L0 H1"
};
// Thumbnails of every (layer, head) of `p` at its n, `side` cells a side.
std::vector<StackThumb> stack_thumbnails(const Pattern& p, int side = 24);

class StackView {
public:
    // Draws the grid; a click sets params.layer and view.head.
    void draw(AppState& s, const ViewContext& ctx);

private:
    Pattern built_for_;
    std::vector<StackThumb> thumbs_;
};

}  // namespace salab::ui
