#include "timing_view.h"

#include "colormap.h"
#include "format.h"
#include "plot.h"
#include "widgets.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>

namespace salab::ui {

namespace {

constexpr ImU32 sparse_col = IM_COL32(90, 200, 255, 255);
constexpr ImU32 dense_col = IM_COL32(255, 140, 60, 255);
constexpr ImU32 ref_col = IM_COL32(170, 170, 170, 200);

std::string bytes_text(int64_t b) {
    char buf[48];
    if (b >= (int64_t(1) << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", double(b) / double(int64_t(1) << 30));
    else if (b >= (1 << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", double(b) / double(1 << 20));
    else if (b >= (1 << 10)) std::snprintf(buf, sizeof buf, "%.1f KiB", double(b) / 1024.0);
    else std::snprintf(buf, sizeof buf, "%lld B", (long long)b);
    return buf;
}

}  // namespace

std::string path_pick_reason(const std::vector<PathChoice>* choices, KernelPath path) {
    if (path == KernelPath::automatic) return {};
    if (!choices || choices->empty()) return "the compute device is not open yet";
    const PathChoice* c = find_choice(*choices, path);
    return c ? c->unsupported : "not offered by the compute device";
}

std::string path_pick_label(KernelPath path) {
    const std::string name(path_name(path));
    if (path == KernelPath::automatic) return name + " (fastest here)";
    return name + (path_dtype(path) == DType::f16 ? " (f16)" : " (f32)");
}

bool draw_path_picker(KernelPath& chosen, const std::vector<PathChoice>* choices, float width) {
    bool changed = false;
    ImGui::SetNextItemWidth(width);
    if (ImGui::BeginCombo("kernel path", path_pick_label(chosen).c_str())) {
        for (KernelPath p : kKernelPaths) {
            const std::string why = path_pick_reason(choices, p);
            ImGui::BeginDisabled(!why.empty());
            if (ImGui::Selectable(path_pick_label(p).c_str(), p == chosen) && p != chosen) {
                chosen = p;
                changed = true;
            }
            ImGui::EndDisabled();
            if (!why.empty()) {
                ImGui::SameLine();
                ImGui::TextDisabled("- %s", why.c_str());
            }
        }
        ImGui::EndCombo();
    }
    tip("Kernel family of the live timing, sparse and dense alike (salab-cli run/bench --path). Paths the "
        "compute device cannot run are greyed out with the reason; a saved choice the device cannot run falls back "
        "to auto, and the timing says so.");
    return changed;
}

std::vector<const TimingSample*> latest_per_problem(const std::deque<TimingSample>& samples) {
    std::vector<const TimingSample*> rows;
    for (auto it = samples.rbegin(); it != samples.rend(); ++it) {
        const bool seen = std::any_of(rows.begin(), rows.end(), [&](const TimingSample* r) {
            return r->pattern == it->pattern && r->pattern_key == it->pattern_key && r->n == it->n && r->d == it->d &&
                   r->heads == it->heads;
        });
        if (!seen) rows.push_back(&*it);
    }
    return rows;
}

std::vector<SpeedupPoint> speedup_points(const std::deque<TimingSample>& samples, uint64_t current_gen) {
    std::vector<SpeedupPoint> pts;
    for (const TimingSample* t : latest_per_problem(samples))
        if (t->dense_ms && t->sparse_ms > 0 && t->density > 0)
            pts.push_back({1.0 / t->density, *t->dense_ms / t->sparse_ms, t->pattern + ", n = " + format_count(t->n),
                           t->gen == current_gen});
    std::stable_sort(pts.begin(), pts.end(), [](const SpeedupPoint& a, const SpeedupPoint& b) { return a.inv_density < b.inv_density; });
    return pts;
}

std::vector<double> slope_line(const std::vector<double>& xs, double x0, double y0, double slope) {
    std::vector<double> ys;
    ys.reserve(xs.size());
    for (double x : xs) ys.push_back(y0 * std::pow(x / x0, slope));
    return ys;
}

void TimingView::draw(AppState& s, const ViewContext& ctx, ViewActions& actions) {
    const auto* ts = ctx.timings;
    const TimingSample* last = ts && !ts->empty() ? &ts->back() : nullptr;
    const bool current = last && ctx.current(last->gen);
    const float tw = ImGui::GetContentRegionAvail().x;

    ImGui::TextDisabled("device");
    ImGui::SameLine();
    ImGui::TextUnformatted(ctx.device_name.empty() ? "(none)" : ctx.device_name.c_str());
    draw_path_picker(s.params.kernel_path, ctx.paths, std::min(tw * 0.45f, ImGui::GetFontSize() * 13.0f));
    if (last && !last->path.empty()) {
        ImGui::SameLine();
        const StaleScope dim(!current);
        ImGui::TextDisabled("ran %s", last->path.c_str());
        tip("The kernel variant that produced these times (RunResult::path): family, storage, and the tiled "
            "kernel's variant (-t4: 4 invocations per row, -r8: 8 rows per invocation, -bcast: lane broadcasts).");
    }
    if (last && !last->path_note.empty()) {
        ImGui::PushTextWrapPos(0.0f);
        ImGui::TextColored(ImVec4(1.0f, 0.75f, 0.3f, 1.0f), "%s", last->path_note.c_str());
        ImGui::PopTextWrapPos();
    }
    if (last) {
        const StaleScope dim(!current);
        ImGui::TextColored(ImColor(sparse_col), "sparse %s",
                           format_timing(last->sparse_ms, last->sparse_min_ms, last->sparse_max_ms, last->sparse_runs).c_str());
        tip("GPU time of the sparse kernel (timestamp queries, all heads): median and min-max of the timed runs. "
            "The first number is one quick run; a median of repeats replaces it.");
        if (last->dense_ms) {
            ImGui::TextColored(ImColor(dense_col), "dense  %s",
                               format_timing(*last->dense_ms, last->dense_min_ms, last->dense_max_ms, last->dense_runs).c_str());
            tip("GPU time of the dense kernel on the same Q/K/V (same kernel family, every block).");
        } else if (last->dense_skipped_estimate_ms) {
            ImGui::TextColored(ImColor(dense_col), "dense  ~%s", format_ms(*last->dense_skipped_estimate_ms).c_str());
            ImGui::SameLine();
            ImGui::TextDisabled("ESTIMATE from dense at n = %s (%s) and %s (%s)", format_count(last->dense_calibration_n_lo).c_str(),
                                format_ms(last->dense_calibration_ms_lo).c_str(), format_count(last->dense_calibration_n).c_str(),
                                format_ms(last->dense_calibration_ms).c_str());
            tip("Not measured at this n: dense runs at two smaller n were measured (medians of 3) and fitted as a fixed "
                "cost plus a cost per token pair, t = a + b n^2. Longer than the live budget, so the live view does not "
                "run it (a kernel cannot be interrupted); the scaling sweep measures it.");
        } else {
            ImGui::TextDisabled("dense  ...");
        }
        const double ideal = last->density > 0 ? 1.0 / last->density : 0.0;
        const double block_ideal = last->visited_share > 0 ? 1.0 / last->visited_share : 0.0;
        if (last->dense_ms && last->sparse_ms > 0)
            ImGui::Text("speedup %.1fx (%.1f-%.1fx)   1/density %.1fx   blocks visited %.1f%% -> ideal %.1fx",
                        *last->dense_ms / last->sparse_ms, last->dense_min_ms / std::max(1e-9, last->sparse_max_ms),
                        last->dense_max_ms / std::max(1e-9, last->sparse_min_ms), ideal, 100.0 * last->visited_share, block_ideal);
        else if (last->dense_skipped_estimate_ms && last->sparse_ms > 0)
            ImGui::Text("speedup ~%.1fx (estimate)   1/density %.1fx   blocks visited %.1f%% -> ideal %.1fx",
                        *last->dense_skipped_estimate_ms / last->sparse_ms, ideal, 100.0 * last->visited_share, block_ideal);
        else
            ImGui::Text("1/density %.1fx   blocks visited %.1f%% -> ideal %.1fx", ideal, 100.0 * last->visited_share, block_ideal);
        tip("Measured dense/sparse time, against two ideals: 1/density (a kernel that touches only kept pairs) and the "
            "block-level one (the kernel computes whole 64 x 64 blocks, so it costs the visited share of dense). Above "
            "the block ideal: the spread of the runs, or the dense kernel losing more to memory than the sparse one.");
        ImGui::Text("%s sparse, %s dense", format_rate(last->sparse_gflops).c_str(), format_rate(last->dense_gflops).c_str());
        tip("Useful work: 4 d FLOPs per kept pair (q.k and p.v), over the measured median time.");
        ImGui::SameLine();
        ImGui::TextDisabled("  mask build %s", format_ms(last->mask_build_ms).c_str());
        tip("CPU time to build the heads' masks and compile the block mask.");
        if (!current) {
            ImGui::SameLine();
            updating_mark(true);
        }
    } else {
        ImGui::TextDisabled("%s", ctx.compute_error.empty() ? "waiting for the first run..." : ctx.compute_error.c_str());
    }

    if (ImGui::BeginTabBar("timing_tabs")) {
        const float h = std::max(80.0f, ImGui::GetContentRegionAvail().y - ImGui::GetFrameHeightWithSpacing() - 4);
        if (ImGui::BeginTabItem("recent runs")) {
            // One row per (pattern, n, d, heads): the latest sample of each, newest first.
            const std::vector<const TimingSample*> rows = ts ? latest_per_problem(*ts) : std::vector<const TimingSample*>{};
            const ImGuiTableFlags tf = ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY | ImGuiTableFlags_SizingStretchProp;
            if (ImGui::BeginTable("recent", 6, tf, {tw, h})) {
                ImGui::TableSetupScrollFreeze(0, 1);
                for (const char* c : {"pattern", "n", "sparse", "dense", "speedup", "1/density"}) ImGui::TableSetupColumn(c);
                ImGui::TableHeadersRow();
                for (const TimingSample* t : rows) {
                    const StaleScope dim(!ctx.current(t->gen));
                    ImGui::TableNextRow();
                    ImGui::TableNextColumn();
                    ImGui::TextUnformatted(t->pattern.c_str());
                    ImGui::TableNextColumn();
                    ImGui::TextUnformatted(format_count(t->n).c_str());
                    ImGui::TableNextColumn();
                    ImGui::TextUnformatted(format_ms(t->sparse_ms).c_str());
                    ImGui::TableNextColumn();
                    if (t->dense_ms) ImGui::TextUnformatted(format_ms(*t->dense_ms).c_str());
                    else if (t->dense_skipped_estimate_ms) ImGui::TextDisabled("~%s est.", format_ms(*t->dense_skipped_estimate_ms).c_str());
                    else ImGui::TextDisabled("-");
                    ImGui::TableNextColumn();
                    if (t->dense_ms && t->sparse_ms > 0) ImGui::Text("%.1fx", *t->dense_ms / t->sparse_ms);
                    ImGui::TableNextColumn();
                    if (t->density > 0) ImGui::Text("%.1fx", 1.0 / t->density);
                }
                ImGui::EndTable();
            }
            ImGui::EndTabItem();
        }
        if (ImGui::BeginTabItem("speedup")) {
            // One point per (pattern, n), sorted by 1/density: markers only, no line through runs
            // of different patterns.
            PlotSeries pts{"measured (latest per pattern, n)", {}, {}, sparse_col};
            pts.thickness = 2.5f;
            pts.lines = false;
            double lo = 1, hi = 2;
            if (ts)
                for (const SpeedupPoint& sp : speedup_points(*ts, ctx.gen)) {
                    pts.x.push_back(sp.inv_density);
                    pts.y.push_back(sp.speedup);
                    pts.point_labels.push_back(sp.label + (sp.current ? " (current)" : ""));
                    lo = std::min(lo, sp.inv_density);
                    hi = std::max(hi, sp.inv_density);
                }
            PlotSeries ideal{"ideal: speedup = 1/density", {lo, hi}, {lo, hi}, ref_col, false, true};
            PlotSpec spec;
            spec.x_label = "1 / density";
            spec.y_label = "speedup";
            spec.log_x = spec.log_y = true;
            const auto times = [](double v) { return format_value(std::round(v * 10) / 10) + "x"; };
            spec.x_format = times;
            spec.y_format = times;
            draw_plot("speedup", spec, {pts, ideal}, {tw, h});
            ImGui::EndTabItem();
        }
        if (ImGui::BeginTabItem("scaling sweep")) {
            const SweepState* sw = ctx.sweep;
            const bool running = sw && sw->running;
            ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
            const int64_t max_n = int64_t(1) << sweep_max_log2_;
            const std::string label = "up to n = " + std::to_string(max_n);
            ImGui::SliderInt("##maxn", &sweep_max_log2_, 9, 17, label.c_str());
            tip("Largest n of the sweep (powers of two from 256). The sweep stops early when the device cannot hold it.");
            ImGui::SameLine();
            if (!running) {
                if (ImGui::Button("run sweep")) actions.start_sweep = true, actions.sweep_max_n = max_n;
                tip("Time dense and sparse kernels for n = 256, 512, ... in the background (own device queue).");
            } else {
                if (ImGui::Button("cancel")) actions.cancel_sweep = true;
                ImGui::SameLine();
                ImGui::ProgressBar(float(sw->progress), {ImGui::GetFontSize() * 8, 0});
            }
            if (sw && !sw->status.empty()) {
                ImGui::SameLine();
                ImGui::TextDisabled("%s", sw->status.c_str());
            }
            PlotSeries sp{"sparse", {}, {}, sparse_col}, de{"dense", {}, {}, dense_col};
            if (sw)
                for (const auto& p : sw->points) {
                    sp.x.push_back(double(p.n)), sp.y.push_back(p.sparse_ms);
                    de.x.push_back(double(p.n)), de.y.push_back(p.dense_ms);
                }
            std::vector<PlotSeries> series{sp, de};
            if (sw && !sw->points.empty()) {
                // Slopes anchored at the largest n, where fixed overheads matter least.
                const auto& ref = sw->points.back();
                series.push_back({"O(n^2)", de.x, slope_line(de.x, double(ref.n), ref.dense_ms, 2.0), dense_col & 0x90ffffffu, false, true});
                series.push_back({"O(n k)", sp.x, slope_line(sp.x, double(ref.n), ref.sparse_ms, 1.0), sparse_col & 0x90ffffffu, false, true});
            }
            PlotSpec spec;
            spec.x_label = "n";
            spec.y_label = "time";
            spec.log_x = spec.log_y = true;
            spec.x_format = [](double v) { return format_count(int64_t(std::llround(v))); };
            spec.y_format = format_ms;
            draw_plot("sweep", spec, series, {tw, std::max(60.0f, ImGui::GetContentRegionAvail().y - 4)});
            ImGui::EndTabItem();
        }
        ImGui::EndTabBar();
    }
    (void)s;
}

void draw_stats(const AppState& s, const ViewContext& ctx) {
    const ModelResult* m = ctx.model;
    if (!m || m->heads.empty()) {
        ImGui::TextDisabled("%s", m && !m->error.empty() ? m->error.c_str() : "waiting for the mask...");
        return;
    }
    const MaskStats& st = m->stats;
    if (!ctx.current(m->gen)) ImGui::TextColored(ImVec4(1, 0.7f, 0.2f, 1), "updating... (showing the previous pattern)");
    const StaleScope dim(!ctx.current(m->gen));
    if (!m->blocks) {
        ImGui::Text("%lld x %lld, %d head%s", (long long)st.n, (long long)st.n, st.heads, st.heads == 1 ? "" : "s");
        ImGui::TextColored(ImVec4(1, 0.7f, 0.2f, 1), "compiling the block mask...");
        return;
    }
    if (ImGui::BeginTable("stats", 2, ImGuiTableFlags_SizingStretchProp | ImGuiTableFlags_RowBg)) {
        const auto row = [](const char* k, const std::string& v, const char* help) {
            ImGui::TableNextRow();
            ImGui::TableNextColumn();
            ImGui::TextDisabled("%s", k);
            tip(help);
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(v.c_str());
        };
        char buf[160];
        std::snprintf(buf, sizeof buf, "%lld x %lld, %d head%s", (long long)st.n, (long long)st.n, st.heads, st.heads == 1 ? "" : "s");
        row("matrix", buf, "Tokens and heads of the selected layer.");
        std::snprintf(buf, sizeof buf, "%lld (%.4f%%)", (long long)st.kept_pairs, 100.0 * st.density);
        row("kept pairs", buf, "Pairs (i, j) with M(i, j) = 1 over all heads, and their share of n*n*heads.");
        std::snprintf(buf, sizeof buf, "%lld / %.1f / %lld", (long long)st.keys_min, st.keys_mean, (long long)st.keys_max);
        row("keys per query", buf, "min / mean / max keys a query attends to.");
        if (st.empty_rows) {
            std::snprintf(buf, sizeof buf, "%lld (their output is 0)", (long long)st.empty_rows);
            row("empty rows", buf, "Queries that attend to nothing.");
        }
        const int64_t total = st.full_blocks + st.partial_blocks + st.skipped_blocks;
        std::snprintf(buf, sizeof buf, "%lld full, %lld partial, %lld skipped", (long long)st.full_blocks,
                      (long long)st.partial_blocks, (long long)st.skipped_blocks);
        row("blocks", buf, "Kernel blocks of 64 x 64: full (no per-element test), partial (bitmask), skipped (never visited).");
        if (st.band) {
            row("kernel runs", "a band (no block mask)",
                "Windows only: the kernel derives each query block's key blocks and the edge blocks' "
                "column masks from the band's two ends (salab-cli --no-band uses the block mask).");
        } else if (st.gathered_blocks > 0) {
            std::snprintf(buf, sizeof buf, "%lld visited, %lld of them gathered", (long long)st.run_blocks,
                          (long long)st.gathered_blocks);
            row("kernel runs", buf,
                "Scattered keys packed into gathered blocks of 64 arbitrary keys: what the timed kernel "
                "visits instead of the blocks above (salab-cli --no-gather turns this off).");
        }
        std::snprintf(buf, sizeof buf, "%.2f%% of blocks visited, %.1f%% of visited pairs kept",
                      total ? 100.0 * double(st.full_blocks + st.partial_blocks) / double(total) : 0.0,
                      st.visited_pairs ? 100.0 * double(st.kept_pairs) / double(st.visited_pairs) : 0.0);
        row("hardware sparsity", buf, "What the kernel actually touches, against the logical sparsity above.");
        row("block mask", bytes_text(st.block_mask_bytes), "The GPU structure: block lists and partial-block bitmasks.");
        row("token CSR", bytes_text(st.csr_bytes), "Token-exact compressed rows (int64 offsets, int32 keys).");
        row("dense mask", bytes_text(st.dense_mask_bytes), "A uint8 n x n mask per head, for comparison.");
        std::snprintf(buf, sizeof buf, "%.2f ms masks + %.2f ms blocks", st.mask_build_ms, st.block_build_ms);
        row("build (CPU)", buf, "Time to build the heads' masks and compile the block mask.");
        ImGui::EndTable();
    }
    (void)s;
}

}  // namespace salab::ui
