#include "plot.h"

#include "format.h"

#include "colormap.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace salab::ui {

std::vector<Tick> linear_ticks(double lo, double hi, int target) {
    std::vector<Tick> ticks;
    if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return ticks;
    const double raw = (hi - lo) / std::max(1, target);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * mag >= raw) {
            step = m * mag;
            break;
        }
    for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) {
        const double clean = std::fabs(v) < step * 1e-9 ? 0.0 : v;
        ticks.push_back({clean, short_number(clean)});
    }
    return ticks;
}

namespace {
// A decade tick: "0.1", "0.01", then "1e-3", "5e-4" (never "1.0e-03" under "0.01").
std::string decade_label(double v) {
    if (v >= 0.01) return short_number(v);
    const int e = int(std::floor(std::log10(v) + 1e-9));
    const double m = v / std::pow(10.0, e);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0fe%d", m, e);
    return buf;
}
}  // namespace

std::vector<Tick> log_ticks(double lo, double hi) {
    std::vector<Tick> ticks;
    if (!(lo > 0) || !(hi > lo)) return ticks;
    const int d0 = int(std::floor(std::log10(lo) + 1e-9)), d1 = int(std::ceil(std::log10(hi) - 1e-9));
    const bool fine = d1 - d0 <= 2;
    for (int d = d0; d <= d1; ++d)
        for (double m : {1.0, 2.0, 5.0}) {
            if (m != 1.0 && !fine) continue;
            const double v = m * std::pow(10.0, d);
            if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push_back({v, decade_label(v)});
        }
    return ticks;
}

namespace {

struct Axis {
    double lo = 0, hi = 1;
    bool log = false;
    double map(double v) const {  // -> [0, 1]
        if (log) return (std::log10(std::max(v, 1e-300)) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
        return (v - lo) / (hi - lo);
    }
};

Axis fit_axis(const std::vector<PlotSeries>& series, bool x, bool log, double fixed_lo, double fixed_hi,
              bool from_zero) {
    Axis a;
    a.log = log;
    if (fixed_lo < fixed_hi) {
        a.lo = fixed_lo;
        a.hi = fixed_hi;
        return a;
    }
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto& s : series)
        for (double v : x ? s.x : s.y)
            if (std::isfinite(v) && (!log || v > 0)) lo = std::min(lo, v), hi = std::max(hi, v);
    if (!(lo <= hi)) {
        lo = log ? 1 : 0;
        hi = log ? 10 : 1;
    }
    if (log) {
        if (hi <= lo * 1.0001) lo /= 2, hi *= 2;
        a.lo = lo / 1.25;
        a.hi = hi * 1.25;
    } else {
        if (from_zero) lo = std::min(lo, 0.0), hi = std::max(hi, 0.0);
        if (hi <= lo) hi = lo + 1;
        const double m = (hi - lo) * 0.05;
        a.lo = (from_zero && lo == 0) ? 0 : lo - m;
        a.hi = hi + m;
    }
    return a;
}

// Only the parts of the reference series inside the fitted data range are drawn (clipped).
bool is_reference(const PlotSeries& s) { return s.dashed; }

}  // namespace

bool draw_plot(const char* id, const PlotSpec& spec, const std::vector<PlotSeries>& series, ImVec2 size) {
    if (size.x <= 0) size.x = ImGui::GetContentRegionAvail().x;
    ImGui::PushID(id);
    const ImVec2 p0 = ImGui::GetCursorScreenPos();
    ImGui::InvisibleButton("plot", size);
    const bool hovered = ImGui::IsItemHovered();
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const float lh = ImGui::GetTextLineHeight();
    const float left = ImGui::CalcTextSize("00000").x + lh, bottom = 2.2f * lh, top = 0.5f * lh, right = 0.8f * lh;
    const ImVec2 a{p0.x + left, p0.y + top}, b{p0.x + size.x - right, p0.y + size.y - bottom};
    if (b.x - a.x < 20 || b.y - a.y < 20) {
        ImGui::PopID();
        return hovered;
    }

    // Axes are fitted to the data series; reference lines do not stretch them.
    std::vector<PlotSeries> data;
    for (const auto& s : series)
        if (!is_reference(s)) data.push_back(s);
    const auto& fit_src = data.empty() ? series : data;
    const Axis ax = fit_axis(fit_src, true, spec.log_x, spec.x_lo, spec.x_hi, false);
    const Axis ay = fit_axis(fit_src, false, spec.log_y, spec.y_lo, spec.y_hi, spec.y_from_zero);
    const auto sx = [&](double v) { return a.x + float(ax.map(v)) * (b.x - a.x); };
    const auto sy = [&](double v) { return b.y - float(ay.map(v)) * (b.y - a.y); };

    const ImU32 grid = IM_COL32(60, 60, 68, 255), text = ImGui::GetColorU32(ImGuiCol_Text),
                dim = ImGui::GetColorU32(ImGuiCol_TextDisabled);
    for (const Tick& t : spec.log_x ? log_ticks(ax.lo, ax.hi) : linear_ticks(ax.lo, ax.hi, 6)) {
        const float x = sx(t.value);
        dl->AddLine({x, a.y}, {x, b.y}, grid);
        const float tw = ImGui::CalcTextSize(t.label.c_str()).x;
        dl->AddText({x - tw * 0.5f, b.y + 2}, dim, t.label.c_str());
    }
    for (const Tick& t : spec.log_y ? log_ticks(ay.lo, ay.hi) : linear_ticks(ay.lo, ay.hi, 4)) {
        const float y = sy(t.value);
        dl->AddLine({a.x, y}, {b.x, y}, grid);
        const float tw = ImGui::CalcTextSize(t.label.c_str()).x;
        dl->AddText({a.x - tw - 4, y - lh * 0.5f}, dim, t.label.c_str());
    }
    dl->AddRect(a, b, IM_COL32(110, 110, 120, 255));
    const float xw = ImGui::CalcTextSize(spec.x_label.c_str()).x;
    dl->AddText({(a.x + b.x - xw) * 0.5f, b.y + lh + 2}, dim, spec.x_label.c_str());
    dl->AddText({p0.x + 4, p0.y + size.y - lh - 2}, dim, spec.y_label.c_str());

    dl->PushClipRect(a, b, true);
    for (const auto& s : series) {
        const size_t n = std::min(s.x.size(), s.y.size());
        ImVec2 prev{};
        bool have_prev = false;
        for (size_t i = 0; i < n; ++i) {
            if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i]) || (spec.log_x && s.x[i] <= 0) ||
                (spec.log_y && s.y[i] <= 0)) {
                have_prev = false;
                continue;
            }
            const ImVec2 p{sx(s.x[i]), sy(s.y[i])};
            if (have_prev && s.lines) {
                if (s.dashed) {
                    // Dashes of ~6 px along the segment.
                    const float dx = p.x - prev.x, dy = p.y - prev.y, len = std::sqrt(dx * dx + dy * dy);
                    const int dashes = std::max(1, int(len / 6.0f));
                    for (int k = 0; k < dashes; k += 2) {
                        const float t0 = float(k) / float(dashes), t1 = float(std::min(k + 1, dashes)) / float(dashes);
                        dl->AddLine({prev.x + dx * t0, prev.y + dy * t0}, {prev.x + dx * t1, prev.y + dy * t1}, s.color,
                                    s.thickness * 0.75f);
                    }
                } else {
                    dl->AddLine(prev, p, s.color, s.thickness);
                }
            }
            if (s.markers && !s.dashed) dl->AddCircleFilled(p, s.thickness + 1.0f, s.color);
            prev = p;
            have_prev = true;
        }
    }
    dl->PopClipRect();

    // Legend, top-left inside the plot.
    float ly = a.y + 4;
    for (const auto& s : series) {
        if (s.label.empty()) continue;
        dl->AddLine({a.x + 6, ly + lh * 0.5f}, {a.x + 22, ly + lh * 0.5f}, s.color, 2.0f);
        dl->AddText({a.x + 26, ly}, text, s.label.c_str());
        ly += lh;
    }

    // Tooltip: the nearest data point on screen.
    if (hovered) {
        const ImVec2 m = ImGui::GetIO().MousePos;
        float best = 24.0f * 24.0f;
        const PlotSeries* bs = nullptr;
        size_t bi = 0;
        for (const auto& s : series) {
            if (s.dashed) continue;
            for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
                if ((spec.log_x && s.x[i] <= 0) || (spec.log_y && s.y[i] <= 0) || !std::isfinite(s.y[i])) continue;
                const float dx = sx(s.x[i]) - m.x, dy = sy(s.y[i]) - m.y;
                if (dx * dx + dy * dy < best) best = dx * dx + dy * dy, bs = &s, bi = i;
            }
        }
        if (bs) {
            dl->AddCircle({sx(bs->x[bi]), sy(bs->y[bi])}, 6.0f, IM_COL32(255, 255, 255, 255), 12, 1.5f);
            ImGui::BeginTooltip();
            ImGui::TextColored(ImColor(bs->color), "%s", bs->label.c_str());
            if (bi < bs->point_labels.size()) ImGui::TextUnformatted(bs->point_labels[bi].c_str());
            using Format = std::function<std::string(double)>;
            const Format fx = spec.x_format ? spec.x_format : Format(format_value);
            const Format fy = spec.y_format ? spec.y_format : Format(format_value);
            ImGui::Text("%s = %s", spec.x_label.c_str(), fx(bs->x[bi]).c_str());
            ImGui::Text("%s = %s", spec.y_label.c_str(), fy(bs->y[bi]).c_str());
            ImGui::EndTooltip();
        }
    }
    ImGui::PopID();
    return hovered;
}

}  // namespace salab::ui
