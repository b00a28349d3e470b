// The one plain value the GUI is: what the user asked for (Params, which the worker turns into
// results) and how the views look (ViewSettings, which never trigger a recompute of the model).
// The frame loop compares Params with the last Params it sent; nothing is mirrored elsewhere.
#pragma once

#include "pattern.h"

#include <cstdint>
#include <string>

namespace salab::ui {

// Where Q, K and V come from.
enum class QkSource { structured, gaussian, npy };

// Everything that changes the model the worker computes (masks, block mask, timing, hops).
struct Params {
    Pattern pattern;        // n lives here
    int64_t d = 64;
    int heads = 1;          // heads of a flat pattern (the same head replicated); stacks use theirs
    int layer = 0;          // the layer of a stack that the views show
    int device = -1;        // Vulkan device index for compute, -1: best
    QkSource source = QkSource::structured;
    uint64_t data_seed = 1;
    std::string q_path, k_path, v_path;  // QkSource::npy
    bool operator==(const Params&) const = default;
};

enum class ColorScale { linear, log };

// Everything about how the views look; changing it never recomputes the model.
struct ViewSettings {
    int head = 0;                 // head of the selected layer shown by the mask/heatmap views
    bool color_by_component = false;
    bool show_blocks = false;
    bool show_minimap = true;
    bool show_hop_overlay = true;  // hop counts of hop_token along its row and column
    ColorScale heat_scale = ColorScale::log;
    bool heat_show_diff = true;
    int hop_token = 0;            // token whose hop map / neighbourhood is shown
    bool hop_to = true;           // hops from every token *to* hop_token (else from it)
    int hop_depth = 2;            // neighbourhood depth in the arc diagram (1..3)
    bool show_pattern = true, show_mask = true, show_heatmap = true, show_timing = true,
         show_stats = true, show_hops = true, show_help = false;
    bool operator==(const ViewSettings&) const = default;
};

struct AppState {
    Params params;
    ViewSettings view;
    std::string preset_path;  // where params.pattern came from, "" when edited or built in
    bool operator==(const AppState&) const = default;
};

// Number of heads the selected layer runs with (flat patterns replicate their head).
inline int layer_heads(const Params& p) {
    if (p.pattern.layers.empty()) return 0;
    const int layer = p.layer < p.pattern.num_layers() ? p.layer : 0;
    return p.pattern.is_flat() ? p.heads : p.pattern.num_heads(layer);
}

// The pattern of head h of the selected layer.
inline const HeadPattern& head_pattern(const Params& p, int h) {
    const int layer = p.layer < p.pattern.num_layers() ? p.layer : 0;
    const auto& heads = p.pattern.layers.at(layer).heads;
    return p.pattern.is_flat() ? heads.at(0) : heads.at(h < int(heads.size()) ? h : 0);
}

}  // namespace salab::ui
