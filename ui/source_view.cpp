#include "source_view.h"

#include "errors.h"
#include "source_stats.h"
#include "threads.h"
#include "widgets.h"

#include <imgui.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace salab::ui {

namespace {

// What the statistics depend on.
struct Key {
    QkvSource source = QkvSource::structured;
    int64_t n = 0, d = 0;
    uint64_t seed = 0;
    int head = 0, heads = 1;
    std::string q_path, k_path;
    bool operator==(const Key&) const = default;
};

// n x d x heads above this is not loaded just for the readout (.npy sources).
constexpr double kMaxNpyValues = 1 << 24;

struct Result {
    std::optional<HeadStats> stats;
    int64_t rows = 0;
    std::string error;
};

Result measure(const Key& k, const LiveParams& p) {
    Result r;
    try {
        QKV qkv;
        int heads = 1, head = 0;
        if (k.source == QkvSource::npy) {
            if (double(k.n) * double(k.d) * double(k.heads) > kMaxNpyValues)
                throw InputError("statistics of .npy sources are measured up to 16M values");
            qkv = make_qkv(p, k.heads);
            heads = k.heads;
            head = k.head;
        } else {
            qkv = make_head_qk(k.head, k.n, k.d, k.seed, k.source);
        }
        SourceStatsOptions o;
        o.rows = k.n > 16384 ? 16 : 32;
        const SourceStats st = measure_source(qkv, heads, k.n, k.d, o);
        r.stats = st.heads[size_t(head)];
        r.rows = st.rows_used;
    } catch (const std::exception& e) {
        r.error = e.what();
    }
    return r;
}

}  // namespace

struct SourceStatsView::Worker {
    std::mutex m;
    std::condition_variable_any cv;
    std::optional<std::pair<Key, LiveParams>> pending;
    std::optional<std::pair<Key, Result>> done;
    std::optional<Key> last;
    std::jthread thread{[this](std::stop_token st) { loop(st); }};

    void loop(std::stop_token st) {
        lower_thread_priority();
        for (;;) {
            std::pair<Key, LiveParams> job;
            {
                std::unique_lock lock(m);
                cv.wait(lock, st, [&] { return pending.has_value(); });
                if (st.stop_requested()) return;
                job = std::move(*pending);
                pending.reset();
            }
            Result r = measure(job.first, job.second);
            std::lock_guard lock(m);
            if (!pending) done = std::pair{job.first, std::move(r)};
        }
    }
};

SourceStatsView::SourceStatsView() : w_(std::make_unique<Worker>()) {}
SourceStatsView::~SourceStatsView() = default;

void SourceStatsView::draw(const AppState& s) {
    const LiveParams& p = s.params;
    Key k{p.source, p.pattern.n, p.d, p.data_seed, s.view.head, layer_heads(p), p.q_path, p.k_path};
    std::optional<std::pair<Key, Result>> res;
    {
        std::lock_guard lock(w_->m);
        if (!w_->last || !(*w_->last == k)) {
            w_->pending = std::pair{k, p};
            w_->last = k;
            w_->cv.notify_one();
        }
        res = w_->done;
    }
    const bool current = res && res->first == k;
    const bool structured = is_structured(p.source);
    const HeadType type = head_type(p.source, s.view.head);
    if (structured) ImGui::TextDisabled("head %d: %s head", s.view.head, to_string(type));
    if (!res) {
        ImGui::TextDisabled("measuring the source ...");
        return;
    }
    if (!res->second.error.empty()) {
        ImGui::TextDisabled("statistics: %s", res->second.error.c_str());
        return;
    }
    const HeadStats& h = *res->second.stats;
    const ImVec4 col =
        current ? ImGui::GetStyleColorVec4(ImGuiCol_Text) : ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled);
    ImGui::PushStyleColor(ImGuiCol_Text, col);
    ImGui::PushTextWrapPos(0.0f);
    ImGui::Text("sink %.2f, within 16: %.2f, entropy %.2f nats (%.0f%% of uniform)%s", h.sink_mass, h.local_mass,
                h.entropy, 100.0 * h.entropy_norm, current ? "" : " (updating)");
    ImGui::PopTextWrapPos();
    ImGui::PopStyleColor();
    if (ImGui::IsItemHovered()) {
        ImGui::BeginTooltip();
        ImGui::Text("Dense causal attention of head %d on %lld query rows in [n/4, n):", s.view.head,
                    (long long)res->second.rows);
        ImGui::BulletText("sink: weight on keys 0..3 (attention sinks)");
        ImGui::BulletText("within 16: weight on keys at most 16 tokens away");
        ImGui::BulletText("entropy: of each row, nats (and / ln(keys))");
        if (structured) {
            const TypeTargets t = type_targets(type);
            ImGui::Separator();
            ImGui::Text(
                "%s heads are calibrated to sink %.2f-%.2f, within 16 %.2f-%.2f, entropy %.0f-%.0f%% of uniform",
                to_string(type), t.sink_mass.lo, t.sink_mass.hi, t.local_mass.lo, t.local_mass.hi,
                100 * t.entropy_norm.lo, 100 * t.entropy_norm.hi);
            ImGui::TextDisabled("(trained LLMs: docs/synthetic-attention.md)");
        }
        ImGui::EndTooltip();
    }
}

}  // namespace salab::ui
