#include "legend.h"

#include "colormap.h"

#include <imgui.h>

#include <algorithm>

namespace salab::ui {

std::vector<Legend> mask_legends(const ViewSettings& v, const HeadPattern& head, int max_hops, bool selection) {
    std::vector<Legend> out;
    if (v.color_by_component && !head.components.empty()) {
        Legend l{"kept by", {}, false};
        for (size_t c = 0; c < head.components.size(); ++c)
            l.items.push_back({std::string(to_string(head.components[c].type)), component_rgb(int(c))});
        l.items.push_back({"none", kEmptyRgb});
        out.push_back(std::move(l));
    } else {
        // The map's darkest stop is kept for "one pair in this pixel" (mask_density_shade).
        out.push_back({"kept pairs per pixel", {{"none", kEmptyRgb}, {"one", sequential_rgb(mask_density_shade(1e-6f))},
                                                 {"half", sequential_rgb(mask_density_shade(0.5f))}, {"all", sequential_rgb(1.0f)}},
                       true, "Share of the token pairs under a pixel that the pattern keeps (zoomed out, a pixel covers many)."});
    }
    if (v.show_blocks)
        out.push_back({"kernel blocks", {{"full", kBlockFullRgb}, {"partial", kBlockPartialRgb}, {"skipped", kBlockSkippedRgb}}, false,
                       "The kernel's 64 x 64 blocks: full (no per-element test), partial (a bitmask per element), skipped "
                       "(never visited)."});
    if (v.show_hop_overlay) {
        Legend l{v.hop_to ? "hops to token" : "hops from token", {}, false,
                 "The selected token's hop counts: the strip just above its row holds hops(j -> token) for each key "
                 "j, the strip left of its column hops(token -> i) for each query i (the worst of a pixel's tokens). "
                 "The row and column themselves stay uncovered."};
        const int m = std::max(1, max_hops);
        l.items.push_back({"0", overlay_hop_rgb(0, m)});
        l.items.push_back({"1", overlay_hop_rgb(1, m)});
        if (m > 1) l.items.push_back({std::to_string(m), overlay_hop_rgb(m, m)});
        l.items.push_back({"never", overlay_hop_rgb(-1, m)});
        out.push_back(std::move(l));
    }
    if (selection) out.push_back({"", {{"selected query", kSelectionRgb}}, false});
    return out;
}

namespace {

float legend_width(const Legend& l) {
    const ImGuiStyle& st = ImGui::GetStyle();
    const float sw = ImGui::GetTextLineHeight();
    float w = l.title.empty() ? 0.0f : ImGui::CalcTextSize(l.title.c_str()).x + st.ItemSpacing.x;
    for (const LegendItem& it : l.items) w += sw + st.ItemInnerSpacing.x + ImGui::CalcTextSize(it.label.c_str()).x + st.ItemSpacing.x;
    return w + st.ItemSpacing.x * 2;
}

}  // namespace

int legend_rows(const std::vector<Legend>& legends, float width) {
    int rows = 0;
    float x = width;
    for (const Legend& l : legends) {
        const float w = legend_width(l);
        if (x + w > width) ++rows, x = 0;
        x += w;
    }
    return rows;
}

void draw_legends(const std::vector<Legend>& legends, float width) {
    const float sw = ImGui::GetTextLineHeight();
    float x = width;
    bool first = true;
    for (const Legend& l : legends) {
        const float w = legend_width(l);
        if (x + w > width) x = 0;
        else if (!first) ImGui::SameLine(0, ImGui::GetStyle().ItemSpacing.x * 3);
        first = false;
        x += w;
        ImGui::BeginGroup();
        if (!l.title.empty()) {
            ImGui::TextDisabled("%s", l.title.c_str());
            ImGui::SameLine();
        }
        for (size_t k = 0; k < l.items.size(); ++k) {
            const LegendItem& it = l.items[k];
            ImDrawList* dl = ImGui::GetWindowDrawList();
            const ImVec2 p = ImGui::GetCursorScreenPos();
            const float pad = sw * 0.15f;
            dl->AddRectFilled({p.x, p.y + pad}, {p.x + sw, p.y + sw - pad}, to_imu32(it.color));
            dl->AddRect({p.x, p.y + pad}, {p.x + sw, p.y + sw - pad}, IM_COL32(110, 110, 120, 255));
            ImGui::Dummy({sw, sw});
            ImGui::SameLine(0, ImGui::GetStyle().ItemInnerSpacing.x);
            ImGui::TextUnformatted(it.label.c_str());
            if (k + 1 < l.items.size()) ImGui::SameLine();
        }
        ImGui::EndGroup();
        if (!l.help.empty() && ImGui::IsItemHovered()) {
            ImGui::BeginTooltip();
            ImGui::PushTextWrapPos(ImGui::GetFontSize() * 28.0f);
            ImGui::TextUnformatted(l.help.c_str());
            ImGui::PopTextWrapPos();
            ImGui::EndTooltip();
        }
    }
}

}  // namespace salab::ui
