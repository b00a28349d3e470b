#include "help_view.h"

#include <imgui.h>

#include <array>

namespace salab::ui {

namespace {
constexpr std::array<Shortcut, 20> list{{
    {"F1 or ?", "this help"},
    {"1 .. 9", "load preset 1 .. 9"},
    {"F", "fit the mask view (also: double-click)"},
    {"wheel / drag", "zoom at the cursor / pan (mask and heatmap)"},
    {"click", "select a query: its row and column, and its hop map"},
    {"B", "block overlay: full / partial / skipped"},
    {"K", "colour the mask by component"},
    {"M", "minimap"},
    {"O", "hop overlay on the mask (selected token's row and column)"},
    {"L", "heatmap colour scale: log / linear"},
    {"C", "causal on / off (selected head)"},
    {"R", "re-roll every seed (random parts and Q/K/V)"},
    {"H / Shift+H", "next / previous head"},
    {"Up / Down", "n x2 / n /2"},
    {"Ctrl+S / Ctrl+O", "save / load the session file"},
    {"Ctrl+C", "copy the pattern JSON"},
    {"P", "export the window as PNG"},
    {"T", "guided tour on / off"},
    {"PageDown / PageUp", "tour: next / previous chapter (also Alt+Right / Alt+Left)"},
    {"Esc", "clear the selection / close help"},
}};
}  // namespace

std::span<const Shortcut> shortcuts() { return list; }

void draw_help(bool* open) {
    if (!*open) return;
    ImGui::SetNextWindowSize({ImGui::GetFontSize() * 30, 0}, ImGuiCond_Appearing);
    const ImVec2 c = ImGui::GetMainViewport()->GetCenter();
    ImGui::SetNextWindowPos(c, ImGuiCond_Appearing, {0.5f, 0.5f});
    if (ImGui::Begin("Help: keyboard and mouse", open, ImGuiWindowFlags_NoCollapse)) {
        if (ImGui::BeginTable("keys", 2, ImGuiTableFlags_RowBg)) {
            for (const Shortcut& s : list) {
                ImGui::TableNextRow();
                ImGui::TableNextColumn();
                ImGui::TextColored({0.55f, 0.75f, 1.0f, 1.0f}, "%s", s.keys);
                ImGui::TableNextColumn();
                ImGui::TextUnformatted(s.action);
            }
            ImGui::EndTable();
        }
        ImGui::Separator();
        ImGui::TextWrapped("Every control has a tooltip. Sliders: Ctrl+click to type a value. Results that are still "
                           "being computed for the current settings are marked 'updating'.");
    }
    ImGui::End();
}

}  // namespace salab::ui
