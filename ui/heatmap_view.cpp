#include "heatmap_view.h"

#include "format.h"

#include "colormap.h"
#include "model_qkv.h"
#include "widgets.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace salab::ui {

int64_t heat_stride(const TokenRect& r, int max_cells) {
    const int64_t side = std::max(r.rows, r.cols);
    return std::max<int64_t>(1, (side + max_cells - 1) / max_cells);
}

float log_floor(std::span<const float> dense, std::span<const float> sparse, float vmax) {
    float lo = vmax;
    for (auto v : {dense, sparse})
        for (float x : v)
            if (x > 0.0f) lo = std::min(lo, x);
    return std::clamp(lo, vmax * 1e-8f, vmax * 1e-4f);
}

HeatRequest HeatmapView::request(const AppState& s) const {
    HeatRequest r;
    r.head = s.view.head;
    const int64_t n = s.params.pattern.n;
    if (panel_ < 8 || n <= 0) return r;
    r.region = zoom_.visible(n, panel_, panel_);
    r.stride = heat_stride(r.region);
    return r;
}

void HeatmapView::draw(AppState& s, const ViewContext& ctx) {
    const int64_t n = s.params.pattern.n;
    int scale = int(s.view.heat_scale);
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 6);
    if (ImGui::Combo("scale", &scale, "linear\0log\0")) s.view.heat_scale = ColorScale(scale);
    tip("Colour scale of the weights (L toggles). Log shows the small weights that sparse patterns drop.");
    ImGui::SameLine();
    ImGui::Checkbox("difference", &s.view.heat_show_diff);
    tip("Third panel: sparse minus dense weights (red: the sparse layer puts more weight there, blue: less).");
    ImGui::SameLine();
    if (ImGui::Checkbox("follow mask", &s.view.heat_follow_mask)) followed_ = {};
    tip("Show the mask view's region and mark its selected query (zooming or panning here turns this off).");
    ImGui::SameLine();
    if (ImGui::SmallButton("fit")) fitted_n_ = -1, s.view.heat_follow_mask = false;
    tip("Show the whole matrix (sampled) again.");

    // Readouts.
    if (ctx.accuracy && ctx.model && ctx.accuracy->gen == ctx.model->gen) {
        const AccuracyResult& a = *ctx.accuracy;
        const bool old_params = !ctx.current(a.gen);
        const StaleScope dim(old_params);
        // Next to a baseline: keys drawn at random with the same density keep that share of the mass.
        // (Causal: dense attention spreads over j <= i only, about half the pairs.)
        const bool causal = ctx.model && !ctx.model->heads.empty() && ctx.model->heads[0].pattern().causal;
        const double density = ctx.model ? std::min(1.0, ctx.model->stats.density * (causal ? 2.0 : 1.0)) : 0.0;
        char mass[96];
        if (a.kept_mass)
            std::snprintf(mass, sizeof mass, "  kept mass %.1f%%%s (random keys: %.1f%%)", 100.0 * *a.kept_mass,
                          a.sampled ? "*" : "", 100.0 * density);
        else
            std::snprintf(mass, sizeof mass, "  kept mass ...");
        // On the toolbar's line when it fits, else under it (1280 x 800 cut it at the right edge).
        const float mass_end = ImGui::GetItemRectMax().x + ImGui::GetStyle().ItemSpacing.x + ImGui::CalcTextSize(mass).x;
        if (mass_end <= ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x) ImGui::SameLine();
        if (a.kept_mass) ImGui::TextUnformatted(mass);
        else ImGui::TextDisabled("%s", mass);
        if (a.sampled && ImGui::IsItemHovered())
            ImGui::SetTooltip("Mean over %lld sampled rows of the dense weight on the pairs the pattern keeps.", (long long)a.rows_used);
        else
            tip("Share of the dense attention mass that the pattern keeps: mean over rows of the dense softmax "
                "weights on kept pairs. 100% = the sparse layer loses nothing; keys picked at random with the same "
                "density keep about the density (the baseline in brackets), so a pattern is only as good as its margin "
                "over it.");
        // On the same line when it fits, else under it (a narrow window cut it at the right edge).
        char err[96];
        if (a.rel_error) std::snprintf(err, sizeof err, "  output error %.2g (zeros: 1)", *a.rel_error);
        else std::snprintf(err, sizeof err, "  output error %s", a.rel_error_missing.empty() ? "..." : "n/a");
        const float line_end = ImGui::GetItemRectMax().x + ImGui::GetStyle().ItemSpacing.x + ImGui::CalcTextSize(err).x;
        if (line_end <= ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x) ImGui::SameLine();
        if (a.rel_error) ImGui::TextUnformatted(err);
        else ImGui::TextDisabled("%s", err);
        if (!a.rel_error && !a.rel_error_missing.empty())
            tip(("Not measured: " + a.rel_error_missing).c_str());
        else
            tip("Relative error of the sparse layer's output against dense attention: max|O_sparse - O_dense| / max|O_dense|. "
                "An output of all zeros scores 1, so values near 1 mean the pattern misses where this data's attention goes.");
        if (old_params) {
            ImGui::SameLine();
            updating_mark(true);
        }
    }

    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const int panels = s.view.heat_show_diff ? 3 : 2;
    const float gap = 8;
    const float legend_h = ImGui::GetTextLineHeightWithSpacing() * 3.2f;
    const float side = std::max(24.0f, std::min((avail.x - gap * float(panels - 1)) / float(panels),
                                                avail.y - ImGui::GetTextLineHeightWithSpacing() - legend_h));
    const bool resized = std::fabs(side - panel_) > 0.5f;
    if (fitted_n_ != n || resized) {
        if (fitted_n_ != n) zoom_ = ZoomTransform::fit(n, side, side);
        else zoom_.tokens_per_px *= double(panel_ / side);
        fitted_n_ = n;
        panel_ = side;
        followed_ = {};
    }
    // Following the mask: its region, centred in the square panels (refitted when it moves).
    if (s.view.heat_follow_mask && !mask_region_.empty() && (!(mask_region_ == followed_))) {
        zoom_ = ZoomTransform::fit_region(mask_region_, side, side);
        followed_ = mask_region_;
    }

    // Colourise on a new result or scale change.
    const HeatResult* hr = ctx.heat;
    if (hr && (hr->id != colored_from_ || colored_scale_ != s.view.heat_scale)) {
        float vmax = 0, dmax = 0;
        std::vector<float> diff(hr->dense.size());
        for (size_t i = 0; i < hr->dense.size() && i < hr->sparse.size(); ++i) {
            vmax = std::max({vmax, hr->dense[i], hr->sparse[i]});
            diff[i] = hr->sparse[i] - hr->dense[i];
            dmax = std::max(dmax, std::fabs(diff[i]));
        }
        vmax_ = vmax > 0 ? vmax : 1.0f;
        diff_max_ = dmax > 0 ? dmax : 1.0f;
        vfloor_ = log_floor(hr->dense, hr->sparse, vmax_);
        const float vmin = s.view.heat_scale == ColorScale::log ? vfloor_ : 0.0f;
        dense_ = colorize_values(hr->dense, hr->w, hr->h, s.view.heat_scale, vmin, vmax_);
        sparse_ = colorize_values(hr->sparse, hr->w, hr->h, s.view.heat_scale, vmin, vmax_);
        diff_ = colorize_diff(diff, hr->w, hr->h, diff_max_);
        colored_from_ = hr->id;
        colored_scale_ = s.view.heat_scale;
    }

    const char* titles[] = {"dense", "sparse (this pattern)", "sparse - dense"};
    const Rgba8Image* imgs[] = {&dense_, &sparse_, &diff_};
    const TextureSlot slots[] = {TextureSlot::heat_dense, TextureSlot::heat_sparse, TextureSlot::heat_diff};
    ImGuiIO& io = ImGui::GetIO();
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const ImVec2 top = ImGui::GetCursorScreenPos();
    bool any_hover = false;
    ImVec2 hover_m{};
    int hover_panel = -1;
    for (int k = 0; k < panels; ++k) {
        const ImVec2 p0{top.x + float(k) * (side + gap), top.y + ImGui::GetTextLineHeightWithSpacing()};
        dl->AddText({p0.x, top.y}, ImGui::GetColorU32(ImGuiCol_Text), titles[k]);
        ImGui::SetCursorScreenPos(p0);
        ImGui::PushID(k);
        ImGui::InvisibleButton("heat", {side, side}, ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonRight);
        const bool hov = ImGui::IsItemHovered();
        if (hov) any_hover = true, hover_m = {io.MousePos.x - p0.x, io.MousePos.y - p0.y}, hover_panel = k;
        if (hov && io.MouseWheel != 0) {
            zoom_.zoom_at(hover_m.x, hover_m.y, std::pow(1.25, double(io.MouseWheel)), n, side, side);
            s.view.heat_follow_mask = false;
        }
        if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 2.0f)) {
            zoom_.pan(io.MouseDelta.x, io.MouseDelta.y);
            zoom_.clamp(n, side, side);
            s.view.heat_follow_mask = false;
        }
        if (hov && ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) fitted_n_ = -1, s.view.heat_follow_mask = false;
        ImGui::PopID();
        dl->PushClipRect(p0, {p0.x + side, p0.y + side}, true);
        if (!hr || imgs[k]->empty()) dl->AddRectFilled(p0, {p0.x + side, p0.y + side}, IM_COL32(10, 10, 12, 255));
        if (hr && !imgs[k]->empty()) {
            const TokenRect& g = hr->request.region;
            const int64_t st = hr->request.stride;
            const auto px = [&](double t) { return float(zoom_.to_px_x(t)); };
            const auto py = [&](double t) { return float(zoom_.to_px_y(t)); };
            draw_image(*ctx.textures, slots[k], *imgs[k], dl, {p0.x + px(double(g.col0)), p0.y + py(double(g.row0))},
                       {p0.x + px(double(g.col0 + int64_t(hr->w) * st)), p0.y + py(double(g.row0 + int64_t(hr->h) * st))});
        }
        if (hr && !ctx.current(hr->gen)) dim_rect(dl, p0, {p0.x + side, p0.y + side});  // weights of older parameters
        // The mask view's selected query, on every panel.
        if (s.view.heat_follow_mask && selected_ >= 0 && selected_ < n) {
            const float y = p0.y + float(zoom_.to_px_y(double(selected_) + 0.5));
            dl->AddLine({p0.x, y}, {p0.x + side, y}, IM_COL32(255, 255, 255, 150), 1.0f);
            dl->AddTriangleFilled({p0.x, y - 4}, {p0.x, y + 4}, {p0.x + 6, y}, IM_COL32(255, 255, 255, 230));
        }
        dl->AddRect(p0, {p0.x + side, p0.y + side}, IM_COL32(90, 90, 100, 255));
        dl->PopClipRect();
    }
    const bool stale = !hr || !ctx.current(hr->gen) || !(hr->request == request(s));
    if (stale) draw_updating_badge({top.x + float(panels) * (side + gap) - gap, top.y + ImGui::GetTextLineHeightWithSpacing()}, ctx.activity);
    ImGui::SetCursorScreenPos({top.x, top.y + ImGui::GetTextLineHeightWithSpacing() + side + 4});
    ImGui::BeginGroup();
    const float vmin = s.view.heat_scale == ColorScale::log ? vfloor_ : 0.0f;
    draw_legend("P(i, j)", s.view.heat_scale, vmin, vmax_, std::min(side * 0.8f, 180.0f));
    ImGui::EndGroup();
    if (s.view.heat_show_diff) {
        ImGui::SameLine();
        ImGui::BeginGroup();
        draw_legend("sparse - dense", ColorScale::linear, -diff_max_, diff_max_, std::min(side * 0.8f, 180.0f), true);
        ImGui::EndGroup();
    }
    ImGui::SameLine();
    ImGui::BeginGroup();
    if (hr && hr->request.stride > 1)
        ImGui::TextDisabled("every %s token\nsampled: zoom in\nfor exact cells", ordinal(hr->request.stride).c_str());
    else
        ImGui::TextDisabled("exact cells");
    ImGui::EndGroup();

    if (any_hover && hr && !hr->dense.empty()) {
        const int64_t i = int64_t(std::floor(zoom_.to_token_y(hover_m.y))), j = int64_t(std::floor(zoom_.to_token_x(hover_m.x)));
        const TokenRect& g = hr->request.region;
        const int64_t st = hr->request.stride;
        const int64_t cy = (i - g.row0) / st, cx = (j - g.col0) / st;
        if (i >= 0 && j >= 0 && i < n && j < n && cy >= 0 && cx >= 0 && cy < hr->h && cx < hr->w) {
            const size_t c = size_t(cy) * size_t(hr->w) + size_t(cx);
            ImGui::BeginTooltip();
            const int64_t qi = g.row0 + cy * st, kj = g.col0 + cx * st;
            ImGui::Text("P(%lld, %lld)", (long long)qi, (long long)kj);
            if (int64_t(s.model.tokens.size()) == n)
                ImGui::Text("query \"%s\" -> key \"%s\"", token_label_text(s.model.tokens[size_t(qi)], 24).c_str(),
                            token_label_text(s.model.tokens[size_t(kj)], 24).c_str());
            ImGui::Text("dense  %.3e", double(hr->dense[c]));
            ImGui::Text("sparse %.3e", double(hr->sparse[c]));
            ImGui::Text("diff   %+.3e", double(hr->sparse[c] - hr->dense[c]));
            ImGui::TextDisabled("panel %d: wheel zoom, drag pan, double-click fit", hover_panel + 1);
            ImGui::EndTooltip();
        }
    }
}

}  // namespace salab::ui
