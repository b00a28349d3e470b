#include "tour_view.h"

#include "widgets.h"

#include <imgui.h>

#include <algorithm>
#include <cstdio>

namespace salab::ui {

namespace {

TourMeasurements measurements(const ViewContext& ctx) {
    TourMeasurements m;
    if (ctx.accuracy && ctx.current(ctx.accuracy->gen)) {
        m.kept_mass = ctx.accuracy->kept_mass;
        m.rel_error = ctx.accuracy->rel_error;
    }
    if (ctx.timings && !ctx.timings->empty() && ctx.current(ctx.timings->back().gen)) {
        const TimingSample& t = ctx.timings->back();
        if (t.dense_ms && t.sparse_ms > 0) m.sparse_ms = t.sparse_ms, m.dense_ms = *t.dense_ms;
        m.device = t.device;
    }
    return m;
}

std::string key_of(const TourMeasurements& m) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%g %g %g %g", m.kept_mass.value_or(-1), m.rel_error.value_or(-1),
                  m.sparse_ms.value_or(-1), m.dense_ms.value_or(-1));
    return buf + m.device;
}

}  // namespace

void go_to_chapter(AppState& s, int k) {
    const auto& ch = tour_chapters();
    k = std::clamp(k, 0, int(ch.size()) - 1);
    const TourChapter& c = ch[size_t(k)];
    s.view.tour_chapter = k;
    s.params.pattern = c.pattern;
    s.params.layer = 0;
    s.preset_path.clear();
    s.view.head = 0;
    s.view.hop_token = int(c.token);
    s.view.hop_to = c.hop_to;
    s.view.show_blocks = c.show_blocks;
    s.view.color_by_component = c.color_by_component;
}

void step_chapter(AppState& s, int delta) {
    const int last = int(tour_chapters().size()) - 1;
    const int k = std::clamp(s.view.tour_chapter + delta, 0, last);
    if (k != s.view.tour_chapter) go_to_chapter(s, k);
}

void TourView::draw(AppState& s, const ViewContext& ctx) {
    const auto& ch = tour_chapters();
    const int k = std::clamp(s.view.tour_chapter, 0, int(ch.size()) - 1);
    const TourMeasurements m = measurements(ctx);
    const std::string mk = ch[size_t(k)].key == "quality" ? key_of(m) : std::string();
    if (k != page_chapter_ || !(s.params == page_params_) || s.view.hop_token != page_token_ || mk != page_meas_) {
        page_chapter_ = k, page_params_ = s.params, page_token_ = s.view.hop_token, page_meas_ = mk;
        try {
            page_ = tour_page(k, s.params, s.view.hop_token, m);
            error_.clear();
        } catch (const std::exception& e) {
            error_ = e.what();
        }
    }

    ImGui::BeginDisabled(k == 0);
    if (ImGui::ArrowButton("##prev", ImGuiDir_Left)) step_chapter(s, -1);
    ImGui::EndDisabled();
    tip("Previous chapter (PageUp or Alt+Left)");
    ImGui::SameLine();
    ImGui::BeginDisabled(k + 1 >= int(ch.size()));
    if (ImGui::ArrowButton("##next", ImGuiDir_Right)) step_chapter(s, +1);
    ImGui::EndDisabled();
    tip("Next chapter (PageDown or Alt+Right)");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(std::max(80.0f, ImGui::GetContentRegionAvail().x - 70.0f));
    char label[32];
    std::snprintf(label, sizeof label, "%d / %d", k + 1, int(ch.size()));
    if (ImGui::BeginCombo("##chapter", label)) {
        for (int c = 0; c < int(ch.size()); ++c) {
            char item[160];
            std::snprintf(item, sizeof item, "%d. %s", c + 1, ch[size_t(c)].title.c_str());
            if (ImGui::Selectable(item, c == k)) go_to_chapter(s, c);
        }
        ImGui::EndCombo();
    }
    ImGui::SameLine();
    if (ImGui::SmallButton("reset")) go_to_chapter(s, k);
    tip("Set this chapter's pattern and views again");

    // Wrapped: at 1280 x 800 the panel is 300 px wide and long titles ran past its edge.
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4{0.55f, 0.75f, 1.0f, 1.0f});
    ImGui::PushTextWrapPos(0.0f);
    ImGui::Text("%d. %s", k + 1, ch[size_t(k)].title.c_str());
    ImGui::PopTextWrapPos();
    ImGui::PopStyleColor();
    ImGui::PushTextWrapPos(0.0f);
    if (!error_.empty()) {
        ImGui::TextColored({1.0f, 0.45f, 0.4f, 1.0f}, "%s", error_.c_str());
    } else {
        for (const std::string& line : page_.sentences) {
            ImGui::Bullet();
            ImGui::TextUnformatted(line.c_str());
        }
        if (!page_.note.empty()) ImGui::TextDisabled("%s", page_.note.c_str());
    }
    ImGui::PopTextWrapPos();
}

}  // namespace salab::ui
