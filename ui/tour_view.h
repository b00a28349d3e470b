// The Tour window: one chapter of the guided tour (compute/tour.h) at a time, its 2-4 sentences
// computed live for what the views show, previous / next / reset, and the chapter list.
// The chapter index lives in ViewSettings (so sessions resume a tour); moving to a chapter sets
// the pattern and the views it talks about.
#pragma once

#include "app_state.h"
#include "tour.h"
#include "view_context.h"

#include <string>

namespace salab::ui {

// Chapter k (clamped to the list) into s: pattern, hop token, overlays. Resets the selected layer
// and head; keeps d, heads, device and the Q/K/V source.
void go_to_chapter(AppState& s, int k);
// One step forward (+1) or back (-1), clamped at the ends.
void step_chapter(AppState& s, int delta);

class TourView {
public:
    // The window's contents (the caller has begun the window).
    void draw(AppState& s, const ViewContext& ctx);

private:
    // The page is recomputed only when what it depends on changes.
    Params page_params_;
    int page_chapter_ = -1;
    int64_t page_token_ = -1;
    std::string page_meas_;  // measurements it quoted, as a key
    TourPage page_;
    std::string error_;
};

}  // namespace salab::ui
