// The one plain value the GUI is: what the user asked for (Params, which the worker turns into
// results) and how the views look (ViewSettings, which never trigger a recompute of the model).
// The frame loop compares Params with the last Params it sent; nothing is mirrored elsewhere.
#pragma once

#include "live_types.h"

#include <cstdint>
#include <string>

namespace salab::ui {

// What the worker computes from: the live pipeline's params (compute/live_types.h).
using Params = LiveParams;
using QkSource = QkvSource;

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
    bool show_help = false;
    bool operator==(const ViewSettings&) const = default;
};

struct AppState {
    Params params;
    ViewSettings view;
    std::string preset_path;  // where params.pattern came from, "" when edited or built in
    bool operator==(const AppState&) const = default;
};

}  // namespace salab::ui
