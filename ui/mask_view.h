// The mask view: the n x n mask as a texture with zoom at the cursor (wheel), pan (drag),
// fit (double-click or F), a minimap when zoomed, a hover tooltip naming the components that
// keep a pair, colour by component, the kernel's block overlay, and a clicked query's row and
// column highlighted.
#pragma once

#include "app_state.h"
#include "input.h"
#include "view_context.h"
#include "zoom.h"

namespace salab::ui {

// Colours a density image: inferno by density, or the blend of component colours weighted by
// each component's density (brightness by the union's density).
Rgba8Image colorize_mask(const DensityImage& img, bool by_component);

class MaskView {
public:
    void draw(AppState& s, const ViewContext& ctx);
    // What to ask the worker for, given the canvas of the last draw.
    MaskImageRequest request(const AppState& s) const;
    void fit() { fitted_n_ = -1; }
    int64_t selected_query() const { return selected_; }
    // The tokens on the canvas at the last draw (empty before the first).
    TokenRect visible(int64_t n) const { return canvas_.x < 8 ? TokenRect{} : zoom_.visible(n, canvas_.x, canvas_.y); }
    // A click is held for the double-click time: the app draws a frame when it is due.
    bool click_pending() const { return click_.pending(); }

private:
    ZoomTransform zoom_;
    ImVec2 canvas_{0, 0};
    int64_t fitted_n_ = -1;
    int64_t selected_ = -1;
    DeferredClick click_;
    // Colourised images, cached by the result they came from.
    uint64_t colored_from_ = 0;  // MaskImageResult::id
    int64_t image_n_ = -1;       // n of the model the image was drawn for (-1: unknown)
    bool colored_by_component_ = false;
    Rgba8Image image_;
    Rgba8Image overview_;  // the last full-matrix image (minimap)
    TokenRect image_region_;
    bool image_current_ = false;
    // The tooltip's exact count for the hovered image cell (counted once per cell).
    struct CellKey {
        uint64_t model_gen = 0;
        int head = -1;
        int64_t row0 = 0, row1 = 0, col0 = 0, col1 = 0;
        bool operator==(const CellKey&) const = default;
    };
    CellKey count_key_;
    PairCount count_;
};

}  // namespace salab::ui
