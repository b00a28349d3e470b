#include "figure.h"

#include "errors.h"
#include "file_io.h"
#include "svg.h"

#include <stb/stb_image_write.h>

// Our own copy of stb_truetype, static so it cannot clash with the one inside Dear ImGui.
#define STBTT_STATIC
#define STB_TRUETYPE_IMPLEMENTATION
#include <stb/stb_truetype.h>
#include <stb/stb_easy_font.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>

namespace salab {

// --- ticks ------------------------------------------------------------------------------------

std::vector<double> nice_ticks(double lo, double hi, int max_ticks) {
    std::vector<double> out;
    if (!std::isfinite(lo) || !std::isfinite(hi) || hi < lo) return out;
    max_ticks = std::max(2, max_ticks);
    if (hi == lo) return {lo};
    // The smallest 1-2-5 step that gives at most max_ticks multiples in [lo, hi].
    const double raw = (hi - lo) / double(max_ticks);
    double step = std::pow(10.0, std::floor(std::log10(raw)));
    auto count = [&](double st) { return std::floor(hi / st + 1e-9) - std::ceil(lo / st - 1e-9) + 1; };
    for (int guard = 0; guard < 8; ++guard) {
        bool found = false;
        for (double m : {1.0, 2.0, 5.0})
            if (count(m * step) <= max_ticks) {
                step *= m;
                found = true;
                break;
            }
        if (found) break;
        step *= 10;
    }
    // Integer multiples of step, so 0 is a tick whenever it is in range.
    for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k += 1) {
        out.push_back(std::fabs(k * step) < step * 1e-9 ? 0.0 : k * step);
        if (out.size() > size_t(max_ticks) + 2) break;
    }
    return out;
}

std::string grouped_count(int64_t v) {
    std::string digits = std::to_string(v < 0 ? -v : v);
    for (int i = int(digits.size()) - 3; i > 0; i -= 3) digits.insert(size_t(i), ",");
    return v < 0 ? "-" + digits : digits;
}

std::string percent_label(double fraction) {
    char buf[32];
    std::snprintf(buf, sizeof buf, fraction >= 0.1 ? "%.1f%%" : fraction >= 0.001 ? "%.2f%%" : "%.3g%%", 100.0 * fraction);
    return buf;
}

std::vector<int64_t> token_tick_indices(int64_t first, int64_t count, int64_t tokens_size, double px_per_token,
                                        double label_px) {
    std::vector<int64_t> out;
    if (first < 0 || count < 1 || count > kMaxTokenTicks || first + count > tokens_size || !(px_per_token > 0))
        return out;
    int64_t step = 0;
    for (int64_t k : {1, 2, 5, 10, 20, 50})
        if (double(k) * px_per_token >= label_px) {
            step = k;
            break;
        }
    if (step == 0) return out;
    for (int64_t t = (first + step - 1) / step * step; t < first + count; t += step) out.push_back(t);
    return out;
}

std::string token_label(double v) {
    const auto i = int64_t(std::llround(v));
    if (std::fabs(v - double(i)) > 1e-6) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3g", v);
        return buf;
    }
    if (i >= 10000 && i % 1000 == 0) return std::to_string(i / 1000) + "k";
    if (i >= 10000 && i % 1024 == 0) return std::to_string(i / 1024) + "Ki";
    return std::to_string(i);
}

// --- font -------------------------------------------------------------------------------------

namespace {

struct Font {
    std::vector<unsigned char> data;
    stbtt_fontinfo info{};
    bool ok = false;
    std::string path;
};

const Font& font() {
    static Font f;
    static std::once_flag once;
    std::call_once(once, [] {
        std::vector<std::string> candidates;
        if (const char* env = std::getenv("SALAB_FONT"); env && *env) candidates.emplace_back(env);
        candidates.emplace_back("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
        candidates.emplace_back("/usr/share/fonts/TTF/DejaVuSans.ttf");
        for (const std::string& p : candidates) {
            std::ifstream in(p, std::ios::binary);
            if (!in) continue;
            std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            if (bytes.size() < 64) continue;
            f.data = std::move(bytes);
            if (stbtt_InitFont(&f.info, f.data.data(), stbtt_GetFontOffsetForIndex(f.data.data(), 0))) {
                f.ok = true;
                f.path = p;
                return;
            }
        }
        f.data.clear();
    });
    return f;
}

// ASCII plus the few non-ASCII characters figures use, decoded from UTF-8.
std::vector<int> codepoints(const std::string& s) {
    std::vector<int> out;
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        int cp = c, len = 1;
        if (c >= 0xF0 && i + 3 < s.size() + 0) {
            cp = ((c & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
            len = 4;
        } else if (c >= 0xE0 && i + 2 < s.size()) {
            cp = ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
            len = 3;
        } else if (c >= 0xC0 && i + 1 < s.size()) {
            cp = ((c & 0x1F) << 6) | (s[i + 1] & 0x3F);
            len = 2;
        }
        out.push_back(cp);
        i += size_t(len);
    }
    return out;
}

// The built-in font knows ASCII only.
std::string ascii_only(const std::string& s) {
    std::string out;
    for (int cp : codepoints(s)) out.push_back(cp < 128 ? char(cp) : cp == 0x00D7 ? 'x' : '?');
    return out;
}

// stb_easy_font glyphs are ~7 px tall for a 12 px line.
constexpr double kEasyLine = 12.0;

// An alpha coverage image of a text line: w x h, baseline at `baseline` rows from the top.
struct TextMask {
    int w = 0, h = 0, baseline = 0;
    std::vector<float> a;
};

TextMask text_mask(const std::string& text, double px) {
    TextMask m;
    const Font& f = font();
    const int pad = 2;
    m.w = int(std::ceil(text_width(text, px))) + 2 * pad;
    m.h = int(std::ceil(px * 1.3)) + 2 * pad;
    m.baseline = pad + int(std::round(px * 1.0));
    m.a.assign(size_t(m.w) * size_t(m.h), 0.0f);
    if (f.ok) {
        const float scale = stbtt_ScaleForPixelHeight(&f.info, float(px));
        int ascent = 0, descent = 0, gap = 0;
        stbtt_GetFontVMetrics(&f.info, &ascent, &descent, &gap);
        m.baseline = pad + int(std::round(double(ascent) * scale));
        double x = pad;
        const std::vector<int> cps = codepoints(text);
        for (size_t k = 0; k < cps.size(); ++k) {
            int adv = 0, lsb = 0;
            stbtt_GetCodepointHMetrics(&f.info, cps[k], &adv, &lsb);
            int x0, y0, x1, y1;
            const float sx = float(x - std::floor(x));
            stbtt_GetCodepointBitmapBoxSubpixel(&f.info, cps[k], scale, scale, sx, 0, &x0, &y0, &x1, &y1);
            const int gw = x1 - x0, gh = y1 - y0;
            if (gw > 0 && gh > 0) {
                std::vector<unsigned char> g(size_t(gw) * size_t(gh));
                stbtt_MakeCodepointBitmapSubpixel(&f.info, g.data(), gw, gh, gw, scale, scale, sx, 0, cps[k]);
                const int ox = int(std::floor(x)) + x0, oy = m.baseline + y0;
                for (int yy = 0; yy < gh; ++yy)
                    for (int xx = 0; xx < gw; ++xx) {
                        const int X = ox + xx, Y = oy + yy;
                        if (X < 0 || Y < 0 || X >= m.w || Y >= m.h) continue;
                        float& dst = m.a[size_t(Y) * size_t(m.w) + size_t(X)];
                        dst = std::min(1.0f, dst + float(g[size_t(yy) * size_t(gw) + size_t(xx)]) / 255.0f);
                    }
            }
            x += double(adv) * scale;
            if (k + 1 < cps.size()) x += double(stbtt_GetCodepointKernAdvance(&f.info, cps[k], cps[k + 1])) * scale;
        }
        return m;
    }
    // Built-in fallback: stb_easy_font quads, scaled to the line height.
    std::string s = ascii_only(text);
    std::vector<char> buf(s.size() * 270 + 64);
    const int quads = stb_easy_font_print(0, 0, s.data(), nullptr, buf.data(), int(buf.size()));
    const double k = px / kEasyLine;
    const int top = m.baseline - int(std::round(7 * k));
    for (int q = 0; q < quads; ++q) {
        const float* v = reinterpret_cast<const float*>(buf.data() + size_t(q) * 64);
        const double qx0 = v[0] * k, qy0 = v[1] * k, qx1 = v[8] * k, qy1 = v[9] * k;
        for (int y = int(std::floor(qy0)); y < int(std::ceil(qy1)); ++y)
            for (int x = int(std::floor(qx0)); x < int(std::ceil(qx1)); ++x) {
                const int X = x + pad, Y = y + top;
                if (X >= 0 && Y >= 0 && X < m.w && Y < m.h) m.a[size_t(Y) * size_t(m.w) + size_t(X)] = 1.0f;
            }
    }
    return m;
}

}  // namespace

double text_width(const std::string& text, double px) {
    const Font& f = font();
    if (!f.ok) {
        std::string s = ascii_only(text);
        return stb_easy_font_width(s.data()) * px / kEasyLine;
    }
    const float scale = stbtt_ScaleForPixelHeight(&f.info, float(px));
    double w = 0;
    const std::vector<int> cps = codepoints(text);
    for (size_t k = 0; k < cps.size(); ++k) {
        int adv = 0, lsb = 0;
        stbtt_GetCodepointHMetrics(&f.info, cps[k], &adv, &lsb);
        w += double(adv) * scale;
        if (k + 1 < cps.size()) w += double(stbtt_GetCodepointKernAdvance(&f.info, cps[k], cps[k + 1])) * scale;
    }
    return w;
}

std::string figure_font_name() { return font().ok ? font().path : "built-in (stb_easy_font)"; }

// --- layout -----------------------------------------------------------------------------------

namespace {

constexpr double kTitlePx = 15, kTickPx = 11, kLabelPx = 12, kLegendPx = 11, kCaptionPx = 12, kPagePx = 18;
constexpr Rgb8 kInk{20, 20, 24}, kGrey{90, 90, 100}, kFrame{60, 60, 70};

struct Builder {
    Figure& f;

    FigItem& text(const std::string& s, double px, double x, double y, Anchor a, Rgb8 c, const std::string& role,
                  bool vertical = false) {
        FigItem it;
        it.kind = FigItem::Kind::text;
        it.text = s;
        it.font_px = px;
        it.tx = x;
        it.ty = y;
        it.anchor = a;
        it.color = c;
        it.vertical = vertical;
        it.role = role;
        const double w = text_width(s, px);
        const double off = a == Anchor::start ? 0 : a == Anchor::middle ? w / 2 : w;
        // Bounds: ascent ~0.95 px, descent ~0.25 px.
        if (!vertical)
            it.box = {x - off, y - 0.95 * px, w, 1.2 * px};
        else
            it.box = {x - 0.95 * px, y - w + off, 1.2 * px, w};
        f.items.push_back(it);
        return f.items.back();
    }
    void rect(FRect r, Rgb8 c, double stroke, const std::string& role) {
        FigItem it;
        it.kind = FigItem::Kind::rect;
        it.box = r;
        it.color = c;
        it.stroke = stroke;
        it.role = role;
        f.items.push_back(it);
    }
    void line(double x0, double y0, double x1, double y1, Rgb8 c, double width, const std::string& role) {
        FigItem it;
        it.kind = FigItem::Kind::line;
        it.box = {x0, y0, x1 - x0, y1 - y0};
        it.color = c;
        it.stroke = width;
        it.role = role;
        f.items.push_back(it);
    }
    void grid(FRect r, const CellGrid8& g, const std::string& role) {
        f.grids.push_back(std::make_unique<CellGrid8>(g));
        FigItem it;
        it.kind = FigItem::Kind::grid;
        it.box = r;
        it.grid = f.grids.back().get();
        it.role = role;
        f.items.push_back(it);
    }
};

void check_panel(const PanelData& p) {
    if (p.grid.cols < 1 || p.grid.rows < 1 || p.grid.colors.size() != size_t(p.grid.cols) * size_t(p.grid.rows))
        throw InputError("figure panel '" + p.title + "' has an empty or inconsistent cell grid");
    if (p.extent < 1) throw InputError("figure panel '" + p.title + "' spans no tokens");
    if (p.y_extent < 0 || p.x0 < 0 || p.y0 < 0) throw InputError("figure panel '" + p.title + "' has a negative region");
}

int64_t rows_of(const PanelData& p) { return p.y_extent > 0 ? p.y_extent : p.extent; }
// Height of the plot of a panel whose width is P.
int plot_height(const PanelData& p, int P) {
    const double h = double(P) * double(rows_of(p)) / double(p.extent);
    return int(std::lround(std::clamp(h, P / 4.0, 2.0 * P)));
}

// Token tick labels: used when the panel has the tokens of both axes' ranges and each spans few.
bool token_ticks(const PanelData& p) {
    const int64_t nt = int64_t(p.tokens.size());
    return !token_tick_indices(p.x0, p.extent, nt, 1.0, 0.0).empty() &&
           !token_tick_indices(p.y0, rows_of(p), nt, 1.0, 0.0).empty();
}
std::string tick_token(const PanelData& p, int64_t t) {
    std::string s = p.tokens[size_t(t)];
    for (char& c : s) if (c == '\n' || c == '\t' || c == ' ') c = '_';
    if (s.size() > 12) s = s.substr(0, 11) + "~";
    return s;
}
// Extra height under the plot for vertical token labels.
double token_label_depth(const PanelData& p) {
    if (!token_ticks(p)) return 0;
    double w = 0;
    for (int64_t t = p.x0; t < p.x0 + p.extent; ++t) w = std::max(w, text_width(tick_token(p, t), kTickPx));
    return std::max(0.0, w - kTickPx);
}

struct PanelGeom {
    double left = 0, legend_w = 0, width = 0, height = 0;
};
constexpr double kTop = 30;
// Under the plot: tick marks and labels, the axis label; then the caption (below the legend too).
constexpr double kAxisBelow = 4 + 16 + 18, kCaptionRow = kCaptionPx + 12;

double legend_height(const Legend& l, int P) {
    return 20 + 16.0 * double(l.swatches.size()) + (l.bar.empty() ? 0 : std::min<double>(P, 220) + 12) +
           15.0 * double(l.notes.size());
}

PanelGeom panel_geom(const PanelData& p, int P) {
    PanelGeom g;
    double tick_w = 0;
    const int H = plot_height(p, P);
    for (double v : nice_ticks(double(p.y0), double(p.y0 + rows_of(p)), std::max(2, H / 70)))
        tick_w = std::max(tick_w, text_width(token_label(v), kTickPx));
    if (token_ticks(p))
        for (int64_t t = p.y0; t < p.y0 + rows_of(p); ++t) tick_w = std::max(tick_w, text_width(tick_token(p, t), kTickPx));
    const double below = kAxisBelow + token_label_depth(p);
    g.left = 8 + kLabelPx * 1.3 + 6 + tick_w + 6;
    double lw = text_width(p.legend.title, kLegendPx);
    for (const Swatch& s : p.legend.swatches) lw = std::max(lw, 18 + text_width(s.label, kLegendPx));
    for (const auto& t : p.legend.bar_ticks) lw = std::max(lw, 24 + text_width(t.second, kLegendPx));
    for (const std::string& n : p.legend.notes) lw = std::max(lw, text_width(n, kLegendPx));
    g.legend_w = lw;
    g.width = std::max({g.left + P + 18 + lw + 12, g.left + text_width(p.title, kTitlePx) + 12,
                        g.left + text_width(p.caption, kCaptionPx) + 12});
    g.height = kTop + std::max<double>(H + below, legend_height(p.legend, H)) + kCaptionRow + 6;
    return g;
}

void draw_panel(Builder& b, const PanelData& p, int P, double ox, double oy, const PanelGeom& g) {
    const double px = std::round(ox + g.left), py = std::round(oy + kTop);
    const int H = plot_height(p, P);
    b.text(p.title, kTitlePx, px, oy + 20, Anchor::start, kInk, "title");
    const FRect plot{px, py, double(P), double(H)};
    b.grid(plot, p.grid, "plot");
    b.f.plots.push_back(plot);
    b.rect({px - 0.5, py - 0.5, P + 1.0, H + 1.0}, kFrame, 1, "axis");
    // Ticks: keys [x0, x0 + extent) across the plot's width, queries [y0, y0 + rows) down its height.
    const double rows = double(rows_of(p));
    const double below = kAxisBelow + token_label_depth(p);
    if (token_ticks(p)) {
        // One tick per token, at the middle of its cell, labelled with the token's text.
        for (int64_t t = 0; t < p.extent; ++t) {
            const double x = std::round(px + (double(t) + 0.5) / double(p.extent) * P);
            b.line(x, py + H, x, py + H + 4, kFrame, 1, "axis");
            b.text(tick_token(p, p.x0 + t), kTickPx, x + kTickPx * 0.35, py + H + 6, Anchor::end, kGrey, "axis", true);
        }
        for (int64_t t = 0; t < int64_t(rows); ++t) {
            const double y = std::round(py + (double(t) + 0.5) / rows * H);
            b.line(px - 4, y, px, y, kFrame, 1, "axis");
            b.text(tick_token(p, p.y0 + t), kTickPx, px - 6, y + kTickPx * 0.35, Anchor::end, kGrey, "axis");
        }
    }
    for (double v : token_ticks(p) ? std::vector<double>{} : nice_ticks(double(p.x0), double(p.x0 + p.extent), std::max(2, P / 70))) {
        const double t = std::round(px + (v - double(p.x0)) / double(p.extent) * P);
        b.line(t, py + H, t, py + H + 4, kFrame, 1, "axis");
        b.text(token_label(v), kTickPx, t, py + H + 4 + kTickPx + 1, Anchor::middle, kGrey, "axis");
    }
    for (double v : token_ticks(p) ? std::vector<double>{} : nice_ticks(double(p.y0), double(p.y0) + rows, std::max(2, H / 70))) {
        const double s = std::round(py + (v - double(p.y0)) / rows * H);
        b.line(px - 4, s, px, s, kFrame, 1, "axis");
        b.text(token_label(v), kTickPx, px - 6, s + kTickPx * 0.35, Anchor::end, kGrey, "axis");
    }
    b.text(p.x_label + " \u2192", kLabelPx, px + P / 2.0, py + H + below - 18 + kLabelPx + 2, Anchor::middle, kInk, "axis");
    b.text(p.y_label + " \u2192", kLabelPx, ox + 8 + kLabelPx, py + H / 2.0, Anchor::middle, kInk, "axis", true);
    b.text(p.caption, kCaptionPx, px, py + std::max<double>(H + below, legend_height(p.legend, H)) + kCaptionPx + 4,
           Anchor::start, kInk, "caption");
    // Legend right of the plot.
    double lx = px + P + 18, ly = py;
    b.text(p.legend.title, kLegendPx, lx, ly + kLegendPx, Anchor::start, kInk, "legend");
    ly += 20;
    for (const Swatch& s : p.legend.swatches) {
        b.rect({lx, ly, 12, 12}, s.color, 0, "legend");
        b.rect({lx - 0.5, ly - 0.5, 13, 13}, kFrame, 1, "legend");
        b.text(s.label, kLegendPx, lx + 18, ly + 10, Anchor::start, kInk, "legend");
        ly += 16;
    }
    if (!p.legend.bar.empty()) {
        const double bh = std::min<double>(H, 220);
        CellGrid8 bar{1, int(p.legend.bar.size()), {}};
        for (auto it = p.legend.bar.rbegin(); it != p.legend.bar.rend(); ++it) bar.colors.push_back(*it);
        b.grid({lx, ly + 4, 14, bh}, bar, "legend");
        b.rect({lx - 0.5, ly + 3.5, 15, bh + 1}, kFrame, 1, "legend");
        for (const auto& [frac, label] : p.legend.bar_ticks) {
            const double y = std::round(ly + 4 + (1 - std::clamp(frac, 0.0, 1.0)) * bh);
            b.line(lx + 14, y, lx + 18, y, kFrame, 1, "legend");
            b.text(label, kLegendPx, lx + 22, y + kLegendPx * 0.35, Anchor::start, kGrey, "legend");
        }
        ly += bh + 12;
    }
    for (const std::string& n : p.legend.notes) {
        b.text(n, kLegendPx, lx, ly + kLegendPx, Anchor::start, kGrey, "legend");
        ly += 15;
    }
}

}  // namespace

Figure make_figure(const FigureSpec& spec) {
    if (spec.panels.empty()) throw InputError("a figure needs at least one panel");
    if (spec.plot_size < 16 || spec.plot_size > 8192)
        throw InputError("figure plot size must be in [16, 8192], got " + std::to_string(spec.plot_size));
    for (const PanelData& p : spec.panels) check_panel(p);
    const int P = spec.plot_size;
    const int cols = std::clamp(spec.columns, 1, int(spec.panels.size()));
    std::vector<PanelGeom> geo;
    double cw = 0, ch = 0;
    for (const PanelData& p : spec.panels) {
        geo.push_back(panel_geom(p, P));
        cw = std::max(cw, geo.back().width);
        ch = std::max(ch, geo.back().height);
    }
    const double head = spec.title.empty() ? 6 : 36;
    const int rows = int((spec.panels.size() + size_t(cols) - 1) / size_t(cols));
    Figure f;
    f.width = int(std::ceil(std::max(cw * cols + 12, spec.title.empty() ? 0 : text_width(spec.title, kPagePx) + 24)));
    f.height = int(std::ceil(head + ch * rows + 4));
    Builder b{f};
    if (!spec.title.empty()) b.text(spec.title, kPagePx, 12, 26, Anchor::start, kInk, "title");
    for (size_t k = 0; k < spec.panels.size(); ++k) {
        const double ox = 6 + cw * double(k % size_t(cols)), oy = head + ch * double(k / size_t(cols));
        draw_panel(b, spec.panels[k], P, ox, oy, geo[k]);
    }
    return f;
}

// --- raster back end --------------------------------------------------------------------------

namespace {

void blend(Image& img, int x, int y, Rgb8 c, float a) {
    if (x < 0 || y < 0 || x >= img.width || y >= img.height || a <= 0) return;
    uint8_t* p = &img.rgba[(size_t(y) * size_t(img.width) + size_t(x)) * 4];
    a = std::min(a, 1.0f);
    p[0] = uint8_t(std::lround(p[0] + (c.r - p[0]) * a));
    p[1] = uint8_t(std::lround(p[1] + (c.g - p[1]) * a));
    p[2] = uint8_t(std::lround(p[2] + (c.b - p[2]) * a));
    p[3] = 255;
}

void fill(Image& img, double x, double y, double w, double h, Rgb8 c) {
    const int x0 = std::max(0, int(std::floor(x + 0.5))), y0 = std::max(0, int(std::floor(y + 0.5)));
    const int x1 = std::min(img.width, int(std::floor(x + w + 0.5))), y1 = std::min(img.height, int(std::floor(y + h + 0.5)));
    for (int yy = y0; yy < y1; ++yy)
        for (int xx = x0; xx < x1; ++xx) img.set(xx, yy, c);
}

void draw_text(Image& img, const FigItem& it) {
    const TextMask m = text_mask(it.text, it.font_px);
    const double w = text_width(it.text, it.font_px);
    const double off = it.anchor == Anchor::start ? 0 : it.anchor == Anchor::middle ? w / 2 : w;
    const int pad = 2;
    for (int y = 0; y < m.h; ++y)
        for (int x = 0; x < m.w; ++x) {
            const float a = m.a[size_t(y) * size_t(m.w) + size_t(x)];
            if (a <= 0) continue;
            // (u, v): position along and across the text line relative to the anchor point.
            const double u = x - pad - off, v = y - m.baseline;
            if (!it.vertical)
                blend(img, int(std::lround(it.tx + u)), int(std::lround(it.ty + v)), it.color, a);
            else  // rotated 90 degrees counter-clockwise: reads bottom to top
                blend(img, int(std::lround(it.tx + v)), int(std::lround(it.ty - u)), it.color, a);
        }
}

}  // namespace

Image rasterize(const Figure& f) {
    if (f.width < 1 || f.height < 1) throw InputError("cannot rasterize an empty figure");
    Image img{f.width, f.height, std::vector<uint8_t>(size_t(f.width) * size_t(f.height) * 4)};
    for (int y = 0; y < f.height; ++y)
        for (int x = 0; x < f.width; ++x) img.set(x, y, f.background);
    for (const FigItem& it : f.items) {
        switch (it.kind) {
            case FigItem::Kind::rect:
                if (it.stroke <= 0) {
                    fill(img, it.box.x, it.box.y, it.box.w, it.box.h, it.color);
                } else {
                    const double s = it.stroke;
                    fill(img, it.box.x - s / 2, it.box.y - s / 2, it.box.w + s, s, it.color);
                    fill(img, it.box.x - s / 2, it.box.y + it.box.h - s / 2, it.box.w + s, s, it.color);
                    fill(img, it.box.x - s / 2, it.box.y - s / 2, s, it.box.h + s, it.color);
                    fill(img, it.box.x + it.box.w - s / 2, it.box.y - s / 2, s, it.box.h + s, it.color);
                }
                break;
            case FigItem::Kind::line: {
                // Axis-aligned segments only (ticks, frames).
                const double x0 = std::min(it.box.x, it.box.x + it.box.w), y0 = std::min(it.box.y, it.box.y + it.box.h);
                const double w = std::fabs(it.box.w), h = std::fabs(it.box.h), s = it.stroke;
                fill(img, x0 - (w == 0 ? s / 2 : 0), y0 - (h == 0 ? s / 2 : 0), w == 0 ? s : w, h == 0 ? s : h, it.color);
                break;
            }
            case FigItem::Kind::text: draw_text(img, it); break;
            case FigItem::Kind::grid: {
                const CellGrid8& g = *it.grid;
                const int x0 = int(std::lround(it.box.x)), y0 = int(std::lround(it.box.y));
                const int w = int(std::lround(it.box.w)), h = int(std::lround(it.box.h));
                for (int y = 0; y < h; ++y) {
                    const int row = std::min(g.rows - 1, int(int64_t(y) * g.rows / std::max(1, h)));
                    for (int x = 0; x < w; ++x) {
                        const int col = std::min(g.cols - 1, int(int64_t(x) * g.cols / std::max(1, w)));
                        if (x0 + x >= 0 && y0 + y >= 0 && x0 + x < img.width && y0 + y < img.height)
                            img.set(x0 + x, y0 + y, g.colors[size_t(row) * size_t(g.cols) + size_t(col)]);
                    }
                }
                break;
            }
        }
    }
    return img;
}

void write_png(const std::string& path, const Figure& f) { write_png(path, rasterize(f)); }

void write_figure(const std::string& path, const Figure& f) {
    std::string ext = path.size() >= 4 ? path.substr(path.size() - 4) : "";
    for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (ext == ".svg")
        write_svg(path, f);
    else
        write_png(path, f);
}

}  // namespace salab
