#include "svg.h"

#include "errors.h"
#include "figure.h"
#include "file_io.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace salab {

namespace {

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    std::string s = buf;
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s == "-0" ? "0" : s;
}

std::string hex(Rgb8 c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c.r, c.g, c.b);
    return buf;
}

std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

void grid_svg(std::string& out, const FigItem& it) {
    const CellGrid8& g = *it.grid;
    std::map<uint32_t, size_t> freq;
    auto key = [](Rgb8 c) { return uint32_t(c.r) << 16 | uint32_t(c.g) << 8 | c.b; };
    for (Rgb8 c : g.colors) ++freq[key(c)];
    uint32_t bg = 0;
    size_t best = 0;
    for (auto [k, cnt] : freq)
        if (cnt > best) best = cnt, bg = k;
    const double cw = it.box.w / g.cols, ch = it.box.h / g.rows;
    out += "<g shape-rendering=\"crispEdges\">\n";
    out += "<rect x=\"" + num(it.box.x) + "\" y=\"" + num(it.box.y) + "\" width=\"" + num(it.box.w) + "\" height=\"" +
           num(it.box.h) + "\" fill=\"" + hex(Rgb8{uint8_t(bg >> 16), uint8_t(bg >> 8), uint8_t(bg)}) + "\"/>\n";
    for (int r = 0; r < g.rows; ++r) {
        for (int c = 0; c < g.cols;) {
            const Rgb8 col = g.colors[size_t(r) * size_t(g.cols) + size_t(c)];
            int e = c + 1;
            while (e < g.cols && g.colors[size_t(r) * size_t(g.cols) + size_t(e)] == col) ++e;
            if (key(col) != bg)
                out += "<rect x=\"" + num(it.box.x + c * cw) + "\" y=\"" + num(it.box.y + r * ch) + "\" width=\"" +
                       num((e - c) * cw) + "\" height=\"" + num(ch) + "\" fill=\"" + hex(col) + "\"/>\n";
            c = e;
        }
    }
    out += "</g>\n";
}

}  // namespace

std::string to_svg(const Figure& f) {
    std::string out;
    out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(f.width) + "\" height=\"" +
           std::to_string(f.height) + "\" viewBox=\"0 0 " + std::to_string(f.width) + " " + std::to_string(f.height) +
           "\" font-family=\"DejaVu Sans, Verdana, sans-serif\">\n";
    out += "<rect width=\"100%\" height=\"100%\" fill=\"" + hex(f.background) + "\"/>\n";
    for (const FigItem& it : f.items) {
        switch (it.kind) {
            case FigItem::Kind::rect:
                out += "<rect x=\"" + num(it.box.x) + "\" y=\"" + num(it.box.y) + "\" width=\"" + num(it.box.w) +
                       "\" height=\"" + num(it.box.h) + "\" ";
                out += it.stroke > 0 ? "fill=\"none\" stroke=\"" + hex(it.color) + "\" stroke-width=\"" + num(it.stroke) + "\"/>\n"
                                     : "fill=\"" + hex(it.color) + "\"/>\n";
                break;
            case FigItem::Kind::line:
                out += "<line x1=\"" + num(it.box.x) + "\" y1=\"" + num(it.box.y) + "\" x2=\"" + num(it.box.x + it.box.w) +
                       "\" y2=\"" + num(it.box.y + it.box.h) + "\" stroke=\"" + hex(it.color) + "\" stroke-width=\"" +
                       num(it.stroke) + "\"/>\n";
                break;
            case FigItem::Kind::text: {
                const char* anchor = it.anchor == Anchor::start ? "start" : it.anchor == Anchor::middle ? "middle" : "end";
                out += "<text x=\"" + num(it.tx) + "\" y=\"" + num(it.ty) + "\" font-size=\"" + num(it.font_px) +
                       "\" fill=\"" + hex(it.color) + "\" text-anchor=\"" + anchor + "\"";
                if (it.vertical) out += " transform=\"rotate(-90 " + num(it.tx) + " " + num(it.ty) + ")\"";
                out += ">" + escape(it.text) + "</text>\n";
                break;
            }
            case FigItem::Kind::grid: grid_svg(out, it); break;
        }
    }
    out += "</svg>\n";
    return out;
}

void write_svg(const std::string& path, const Figure& f) {
    const std::string svg = to_svg(f);
    check_output_space(path, svg.size(), "svg", "free some space or write elsewhere");
    write_file_atomic(path, svg, "svg");
}

}  // namespace salab
