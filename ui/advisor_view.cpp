#include "advisor_view.h"

#include "plot.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace salab::ui {

bool AdvisorView::passes(const PointMetrics& p) const {
    if (filter_diameter > 0 && (!p.diameter || *p.diameter > filter_diameter)) return false;
    return p.density <= double(filter_density) + 1e-12;
}

void AdvisorView::draw(const AdvisorViewData& d, AdvisorActions& out) {
    static char path[512];
    if (path[0] == 0) std::snprintf(path, sizeof path, "%s", family_path.c_str());
    ImGui::SetNextItemWidth(320);
    if (ImGui::InputText("family", path, sizeof path)) family_path = path;
    ImGui::SameLine();
    if (d.running) {
        if (ImGui::Button("cancel")) out.cancel = true;
        ImGui::SameLine();
        ImGui::ProgressBar(d.planned > 0 ? float(d.done) / float(d.planned) : 0.f, ImVec2(160, 0),
                           (std::to_string(d.done) + "/" + std::to_string(d.planned)).c_str());
    } else if (ImGui::Button("search")) {
        out.start = true;
    }
    if (!d.error.empty()) ImGui::TextColored({1, 0.4f, 0.4f, 1}, "%s", d.error.c_str());
    ImGui::SetNextItemWidth(120);
    ImGui::InputInt("diameter <=", &filter_diameter);
    filter_diameter = std::max(0, filter_diameter);
    ImGui::SameLine();
    ImGui::SetNextItemWidth(120);
    ImGui::SliderFloat("density <=", &filter_density, 0.001f, 1.0f, "%.3f", ImGuiSliderFlags_Logarithmic);
    ImGui::SameLine();
    ImGui::Checkbox("output error", &show_error);
    ImGui::SameLine();
    float bm = float(budget_mass);
    ImGui::SetNextItemWidth(100);
    if (ImGui::SliderFloat("budget", &bm, 0.5f, 1.0f, "%.3f")) budget_mass = bm;
    const AdvisorResult* r = d.result;
    if (!r || r->points.empty()) {
        ImGui::TextDisabled(d.running ? "searching..." : "no search yet: pick a family and press search");
        return;
    }
    const auto front = pareto_front(r->points, [&](const PointMetrics& p) { return passes(p); });
    auto yv = [&](const PointMetrics& p) { return show_error ? p.output_error : p.kept_mass; };
    std::optional<size_t> best;
    for (size_t i : front)
        if (r->points[i].kept_mass >= budget_mass) {
            best = i;
            break;
        }
    if (best) {
        ImGui::TextColored({0.5f, 1, 0.5f, 1}, "%s", explain(*r, *best).c_str());
        if (ImGui::Button("load recommended")) out.load = r->points[*best].pattern;
        ImGui::SameLine();
        static char fpath[512];
        if (fpath[0] == 0) std::snprintf(fpath, sizeof fpath, "%s", flex_path.c_str());
        ImGui::SetNextItemWidth(260);
        if (ImGui::InputText("##flexpath", fpath, sizeof fpath)) flex_path = fpath;
        ImGui::SameLine();
        if (ImGui::Button("export mask_mod")) {
            out.export_flex = r->points[*best].pattern;
            out.flex_path = flex_path;
        }
        if (ImGui::IsItemHovered())
            ImGui::SetTooltip("Write the recommended pattern as a FlexAttention mask_mod (Python), as salab-cli export --flex does");
    } else ImGui::TextDisabled("no point passes the filters and keeps %.1f%% of the mass", 100 * budget_mass);
    ImGui::TextDisabled("%zu points (%lld coarse + %lld refined of %lld), %.1f s%s", r->points.size(),
                        (long long)r->coarse_points, (long long)r->refined_points, (long long)r->grid_points,
                        r->seconds, r->cancelled ? ", cancelled" : "");

    // Axes: cost on x (log), mass / error on y.
    double x0 = 1e300, x1 = 0, y0 = 1e300, y1 = -1e300;
    for (const PointMetrics& p : r->points) {
        if (p.cost <= 0) continue;
        x0 = std::min(x0, p.cost), x1 = std::max(x1, p.cost);
        y0 = std::min(y0, yv(p)), y1 = std::max(y1, yv(p));
    }
    if (r->dense_cost > 0) x1 = std::max(x1, r->dense_cost);
    if (!show_error) y1 = 1.0;
    if (x1 <= x0) x1 = x0 * 2 + 1e-9;
    if (y1 <= y0) y1 = y0 + 1e-3;
    x0 /= 1.3, x1 *= 1.3;
    const double ym = (y1 - y0) * 0.05;
    y0 -= ym, y1 += ym;
    ImVec2 avail = ImGui::GetContentRegionAvail();
    avail.y = std::max(avail.y, 160.f);
    const ImVec2 o = ImGui::GetCursorScreenPos();
    const float L = 60, B = 36;
    const ImVec2 a(o.x + L, o.y + 6), b(o.x + avail.x - 10, o.y + avail.y - B);
    ImGui::InvisibleButton("advisor_plot", avail);
    const bool hovered = ImGui::IsItemHovered();
    ImDrawList* dl = ImGui::GetWindowDrawList();
    dl->AddRect(a, b, IM_COL32(120, 120, 120, 255));
    auto sx = [&](double x) { return a.x + float((std::log(x) - std::log(x0)) / (std::log(x1) - std::log(x0))) * (b.x - a.x); };
    auto sy = [&](double y) { return b.y - float((y - y0) / (y1 - y0)) * (b.y - a.y); };
    for (const Tick& t : log_ticks(x0, x1)) {
        const float x = sx(t.value);
        dl->AddLine({x, b.y}, {x, b.y + 4}, IM_COL32(160, 160, 160, 255));
        dl->AddText({x - 10, b.y + 6}, IM_COL32(200, 200, 200, 255), t.label.c_str());
    }
    for (const Tick& t : linear_ticks(y0, y1)) {
        const float y = sy(t.value);
        dl->AddLine({a.x - 4, y}, {a.x, y}, IM_COL32(160, 160, 160, 255));
        dl->AddText({o.x + 4, y - 7}, IM_COL32(200, 200, 200, 255), t.label.c_str());
    }
    const char* xl = r->dense_ms > 0 ? "measured kernel time (ms, log)" : "cost (log)";
    dl->AddText({(a.x + b.x) / 2 - 80, b.y + 20}, IM_COL32(200, 200, 200, 255), xl);
    dl->AddText({a.x + 4, a.y + 2}, IM_COL32(200, 200, 200, 255), show_error ? "output error" : "kept mass");
    // Front line, then points.
    for (size_t k = 1; k < front.size(); ++k) {
        const PointMetrics &p = r->points[front[k - 1]], &q = r->points[front[k]];
        dl->AddLine({sx(p.cost), sy(yv(p))}, {sx(q.cost), sy(yv(q))}, IM_COL32(255, 200, 60, 255), 2.f);
    }
    const ImVec2 mouse = ImGui::GetIO().MousePos;
    std::optional<size_t> near;
    float near_d = 64;  // px^2
    for (size_t i = 0; i < r->points.size(); ++i) {
        const PointMetrics& p = r->points[i];
        if (p.cost <= 0) continue;
        const ImVec2 c(sx(p.cost), sy(yv(p)));
        const bool ok = passes(p);
        const bool on = std::find(front.begin(), front.end(), i) != front.end();
        const ImU32 col = !ok ? IM_COL32(90, 90, 90, 255) : on ? IM_COL32(255, 200, 60, 255) : IM_COL32(120, 170, 255, 255);
        dl->AddCircleFilled(c, on ? 4.f : 3.f, col);
        if (p.pattern.name == d.current_pattern) dl->AddCircle(c, 8.f, IM_COL32(255, 255, 255, 255), 0, 2.f);
        if (best && i == *best) dl->AddCircle(c, 6.f, IM_COL32(80, 255, 80, 255), 0, 2.f);
        const float dd = (c.x - mouse.x) * (c.x - mouse.x) + (c.y - mouse.y) * (c.y - mouse.y);
        if (hovered && dd < near_d) near_d = dd, near = i;
    }
    if (r->dense_cost > 0) {
        const ImVec2 c(sx(r->dense_cost), sy(show_error ? 0.0 : 1.0));
        dl->AddRectFilled({c.x - 4, c.y - 4}, {c.x + 4, c.y + 4}, IM_COL32(255, 90, 90, 255));
        dl->AddText({c.x - 40, c.y + 6}, IM_COL32(255, 90, 90, 255), "dense");
    }
    if (near) {
        const PointMetrics& p = r->points[*near];
        ImGui::BeginTooltip();
        ImGui::TextUnformatted(p.pattern.name.c_str());
        ImGui::Text("kept mass %.2f%%%s", 100 * p.kept_mass,
                    p.mass_bound > 0 ? (" +-" + std::to_string(100 * p.mass_bound) + "%").c_str() : " (exact)");
        ImGui::Text("density %.3f%%, %lld pairs, %lld blocks", 100 * p.density, (long long)p.kept_pairs,
                    (long long)p.visited_blocks);
        ImGui::Text("output error %.3g", p.output_error);
        if (p.diameter) ImGui::Text("diameter %d, mean hops %.2f", *p.diameter, p.mean_hops);
        else ImGui::Text("not all pairs reached within L (%.1f%%)", 100 * p.reach);
        if (p.time_ms > 0) ImGui::Text("kernel %.3f ms (dense %.3f ms)", p.time_ms, r->dense_ms);
        ImGui::TextDisabled("click: load into the editor");
        ImGui::EndTooltip();
        if (ImGui::IsItemClicked()) out.load = p.pattern;
    }
}

}  // namespace salab::ui
