#include "query_view.h"

#include "colormap.h"
#include "figure.h"
#include "format.h"
#include "plot.h"
#include "widgets.h"

#include <imgui.h>

#include <algorithm>
#include <cstdio>
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

RowBins bin_row(const std::vector<float>& w, int bins) {
    RowBins b;
    const int64_t n = int64_t(w.size());
    if (n == 0 || bins <= 0) return b;
    bins = int(std::min<int64_t>(bins, n));
    for (int k = 0; k < bins; ++k) {
        const int64_t a = int64_t(k) * n / bins, z = std::max(a + 1, int64_t(k + 1) * n / bins);
        float m = 0;
        for (int64_t j = a; j < z && j < n; ++j) m = std::max(m, w[size_t(j)]);
        b.x.push_back(0.5 * double(a + z - 1));
        b.y.push_back(double(m));
    }
    return b;
}

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
    ImGui::TextColored(ImVec4(0.55f, 0.75f, 1.0f, 1.0f), "query %s", format_count(q).c_str());
    ImGui::SameLine();
    ImGui::TextDisabled("(click a query in the mask, or move the hop token)");
    const StaleScope dim(!ctx.current(m->gen));
    ImGui::Text("%s keys kept (%s of the row)", format_count(qi.keys).c_str(),
                percent_label(double(qi.keys) / double(mask.n())).c_str());
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
    draw_row_weights(ctx, head, q, mask.n());
    if (!m->blocks) return;
    int64_t full = 0, partial = 0, gathered = 0, idle = 0;
    std::string list;
    for (const QueryBlock& b : qi.blocks) {
        (b.gathered ? gathered : b.partial ? partial : full) += 1;
        if (!b.gathered && b.row_keys == 0) ++idle;
        if (list.size() < 160)
            list += (list.empty() ? "" : " ") + std::to_string(b.key_block) + (b.gathered ? "g" : b.partial ? "p" : "f");
    }
    ImGui::PushTextWrapPos(0.0f);  // 1280 x 800 cut the line at the panel's edge
    ImGui::Text("query block %lld: %zu key blocks (%lld full, %lld partial, %lld gathered), %lld without keys of this row",
                (long long)qi.query_block, qi.blocks.size(), (long long)full, (long long)partial, (long long)gathered,
                (long long)idle);
    ImGui::PopTextWrapPos();
    ImGui::TextDisabled("%s%s", list.c_str(), list.size() >= 160 ? " ..." : "");
    tip("The kernel's view of this query's block of 64 rows: each key block it visits, f = full (no per-element "
        "test), p = partial (bitmask), g = gathered. Blocks without keys of this row are visited for the other rows.");
}

void QueryView::draw_row_weights(const ViewContext& ctx, int head, int64_t q, int64_t n) {
    const RowWeights* rw = ctx.row;
    const bool ok = rw && rw->request.query == q && rw->request.head == head && int64_t(rw->dense.size()) == n &&
                    int64_t(rw->sparse.size()) == n;
    const float w = ImGui::GetContentRegionAvail().x;
    const float h = std::max(90.0f, ImGui::GetTextLineHeight() * 7.0f);
    if (!ok) {
        ImGui::TextDisabled("weights along the row: %s", rw ? "updating..." : "waiting for the kernel...");
        ImGui::Dummy({w, h});
        return;
    }
    const bool current = ctx.current(rw->gen);
    const int bins = std::max(16, int(w * 0.5f));
    if (n <= bins) ImGui::TextDisabled("weights along the row (every key)");
    else ImGui::TextDisabled("weights along the row (largest of every %s keys)", format_count((n + bins - 1) / bins).c_str());
    if (!current) {
        ImGui::SameLine();
        updating_mark(true);
    }
    const RowBins d = bin_row(rw->dense, bins), sp = bin_row(rw->sparse, bins);
    PlotSeries ds{"dense", d.x, d.y, IM_COL32(255, 140, 60, 255), false};
    // Sparse rows are zero off their few keys: markers, so isolated keys show on the log scale.
    PlotSeries ss{"sparse (this pattern)", sp.x, sp.y, IM_COL32(90, 200, 255, 255), true};
    ds.thickness = ss.thickness = 1.5f;
    PlotSpec spec;
    spec.x_label = "key j";
    spec.y_label = "P(i, j)";
    spec.log_y = true;
    spec.x_lo = 0;
    spec.x_hi = double(n);
    double lo = 1.0, hi = 0.0;
    for (const RowBins* b : {&d, &sp})
        for (double y : b->y)
            if (y > 0) lo = std::min(lo, y), hi = std::max(hi, y);
    if (hi > 0) spec.y_lo = lo * 0.7, spec.y_hi = std::min(1.0, hi * 1.6);
    spec.y_format = [](double v) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3g", v);
        return std::string(buf);
    };
    draw_plot("row_weights", spec, {ds, ss}, {w, h});
    if (!current) dim_rect(ImGui::GetWindowDrawList(), ImGui::GetItemRectMin(), ImGui::GetItemRectMax());
    tip("P(i, j) of this query for every key j: dense attention (orange) and this pattern's sparse attention (blue), "
        "the largest weight of each pixel's keys, log scale. The sparse row puts the mass the pattern drops onto the "
        "keys it keeps.");
}

}  // namespace salab::ui
