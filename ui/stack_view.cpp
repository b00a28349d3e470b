#include "stack_view.h"

#include "colormap.h"
#include "format.h"
#include "widgets.h"

#include <imgui.h>

#include <algorithm>
#include <cstdio>

namespace salab::ui {

std::vector<StackThumb> stack_thumbnails(const Pattern& p, int side) {
    std::vector<StackThumb> out;
    const int64_t n = p.n;
    if (n <= 0) return out;
    AggregateOptions opt;
    opt.max_rows_per_pixel = 4;
    opt.threads = 0;
    for (int l = 0; l < p.num_layers(); ++l)
        for (int h = 0; h < int(p.layers[size_t(l)].heads.size()); ++h) {
            StackThumb t;
            t.layer = l;
            t.head = h;
            t.label = "L" + std::to_string(l) + " H" + std::to_string(h);
            const HeadPattern& hp = p.layers[size_t(l)].heads[size_t(h)];
            const bool qk = std::any_of(hp.components.begin(), hp.components.end(), [](const Component& c) { return needs_qk(c); });
            if (!qk) {
                t.image = aggregate_mask(HeadMask(hp, n), {0, 0, n, n}, side, side, {}, opt);
                double sum = 0;
                for (float d : t.image.density) sum += double(d);
                t.density = t.image.density.empty() ? 0 : sum / double(t.image.density.size());
            }
            out.push_back(std::move(t));
        }
    return out;
}

void StackView::draw(AppState& s, const ViewContext& ctx) {
    const Pattern& p = s.params.pattern;
    if (p.is_flat()) {
        ImGui::TextDisabled("a flat pattern: one layer, one head (stacks show a grid of layers x heads here)");
        return;
    }
    if (!(built_for_ == p)) {
        try {
            validate(p);
            thumbs_ = stack_thumbnails(p);
        } catch (const std::exception& e) {
            thumbs_.clear();
            ImGui::TextDisabled("%s", e.what());
        }
        built_for_ = p;
    }
    int heads = 1;
    for (const Layer& l : p.layers) heads = std::max(heads, int(l.heads.size()));
    const float avail = ImGui::GetContentRegionAvail().x;
    const float lh = ImGui::GetTextLineHeightWithSpacing();
    const float cell = std::clamp((avail - 40.0f) / float(heads) - 8.0f, 32.0f, 96.0f);
    ImGui::TextDisabled("layers (rows) x heads (columns) at n = %s; click one to show it", format_count(p.n).c_str());
    ImDrawList* dl = ImGui::GetWindowDrawList();
    for (const StackThumb& t : thumbs_) {
        if (t.head > 0) ImGui::SameLine();
        ImGui::BeginGroup();
        const ImVec2 p0 = ImGui::GetCursorScreenPos();
        ImGui::PushID(t.layer * 1000 + t.head);
        if (ImGui::InvisibleButton("thumb", {cell, cell})) {
            s.params.layer = t.layer;
            s.view.head = t.head;
        }
        const bool hov = ImGui::IsItemHovered();
        ImGui::PopID();
        dl->AddRectFilled(p0, {p0.x + cell, p0.y + cell}, empty_color);
        const DensityImage& im = t.image;
        if (im.w > 0 && im.h > 0) {
            const float cw = cell / float(im.w), ch = cell / float(im.h);
            for (int y = 0; y < im.h; ++y)
                for (int x = 0; x < im.w; ++x) {
                    const float d = im.density[size_t(y) * size_t(im.w) + size_t(x)];
                    if (d > 0)
                        dl->AddRectFilled({p0.x + float(x) * cw, p0.y + float(y) * ch}, {p0.x + float(x + 1) * cw, p0.y + float(y + 1) * ch},
                                          sequential_color(mask_density_shade(d)));
                }
        } else {
            dl->AddText({p0.x + 4, p0.y + 4}, IM_COL32(170, 170, 180, 255), "Q/K");
        }
        const bool shown = t.layer == s.params.layer && t.head == s.view.head;
        dl->AddRect(p0, {p0.x + cell, p0.y + cell}, shown ? IM_COL32(255, 255, 255, 255) : IM_COL32(90, 90, 100, 255), 0, 0,
                    shown ? 2.0f : 1.0f);
        char buf[64];
        std::snprintf(buf, sizeof buf, "%s %.1f%%", t.label.c_str(), 100.0 * t.density);
        ImGui::TextDisabled("%s", buf);
        if (hov) {
            ImGui::BeginTooltip();
            ImGui::Text("layer %d, head %d: %s", t.layer, t.head, "click to show it in the mask, weights and timing");
            ImGui::Text("density ~%.2f%% (%s)", 100.0 * t.density, im.sampled ? "rows sampled" : "exact");
            ImGui::EndTooltip();
        }
        ImGui::EndGroup();
    }
    (void)lh;
    (void)ctx;
}

}  // namespace salab::ui
