// The pattern panel: preset picker, the components of the selected head with per-type
// sliders, causal / n / d / heads, Q/K source, device, layer/head of a stack, session and
// clipboard actions. Edits AppState directly; explains invalid input in place.
#pragma once

#include "app_state.h"
#include "presets.h"
#include "source_view.h"
#include "view_context.h"

#include <string>
#include <vector>

namespace salab::ui {

struct PatternPanelData {
    const std::vector<PresetInfo>* presets = nullptr;
    const std::vector<DeviceEntry>* devices = nullptr;
    std::string status;  // last action's message (saved, copied, errors)
};

class PatternPanel {
public:
    void draw(AppState& s, const PatternPanelData& data, const ViewContext& ctx, ViewActions& actions);

private:
    void draw_panel(AppState& s, const PatternPanelData& data, const ViewContext& ctx, ViewActions& actions);
    char session_path_[256] = "salab_session.json";
    char png_path_[256] = "salab_view.png";
    char tokens_buf_[256] = "";
    int tokens_for_ = -1;
    int add_type_ = 0;
    int export_choice_ = 0;  // 0: whole window, k: ExportView(k - 1)
    int64_t pending_n_ = -1;  // n while its slider is dragged or typed into (-1: none)
    SourceStatsView source_stats_;
    char model_dir_[256] = "qkv";
    std::string model_error_;
};

// The HeadPattern the panel edits: head `head` of layer params.layer (a flat pattern's one head).
HeadPattern& edited_head(Params& p, int head);

}  // namespace salab::ui
