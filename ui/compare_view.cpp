#include "compare_view.h"

#include "errors.h"
#include "format.h"
#include "figure.h"
#include "problem.h"
#include "threads.h"
#include "render.h"
#include "widgets.h"

#include <imgui.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

namespace salab::ui {

namespace {

struct Request {
    uint64_t id = 0;
    LiveParams a, b;
};

struct Result {
    uint64_t id = 0;
    std::optional<CompareReport> report;
    OverlapGrid grid;
    CellGrid8 mask_a, mask_b;  // each mask alone, as the figure draws it (kept share per cell)
    std::string error;
};

Problem problem_of(const LiveParams& p, int64_t n, QkvSource source) {
    Pattern pat = with_n(p.pattern, n);
    ProblemOptions po;
    po.d = p.d;
    po.heads = p.pattern.num_layers() == 1 ? p.heads : 0;
    po.layer = std::min(p.layer, pat.num_layers() - 1);
    po.seed = p.data_seed;
    // B's generated source (the structured one when B reads .npy files): both sides see the same Q/K/V.
    po.source = source;
    return prepare_problem(pat, po);
}

Result run(const Request& r) {
    Result out;
    out.id = r.id;
    try {
        const int64_t n = r.b.pattern.n;
        if (n > kGuiCompareMaxN)
            throw InputError("the GUI compares up to n = " + format_count(kGuiCompareMaxN) +
                             ": use salab-cli compare --n " + std::to_string(n));
        const QkvSource src = r.b.source == QkvSource::npy ? QkvSource::structured : r.b.source;
        const Problem a = problem_of(r.a, n, src), b = problem_of(r.b, n, src);
        CompareOptions o;
        o.exact_rows_up_to = 1024;
        o.sample_rows = 128;
        o.hops_options.exact_threshold = 1024;
        o.hops_options.sample_sources = 64;
        o.hops_options.threads = 1;
        out.report = compare_problems(a, b, o);
        out.grid = overlap_grid(a.mask(0), b.mask(0), 256);
        const PanelData pa = mask_panel("A", a.mask(0), 256), pb = mask_panel("B", b.mask(0), 256);
        out.mask_a = pa.grid;
        out.mask_b = pb.grid;
    } catch (const std::exception& e) {
        out.error = e.what();
    }
    return out;
}

}  // namespace

struct CompareView::Worker {
    std::mutex m;
    std::condition_variable_any cv;
    std::optional<Request> pending;
    std::optional<Result> done;
    bool busy = false;
    uint64_t next_id = 1;
    uint64_t last_sent = 0;
    LiveParams last_a, last_b;
    std::jthread thread{[this](std::stop_token st) { loop(st); }};

    void loop(std::stop_token st) {
        lower_thread_priority();
        for (;;) {
            Request r;
            {
                std::unique_lock lock(m);
                cv.wait(lock, st, [&] { return pending.has_value(); });
                if (st.stop_requested()) return;
                r = std::move(*pending);
                pending.reset();
                busy = true;
            }
            Result res = run(r);
            std::lock_guard lock(m);
            busy = false;
            if (!pending) done = std::move(res);  // a newer request makes this one stale
        }
    }
    void request(const LiveParams& a, const LiveParams& b) {
        if (last_sent && a == last_a && b == last_b) return;
        last_a = a;
        last_b = b;
        std::lock_guard lock(m);
        pending = Request{next_id++, a, b};
        last_sent = pending->id;
        cv.notify_one();
    }
};

CompareView::CompareView() : w_(std::make_unique<Worker>()) {}
CompareView::~CompareView() = default;

void CompareView::draw_pin_button(const AppState& s) {
    if (!a_) {
        if (ImGui::Button("Pin as A")) {
            a_ = s.params;
            open_ = true;
        }
        tip("Keep this pattern as A; edit the pattern to get B, then compare them (masks, kept mass, hops, time).");
    } else {
        if (ImGui::Button("Unpin A")) {
            a_.reset();
            open_ = false;
        }
        ImGui::SameLine();
        if (ImGui::Button(open_ ? "hide A/B" : "show A/B")) open_ = !open_;
        ImGui::SameLine();
        ImGui::TextDisabled("A = %s", a_->pattern.name.c_str());
    }
}

void CompareView::draw_window(const AppState& s, Textures* textures) {
    if (!a_ || !open_) return;
    w_->request(*a_, s.params);
    std::optional<Result> res;
    bool busy = false;
    {
        std::lock_guard lock(w_->m);
        busy = w_->busy || w_->pending.has_value();
        if (w_->done && w_->done->id == w_->last_sent) res = w_->done;
    }
    ImGui::SetNextWindowSize({std::min(720.0f, ImGui::GetIO().DisplaySize.x * 0.6f), std::min(640.0f, ImGui::GetIO().DisplaySize.y * 0.8f)}, ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowPos({ImGui::GetIO().DisplaySize.x * 0.3f, 60}, ImGuiCond_FirstUseEver);
    if (!ImGui::Begin("A/B compare", &open_)) {
        ImGui::End();
        return;
    }
    ImGui::Text("A = %s   B = %s   n = %s", a_->pattern.name.c_str(), s.params.pattern.name.c_str(),
                format_count(s.params.pattern.n).c_str());
    if (busy) ImGui::TextDisabled("comparing ...");
    if (!res) {
        ImGui::End();
        return;
    }
    if (!res->error.empty()) {
        ImGui::TextColored({1.0f, 0.5f, 0.4f, 1.0f}, "%s", res->error.c_str());
        ImGui::End();
        return;
    }
    const CompareReport& r = *res->report;
    // A, B and their difference side by side, then the difference's legend.
    if (shown_id_ != res->id) {
        shown_id_ = res->id;
        auto fill = [](Rgba8Image& img, int w, int h, const std::vector<Rgb8>& colors) {
            img.w = w;
            img.h = h;
            img.px.clear();
            for (const Rgb8 c : colors) img.px.push_back(IM_COL32(c.r, c.g, c.b, 255));
            img.version = next_image_version();
        };
        fill(image_, res->grid.cells, res->grid.cells, res->grid.colors);
        fill(image_a_, res->mask_a.cols, res->mask_a.rows, res->mask_a.colors);
        fill(image_b_, res->mask_b.cols, res->mask_b.rows, res->mask_b.colors);
    }
    const float gap = ImGui::GetStyle().ItemSpacing.x;
    const float side = std::floor(std::clamp((ImGui::GetContentRegionAvail().x - 2 * gap) / 3.0f, 64.0f, 300.0f));
    const struct {
        const char* label;
        TextureSlot slot;
        const Rgba8Image* img;
        const char* tip;
    } panels[3] = {
        {"A (mask)", TextureSlot::compare_a, &image_a_, "Pattern A alone: brighter = more of the cell's pairs kept."},
        {"B (mask)", TextureSlot::compare_b, &image_b_, "Pattern B (the one being edited) alone."},
        {"A vs B", TextureSlot::compare, &image_, "Who keeps each pair: A only, B only or both (legend below)."},
    };
    for (int k = 0; k < 3; ++k) {
        if (k) ImGui::SameLine();
        ImGui::BeginGroup();
        ImGui::TextUnformatted(panels[k].label);
        const ImVec2 p0 = ImGui::GetCursorScreenPos();
        if (textures)
            draw_image(*textures, panels[k].slot, *panels[k].img, ImGui::GetWindowDrawList(), p0, {p0.x + side, p0.y + side});
        ImGui::Dummy({side, side});
        ImGui::EndGroup();
        tip(panels[k].tip);
    }
    ImGui::TextDisabled("query i down, key j across, tokens 0 .. %s", format_count(s.params.pattern.n).c_str());
    ImGui::BeginGroup();
    ImGui::TextUnformatted("pairs (head 0)");
    auto swatch = [](Rgb8 c, const char* label, int64_t count, int64_t pairs) {
        ImGui::ColorButton(label, ImVec4(c.r / 255.0f, c.g / 255.0f, c.b / 255.0f, 1.0f),
                           ImGuiColorEditFlags_NoTooltip | ImGuiColorEditFlags_NoPicker, {12, 12});
        ImGui::SameLine();
        ImGui::Text("%s: %s (%.2f%%)", label, format_count(count).c_str(), 100.0 * double(count) / double(std::max<int64_t>(1, pairs)));
    };
    swatch(kCompareAOnlyRgb, "A only", r.overlap.a_only, r.overlap.pairs);
    swatch(kCompareBOnlyRgb, "B only", r.overlap.b_only, r.overlap.pairs);
    swatch(kCompareBothRgb, "both", r.overlap.both, r.overlap.pairs);
    ImGui::EndGroup();
    if (res->grid.tokens_per_cell > 1) {
        ImGui::SameLine(0, 3 * gap);
        ImGui::BeginGroup();
        ImGui::TextDisabled("A vs B: %lld x %lld pairs per cell,", (long long)res->grid.tokens_per_cell,
                            (long long)res->grid.tokens_per_cell);
        ImGui::TextDisabled("each its most common kind;");
        ImGui::TextDisabled("A, B: the kept share of the cell");
        ImGui::EndGroup();
    }

    if (ImGui::BeginTable("cmp", 4, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) {
        ImGui::TableSetupColumn("");
        ImGui::TableSetupColumn("A");
        ImGui::TableSetupColumn("B");
        ImGui::TableSetupColumn("B/A");
        ImGui::TableHeadersRow();
        auto row = [](const char* what, const std::string& a, const std::string& b, std::optional<double> q) {
            ImGui::TableNextRow();
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(what);
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(a.c_str());
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(b.c_str());
            ImGui::TableNextColumn();
            char buf[32] = "-";
            if (q) std::snprintf(buf, sizeof buf, "%.3g", *q);
            ImGui::TextUnformatted(buf);
        };
        auto f = [](const char* fmt, double v) {
            char buf[48];
            std::snprintf(buf, sizeof buf, fmt, v);
            return std::string(buf);
        };
        row("density", f("%.3g%%", 100 * r.a.density), f("%.3g%%", 100 * r.b.density), ratio(r.a.density, r.b.density));
        row("kept pairs", format_count(r.a.kept_pairs), format_count(r.b.kept_pairs),
            ratio(double(r.a.kept_pairs), double(r.b.kept_pairs)));
        row(r.a.sampled ? "kept mass (sampled rows)" : "kept mass", f("%.3f", r.a.kept_mass), f("%.3f", r.b.kept_mass),
            ratio(r.a.kept_mass, r.b.kept_mass));
        row("output error vs dense", f("%.3g", r.a.output_error), f("%.3g", r.b.output_error),
            ratio(r.a.output_error, r.b.output_error));
        auto diam = [](const PatternStats& st) {
            return !st.hops ? std::string("n/a") : st.hops->diameter ? std::to_string(*st.hops->diameter) : std::string("unreachable");
        };
        row("diameter (hops)", diam(r.a), diam(r.b), std::nullopt);
        if (r.a.hops && r.b.hops)
            row("mean hops", f("%.3f", r.a.hops->mean_hops), f("%.3f", r.b.hops->mean_hops),
                ratio(r.a.hops->mean_hops, r.b.hops->mean_hops));
        ImGui::EndTable();
    }
    ImGui::TextDisabled("Quality of head 0 on the %s source; GPU time: salab-cli compare.",
                        s.params.source == QkvSource::npy ? "structured synthetic" : to_string(s.params.source));
    ImGui::End();
}

}  // namespace salab::ui
