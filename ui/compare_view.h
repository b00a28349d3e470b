// A/B compare in the GUI: "Pin as A" keeps the current pattern; whatever is edited afterwards is
// B. The window shows A's mask, B's mask and their difference (A only / B only / both, with a legend) and the
// statistics of compute/compare.h as two columns with the ratio B/A. The comparison runs on its
// own thread (never the frame loop) and restarts when A or B changes.
#pragma once

#include "app_state.h"
#include "compare.h"
#include "image.h"

#include <memory>
#include <optional>
#include <string>

namespace salab::ui {

// Largest n the GUI compares (two Problems, CPU statistics); salab-cli compare goes further.
inline constexpr int64_t kGuiCompareMaxN = 8192;

class CompareView {
public:
    CompareView();
    ~CompareView();
    CompareView(const CompareView&) = delete;
    CompareView& operator=(const CompareView&) = delete;

    bool pinned() const { return a_.has_value(); }
    // Pins `a` as A and opens the window (salab --compare A.json; the button does the same).
    void pin(const LiveParams& a) {
        a_ = a;
        open_ = true;
    }
    // The "Pin as A" / "Unpin" button row (drawn inside the caller's window).
    void draw_pin_button(const AppState& s);
    // The "A/B compare" window, when open (opened by pinning).
    void draw_window(const AppState& s, Textures* textures);

    struct Worker;

private:
    std::optional<LiveParams> a_;
    bool open_ = false;
    Rgba8Image image_, image_a_, image_b_;  // the difference, A alone, B alone
    uint64_t shown_id_ = 0;
    std::unique_ptr<Worker> w_;
};

}  // namespace salab::ui
