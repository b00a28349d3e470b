// Small shared widgets: section headers, tooltips, the "updating" badge.
#pragma once

#include <imgui.h>

#include <string>

namespace salab::ui {

// A titled separator (ImGui 1.86 has no SeparatorText).
void section(const char* title);
// Tooltip for the last item (also when it is disabled).
void tip(const char* text);
// Draws "updating..." (and what the worker does) right-aligned at `top_right`.
void draw_updating_badge(ImVec2 top_right, const std::string& activity);
// One freshness rule for every panel: what was computed for older parameters is drawn dimmed
// (this scope) with an "updating..." mark next to it, never mixed into a current figure.
class StaleScope {
public:
    explicit StaleScope(bool stale);
    ~StaleScope();
    StaleScope(const StaleScope&) = delete;
    StaleScope& operator=(const StaleScope&) = delete;

private:
    bool pushed_;
};
// The same rule for pictures drawn on a draw list (images, plots): a veil over [a, b).
void dim_rect(ImDrawList* dl, ImVec2 a, ImVec2 b);
// The "updating..." mark (nothing when not stale).
void updating_mark(bool stale);
// One-line "label: value" readout with the value right after the label.
void readout(const char* label, const char* fmt, ...) IM_FMTARGS(2);

}  // namespace salab::ui
