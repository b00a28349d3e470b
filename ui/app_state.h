// The one plain value the GUI is: what the user asked for (Params, which the worker turns into
// results) and how the views look (ViewSettings, which never trigger a recompute of the model).
// The frame loop compares Params with the last Params it sent; nothing is mirrored elsewhere.
#pragma once

#include "format.h"
#include "live_types.h"

#include <cstdint>
#include <string>
#include <vector>

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
    // Hop counts of hop_token along its row and column; off by default (its cross hides what
    // the token's row holds, e.g. a global token).
    bool show_hop_overlay = false;
    ColorScale heat_scale = ColorScale::log;
    bool heat_show_diff = true;
    bool heat_follow_mask = true;  // the heatmap shows the mask view's region and selected query
    int hop_token = 0;            // token whose hop map / neighbourhood is shown
    bool hop_to = true;           // hops from every token *to* hop_token (else from it)
    int hop_depth = 2;            // neighbourhood depth in the arc diagram (1..3)
    bool show_help = false;
    bool show_tour = false;       // the Tour window (salab --tour)
    int tour_chapter = 0;         // its chapter (0-based), kept in the session so a tour resumes
    bool operator==(const ViewSettings&) const = default;
};

// A real model's Q/K/V stack (compute/model_qkv.h) the .npy source reads: its directory, the
// layer whose files are params' q/k/v paths, and the tokens (axis and tooltip labels).
struct ModelRef {
    std::string dir;
    int layer = 0, layers = 0;
    std::vector<std::string> tokens;
    bool operator==(const ModelRef&) const = default;
};

struct AppState {
    Params params;
    ViewSettings view;
    ModelRef model;           // empty dir: no model loaded
    std::string preset_path;  // where params.pattern came from, "" when edited or built in
    bool operator==(const AppState&) const = default;
};

// Changes n. The hop token keeps its place (the middle stays the middle, the last the last):
// the frame loop applies carry_token (ui/format.h) to every change of n, however it came.
inline void set_tokens(AppState& s, int64_t n) { s.params.pattern.n = n; }

// Reads the stack at `dir` (throws InputError) and points params at layer `layer` of it: .npy
// source, the model's heads, n and d (the pattern's n follows; a stack pattern keeps its heads).
void apply_model(AppState& s, const std::string& dir, int layer);

}  // namespace salab::ui
