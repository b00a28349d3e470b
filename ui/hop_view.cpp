#include "hop_view.h"

#include "colormap.h"
#include "figure.h"
#include "format.h"
#include "hops.h"
#include "plot.h"
#include "widgets.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace salab::ui {

namespace {

// Fraction of ordered pairs j != i with |i - j| <= m (causal: j < i), of n tokens.
double band_fraction(int64_t n, int64_t m, bool causal) {
    if (n < 2) return 1.0;
    m = std::min(m, n - 1);
    const double one_side = double(m) * double(n) - double(m) * double(m + 1) / 2.0;
    const double pairs = double(n) * double(n - 1);
    return causal ? one_side / (pairs / 2.0) : 2.0 * one_side / pairs;
}

// c blended toward mid grey by t in [0, 1], alpha kept.
ImU32 mix_grey(ImU32 c, float t) {
    const auto ch = [&](int shift) {
        const float v = float((c >> shift) & 0xffu);
        return ImU32(std::lround(v + (110.0f - v) * t)) << shift;
    };
    return ch(IM_COL32_R_SHIFT) | ch(IM_COL32_G_SHIFT) | ch(IM_COL32_B_SHIFT) | (c & IM_COL32_A_MASK);
}

}  // namespace

ReachTheory reach_theory(const Pattern& p, int layers) {
    ReachTheory t;
    if (!p.is_flat() || p.layers.empty()) return t;
    const HeadPattern& h = p.layers[0].heads[0];
    const int64_t n = p.n;
    bool window = false, global = false, sparse_tr = false, random = false, other = false;
    int64_t radius = 0, per_query = 0;
    for (const Component& c : h.components) {
        switch (c.type) {
        case ComponentType::window:
            window = true;
            if (c.dilation == 1) radius = std::max(radius, c.radius);
            break;
        case ComponentType::global: global = global || c.first > 0 || !c.tokens.empty() || c.every > 0; break;
        case ComponentType::strided:
        case ComponentType::fixed: sparse_tr = true; break;
        case ComponentType::random: random = true, per_query = std::max(per_query, c.per_query); break;
        case ComponentType::dense: t.label = "1 (dense)"; t.full_at = 1; return t;
        case ComponentType::block:
            // BigBird blocks: global blocks connect everything in 2 steps.
            if (c.global_blocks > 0) global = true;
            else other = true;
            break;
        default: other = true;
        }
    }
    if (other) return t;
    if (global) {
        t.label = "2 (via a global token)";
        t.full_at = 2;
    } else if (sparse_tr) {
        t.label = "2 (Sparse Transformer)";
        t.full_at = 2;
    } else if (random && per_query > 0) {
        t.label = "~log n / log k (random)";
        t.full_at = std::log(double(n)) / std::log(double(std::max<int64_t>(2, per_query + (window ? 2 * radius : 0))));
    } else if (window && radius > 0) {
        t.label = "L x radius";
        for (int l = 1; l <= layers; ++l) t.reach.push_back(band_fraction(n, int64_t(l) * radius, h.causal));
        t.full_at = std::ceil(double(n - 1) / double(radius));
    }
    return t;
}

ReachPlot reach_plot(const HopsReport* rep, bool current, const Pattern& p) {
    ReachPlot out;
    if (rep) {
        PlotSeries r{"reached", {}, {}, IM_COL32(90, 200, 255, 255)};
        for (size_t k = 0; k < rep->reach_after_layers.size(); ++k) {
            r.x.push_back(double(k + 1));
            r.y.push_back(rep->reach_after_layers[k]);
        }
        out.layers = std::max<int>(4, int(rep->reach_after_layers.size()) + 1);
        out.series.push_back(std::move(r));
    }
    if (!current) return out;
    const ReachTheory th = reach_theory(p, out.layers);
    if (!th.reach.empty()) {
        PlotSeries t{"theory", {}, th.reach, IM_COL32(200, 200, 200, 220), false, true};
        for (size_t k = 0; k < th.reach.size(); ++k) t.x.push_back(double(k + 1));
        out.series.push_back(std::move(t));
    } else if (th.full_at) {
        const double x = *th.full_at;
        out.series.push_back({"theory", {x, x}, {0.0, 1.0}, IM_COL32(200, 200, 200, 220), false, true});
    }
    if (!out.series.empty() && out.series.back().label == "theory") out.theory_label = th.label;
    return out;
}

std::string hop_headline(const ViewContext& ctx) {
    if (!ctx.hops) return "hops: ...";
    const HopResult& h = *ctx.hops;
    if (!ctx.current(h.gen)) return "hops: updating...";
    if (!h.error.empty()) return "hops: " + h.error;
    if (!h.report) return "hops: ...";
    const HopsReport& r = *h.report;
    char buf[256];
    const std::string dia = r.diameter ? std::to_string(*r.diameter) : "unreachable (" + short_number(double(r.unreachable_pairs)) + " pairs)";
    int full = -1;
    for (size_t k = 0; k < r.reach_after_layers.size(); ++k)
        if (r.reach_after_layers[k] >= 1.0) {
            full = int(k + 1);
            break;
        }
    std::snprintf(buf, sizeof buf, "diameter %s   mean %.2f hops   full reach %s%s", dia.c_str(), r.mean_hops,
                  full > 0 ? (std::to_string(full) + (full == 1 ? " layer" : " layers")).c_str() : "never", r.exact ? "" : "   (sampled)");
    return buf;
}

void HopView::draw(AppState& s, const ViewContext& ctx) {
    const int64_t n = s.params.pattern.n;
    const HopResult* hr = ctx.hops;
    const HopsReport* rep = hr && hr->report ? hr->report.get() : nullptr;
    const bool current = hr && ctx.current(hr->gen);

    ImGui::TextUnformatted(hop_headline(ctx).c_str());
    tip("hops(j -> i): layers for information at key j to reach query i (residual: 0 to itself). Diameter: the "
        "largest over all pairs (causal: j <= i).");
    if (rep) {
        ImGui::SameLine();
        ImGui::TextDisabled("  %s, %lld sources, %.0f ms", rep->exact ? "exact" : "estimate", (long long)rep->sources, rep->ms + hr->build_ms);
        tip(rep->exact ? "Every token was a source." : "Above 4096 tokens a seeded sample of sources is used: an estimate.");
    }
    if (!current) {
        ImGui::SameLine();
        updating_mark(true);
    }
    const StaleScope dim(!current);

    const float w = ImGui::GetContentRegionAvail().x;
    const float h_avail = ImGui::GetContentRegionAvail().y;
    // Left: reach chart. Right: token strip + arcs.
    const float left_w = std::floor(w * 0.40f);
    ImGui::BeginChild("reach", {left_w, h_avail}, false);
    {
        const ReachPlot rp = reach_plot(rep, current, s.params.pattern);
        const std::vector<PlotSeries>& series = rp.series;
        const int L = rp.layers;
        const std::string& theory = rp.theory_label;
        PlotSpec spec;
        spec.x_label = "layers";
        spec.y_label = "pairs reached";
        spec.y_lo = 0;
        spec.y_hi = 1.05;
        spec.x_lo = 0.5;
        spec.x_hi = double(L) + 0.5;
        const float th_h = theory.empty() ? 0.0f : ImGui::GetTextLineHeightWithSpacing();
        draw_plot("reach", spec, series, {left_w - 4, std::max(60.0f, h_avail - 4 - th_h)});
        if (!current && rep) dim_rect(ImGui::GetWindowDrawList(), ImGui::GetItemRectMin(), ImGui::GetItemRectMax());
        if (!theory.empty()) ImGui::TextDisabled("theory: %s", theory.c_str());
        tip("Theory line for this pattern: window w reaches L*w tokens after L layers; a global token connects "
            "every pair in 2; the Sparse Transformer's factorised heads in 2; random links in about log n / log k.");
    }
    ImGui::EndChild();
    ImGui::SameLine();
    ImGui::BeginChild("token", {0, h_avail}, false);
    {
        int tok = std::clamp(s.view.hop_token, 0, int(std::max<int64_t>(0, n - 1)));
        // The two sliders share what the labels leave of the row (1280 x 800 cut "depth" off).
        const ImGuiStyle& st = ImGui::GetStyle();
        const float labels = ImGui::CalcTextSize("token").x + ImGui::CalcTextSize("to it").x +
                             ImGui::CalcTextSize("depth").x + ImGui::GetFrameHeight() + 6 * st.ItemSpacing.x +
                             4 * st.ItemInnerSpacing.x;
        const float sliders = std::max(ImGui::GetFontSize() * 6, ImGui::GetContentRegionAvail().x - labels);
        ImGui::SetNextItemWidth(std::min(ImGui::GetFontSize() * 10, sliders * 0.68f));
        // (Written back only when moved: a clamp to a passing n must not stick.)
        if (ImGui::SliderInt("token", &tok, 0, int(std::max<int64_t>(0, n - 1)))) s.view.hop_token = tok;
        tip("Token whose hop map and neighbourhood are shown (also: click a query in the mask view).");
        ImGui::SameLine();
        ImGui::Checkbox("to it", &s.view.hop_to);
        tip("On: hops from every token to this one (what it hears). Off: from this token to every other (who hears it).");
        ImGui::SameLine();
        ImGui::SetNextItemWidth(std::min(ImGui::GetFontSize() * 5, sliders * 0.32f));
        ImGui::SliderInt("depth", &s.view.hop_depth, 1, 3);
        tip("Neighbourhood depth of the arc diagram: 1, 2 or 3 hops (step it to see paths grow layer by layer).");

        ImDrawList* dl = ImGui::GetWindowDrawList();
        const float sw = ImGui::GetContentRegionAvail().x;
        const float strip_h = ImGui::GetTextLineHeight() * 1.4f;
        const ImVec2 p0 = ImGui::GetCursorScreenPos();
        ImGui::InvisibleButton("strip", {sw, strip_h});
        const bool strip_hover = ImGui::IsItemHovered();
        const TokenHopResult* th = ctx.token_hops;
        const bool th_ok = th && th->hops && th->token == tok && ctx.current(th->gen);
        if (th && th->hops && !th->hops->to.empty()) {
            const std::vector<int>& v = s.view.hop_to ? th->hops->to : th->hops->from;
            // The result's own n: while a new pattern is analysed it may differ from the current.
            const int64_t vn = int64_t(v.size());
            int maxh = 1;
            for (int x : v) maxh = std::max(maxh, x);
            const int cols = std::max(1, int(sw));
            for (int c = 0; c < cols; ++c) {
                const int64_t a = int64_t(c) * vn / cols, b = std::max(a + 1, int64_t(c + 1) * vn / cols);
                // A pixel shows the worst of its tokens: the most hops, or "never".
                int worst = 0;
                bool never = false;
                for (int64_t t = a; t < b && t < int64_t(v.size()); ++t) {
                    if (v[size_t(t)] < 0) never = true;
                    else worst = std::max(worst, v[size_t(t)]);
                }
                dl->AddRectFilled({p0.x + float(c), p0.y}, {p0.x + float(c + 1), p0.y + strip_h}, hop_color(never ? -1 : worst, maxh));
            }
            if (!th_ok) dim_rect(dl, p0, {p0.x + sw, p0.y + strip_h});  // another token's or older params' map
            const float tx = p0.x + float(double(th->token) / double(vn) * sw);
            dl->AddTriangleFilled({tx - 5, p0.y - 1}, {tx + 5, p0.y - 1}, {tx, p0.y + 6}, IM_COL32(80, 200, 255, 255));
            if (strip_hover) {
                const int64_t t = std::clamp<int64_t>(int64_t((ImGui::GetIO().MousePos.x - p0.x) / sw * double(vn)), 0, vn - 1);
                ImGui::SetTooltip("token %lld: %d hops %s token %lld", (long long)t, v[size_t(t)], s.view.hop_to ? "to" : "from",
                                  (long long)th->token);
            }
            // Legend of the strip.
            ImGui::PushTextWrapPos(0.0f);  // narrow panels: wrapped, not cut
            ImGui::TextDisabled("hops %s token %lld: white 0, bright 1 ... dark %d, red never%s", s.view.hop_to ? "to" : "from",
                                (long long)th->token, maxh, th_ok ? "" : "  (updating)");
            ImGui::PopTextWrapPos();
        } else {
            dl->AddRectFilled(p0, {p0.x + sw, p0.y + strip_h}, IM_COL32(40, 40, 45, 255));
            ImGui::TextDisabled("hop map: waiting for the analysis...");
        }

        // Arc diagram of the neighbourhood on the selected layer's graph.
        const ModelResult* m = ctx.model && !ctx.model->heads.empty() && tok < ctx.model->heads[0].n() ? ctx.model : nullptr;
        if (m && (nb_gen_ != m->gen || nb_token_ != tok || nb_depth_ != s.view.hop_depth)) {
            nb_ = token_neighbourhood(m->heads, tok, s.view.hop_depth);
            nb_gen_ = m->gen;
            nb_token_ = tok;
            nb_depth_ = s.view.hop_depth;
            arcs_bins_ = 0;
        }
        const ImVec2 a0 = ImGui::GetCursorScreenPos();
        const ImVec2 as{sw, std::max(60.0f, ImGui::GetContentRegionAvail().y - 4)};
        const float line_h = ImGui::GetTextLineHeight();
        dl->AddRect(a0, {a0.x + as.x, a0.y + as.y}, IM_COL32(60, 60, 68, 255), 3.0f);
        // Above the line: keys before the query; below: keys after it; under it all, the tick labels.
        const float axis_y = a0.y + as.y - line_h - 4;
        const float base = a0.y + 2 * line_h + 6 + (axis_y - a0.y - 2 * line_h - 10) * 0.55f;
        dl->AddLine({a0.x + 4, base}, {a0.x + as.x - 4, base}, IM_COL32(120, 120, 130, 255));
        const int64_t bn = m ? m->heads[0].n() : 0;  // the diagram's n (may lag the pattern's)
        if (bn > 0) {
            const float x_lo = a0.x + 6, x_w = as.x - 12;
            // More tokens than ~3 pixels each: arcs between bins of tokens, weighted by count.
            const TokenBins bins(bn, int64_t(std::max(1.0f, x_w / 3.0f)));
            if (arcs_bins_ != bins.bins()) {
                arcs_ = bin_arcs(nb_.edges, bins);
                arcs_bins_ = bins.bins();
            }
            const auto x_of_token = [&](double t) { return x_lo + float((t + 0.5) / double(bn)) * x_w; };
            const auto x_of_bin = [&](int b) { return x_of_token(bins.center(b)); };
            const float bin_px = x_w / float(bins.bins());
            // Deeper hops first so the 1-hop arcs lie on top. Per depth at most kMaxArcs arcs,
            // the heaviest (arcs_ is sorted so); alpha grows with the count (log) and shrinks as
            // the arcs of a depth get many, so a fan of hundreds reads as a shade, not a blob.
            constexpr size_t kMaxArcs = 600;
            size_t drawn = 0, hidden = 0;
            for (int d = s.view.hop_depth; d >= 1; --d) {
                if (only_deepest_ && d != s.view.hop_depth) continue;
                size_t first = arcs_.size(), count = 0;
                for (size_t k = 0; k < arcs_.size(); ++k)
                    if (arcs_[k].depth == d) first = std::min(first, k), ++count;
                if (count == 0) continue;
                const double cmax = double(arcs_[first].count);
                const size_t shown = std::min(count, kMaxArcs);
                hidden += count - shown;
                const float depth_alpha = d == 1 ? 240.0f : d == 2 ? 140.0f : 90.0f;
                const float crowd = std::min(1.0f, 25.0f / float(shown));
                const float grey = d == 1 ? 0.0f : d == 2 ? 0.45f : 0.7f;
                for (size_t k = first + shown; k-- > first;) {  // lightest first, heaviest on top
                    const BinnedArc& e = arcs_[k];
                    const float weight = cmax > 1 ? float(std::log1p(double(e.count)) / std::log1p(cmax)) : 1.0f;
                    const float alpha = std::clamp(depth_alpha * crowd * (0.3f + 0.7f * weight), 10.0f, 240.0f);
                    // Deeper hops fade toward grey, so the token's own keys stand out from theirs.
                    const ImU32 rgb = mix_grey(component_color(e.component), grey) & 0x00ffffffu;
                    const ImU32 col = rgb | (ImU32(alpha) << 24);
                    const float thick = (d == 1 ? 1.5f : 1.0f) + (shown < 100 && cmax > 1 ? weight : 0.0f);
                    const float x1 = x_of_bin(e.from_bin), x2 = x_of_bin(e.to_bin);
                    const float up = e.from_bin < e.to_bin || (e.from_bin == e.to_bin && d % 2 == 1) ? -1.0f : 1.0f;
                    const float room = up < 0 ? (base - a0.y - 2 * line_h - 8) : (axis_y - base - 2);
                    if (e.from_bin == e.to_bin) {  // within one bin: a small loop on it
                        const float r = std::max(1.5f, bin_px * 0.5f);
                        dl->AddBezierCubic({x1 - r, base}, {x1 - r, base + up * r * 2.6f},
                                           {x1 + r, base + up * r * 2.6f}, {x1 + r, base}, col, thick, 8);
                        continue;
                    }
                    const float hgt = std::min(room, std::fabs(x2 - x1) * 0.5f + 3.0f);
                    dl->AddBezierCubic({x1, base}, {x1, base + up * hgt * 1.33f}, {x2, base + up * hgt * 1.33f},
                                       {x2, base}, col, thick, 12);
                }
                drawn += shown;
            }
            dl->AddCircleFilled({x_of_token(double(tok)), base}, 4.0f, IM_COL32(80, 200, 255, 255));
            // Token ticks along the bottom (the figures' nice ticks and labels).
            const int max_ticks = std::max(2, int(x_w / (ImGui::GetFontSize() * 4.5f)));
            for (double v : nice_ticks(0.0, double(bn - 1), max_ticks)) {
                const float x = x_of_token(v);
                dl->AddLine({x, axis_y - 3}, {x, axis_y + 1}, IM_COL32(120, 120, 130, 255));
                const std::string lab = token_label(v);
                const float tw = ImGui::CalcTextSize(lab.c_str()).x;
                dl->AddText({std::clamp(x - tw * 0.5f, a0.x + 2, a0.x + as.x - tw - 2), axis_y + 1},
                            IM_COL32(130, 130, 140, 255), lab.c_str());
            }
            std::string head = (nb_.truncated ? ">= " : "") + grouped_count(int64_t(nb_.edges.size())) +
                               " edges into " + std::to_string(tok) + ", " + std::to_string(s.view.hop_depth) + " hop" +
                               (s.view.hop_depth > 1 ? "s" : "") + ", layer " + std::to_string(s.params.layer);
            std::string sub;
            if (bins.bins() < bn) {
                const int64_t lo = bn / bins.bins(), hi = (bn + bins.bins() - 1) / bins.bins();
                sub = "bins of " + (lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi)) +
                      " tokens";
            }
            if (hidden > 0)
                sub += (sub.empty() ? "" : ", ") + std::string("heaviest ") + grouped_count(int64_t(drawn)) + " arcs";
            // Narrow panels (1280 x 800) get the short form rather than a caption cut at the edge.
            if (ImGui::CalcTextSize(head.c_str()).x > as.x - 12 - ImGui::CalcTextSize("only hop d").x - 40)
                head = (nb_.truncated ? ">= " : "") + grouped_count(int64_t(nb_.edges.size())) + " edges, " +
                       std::to_string(s.view.hop_depth) + " hop" + (s.view.hop_depth > 1 ? "s" : "");
            if (!sub.empty()) dl->AddText({a0.x + 6, a0.y + 4 + line_h}, IM_COL32(130, 130, 140, 255), sub.c_str());
            dl->AddText({a0.x + 6, a0.y + 4}, IM_COL32(170, 170, 180, 255), head.c_str());
        }
        ImGui::InvisibleButton("arcs", as);
        ImGui::SetItemAllowOverlap();  // the checkbox in its corner takes the clicks there
        const ImVec2 after = ImGui::GetCursorScreenPos();
        if (ImGui::IsItemHovered() && bn > 0 && arcs_bins_ > 0) {
            // What the hovered bin takes part in, per depth.
            const TokenBins bins(bn, arcs_bins_);
            const float fx = (ImGui::GetIO().MousePos.x - (a0.x + 6)) / (as.x - 12);
            const int b = std::clamp(int(fx * float(bins.bins())), 0, bins.bins() - 1);
            int64_t out_of[4] = {0, 0, 0, 0}, into[4] = {0, 0, 0, 0};
            for (const BinnedArc& e : arcs_) {
                if (e.depth < 1 || e.depth > 3) continue;
                if (e.from_bin == b) out_of[e.depth] += e.count;
                if (e.to_bin == b) into[e.depth] += e.count;
            }
            const int64_t t0 = bins.start(b), t1 = bins.start(b + 1) - 1;
            ImGui::BeginTooltip();
            if (t0 == t1)
                ImGui::Text("token %lld", (long long)t0);
            else
                ImGui::Text("tokens %lld-%lld", (long long)t0, (long long)t1);
            for (int d = 1; d <= s.view.hop_depth; ++d)
                ImGui::Text("hop %d: %lld edges from here, %lld into here", d, (long long)out_of[d],
                            (long long)into[d]);
            ImGui::EndTooltip();
        } else {
            tip("Arc diagram: tokens along the line; an arc j -> i for each key j that query i reads, from the "
                "selected token outwards (bright: 1 hop, fainter: 2 and 3). Colour: the component that keeps the pair. Above: "
                "earlier keys, below: later keys. When tokens outnumber pixels, arcs join bins of tokens and get "
                "brighter and thicker with the number of edges they stand for.");
        }
        const float cb_w =
            ImGui::CalcTextSize("only hop d").x + ImGui::GetFrameHeight() + ImGui::GetStyle().ItemInnerSpacing.x;
        ImGui::SetCursorScreenPos({a0.x + as.x - cb_w - 6, a0.y + 3});
        ImGui::Checkbox("only hop d", &only_deepest_);
        tip("Draw only the edges of the deepest hop (the ones the depth slider added last).");
        ImGui::SetCursorScreenPos(after);
    }
    ImGui::EndChild();
}

}  // namespace salab::ui
