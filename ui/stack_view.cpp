#include "stack_view.h"

#include "colormap.h"
#include "format.h"
#include "threads.h"
#include "widgets.h"

#include <imgui.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>

namespace salab::ui {

std::vector<StackThumb> stack_thumbnails(const Pattern& p, int side, std::stop_token stop) {
    std::vector<StackThumb> out;
    const int64_t n = p.n;
    if (n <= 0) return out;
    AggregateOptions opt;
    opt.max_rows_per_pixel = 4;
    opt.threads = 0;
    if (stop.stop_possible()) opt.cancelled = [stop] { return stop.stop_requested(); };
    for (int l = 0; l < p.num_layers(); ++l)
        for (int h = 0; h < int(p.layers[size_t(l)].heads.size()); ++h) {
            if (stop.stop_requested()) return out;
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

struct StackThumbnailer::Builder {
    std::function<void()> wake;
    mutable std::mutex m;
    std::condition_variable_any cv;
    std::optional<Pattern> pending;  // asked for, not yet taken by the thread
    std::optional<Pattern> asked;    // the pattern last asked for
    bool running = false;
    std::stop_source cancel;  // of the build in progress
    std::shared_ptr<const Result> done;
    std::jthread thread;  // last: started once the members above exist

    explicit Builder(std::function<void()> w) : wake(std::move(w)) {
        thread = std::jthread([this](std::stop_token st) { loop(st); });
    }

    void loop(std::stop_token st) {
        lower_thread_priority();
        for (;;) {
            Pattern p;
            std::stop_token stop;
            {
                std::unique_lock lock(m);
                cv.wait(lock, st, [&] { return pending.has_value(); });
                if (st.stop_requested()) return;
                p = std::move(*pending);
                pending.reset();
                cancel = std::stop_source();
                stop = cancel.get_token();
                running = true;
            }
            auto r = std::make_shared<Result>();
            r->pattern = p;
            try {
                validate(p);
                r->thumbs = stack_thumbnails(p, 24, stop);
            } catch (const std::exception& e) {
                r->thumbs.clear();
                r->error = e.what();
            }
            {
                std::lock_guard lock(m);
                running = false;
                if (stop.stop_requested() || st.stop_requested()) continue;  // superseded: never shown
                done = std::move(r);
            }
            if (wake) wake();
        }
    }
};

StackThumbnailer::StackThumbnailer(std::function<void()> wake) : b_(std::make_unique<Builder>(std::move(wake))) {}

StackThumbnailer::~StackThumbnailer() {
    {
        std::lock_guard lock(b_->m);
        b_->cancel.request_stop();
    }
    b_->thread.request_stop();
    b_->cv.notify_all();
}

void StackThumbnailer::request(const Pattern& p) {
    std::lock_guard lock(b_->m);
    if (b_->asked && *b_->asked == p) return;
    b_->asked = p;
    b_->pending = p;
    b_->cancel.request_stop();
    b_->cv.notify_all();
}

std::shared_ptr<const StackThumbnailer::Result> StackThumbnailer::latest() const {
    std::lock_guard lock(b_->m);
    return b_->done;
}

bool StackThumbnailer::busy() const {
    std::lock_guard lock(b_->m);
    return b_->running || b_->pending.has_value();
}

void StackView::draw(AppState& s, const ViewContext& ctx) {
    const Pattern& p = s.params.pattern;
    if (p.is_flat()) {
        ImGui::TextDisabled("a flat pattern: one layer, one head (stacks show a grid of layers x heads here)");
        return;
    }
    thumbnailer_.request(p);
    const std::shared_ptr<const StackThumbnailer::Result> res = thumbnailer_.latest();
    const bool current = res && res->pattern == p;
    if (!res) {
        ImGui::TextDisabled("counting the thumbnails of %d layers ...", p.num_layers());
        return;
    }
    if (!res->error.empty()) {
        ImGui::TextDisabled("%s", res->error.c_str());
        if (!current) updating_mark(true);
        return;
    }
    const std::vector<StackThumb>& thumbs_ = res->thumbs;
    const StaleScope dim(!current);
    int heads = 1;
    for (const Layer& l : res->pattern.layers) heads = std::max(heads, int(l.heads.size()));
    const float avail = ImGui::GetContentRegionAvail().x;
    const float lh = ImGui::GetTextLineHeightWithSpacing();
    const float cell = std::clamp((avail - 40.0f) / float(heads) - 8.0f, 32.0f, 96.0f);
    ImGui::TextDisabled("layers (rows) x heads (columns) at n = %s; click one to show it",
                        format_count(res->pattern.n).c_str());
    if (!current) {
        ImGui::SameLine();
        updating_mark(true);
    }
    ImDrawList* dl = ImGui::GetWindowDrawList();
    for (const StackThumb& t : thumbs_) {
        if (t.head > 0) ImGui::SameLine();
        ImGui::BeginGroup();
        const ImVec2 p0 = ImGui::GetCursorScreenPos();
        ImGui::PushID(t.layer * 1000 + t.head);
        // A veiled grid may be of another stack: its layers need not exist in this one.
        if (ImGui::InvisibleButton("thumb", {cell, cell}) && current) {
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
