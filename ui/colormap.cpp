#include "colormap.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace salab::ui {

ImU32 to_imu32(Rgb8 c, int alpha) { return IM_COL32(c.r, c.g, c.b, alpha); }

ImU32 sequential_color(float t) { return to_imu32(sequential_rgb(t)); }

ImU32 diverging_color(float t) { return to_imu32(diverging_rgb(t)); }

ImU32 component_color(int c) { return to_imu32(component_rgb(c)); }

ImU32 hop_color(int h, int max_h) { return to_imu32(hop_rgb(h, max_h)); }

Rgb8 overlay_hop_rgb(int h, int max_h) {
    if (h < 0) return {110, 24, 24};
    if (h == 0) return {255, 255, 255};
    const float t = max_h > 1 ? float(h - 1) / float(max_h - 1) : 0.0f;
    const auto v = uint8_t(std::lround(150.0f - 85.0f * std::clamp(t, 0.0f, 1.0f)));
    return {v, v, uint8_t(v + 12)};
}

float scale_to_unit(ColorScale scale, float v, float vmin, float vmax) {
    if (scale == ColorScale::log) {
        const float lo = std::log10(std::max(vmin, 1e-12f));
        const float hi = std::log10(std::max(vmax, std::max(vmin, 1e-12f) * 1.0001f));
        if (!(v > 0.0f)) return 0.0f;
        return std::clamp((std::log10(v) - lo) / (hi - lo), 0.0f, 1.0f);
    }
    if (!(vmax > vmin)) return v > vmin ? 1.0f : 0.0f;
    return std::clamp((v - vmin) / (vmax - vmin), 0.0f, 1.0f);
}

Rgba8Image colorize_values(std::span<const float> values, int w, int h, ColorScale scale, float vmin,
                           float vmax) {
    Rgba8Image img;
    img.w = w;
    img.h = h;
    img.px.resize(size_t(w) * size_t(h), empty_color);
    const size_t count = std::min(values.size(), img.px.size());
    for (size_t i = 0; i < count; ++i) {
        const float v = values[i];
        // The darkest 12% of the map is kept for "nearly nothing" so tiny weights stay visible.
        if (v > 0.0f) img.px[i] = sequential_color(0.12f + 0.88f * scale_to_unit(scale, v, vmin, vmax));
    }
    img.version = next_image_version();
    return img;
}

Rgba8Image colorize_diff(std::span<const float> values, int w, int h, float max_abs) {
    Rgba8Image img;
    img.w = w;
    img.h = h;
    img.px.resize(size_t(w) * size_t(h), empty_color);
    const float inv = max_abs > 0.0f ? 1.0f / max_abs : 0.0f;
    const size_t count = std::min(values.size(), img.px.size());
    for (size_t i = 0; i < count; ++i) img.px[i] = diverging_color(values[i] * inv);
    img.version = next_image_version();
    return img;
}

std::string short_number(double v) {
    char buf[32];
    const double a = std::fabs(v);
    if (v == 0.0) return "0";
    if (a >= 1e9) std::snprintf(buf, sizeof buf, "%.3gG", v / 1e9);
    else if (a >= 1e6) std::snprintf(buf, sizeof buf, "%.3gM", v / 1e6);
    else if (a >= 1e4) std::snprintf(buf, sizeof buf, "%.3gk", v / 1e3);
    else if (a >= 0.01) std::snprintf(buf, sizeof buf, "%.4g", v);
    else std::snprintf(buf, sizeof buf, "%.1e", v);
    return buf;
}

void draw_legend(const char* label, ColorScale scale, float vmin, float vmax, float width, bool diverging_map) {
    ImGui::TextUnformatted(label);
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const ImVec2 p = ImGui::GetCursorScreenPos();
    const float bar_h = ImGui::GetTextLineHeight() * 0.8f;
    constexpr int segments = 48;
    for (int s = 0; s < segments; ++s) {
        const float t0 = float(s) / segments, t1 = float(s + 1) / segments;
        const ImU32 c0 = diverging_map ? diverging_color(2 * t0 - 1) : sequential_color(0.12f + 0.88f * t0);
        const ImU32 c1 = diverging_map ? diverging_color(2 * t1 - 1) : sequential_color(0.12f + 0.88f * t1);
        dl->AddRectFilledMultiColor({p.x + t0 * width, p.y}, {p.x + t1 * width, p.y + bar_h}, c0, c1, c1, c0);
    }
    dl->AddRect(p, {p.x + width, p.y + bar_h}, IM_COL32(120, 120, 120, 255));
    // Ticks: the ends and the middle of the scale (log: the geometric middle).
    const float ty = p.y + bar_h + 2;
    const auto value_at = [&](float t) -> double {
        if (diverging_map) return double(vmax) * (2 * t - 1);
        if (scale == ColorScale::log) {
            const double lo = std::log10(std::max(double(vmin), 1e-12)), hi = std::log10(std::max(double(vmax), 1e-12));
            return std::pow(10.0, lo + (hi - lo) * t);
        }
        return vmin + (vmax - vmin) * double(t);
    };
    // Labels at the ends, and the middle one only where it does not run into them (narrow bars).
    const float ts[3] = {0.0f, 0.5f, 1.0f};
    std::string text[3];
    float x0[3], x1[3];
    for (int k = 0; k < 3; ++k) {
        text[k] = short_number(value_at(ts[k]));
        const float tw = ImGui::CalcTextSize(text[k].c_str()).x;
        x0[k] = std::clamp(p.x + ts[k] * width - tw * 0.5f, p.x, p.x + width - tw);
        x1[k] = x0[k] + tw;
    }
    const float gap = ImGui::GetStyle().ItemSpacing.x;
    const bool middle_fits = x0[1] >= x1[0] + gap && x1[1] + gap <= x0[2];
    for (int k = 0; k < 3; ++k) {
        dl->AddLine({p.x + ts[k] * width, p.y + bar_h}, {p.x + ts[k] * width, ty}, IM_COL32(200, 200, 200, 255));
        if (k != 1 || middle_fits) dl->AddText({x0[k], ty}, ImGui::GetColorU32(ImGuiCol_Text), text[k].c_str());
    }
    ImGui::Dummy({width, bar_h + 2 + ImGui::GetTextLineHeight()});
}

}  // namespace salab::ui
