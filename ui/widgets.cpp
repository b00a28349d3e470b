#include "widgets.h"

#include <cstdarg>
#include <cstdio>

namespace salab::ui {

void section(const char* title) {
    ImGui::Spacing();
    ImGui::TextColored(ImVec4(0.55f, 0.75f, 1.0f, 1.0f), "%s", title);
    ImGui::Separator();
}

void tip(const char* text) {
    if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) {
        ImGui::BeginTooltip();
        ImGui::PushTextWrapPos(ImGui::GetFontSize() * 28.0f);
        ImGui::TextUnformatted(text);
        ImGui::PopTextWrapPos();
        ImGui::EndTooltip();
    }
}

void draw_updating_badge(ImVec2 top_right, const std::string& activity) {
    const std::string text = activity.empty() ? "updating..." : "updating: " + activity;
    const ImVec2 ts = ImGui::CalcTextSize(text.c_str());
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const ImVec2 a{top_right.x - ts.x - 12, top_right.y + 4}, b{top_right.x - 4, top_right.y + ts.y + 10};
    dl->AddRectFilled(a, b, IM_COL32(200, 140, 20, 230), 4.0f);
    dl->AddText({a.x + 4, a.y + 3}, IM_COL32(20, 20, 20, 255), text.c_str());
}

void readout(const char* label, const char* fmt, ...) {
    ImGui::TextDisabled("%s", label);
    ImGui::SameLine();
    va_list args;
    va_start(args, fmt);
    ImGui::TextV(fmt, args);
    va_end(args);
}

StaleScope::StaleScope(bool stale) : pushed_(stale) {
    if (pushed_) ImGui::PushStyleVar(ImGuiStyleVar_Alpha, ImGui::GetStyle().Alpha * 0.45f);
}

StaleScope::~StaleScope() {
    if (pushed_) ImGui::PopStyleVar();
}

void dim_rect(ImDrawList* dl, ImVec2 a, ImVec2 b) { dl->AddRectFilled(a, b, IM_COL32(12, 12, 16, 150)); }

void updating_mark(bool stale) {
    if (stale) ImGui::TextColored(ImVec4(1, 0.7f, 0.2f, 1), "updating...");
}

}  // namespace salab::ui
