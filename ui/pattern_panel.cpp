#include "pattern_panel.h"

#include "colormap.h"
#include "widgets.h"

#include <imgui.h>

#include <algorithm>
#include <cfloat>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

namespace salab::ui {

namespace {

// Integer slider over int64 (Ctrl+click types a value); logarithmic when the range is wide.
bool slider64(const char* label, int64_t& v, int64_t lo, int64_t hi, const char* help, bool log = false) {
    const bool changed = ImGui::SliderScalar(label, ImGuiDataType_S64, &v, &lo, &hi, "%" PRId64,
                                             (log ? ImGuiSliderFlags_Logarithmic : 0));
    tip(help);
    return changed;
}

bool seed_input(const char* label, uint64_t& seed) {
    ImGui::PushID(label);
    ImGui::SetNextItemWidth(ImGui::CalcItemWidth() - ImGui::GetFrameHeight() * 3.2f);
    bool changed = ImGui::InputScalar("##seed", ImGuiDataType_U64, &seed);
    tip("Seed of the random draws: the same seed gives the same mask.");
    ImGui::SameLine();
    if (ImGui::Button("re-roll")) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        seed >>= 33;
        changed = true;
    }
    tip("Draw a new seed (R)");
    ImGui::SameLine();
    ImGui::TextUnformatted(label);
    ImGui::PopID();
    return changed;
}

std::string tokens_to_text(const std::vector<int64_t>& t) {
    std::string s;
    for (size_t i = 0; i < t.size(); ++i) s += (i ? "," : "") + std::to_string(t[i]);
    return s;
}

std::vector<int64_t> text_to_tokens(const char* s) {
    std::vector<int64_t> out;
    const char* p = s;
    while (*p) {
        char* end = nullptr;
        const long long v = std::strtoll(p, &end, 10);
        if (end == p) {
            ++p;
            continue;
        }
        out.push_back(v);
        p = end;
    }
    return out;
}

constexpr const char* type_help(ComponentType t) {
    switch (t) {
    case ComponentType::window: return "window: keys within radius*dilation of the query, every dilation-th (local attention).";
    case ComponentType::global: return "global: tokens that attend to all and are attended by all (CLS / sink tokens).";
    case ComponentType::random: return "random: per_query keys drawn uniformly per row (BigBird's random part).";
    case ComponentType::strided: return "strided: the Sparse Transformer's strided pattern: |i-j| < l or (i-j) mod l == 0.";
    case ComponentType::fixed: return "fixed: the Sparse Transformer's fixed pattern: same block, or the last c tokens of each block.";
    case ComponentType::block: return "block: BigBird in blocks of b tokens: window, global and random blocks.";
    case ComponentType::lsh: return "lsh: Reformer's hashing: keys in the same bucket as the query (needs Q/K).";
    case ComponentType::topk: return "topk: the k keys with the largest q.k per row (needs Q/K).";
    case ComponentType::dense: return "dense: every pair.";
    }
    return "";
}

}  // namespace

HeadPattern& edited_head(Params& p, int head) {
    Layer& layer = p.pattern.layers.at(size_t(std::clamp(p.layer, 0, p.pattern.num_layers() - 1)));
    return layer.heads.at(size_t(std::clamp(head, 0, int(layer.heads.size()) - 1)));
}

void PatternPanel::draw(AppState& s, const PatternPanelData& data, const ViewContext& ctx, ViewActions& actions) {
    // Widgets leave room for the widest label on their right, so no label is cut in a narrow
    // panel (1280 x 800: "window blocks" was "window blo").
    float label_w = 0;
    for (const char* l : {"window blocks", "global blocks", "random blocks", "d (head dim)", "n (tokens)", "model layer"})
        label_w = std::max(label_w, ImGui::CalcTextSize(l).x);
    ImGui::PushItemWidth(-(label_w + ImGui::GetStyle().ItemInnerSpacing.x + ImGui::GetStyle().IndentSpacing));
    draw_panel(s, data, ctx, actions);
    ImGui::PopItemWidth();
}

void PatternPanel::draw_panel(AppState& s, const PatternPanelData& data, const ViewContext& ctx, ViewActions& actions) {
    Params& p = s.params;
    const int64_t n = p.pattern.n;

    // --- presets ---------------------------------------------------------------------------
    const PresetMatch match = data.presets ? match_preset(*data.presets, s.preset_path, p.pattern) : PresetMatch{};
    if (data.presets && !data.presets->empty()) {
        if (ImGui::BeginCombo("preset", match.label.c_str())) {
            for (const auto& pr : *data.presets) {
                ImGui::BeginDisabled(!pr.error.empty());
                if (ImGui::Selectable(pr.name.c_str(), &pr == match.preset)) actions.load_preset = pr.path;
                ImGui::EndDisabled();
                if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) {
                    ImGui::BeginTooltip();
                    ImGui::PushTextWrapPos(ImGui::GetFontSize() * 28.0f);
                    ImGui::TextUnformatted(pr.error.empty() ? pr.description.c_str() : pr.error.c_str());
                    ImGui::PopTextWrapPos();
                    ImGui::EndTooltip();
                }
            }
            ImGui::EndCombo();
        }
        // The combo cuts a long name at its edge (1280 x 800): the tooltip starts with all of it.
        tip((match.label + "\n\nBuilt-in patterns (assets/presets). Keys 1-9 pick the first nine. \"(edited)\": "
                           "changed since it was loaded (n aside); pick it again to reset.")
                .c_str());
    } else {
        ImGui::TextDisabled("no presets found (assets/presets)");
    }
    // The preset's description only while it is still true; the summary always is.
    ImGui::PushTextWrapPos(0.0f);
    if (!p.pattern.description.empty() && !match.edited) ImGui::TextDisabled("%s", p.pattern.description.c_str());
    else if (match.edited) ImGui::TextDisabled("edited from %s; its description no longer applies", match.preset->name.c_str());
    ImGui::TextDisabled("now: %s", pattern_summary(p.pattern, p.layer, s.view.head).c_str());
    ImGui::PopTextWrapPos();

    // --- problem size ----------------------------------------------------------------------
    section("problem");
    // n takes effect when the slider is released or the typed value is done (Enter, click away):
    // every n rebuilds everything, and a typed "65536" must not pass through n = 6, 65, 655, ...
    int64_t nn = pending_n_ > 0 ? pending_n_ : n;
    if (slider64("n (tokens)", nn, 16, 65536,
                 "Sequence length; applied on release. Ctrl+click to type any value up to 2^20 (Enter applies).", true))
        pending_n_ = nn;
    if (ImGui::IsItemDeactivated()) {
        if (pending_n_ > 0) set_tokens(s, std::clamp<int64_t>(pending_n_, 1, int64_t(1) << 20));
        pending_n_ = -1;
    } else if (!ImGui::IsItemActive()) {
        pending_n_ = -1;
    }
    slider64("d (head dim)", p.d, 8, 256, "Head dimension of Q, K and V.", true);
    if (p.pattern.is_flat()) {
        ImGui::SliderInt("heads", &p.heads, 1, 16);
        tip("Heads run by the kernel (the flat pattern is replicated per head).");
    } else {
        ImGui::Text("heads: %d (per layer of the stack)", layer_heads(p));
    }
    if (p.pattern.num_layers() > 1) {
        ImGui::SliderInt("layer", &p.layer, 0, p.pattern.num_layers() - 1);
        tip("Layer of the stack that the mask, heatmap and timing views show. Hops use every layer.");
    }
    if (layer_heads(p) > 1) {
        ImGui::SliderInt("head", &s.view.head, 0, layer_heads(p) - 1);
        tip("Head shown by the mask and heatmap views, and edited below (H / Shift+H).");
    }
    s.view.head = std::clamp(s.view.head, 0, std::max(0, layer_heads(p) - 1));

    constexpr QkSource kSources[] = {QkSource::structured,       QkSource::structured_local, QkSource::structured_sink,
                                     QkSource::structured_broad, QkSource::gaussian,         QkSource::npy};
    const char* sources[] = {"mixed heads", "local heads", "sink-heavy heads", "broad heads", "Gaussian", ".npy files"};
    int src = int(std::find(std::begin(kSources), std::end(kSources), p.source) - std::begin(kSources));
    if (ImGui::Combo("Q/K/V", &src, sources, IM_ARRAYSIZE(sources))) p.source = kSources[src];
    tip("Where Q, K and V come from. The four synthetic kinds of heads are calibrated to trained heads (attention sinks on the first tokens, "
        "power-law locality, content clusters); mixed cycles sink-heavy, local, sink-heavy, broad over the heads. "
        "Gaussian: i.i.d. N(0,1). .npy: float32 [heads, n, d] files from your model.");
    source_stats_.draw(s);
    if (p.source == QkSource::npy) {
        // A model's stack (scripts/qkv_from_hf.py): pick the directory once, then the layer.
        ImGui::InputText("model dir", model_dir_, sizeof model_dir_);
        tip("Directory written by scripts/qkv_from_hf.py (model.json + one [heads, n, d] file per layer and tensor). "
            "Loading sets n, d and heads to the model's.");
        ImGui::SameLine();
        if (ImGui::SmallButton("load")) {
            try {
                apply_model(s, model_dir_, 0);
                model_error_.clear();
            } catch (const std::exception& e) {
                model_error_ = e.what();
            }
        }
        if (!model_error_.empty()) {
            ImGui::PushTextWrapPos(0.0f);
            ImGui::TextColored({1.0f, 0.5f, 0.4f, 1.0f}, "%s", model_error_.c_str());
            ImGui::PopTextWrapPos();
        }
        if (!s.model.dir.empty() && s.model.layers > 0) {
            int layer = s.model.layer;
            if (ImGui::SliderInt("model layer", &layer, 0, s.model.layers - 1) && layer != s.model.layer) {
                try {
                    apply_model(s, s.model.dir, layer);
                } catch (const std::exception& e) {
                    model_error_ = e.what();
                }
            }
            tip("Layer of the model whose Q/K/V the views use: the weights view shows its real attention (dense) next to the pattern's.");
        }
        for (auto [label, path] : {std::pair{"Q.npy", &p.q_path}, std::pair{"K.npy", &p.k_path}, std::pair{"V.npy", &p.v_path}}) {
            char buf[256];
            std::snprintf(buf, sizeof buf, "%s", path->c_str());
            if (ImGui::InputText(label, buf, sizeof buf, ImGuiInputTextFlags_EnterReturnsTrue)) *path = buf;
            tip("Path of a float32 .npy of shape [heads, n, d] (or [n, d]); press Enter to load.");
        }
    } else {
        seed_input("data seed", p.data_seed);
    }

    // --- components ------------------------------------------------------------------------
    HeadPattern& head = edited_head(p, s.view.head);
    section(p.pattern.is_flat() ? "components" : "components of the selected head");
    ImGui::Checkbox("causal", &head.causal);
    tip("Keep only keys j <= i (decoder attention). C toggles.");
    int remove = -1, move_up = -1;
    for (size_t ci = 0; ci < head.components.size(); ++ci) {
        Component& c = head.components[ci];
        ImGui::PushID(int(ci));
        const ImU32 col = component_color(int(ci));
        ImGui::ColorButton("##col", ImColor(col), ImGuiColorEditFlags_NoTooltip | ImGuiColorEditFlags_NoPicker,
                           {ImGui::GetFrameHeight() * 0.6f, ImGui::GetFrameHeight()});
        tip("This component's colour in 'colour by component' and the hop arcs.");
        ImGui::SameLine();
        const std::string title = std::string(to_string(c.type)) + "##hdr";
        const bool open = ImGui::TreeNodeEx(title.c_str(), ImGuiTreeNodeFlags_DefaultOpen | ImGuiTreeNodeFlags_AllowItemOverlap);
        tip(type_help(c.type));
        const float bw = ImGui::GetFrameHeight();
        ImGui::SameLine(ImGui::GetContentRegionMax().x - 2.2f * bw);
        ImGui::BeginDisabled(ci == 0);
        if (ImGui::ArrowButton("up", ImGuiDir_Up)) move_up = int(ci);
        ImGui::EndDisabled();
        tip("Move up (order sets the colour and the component bits)");
        ImGui::SameLine();
        if (ImGui::Button("x", {bw, bw})) remove = int(ci);
        tip("Remove this component");
        if (open) {
            switch (c.type) {
            case ComponentType::window:
                slider64("radius", c.radius, 0, std::max<int64_t>(1, std::min<int64_t>(n, 1024)), "Keys up to radius*dilation away.", true);
                slider64("dilation", c.dilation, 1, 64, "Every dilation-th key (dilated window).");
                break;
            case ComponentType::global: {
                slider64("first", c.first, 0, std::min<int64_t>(n, 256), "Tokens 0..first-1 are global.");
                slider64("every", c.every, 0, std::max<int64_t>(1, n), "Every e-th token is global (0: none).", true);
                if (tokens_for_ != int(ci)) {
                    std::snprintf(tokens_buf_, sizeof tokens_buf_, "%s", tokens_to_text(c.tokens).c_str());
                    tokens_for_ = int(ci);
                }
                if (ImGui::InputText("tokens", tokens_buf_, sizeof tokens_buf_)) c.tokens = text_to_tokens(tokens_buf_);
                tip("Explicit global tokens, comma separated.");
                break;
            }
            case ComponentType::random:
                slider64("per query", c.per_query, 0, 128, "Random keys drawn for each query.", true);
                seed_input("seed", c.seed);
                break;
            case ComponentType::strided:
                slider64("stride", c.stride, 1, std::max<int64_t>(2, std::min<int64_t>(n, 1024)), "Stride l (sqrt(n) is the paper's choice).", true);
                break;
            case ComponentType::fixed:
                slider64("block", c.block, 1, std::max<int64_t>(2, std::min<int64_t>(n, 1024)), "Block length l.", true);
                slider64("summary", c.summary, 1, std::max<int64_t>(1, c.block), "Last c tokens of each block are summaries.");
                break;
            case ComponentType::block:
                slider64("block", c.block, 1, 512, "Block size b in tokens.", true);
                slider64("window blocks", c.window_blocks, 0, 16, "Neighbouring blocks on each side.");
                slider64("global blocks", c.global_blocks, 0, 16, "First blocks that are global.");
                slider64("random blocks", c.random_blocks, 0, 16, "Random key blocks per block-row.");
                seed_input("seed", c.seed);
                break;
            case ComponentType::lsh:
                slider64("buckets", c.buckets, 2, 64, "Hash buckets B (even).");
                if (c.buckets % 2) ++c.buckets;
                slider64("rounds", c.rounds, 1, 8, "Hash rounds: a pair is kept when any round agrees.");
                seed_input("seed", c.seed);
                break;
            case ComponentType::topk:
                slider64("k", c.k, 1, std::max<int64_t>(1, std::min<int64_t>(n, 512)), "Keys kept per query.", true);
                break;
            case ComponentType::dense: ImGui::TextDisabled("every pair"); break;
            }
            ImGui::TreePop();
        }
        ImGui::PopID();
    }
    if (remove >= 0) head.components.erase(head.components.begin() + remove);
    if (move_up > 0) std::swap(head.components[size_t(move_up)], head.components[size_t(move_up - 1)]);

    const char* types[] = {"window", "global", "random", "strided", "fixed", "block", "lsh", "topk", "dense"};
    ImGui::SetNextItemWidth(ImGui::CalcItemWidth() * 0.6f);
    ImGui::Combo("##addtype", &add_type_, types, 9);
    ImGui::SameLine();
    ImGui::BeginDisabled(head.components.size() >= max_components);
    if (ImGui::Button("add component")) {
        Component c;
        c.type = ComponentType(add_type_);
        if (c.type == ComponentType::window) c.radius = 8;
        if (c.type == ComponentType::global) c.first = 1;
        if (c.type == ComponentType::random) c.per_query = 4, c.seed = 1;
        if (c.type == ComponentType::strided) c.stride = 64;
        if (c.type == ComponentType::fixed) c.block = 64, c.summary = 8;
        if (c.type == ComponentType::block) c.block = 64, c.window_blocks = 1, c.global_blocks = 1, c.random_blocks = 1;
        if (c.type == ComponentType::lsh) c.buckets = 8, c.rounds = 2;
        if (c.type == ComponentType::topk) c.k = 16;
        head.components.push_back(c);
    }
    ImGui::EndDisabled();
    tip("Add a component to the union of the selected head.");

    // Invalid combinations explained in place (the worker reports the same and keeps the last
    // valid picture, marked stale).
    std::string problem;
    try {
        validate(p.pattern);
    } catch (const std::exception& e) {
        problem = e.what();
    }
    if (problem.empty() && ctx.model && ctx.current(ctx.model->gen)) problem = ctx.model->error;
    if (!problem.empty()) {
        ImGui::PushStyleColor(ImGuiCol_Text, IM_COL32(255, 120, 100, 255));
        ImGui::PushTextWrapPos(0.0f);
        ImGui::TextUnformatted(problem.c_str());
        ImGui::PopTextWrapPos();
        ImGui::PopStyleColor();
    }

    // --- device ----------------------------------------------------------------------------
    section("compute device");
    if (data.devices && !data.devices->empty()) {
        std::string cur = "best available";
        for (const auto& d : *data.devices)
            if (d.index == p.device) cur = d.name + " (" + d.type + ")";
        if (ImGui::BeginCombo("device", cur.c_str())) {
            if (ImGui::Selectable("best available", p.device == -1)) p.device = -1;
            for (const auto& d : *data.devices) {
                ImGui::BeginDisabled(!d.usable);
                const std::string label = std::to_string(d.index) + ": " + d.name + " (" + d.type + ")";
                if (ImGui::Selectable(label.c_str(), p.device == d.index)) p.device = d.index;
                ImGui::EndDisabled();
                if (!d.usable) tip(d.reason.c_str());
            }
            ImGui::EndCombo();
        }
        tip("Vulkan device for the kernels (the window may render on another).");
    } else {
        ImGui::TextDisabled("no Vulkan devices listed");
    }
    if (!ctx.compute_error.empty()) {
        ImGui::PushStyleColor(ImGuiCol_Text, IM_COL32(255, 120, 100, 255));
        ImGui::PushTextWrapPos(0.0f);
        ImGui::TextUnformatted(ctx.compute_error.c_str());
        ImGui::PopTextWrapPos();
        ImGui::PopStyleColor();
    }

    // --- session ---------------------------------------------------------------------------
    section("session");
    ImGui::InputText("file", session_path_, sizeof session_path_);
    tip("Session file: the pattern, these settings and the view settings.");
    if (ImGui::Button("save")) actions.save_session = true, actions.session_path = session_path_;
    tip("Save the session (Ctrl+S)");
    ImGui::SameLine();
    if (ImGui::Button("load")) actions.load_session = true, actions.session_path = session_path_;
    tip("Load the session file (Ctrl+O)");
    ImGui::SameLine();
    if (ImGui::Button("copy pattern JSON")) actions.copy_pattern = true;
    tip("Copy the pattern as JSON to the clipboard (Ctrl+C); usable with salab-cli --pattern.");
    ImGui::InputText("png", png_path_, sizeof png_path_);
    tip("Where 'export PNG' writes (.svg: vector). Mask, attention weights and hops export as figures with title, axes, legend and caption; the other choices as the window's pixels.");
    if (ImGui::Button("export PNG")) {
        actions.export_png = true;
        actions.export_path = png_path_;
        actions.export_view = export_choice_ - 1;
    }
    tip("Write the chosen view at its current zoom: mask, weights and hops as a figure, the rest as pixels (P: the whole window)");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(-FLT_MIN);
    ImGui::Combo(
        "##exportview", &export_choice_,
        [](void*, int i, const char** out) {
            *out = i == 0 ? "whole window" : kDashWindows[i - 1].label;
            return true;
        },
        nullptr, int(DashWindow::count) + 1);
    if (!data.status.empty()) {
        ImGui::PushTextWrapPos(0.0f);
        ImGui::TextDisabled("%s", data.status.c_str());
        ImGui::PopTextWrapPos();
    }
}

}  // namespace salab::ui
