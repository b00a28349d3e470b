#include "query_view.h"

#include "colormap.h"
#include "format.h"
#include "widgets.h"

#include <imgui.h>

#include <algorithm>
#include <string>

namespace salab::ui {

namespace {

std::string ranges_text(const std::vector<KeyRange>& ranges, size_t most) {
    std::string s;
    for (size_t k = 0; k < ranges.size() && k < most; ++k) {
        if (!s.empty()) s += ", ";
        s += ranges[k].first == ranges[k].last ? format_count(ranges[k].first)
                                               : format_count(ranges[k].first) + "-" + format_count(ranges[k].last);
    }
    if (ranges.size() > most) s += ", ... (+" + format_count(int64_t(ranges.size() - most)) + " ranges)";
    return s.empty() ? "none" : s;
}

}  // namespace

void QueryView::draw(const AppState& s, const ViewContext& ctx) {
    const ModelResult* m = ctx.model;
    if (!m || m->heads.empty() || !m->error.empty()) return;
    const int head = std::clamp(s.view.head, 0, int(m->heads.size()) - 1);
    const HeadMask& mask = m->heads[size_t(head)];
    const int64_t q = std::clamp<int64_t>(s.view.hop_token, 0, mask.n() - 1);
    const Key key{m->gen, head, q};
    if (!shown_ || !(key == key_) || (m->blocks && shown_->blocks.empty())) {
        shown_ = inspect_query(mask, q, m->blocks.get(), head);
        key_ = key;
    }
    const QueryInspection& qi = *shown_;
    section(("query " + format_count(q) + " (click a query in the mask)").c_str());
    const StaleScope dim(!ctx.current(m->gen));
    ImGui::Text("%s keys kept (%.3f%% of the row)", format_count(qi.keys).c_str(), 100.0 * double(qi.keys) / double(mask.n()));
    if (ImGui::BeginTable("query_parts", 3, ImGuiTableFlags_SizingStretchProp | ImGuiTableFlags_RowBg)) {
        for (const QueryPart& p : qi.parts) {
            ImGui::TableNextRow();
            ImGui::TableNextColumn();
            ImGui::ColorButton("##c", ImGui::ColorConvertU32ToFloat4(component_color(p.component)),
                               ImGuiColorEditFlags_NoTooltip | ImGuiColorEditFlags_NoBorder,
                               {ImGui::GetTextLineHeight(), ImGui::GetTextLineHeight()});
            ImGui::SameLine();
            ImGui::TextUnformatted(p.label.c_str());
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(format_count(p.keys).c_str());
            ImGui::TableNextColumn();
            ImGui::TextWrapped("%s", ranges_text(p.ranges, 6).c_str());
        }
        ImGui::EndTable();
    }
    tip("Keys of this query by the component that keeps them (colours as 'by component' in the mask view). A key "
        "kept by two components is listed under both.");
    if (!m->blocks) return;
    int64_t full = 0, partial = 0, gathered = 0, idle = 0;
    std::string list;
    for (const QueryBlock& b : qi.blocks) {
        (b.gathered ? gathered : b.partial ? partial : full) += 1;
        if (!b.gathered && b.row_keys == 0) ++idle;
        if (list.size() < 160)
            list += (list.empty() ? "" : " ") + std::to_string(b.key_block) + (b.gathered ? "g" : b.partial ? "p" : "f");
    }
    ImGui::Text("query block %lld: %zu key blocks (%lld full, %lld partial, %lld gathered), %lld without keys of this row",
                (long long)qi.query_block, qi.blocks.size(), (long long)full, (long long)partial, (long long)gathered,
                (long long)idle);
    ImGui::TextDisabled("%s%s", list.c_str(), list.size() >= 160 ? " ..." : "");
    tip("The kernel's view of this query's block of 64 rows: each key block it visits, f = full (no per-element "
        "test), p = partial (bitmask), g = gathered. Blocks without keys of this row are visited for the other rows.");
}

}  // namespace salab::ui
