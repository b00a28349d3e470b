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
// One-line "label: value" readout with the value right after the label.
void readout(const char* label, const char* fmt, ...) IM_FMTARGS(2);

}  // namespace salab::ui
