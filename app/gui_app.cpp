#include "gui_app.h"

#include "export.h"
#include "file_io.h"
#include "live_figure.h"
#include "model_qkv.h"
#include "threads.h"

#include "gui_advisor.h"
#include "gui_vulkan.h"
#include "gui_worker.h"
#include "query_view.h"

#include "advisor_view.h"
#include "app_state.h"
#include "compare_view.h"
#include "heatmap_view.h"
#include "help_view.h"
#include "input.h"
#include "hop_view.h"
#include "mask_view.h"
#include "pattern_panel.h"
#include "presets.h"
#include "session.h"
#include "stack_view.h"
#include "timing_view.h"
#include "tour_view.h"
#include "vk_context.h"
#include "widgets.h"

#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_vulkan.h>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

#include <algorithm>
#include <chrono>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <set>
#include <thread>
#include <utility>

namespace salab::gui {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Owns the GLFW library and the window.
struct GlfwWindow {
    GLFWwindow* window = nullptr;
    bool initialised = false;
    GlfwWindow() = default;
    GlfwWindow(const GlfwWindow&) = delete;
    GlfwWindow& operator=(const GlfwWindow&) = delete;
    ~GlfwWindow() {
        if (window) glfwDestroyWindow(window);
        if (initialised) glfwTerminate();
    }
};

// Owns the ImGui context and the GLFW backend.
struct ImGuiScope {
    bool glfw = false;
    ImGuiScope() { ImGui::CreateContext(); }
    ImGuiScope(const ImGuiScope&) = delete;
    ImGuiScope& operator=(const ImGuiScope&) = delete;
    ~ImGuiScope() {
        if (glfw) ImGui_ImplGlfw_Shutdown();
        ImGui::DestroyContext();
    }
};

std::string g_glfw_error;

// Set by the input callbacks (installed before ImGui's, which chain to them): the frame loop
// then draws a few frames instead of waiting.
bool g_input = false;
void on_cursor(GLFWwindow*, double, double) { g_input = true; }
void on_button(GLFWwindow*, int, int, int) { g_input = true; }
void on_scroll(GLFWwindow*, double, double) { g_input = true; }
void on_key(GLFWwindow*, int, int, int, int) { g_input = true; }
// Keys go through a queue instead of the backend's callback (which writes io.KeysDown directly
// and so loses a press released within the same frame): see ui/input.h.
ui::KeyEventQueue g_keys({{GLFW_KEY_LEFT_CONTROL, GLFW_KEY_RIGHT_CONTROL}, {GLFW_KEY_LEFT_SHIFT, GLFW_KEY_RIGHT_SHIFT},
                          {GLFW_KEY_LEFT_ALT, GLFW_KEY_RIGHT_ALT}, {GLFW_KEY_LEFT_SUPER, GLFW_KEY_RIGHT_SUPER}});
void on_key_queued(GLFWwindow*, int key, int, int action, int) {
    g_input = true;
    g_keys.push(key, action != GLFW_RELEASE);
}
void on_char(GLFWwindow*, unsigned int) { g_input = true; }
void on_size(GLFWwindow*, int, int) { g_input = true; }
void on_focus(GLFWwindow*, int) { g_input = true; }
void on_enter(GLFWwindow*, int) { g_input = true; }
void glfw_error(int code, const char* msg) { g_glfw_error = "GLFW error " + std::to_string(code) + ": " + msg; }

// Real content: more than a handful of distinct colours (quantised to 4 bits per channel)
// and not one flat colour.
struct ImageStats {
    int colours = 0;
    double stddev = 0;
};
ImageStats image_stats(const RgbImage& img) {
    std::set<uint32_t> colours;
    if (img.w <= 0 || img.h <= 0) return {};
    double sum = 0, sum2 = 0;
    const size_t n = size_t(img.w) * size_t(img.h);
    for (size_t i = 0; i < n; i += 7) {
        const uint8_t* p = &img.rgb[3 * i];
        colours.insert(uint32_t(p[0] >> 4) << 8 | uint32_t(p[1] >> 4) << 4 | uint32_t(p[2] >> 4));
        const double l = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
        sum += l;
        sum2 += l * l;
    }
    const double cnt = double((n + 6) / 7);
    return {int(colours.size()), std::sqrt(std::max(0.0, sum2 / cnt - (sum / cnt) * (sum / cnt)))};
}

// Writes the rectangle (x0, y0, w, h) of `img` (all of it when w or h <= 0), scaled by `scale`
// <= 1 with an area filter.
bool write_png(const std::string& path, const RgbImage& img, int x0 = 0, int y0 = 0, int w = 0, int h = 0,
               double scale = 1.0) {
    if (w <= 0 || h <= 0) x0 = y0 = 0, w = img.w, h = img.h;
    x0 = std::clamp(x0, 0, img.w - 1);
    y0 = std::clamp(y0, 0, img.h - 1);
    w = std::min(w, img.w - x0);
    h = std::min(h, img.h - y0);
    const int ow = std::max(1, int(std::lround(w * scale))), oh = std::max(1, int(std::lround(h * scale)));
    std::vector<uint8_t> out(size_t(ow) * size_t(oh) * 3);
    for (int y = 0; y < oh; ++y) {
        const int sy0 = y0 + y * h / oh, sy1 = std::max(sy0 + 1, y0 + (y + 1) * h / oh);
        for (int x = 0; x < ow; ++x) {
            const int sx0 = x0 + x * w / ow, sx1 = std::max(sx0 + 1, x0 + (x + 1) * w / ow);
            for (int c = 0; c < 3; ++c) {
                int sum = 0;
                for (int yy = sy0; yy < sy1; ++yy)
                    for (int xx = sx0; xx < sx1; ++xx) sum += img.rgb[(size_t(yy) * size_t(img.w) + size_t(xx)) * 3 + size_t(c)];
                out[(size_t(y) * size_t(ow) + size_t(x)) * 3 + size_t(c)] = uint8_t(sum / ((sy1 - sy0) * (sx1 - sx0)));
            }
        }
    }
    stbi_write_png_compression_level = 9;
    // Encoded in memory and written atomically, every write checked (stb's file writer ignores
    // write errors, so a full disk would report success).
    std::string png;
    auto append = [](void* ctx, void* data, int size) {
        static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), size_t(size));
    };
    if (!stbi_write_png_to_func(append, &png, ow, oh, 3, out.data(), ow * 3)) return false;
    try {
        write_file_atomic(path, png, "png");
    } catch (const InputError& e) {
        std::fprintf(stderr, "salab: %s\n", e.what());
        return false;
    }
    return true;
}

struct WindowRect {
    ImVec2 pos{}, size{};
};

// Percentile of a sample (sorted copy).
double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5))];
}

class App {
public:
    App(const AppOptions& o, GLFWwindow* w, Renderer& r)
        : opt_(o), window_(w), renderer_(r), worker_([] { glfwPostEmptyEvent(); }) {}
    int run();

private:
    void load_initial();
    bool take_results();  // true when anything arrived
    void draw_windows();
    void handle_shortcuts();
    void carry_out(ui::ViewActions& a);
    void load_preset(const std::string& path);
    void post_if_changed();
    bool results_complete() const;
    void script_step();
    void scripted_change();
    bool write_view_png(const std::string& path, const RgbImage& shot, const std::string& view) const;
    bool export_figure(const std::string& path, int view);

    AppOptions opt_;
    GLFWwindow* window_;
    Renderer& renderer_;
    Worker worker_;

    ui::AppState state_;
    ui::Params last_params_;
    LiveView last_view_;
    uint64_t gen_ = 0;
    bool posted_ = false;
    bool dragging_ = false;  // the last post was made under a held widget

    std::vector<ui::PresetInfo> presets_;
    std::vector<ui::DeviceEntry> devices_;
    std::string status_;

    // Latest results (each field replaced as newer ones arrive), and the recent timings.
    LiveUpdate shown_;
    std::deque<TimingSample> timings_;
    SweepState sweep_;

    ui::PatternPanel pattern_panel_;
    ui::MaskView mask_view_;
    ui::CompareView compare_view_;
    ui::HeatmapView heat_view_;
    ui::TimingView timing_view_;
    ui::HopView hop_view_;
    ui::QueryView query_view_;
    ui::StackView stack_view_{[] { glfwPostEmptyEvent(); }};
    bool stack_shown_ = false;
    ui::AdvisorView advisor_view_;
    AdvisorJob advisor_job_;
    bool show_advisor_ = false;
    bool advisor_started_ = false;
    ui::TourView tour_view_;

    int64_t token_n_ = 0, token_at_ = 0;  // n and hop token of the last frame (ui::carry_token)
    ImVec2 last_display_{0, 0};
    bool layout_dirty_ = true;
    bool tour_shown_ = false;
    WindowRect rects_[int(ui::DashWindow::count)];
    bool want_capture_ = false;
    std::string capture_path_;
    int capture_rect_ = -1;

    // --stats: frame times and, per generation, when it was posted and when results landed.
    std::vector<double> frame_ms_, ui_ms_, render_ms_, idle_frame_ms_, busy_frame_ms_;
    int vtx_count_ = 0;
    std::map<uint64_t, Clock::time_point> posted_at_;
    std::vector<double> mask_latency_ms_, timing_latency_ms_;
    // Per generation: until mask, heatmap and sparse timing of it are all shown as current
    // (update), and until every result incl. dense timing and hops is (complete).
    std::vector<double> update_latency_ms_, complete_latency_ms_;
    uint64_t update_logged_gen_ = 0, complete_logged_gen_ = 0;
    int script_changes_done_ = 0;
    Clock::time_point script_next_{};
};

void App::load_initial() {
    const std::string dir = ui::find_presets_dir(opt_.exe_dir,
#ifdef SALAB_SOURCE_DIR
                                                 SALAB_SOURCE_DIR
#else
                                                 ""
#endif
    );
    presets_ = ui::list_presets(dir);
    std::string err;
    for (const DeviceInfo& d : list_devices(&err)) devices_.push_back({d.index, d.name, d.type, d.usable, d.unusable_reason});
    state_.params.device = opt_.device;
    // A bad --session or --pattern file (or --n) is reported in the window (and on stderr); the
    // window opens with the default pattern instead.
    std::string startup_error;
    if (!opt_.session_path.empty()) {
        try {
            state_ = ui::load_session(opt_.session_path);
            state_.preset_path = ui::preset_key(state_.preset_path);
            if (opt_.device >= 0) state_.params.device = opt_.device;
            if (const std::string msg = ui::restore_model(state_); !msg.empty()) {
                std::fprintf(stderr, "salab: %s\n", msg.c_str());
                status_ = msg;
            }
            if (opt_.n > 0) state_.params.pattern = with_n(state_.params.pattern, opt_.n);
            return;
        } catch (const InputError& e) {
            startup_error = e.what();
            state_ = ui::AppState{};
            state_.params.device = opt_.device;
        }
    }
    if (!opt_.pattern_path.empty() && startup_error.empty()) {
        try {
            state_.params.pattern = load_pattern(opt_.pattern_path);
            if (opt_.n > 0) state_.params.pattern = with_n(state_.params.pattern, opt_.n);
            state_.preset_path = ui::preset_key(opt_.pattern_path);
        } catch (const InputError& e) {
            startup_error = e.what();
        }
    }
    if (!startup_error.empty()) {
        std::fprintf(stderr, "salab: %s\n", startup_error.c_str());
        state_.params.pattern = ui::default_pattern();
        state_.preset_path.clear();
        status_ = startup_error;
    } else if (!opt_.pattern_path.empty()) {
    } else {
        state_.params.pattern = ui::default_pattern();
        for (const auto& p : presets_)
            if (p.error.empty() && p.path.find("bigbird") != std::string::npos) {
                load_preset(p.path);
                break;
            }
        if (opt_.n > 0) state_.params.pattern = with_n(state_.params.pattern, opt_.n);
    }
    if (!opt_.model_dir.empty()) {
        try {
            ui::apply_model(state_, opt_.model_dir, 0);
        } catch (const InputError& e) {
            std::fprintf(stderr, "salab: %s\n", e.what());
            status_ = e.what();
        }
    }
    if (!opt_.compare_a.empty()) {
        try {
            ui::Params a = state_.params;
            a.pattern = with_n(load_pattern(opt_.compare_a), state_.params.pattern.n);
            compare_view_.pin(a);
        } catch (const InputError& e) {
            std::fprintf(stderr, "salab: %s\n", e.what());
            status_ = e.what();
        }
    }
    const auto& pp = state_.params;
    state_.view.hop_token = int(head_pattern(pp, 0).causal ? pp.pattern.n - 1 : pp.pattern.n / 2);
}

void App::load_preset(const std::string& path) {
    try {
        ui::Params p = state_.params;
        p.pattern = load_pattern(path);
        p.layer = 0;
        state_.params = p;
        state_.preset_path = ui::preset_key(path);
        state_.view.head = 0;
        // A token whose hops are interesting: the last one hears everything in a causal pattern.
        state_.view.hop_token = int(head_pattern(p, 0).causal ? p.pattern.n - 1 : p.pattern.n / 2);
        status_.clear();
    } catch (const std::exception& e) {
        status_ = e.what();
    }
}

bool App::take_results() {
    LiveUpdate in = worker_.take();
    const bool any = !in.empty();
    const auto now = Clock::now();
    if (in.model && opt_.stats && posted_at_.count(in.model->gen))
        std::printf("salab: gen %llu model after %.0f ms (masks %.1f ms, blocks %.1f ms)\n", (unsigned long long)in.model->gen,
                    std::chrono::duration<double, std::milli>(now - posted_at_[in.model->gen]).count(),
                    in.model->stats.mask_build_ms, in.model->stats.block_build_ms);
    if (in.mask && opt_.stats)
        std::printf("salab: gen %llu mask image %dx%d in %.0f ms\n", (unsigned long long)in.mask->gen, in.mask->image.w,
                    in.mask->image.h, in.mask->ms);
    if (in.mask && opt_.stats && posted_at_.count(in.mask->gen) && (!shown_.mask || shown_.mask->gen != in.mask->gen))
        mask_latency_ms_.push_back(std::chrono::duration<double, std::milli>(now - posted_at_[in.mask->gen]).count());
    if (in.timing) {
        const TimingSample& t = *in.timing;
        if (opt_.stats && posted_at_.count(t.gen) && (timings_.empty() || timings_.back().gen != t.gen))
            timing_latency_ms_.push_back(std::chrono::duration<double, std::milli>(now - posted_at_[t.gen]).count());
        // One sample per generation: later samples of it (dense, refined) replace the first.
        if (!timings_.empty() && timings_.back().gen == t.gen) timings_.back() = t;
        else timings_.push_back(t);
        while (timings_.size() > 120) timings_.pop_front();
    }
    shown_.merge(std::move(in));
    if (opt_.stats && posted_at_.count(gen_)) {
        const double ms = std::chrono::duration<double, std::milli>(now - posted_at_[gen_]).count();
        const bool shown = shown_.model && shown_.model->gen == gen_ && shown_.mask && shown_.mask->gen == gen_ && shown_.heat && shown_.heat->gen == gen_ &&
                           !timings_.empty() && timings_.back().gen == gen_;
        if (shown && update_logged_gen_ != gen_) {
            update_latency_ms_.push_back(ms);
            update_logged_gen_ = gen_;
            std::printf("salab: gen %llu update (mask %s + heatmap + sparse timing) shown after %.0f ms\n",
                        (unsigned long long)gen_, shown_.mask->on_gpu ? "GPU" : "CPU", ms);
        }
        if (results_complete() && complete_logged_gen_ != gen_) {
            complete_latency_ms_.push_back(ms);
            complete_logged_gen_ = gen_;
            std::printf("salab: gen %llu complete (dense timing, accuracy, hops) after %.0f ms\n", (unsigned long long)gen_, ms);
        }
    }
    SweepState sw = worker_.sweep();
    const bool sweep_changed = sw.points.size() != sweep_.points.size() || sw.status != sweep_.status ||
                               sw.progress != sweep_.progress || sw.running != sweep_.running;
    sweep_ = std::move(sw);
    return any || sweep_changed;
}

void App::post_if_changed() {
    LiveView v;
    v.mask = mask_view_.request(state_);
    v.heat = heat_view_.request(state_);
    v.hop_token = state_.view.hop_token;
    v.row = {state_.view.head, state_.view.hop_token};  // the query inspector's row
    const bool params_changed = !posted_ || !(state_.params == last_params_);
    if (params_changed) {
        ++gen_;
        last_params_ = state_.params;
        if (opt_.stats) posted_at_[gen_] = Clock::now();
    }
    // A slider held (or a field being typed in): the worker computes the value it stops at, not
    // each one it passes. Every frame of it posts (moving, or the pointer still: the hand stopped),
    // and the release once more so the last value need not wait.
    const bool dragging = ImGui::IsAnyItemActive();
    const ImVec2 delta = ImGui::GetIO().MouseDelta;
    const Drag drag = !dragging ? Drag::none : delta.x != 0 || delta.y != 0 ? Drag::moving : Drag::still;
    if (params_changed || !(v == last_view_) || dragging || dragging_) {
        worker_.post(gen_, state_.params, v, drag);
        last_view_ = v;
        posted_ = true;
        dragging_ = dragging;
    }
}

bool App::results_complete() const {
    const bool model_ok = shown_.model && shown_.model->gen == gen_;
    if (!model_ok) return false;
    if (!shown_.model->error.empty()) return true;
    const bool mask_ok = shown_.mask && shown_.mask->gen == gen_;
    if (!shown_.compute_error.value_or("").empty()) return mask_ok;
    return mask_ok && shown_.heat && shown_.heat->gen == gen_ && !timings_.empty() && timings_.back().gen == gen_ &&
           timings_.back().dense_settled() && shown_.hops && shown_.hops->gen == gen_;
}

void App::handle_shortcuts() {
    ImGuiIO& io = ImGui::GetIO();
    if (io.WantTextInput) return;
    const auto pressed = [](int key) { return ImGui::IsKeyPressed(key, false); };
    ui::ViewSettings& v = state_.view;
    ui::Params& p = state_.params;
    if (io.KeyCtrl) {
        ui::ViewActions a;
        if (pressed(GLFW_KEY_S)) a.save_session = true, a.session_path = "salab_session.json";
        if (pressed(GLFW_KEY_O)) a.load_session = true, a.session_path = "salab_session.json";
        if (pressed(GLFW_KEY_C)) a.copy_pattern = true;
        carry_out(a);
        return;
    }
    if (pressed(GLFW_KEY_F1) || (pressed(GLFW_KEY_SLASH) && io.KeyShift)) v.show_help = !v.show_help;
    if (pressed(GLFW_KEY_T)) v.show_tour = !v.show_tour;
    if (v.show_tour && (pressed(GLFW_KEY_PAGE_DOWN) || (io.KeyAlt && pressed(GLFW_KEY_RIGHT)))) ui::step_chapter(state_, +1);
    if (v.show_tour && (pressed(GLFW_KEY_PAGE_UP) || (io.KeyAlt && pressed(GLFW_KEY_LEFT)))) ui::step_chapter(state_, -1);
    if (pressed(GLFW_KEY_ESCAPE)) v.show_help = false;
    if (pressed(GLFW_KEY_F)) mask_view_.fit();
    if (pressed(GLFW_KEY_B)) v.show_blocks = !v.show_blocks;
    if (pressed(GLFW_KEY_K)) v.color_by_component = !v.color_by_component;
    if (pressed(GLFW_KEY_M)) v.show_minimap = !v.show_minimap;
    if (pressed(GLFW_KEY_O)) v.show_hop_overlay = !v.show_hop_overlay;
    if (pressed(GLFW_KEY_L)) v.heat_scale = v.heat_scale == ui::ColorScale::log ? ui::ColorScale::linear : ui::ColorScale::log;
    if (pressed(GLFW_KEY_C)) {
        HeadPattern& h = ui::edited_head(p, v.head);
        h.causal = !h.causal;
    }
    if (pressed(GLFW_KEY_R)) {
        for (auto& layer : p.pattern.layers)
            for (auto& h : layer.heads)
                for (auto& c : h.components) c.seed = c.seed * 2654435761ull % 1000003ull + 1;
        p.data_seed = p.data_seed * 2654435761ull % 1000003ull + 1;
    }
    const int heads = layer_heads(p);
    if (pressed(GLFW_KEY_H) && heads > 0) v.head = (v.head + (io.KeyShift ? heads - 1 : 1)) % heads;
    if (pressed(GLFW_KEY_UP)) ui::set_tokens(state_, std::min<int64_t>(p.pattern.n * 2, int64_t(1) << 20));
    if (pressed(GLFW_KEY_DOWN)) ui::set_tokens(state_, std::max<int64_t>(p.pattern.n / 2, 16));
    for (int k = 0; k < 9 && k < int(presets_.size()); ++k)
        if (pressed(GLFW_KEY_1 + k)) load_preset(presets_[size_t(k)].path);
    if (pressed(GLFW_KEY_P)) {
        want_capture_ = true;
        capture_path_ = "salab_view.png";
        capture_rect_ = -1;
    }
}

void App::carry_out(ui::ViewActions& a) {
    try {
        if (a.save_session) {
            ui::save_session(a.session_path, state_);
            status_ = "saved " + a.session_path;
        }
        if (a.load_session) {
            ui::AppState s = ui::load_session(a.session_path);
            s.preset_path = ui::preset_key(s.preset_path);
            const std::string msg = ui::restore_model(s);
            state_ = s;
            status_ = msg.empty() ? "loaded " + a.session_path : msg;
        }
    } catch (const std::exception& e) {
        status_ = e.what();
    }
    if (a.copy_pattern) {
        ImGui::SetClipboardText(to_json(state_.params.pattern).c_str());
        status_ = "pattern JSON copied to the clipboard";
    }
    if (!a.load_preset.empty()) load_preset(a.load_preset);
    if (a.start_sweep) worker_.start_sweep(state_.params, a.sweep_max_n);
    if (a.cancel_sweep) worker_.cancel_sweep();
    if (a.export_png && !export_figure(a.export_path, a.export_view)) {
        want_capture_ = true;
        capture_path_ = a.export_path;
        capture_rect_ = a.export_view;
    }
}

void App::draw_windows() {
    const ImVec2 ds = ImGui::GetIO().DisplaySize;
    if (ds.x != last_display_.x || ds.y != last_display_.y) layout_dirty_ = true, last_display_ = ds;
    const float L = std::clamp(ds.x * 0.22f, 300.0f, 440.0f);
    const float M = std::floor((ds.x - L) * 0.46f);
    const float R = ds.x - L - M;
    const float top_h = std::floor(ds.y * 0.64f);
    const auto place = [&](float x, float y, float w, float h) {
        const ImGuiCond c = layout_dirty_ ? ImGuiCond_Always : ImGuiCond_FirstUseEver;
        ImGui::SetNextWindowPos({x, y}, c);
        ImGui::SetNextWindowSize({w, h}, c);
    };
    const auto rect = [&](ui::DashWindow w) { rects_[int(w)] = {ImGui::GetWindowPos(), ImGui::GetWindowSize()}; };

    ui::ViewContext ctx;
    ctx.gen = gen_;
    ctx.model = shown_.model ? &*shown_.model : nullptr;
    ctx.mask = shown_.mask ? &*shown_.mask : nullptr;
    ctx.heat = shown_.heat ? &*shown_.heat : nullptr;
    ctx.row = shown_.row ? &*shown_.row : nullptr;
    ctx.accuracy = shown_.accuracy ? &*shown_.accuracy : nullptr;
    ctx.timings = &timings_;
    ctx.hops = shown_.hops ? &*shown_.hops : nullptr;
    ctx.token_hops = shown_.token_hops ? &*shown_.token_hops : nullptr;
    ctx.sweep = &sweep_;
    ctx.activity = worker_.activity();
    ctx.compute_error = shown_.compute_error.value_or("");
    ctx.device_name = shown_.device_name.value_or("");
    ctx.paths = shown_.paths ? &*shown_.paths : nullptr;
    ctx.textures = &renderer_;
    ui::ViewActions actions;

    // A tiled dashboard: the windows never overlap, so they draw no background of their own and
    // the swapchain clear shows through. On a software rasteriser (lavapipe) each full-screen
    // layer costs ~10 ms a frame; this saves one.
    const ImGuiWindowFlags flags = ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize |
                                   ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoBackground;
    const float tour_h = state_.view.show_tour ? std::floor(std::clamp(ds.y * 0.36f, 250.0f, 380.0f)) : 0.0f;
    if (state_.view.show_tour != tour_shown_) layout_dirty_ = true, tour_shown_ = state_.view.show_tour;
    place(0, 0, L, ds.y - tour_h);
    if (ImGui::Begin("Pattern", nullptr, flags)) {
        rect(ui::DashWindow::pattern);
        ui::PatternPanelData d{&presets_, &devices_, status_};
        pattern_panel_.draw(state_, d, ctx, actions);
        ImGui::Spacing();
        if (ImGui::Button("help (F1)")) state_.view.show_help = true;
        ImGui::SameLine();
        if (ImGui::Button("advisor")) show_advisor_ = !show_advisor_;
        ImGui::SameLine();
        // Idle, frames are drawn on input only (twice a second otherwise): an fps figure then says nothing.
        if (ImGui::GetIO().DeltaTime > 0.1f) ImGui::TextDisabled("idle");
        else ImGui::TextDisabled("%.0f fps", double(ImGui::GetIO().Framerate));
        compare_view_.draw_pin_button(state_);
    }
    ImGui::End();

    place(L, 0, M, top_h);
    const ui::PresetMatch match = ui::match_preset(presets_, state_.preset_path, state_.params.pattern);
    const std::string mask_title = "Mask: " + (state_.params.pattern.name.empty() ? std::string("pattern") : state_.params.pattern.name) +
                                   (match.edited ? " (edited)" : "") +
                                   (layer_heads(state_.params) > 1 ? ", head " + std::to_string(state_.view.head) : "") + "###Mask";
    if (ImGui::Begin(mask_title.c_str(), nullptr, flags | ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse)) {
        rect(ui::DashWindow::mask);
        mask_view_.draw(state_, ctx);
    }
    ImGui::End();

    place(L, top_h, M, ds.y - top_h);
    if (ImGui::Begin("Query and stats###Stats", nullptr, flags)) {
        rect(ui::DashWindow::stats);
        // The inspector first: it answers "what does this query see"; the mask's numbers are a tab away.
        if (ImGui::BeginTabBar("stats_tabs")) {
            if (ImGui::BeginTabItem("query inspector")) {
                query_view_.draw(state_, ctx);
                ImGui::EndTabItem();
            }
            if (ImGui::BeginTabItem("mask stats")) {
                ui::draw_stats(state_, ctx);
                ImGui::EndTabItem();
            }
            // A stack newly opened shows its overview first.
            const bool stack = !state_.params.pattern.is_flat();
            const bool fresh_stack = stack && !stack_shown_;
            stack_shown_ = stack;
            if (stack && ImGui::BeginTabItem("layers x heads", nullptr, fresh_stack ? ImGuiTabItemFlags_SetSelected : 0)) {
                stack_view_.draw(state_, ctx);
                ImGui::EndTabItem();
            }
            ImGui::EndTabBar();
        }
    }
    ImGui::End();

    const float heat_h = std::floor(ds.y * 0.37f), timing_h = std::floor(ds.y * 0.27f);
    place(L + M, 0, R, heat_h);
    if (ImGui::Begin("Attention weights", nullptr, flags | ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse)) {
        rect(ui::DashWindow::heatmap);
        heat_view_.follow(mask_view_.visible(state_.params.pattern.n), mask_view_.selected_query());
        heat_view_.draw(state_, ctx);
    }
    ImGui::End();

    place(L + M, heat_h, R, timing_h);
    if (ImGui::Begin("Kernel timing", nullptr, flags | ImGuiWindowFlags_NoScrollbar)) {
        rect(ui::DashWindow::timing);
        ImGui::TextColored({0.55f, 0.75f, 1.0f, 1.0f}, "%s", ui::hop_headline(ctx).c_str());
        ui::tip("Connectivity of the whole pattern (all layers), beside its cost.");
        timing_view_.draw(state_, ctx, actions);
    }
    ImGui::End();

    place(L + M, heat_h + timing_h, R, ds.y - heat_h - timing_h);
    if (ImGui::Begin("Hops", nullptr, flags | ImGuiWindowFlags_NoScrollbar)) {
        rect(ui::DashWindow::hops);
        hop_view_.draw(state_, ctx);
    }
    ImGui::End();

    if (show_advisor_ || opt_.advisor) {
        ImGui::SetNextWindowSize(ImVec2(760, 460), ImGuiCond_FirstUseEver);
        if (ImGui::Begin("Pattern advisor", &show_advisor_)) {
            auto res = advisor_job_.result();
            ui::AdvisorViewData ad;
            ad.result = res.get();
            ad.running = advisor_job_.running();
            ad.done = advisor_job_.done();
            ad.planned = advisor_job_.planned();
            ad.error = advisor_job_.error();
            ad.current_pattern = state_.params.pattern.name;
            ui::AdvisorActions aa;
            if (opt_.advisor && !advisor_started_) {
                aa.start = true;
                advisor_started_ = true;
            }
            advisor_view_.draw(ad, aa);
            if (aa.start) advisor_job_.start(state_.params, advisor_view_.family_path);
            if (aa.cancel) advisor_job_.cancel();
            if (aa.load) {
                state_.params.pattern = *aa.load;
                state_.preset_path.clear();
                status_ = "loaded " + aa.load->name + " from the advisor";
            }
            if (aa.export_flex) {
                try {
                    write_flex_file(*aa.export_flex, aa.flex_path);
                    status_ = "wrote " + aa.flex_path + ": mask_mod of " + aa.export_flex->name + " (FlexAttention)";
                } catch (const std::exception& e) {
                    status_ = e.what();
                }
            }
            if (ad.running) glfwPostEmptyEvent();
        }
        ImGui::End();
    }
    compare_view_.draw_window(state_, &renderer_);
    if (state_.view.show_tour) {
        place(0, ds.y - tour_h, L, tour_h);
        if (ImGui::Begin("Tour (PageUp / PageDown)###Tour", &state_.view.show_tour, flags & ~ImGuiWindowFlags_NoBackground))
            tour_view_.draw(state_, ctx);
        ImGui::End();
    }
    ui::draw_help(&state_.view.show_help);
    layout_dirty_ = false;
    carry_out(actions);
}

// The export of the mask, weights and hops views: a figure (compute/live_figure.h) of what the
// view shows, with title, token axes, legend and caption, never the pointer's tooltip (.svg
// writes SVG). False for the other views and the whole window, which are exported as pixels.
bool App::export_figure(const std::string& path, int view) {
    const bool mask = view == int(ui::DashWindow::mask), heat = view == int(ui::DashWindow::heatmap),
               hops = view == int(ui::DashWindow::hops);
    if (!mask && !heat && !hops) return false;
    try {
        LiveFigureContext c;
        c.name = state_.params.pattern.name.empty() ? std::string("pattern") : state_.params.pattern.name;
        c.n = state_.params.pattern.n;
        c.head = state_.view.head;
        if (int64_t(state_.model.tokens.size()) == c.n)
            for (const std::string& t : state_.model.tokens) c.tokens.push_back(token_label_text(t));
        const bool current = shown_.model && shown_.model->gen == gen_ && shown_.model->error.empty();
        if (current && c.head < int(shown_.model->heads.size())) c.mask = &shown_.model->heads[size_t(c.head)];
        FigureSpec spec;
        if (mask) {
            if (!shown_.mask || shown_.mask->gen != gen_) throw InputError("the mask view is still updating: export once it shows");
            spec = mask_view_figure(c, shown_.mask->image);
        } else if (heat) {
            if (!shown_.heat || shown_.heat->gen != gen_) throw InputError("the weights view is still updating: export once it shows");
            spec = heat_view_figure(c, *shown_.heat, state_.view.heat_scale == ui::ColorScale::log);
        } else {
            spec = hops_view_figure(state_.params.pattern);
        }
        write_figure(path, make_figure(spec));
        status_ = "wrote " + path + " (figure: title, axes, legend, caption)";
    } catch (const std::exception& e) {
        status_ = "could not export: " + std::string(e.what());
    }
    return true;
}

bool App::write_view_png(const std::string& path, const RgbImage& shot, const std::string& view) const {
    for (int k = 0; k < int(ui::DashWindow::count); ++k)
        if (view == ui::kDashWindows[k].key) {
            const ImVec2 sc = ImGui::GetIO().DisplayFramebufferScale;
            const WindowRect& r = rects_[k];
            return write_png(path, shot, int(r.pos.x * sc.x), int(r.pos.y * sc.y), int(r.size.x * sc.x), int(r.size.y * sc.y),
                             opt_.screenshot_scale);
        }
    return write_png(path, shot, 0, 0, 0, 0, opt_.screenshot_scale);
}

void App::script_step() {
    // --bench-changes: like a user dragging a slider, one step at a time, each once the
    // previous update has fully landed and the worker is idle (so each latency is measured from
    // a quiet start: a kernel already running cannot be interrupted).
    if (!results_complete() || !worker_.idle() || Clock::now() < script_next_) return;
    if (script_changes_done_ >= opt_.bench_changes) return;
    scripted_change();
    script_next_ = Clock::now() + std::chrono::milliseconds(300);
}

void App::scripted_change() {
    HeadPattern& h = ui::edited_head(state_.params, 0);
    bool changed = false;
    for (auto& c : h.components) {
        if (c.type == ComponentType::window) c.radius += (script_changes_done_ % 2 ? -1 : 1), changed = true;
        else if (c.type == ComponentType::random) c.seed += 1, changed = true;
        if (changed) break;
    }
    if (!changed) state_.params.data_seed += 1;
    ++script_changes_done_;
}

int App::run() {
    try {
        load_initial();
        if (opt_.tour || opt_.tour_chapter > 0) {
            state_.view.show_tour = true;
            // A resumed session keeps its pattern; a fresh tour (or an explicit chapter) sets it.
            if (opt_.tour_chapter > 0 || opt_.session_path.empty())
                ui::go_to_chapter(state_, opt_.tour_chapter > 0 ? opt_.tour_chapter - 1 : state_.view.tour_chapter);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "salab: %s\n", e.what());
        return 1;
    }
    const bool screenshot = !opt_.screenshot.empty();
    const auto start = Clock::now();
    int frames_after_ready = 0;
    int frames_after_change = -1;  // --screenshot-change: -1 until the change is made
    bool ready_logged = false;
    auto last_frame = Clock::now();
    auto stats_window_start = Clock::now();
    int exit_code = 0;

    // Frames are drawn when something happens (input, results, a few frames after either so
    // hover states settle) and twice a second otherwise: the CPU is left to compute, which on
    // lavapipe shares the cores with drawing.
    int frames_left = 3;
    Clock::time_point idle_phase_start{};
    while (!glfwWindowShouldClose(window_)) {
        const bool continuous = screenshot || opt_.bench_changes > 0 || want_capture_;
        if (frames_left > 0 || continuous || g_input) glfwPollEvents();
        else glfwWaitEventsTimeout(0.5);
        if (std::exchange(g_input, false)) frames_left = 3;
        if (take_results()) frames_left = std::max(frames_left, 2);
        if (g_keys.apply(ImGui::GetIO())) frames_left = std::max(frames_left, 2);  // events left for the next frame
        frames_left = std::max(0, frames_left - 1);
        ImGui_ImplVulkan_NewFrame();
        ImGui_ImplGlfw_NewFrame();
        // Screenshots and exports show the views, not whatever the pointer happens to hover: an
        // export asked for in the last frame is captured in this one, drawn without the pointer.
        const bool capture_now = want_capture_;
        if (screenshot || capture_now) ImGui::GetIO().MousePos = {-FLT_MAX, -FLT_MAX};
        ImGui::NewFrame();
        handle_shortcuts();
        if (opt_.bench_changes > 0) script_step();
        // --screenshot-change: the views right after a change, still showing the old results.
        if (opt_.screenshot_change && frames_after_change < 0 && results_complete() && worker_.idle()) {
            scripted_change();
            frames_after_change = 0;
        } else if (frames_after_change >= 0) {
            ++frames_after_change;
        }
        const auto ui_t0 = Clock::now();
        draw_windows();
        // One rule for the hop token whichever way n changed (slider, keys, tour, session,
        // advisor): it keeps its relative place, unless it was set for the new n in this frame.
        state_.view.hop_token = int(ui::carry_token(token_n_, token_at_, state_.params.pattern.n, state_.view.hop_token));
        token_n_ = state_.params.pattern.n, token_at_ = state_.view.hop_token;
        if (mask_view_.click_pending()) frames_left = std::max(frames_left, 1);  // a click waiting out the double-click time
        post_if_changed();
        ImGui::Render();
        const auto render_t0 = Clock::now();
        if (opt_.stats) ui_ms_.push_back(std::chrono::duration<double, std::milli>(render_t0 - ui_t0).count());
        vtx_count_ = ImGui::GetDrawData()->TotalVtxCount;

        const bool ready = results_complete() || seconds_since(start) > opt_.wait_s;
        if (ready && !ready_logged && opt_.stats) {
            std::printf("salab: first results after %.2f s\n", seconds_since(start));
            ready_logged = true;
        }
        if (ready) ++frames_after_ready;
        bool finish = false;
        RgbImage shot;
        const bool script_done = opt_.bench_changes > 0 && script_changes_done_ >= opt_.bench_changes && results_complete();
        const bool change_done = !opt_.screenshot_change || frames_after_change >= opt_.frames;
        if (screenshot && frames_after_ready >= opt_.frames && (opt_.bench_changes == 0 || script_done) &&
            change_done) {
            renderer_.render(ImGui::GetDrawData(), &shot);
            finish = true;
            if (shot.w == 0) {
                std::fprintf(stderr, "salab: this surface cannot be read back (no TRANSFER_SRC on the swapchain)\n");
                exit_code = 1;
            } else if (!write_view_png(opt_.screenshot, shot, opt_.screenshot_view)) {
                std::fprintf(stderr, "salab: cannot write %s\n", opt_.screenshot.c_str());
                exit_code = 1;
            } else {
                if (!opt_.export_figure.empty()) {
                    int view = -1;
                    for (int k = 0; k < int(ui::DashWindow::count); ++k)
                        if (opt_.screenshot_view == ui::kDashWindows[k].key) view = k;
                    if (!export_figure(opt_.export_figure, view)) status_ = "--export-figure needs --screenshot-view mask, heatmap or hops";
                    std::printf("salab: %s\n", status_.c_str());
                    if (status_.rfind("wrote ", 0) != 0) exit_code = 2;
                }
                const ImageStats st = image_stats(shot);
                std::printf("salab: screenshot %s %dx%d colours=%d stddev=%.1f%s\n", opt_.screenshot.c_str(), shot.w, shot.h,
                            st.colours, st.stddev, results_complete() ? "" : " (results incomplete: timed out)");
            }
        } else if (capture_now) {
            renderer_.render(ImGui::GetDrawData(), &shot);
            want_capture_ = false;
            bool ok = false;
            if (shot.w > 0) {
                if (capture_rect_ >= 0 && capture_rect_ < int(ui::DashWindow::count)) {
                    const ImVec2 sc = ImGui::GetIO().DisplayFramebufferScale;
                    const WindowRect& r = rects_[capture_rect_];
                    ok = write_png(capture_path_, shot, int(r.pos.x * sc.x), int(r.pos.y * sc.y), int(r.size.x * sc.x),
                                   int(r.size.y * sc.y));
                } else {
                    ok = write_png(capture_path_, shot);
                }
            }
            if (ok) status_ = "wrote " + capture_path_;
            else status_ = "could not write " + capture_path_;
        } else {
            renderer_.render(ImGui::GetDrawData());
        }
        // After the last scripted change has fully landed, ~3 s more of frames with the worker
        // idle, so the idle frame rate has a sample of its own.
        if (!screenshot && opt_.bench_changes > 0 && script_done) {
            if (idle_phase_start == Clock::time_point{}) {
                if (worker_.idle()) idle_phase_start = Clock::now();  // (the timing refinement may still run)
            }
            else if (seconds_since(idle_phase_start) > 3.0) finish = true;
        }

        const auto now = Clock::now();
        const double ms = std::chrono::duration<double, std::milli>(now - last_frame).count();
        if (opt_.stats) {  // (kept only when asked for: a session can run for days)
            render_ms_.push_back(std::chrono::duration<double, std::milli>(now - render_t0).count());
            frame_ms_.push_back(ms);
            (worker_.idle() ? idle_frame_ms_ : busy_frame_ms_).push_back(ms);
        }
        last_frame = now;
        if (opt_.stats && std::chrono::duration<double>(now - stats_window_start).count() > 5.0 && opt_.bench_changes == 0) {
            std::printf("salab: n=%lld  %.1f fps (median frame %.1f ms, p95 %.1f ms)\n", (long long)state_.params.pattern.n,
                        1000.0 / std::max(1e-3, percentile(frame_ms_, 0.5)), percentile(frame_ms_, 0.5), percentile(frame_ms_, 0.95));
            frame_ms_.clear();
            stats_window_start = now;
        }
        if (finish) break;
        // Without a display rate to pace FIFO (Xvfb), cap the frame rate to leave the CPU to
        // compute: ~60 fps when idle, ~36 while the worker runs (on a CPU device such as
        // lavapipe, every frame drawn is CPU time the kernels do not get).
        const double cap = worker_.idle() ? 1.0 / 60.0 : 1.0 / 36.0;
        const double frame_s = std::chrono::duration<double>(Clock::now() - now).count() + ms / 1000.0;
        if (frame_s < cap && !screenshot) std::this_thread::sleep_for(std::chrono::duration<double>(cap - ms / 1000.0));
    }
    if (opt_.stats) {
        std::printf(
            "salab: stats n=%lld frames=%zu fps_median=%.1f frame_ms_p50=%.1f frame_ms_p95=%.1f "
            "busy_fps=%.1f busy_fps_p10=%.1f (%zu frames) idle_fps=%.1f (%zu frames) vertices=%d ui_ms_p50=%.1f "
            "render_ms_p50=%.1f mask_latency_ms_p50=%.0f timing_latency_ms_p50=%.0f changes=%zu "
            "update_latency_ms_p50=%.0f update_latency_ms_max=%.0f complete_latency_ms_p50=%.0f updates=%zu "
            "scripted_changes=%d\n",
            (long long)state_.params.pattern.n, frame_ms_.size(), 1000.0 / std::max(1e-3, percentile(frame_ms_, 0.5)),
            percentile(frame_ms_, 0.5), percentile(frame_ms_, 0.95),
            1000.0 / std::max(1e-3, percentile(busy_frame_ms_, 0.5)),
            1000.0 / std::max(1e-3, percentile(busy_frame_ms_, 0.9)), busy_frame_ms_.size(),
            1000.0 / std::max(1e-3, percentile(idle_frame_ms_, 0.5)), idle_frame_ms_.size(), vtx_count_,
            percentile(ui_ms_, 0.5), percentile(render_ms_, 0.5), percentile(mask_latency_ms_, 0.5),
            percentile(timing_latency_ms_, 0.5), mask_latency_ms_.size(), percentile(update_latency_ms_, 0.5),
            percentile(update_latency_ms_, 1.0), percentile(complete_latency_ms_, 0.5), update_latency_ms_.size(),
            script_changes_done_);
    }
    worker_.cancel_sweep();
    renderer_.wait_idle();
    return exit_code;
}

}  // namespace

int run_app(const AppOptions& options) {
    // Compute pools leave the frame loop a core (their threads also run at lower priority).
    reserve_cpus(1);
    GlfwWindow win;
    glfwSetErrorCallback(glfw_error);
    if (!glfwInit()) {
        std::fprintf(stderr, "salab: cannot open the display (%s); run under xvfb-run or use salab-cli render\n",
                     g_glfw_error.empty() ? "glfwInit failed" : g_glfw_error.c_str());
        return 2;
    }
    win.initialised = true;
    if (!glfwVulkanSupported()) {
        std::fprintf(stderr, "salab: no Vulkan loader or driver found (install mesa-vulkan-drivers for lavapipe)\n");
        return 3;
    }
    glfwWindowHint(GLFW_CLIENT_API, GLFW_NO_API);
    win.window = glfwCreateWindow(options.width, options.height, "Sparse Attention Lab", nullptr, nullptr);
    if (!win.window) {
        std::fprintf(stderr, "salab: cannot create a window (%s)\n", g_glfw_error.c_str());
        return 2;
    }
    std::string err;
    std::unique_ptr<Renderer> renderer = Renderer::create(win.window, &err);
    if (!renderer) {
        std::fprintf(stderr, "salab: no Vulkan device for the window: %s\n", err.c_str());
        return 3;
    }
    int code = 0;
    {
        ImGuiScope imgui;
        ImGuiIO& io = ImGui::GetIO();
        io.IniFilename = nullptr;  // the layout is computed; sessions hold the rest
        ImGui::StyleColorsDark();
        float xs = 1, ys = 1;
        glfwGetWindowContentScale(win.window, &xs, &ys);
        const float scale = std::clamp(std::max(xs, ys), 1.0f, 4.0f);
        ImGuiStyle& style = ImGui::GetStyle();
        style.WindowRounding = 4;
        style.FrameRounding = 3;
        style.ScaleAllSizes(scale);
        const char* font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
        if (std::filesystem::exists(font)) io.Fonts->AddFontFromFileTTF(font, std::round(15.0f * scale));
        else io.FontGlobalScale = scale;
        glfwSetCursorPosCallback(win.window, on_cursor);
        glfwSetMouseButtonCallback(win.window, on_button);
        glfwSetScrollCallback(win.window, on_scroll);
        glfwSetKeyCallback(win.window, on_key);
        glfwSetCharCallback(win.window, on_char);
        glfwSetFramebufferSizeCallback(win.window, on_size);
        glfwSetWindowFocusCallback(win.window, on_focus);
        glfwSetCursorEnterCallback(win.window, on_enter);
        imgui.glfw = ImGui_ImplGlfw_InitForVulkan(win.window, true);
        glfwSetKeyCallback(win.window, on_key_queued);  // (the backend restores on_key at shutdown)
        try {
            renderer->init_imgui();
            renderer->upload_fonts();
            App app(options, win.window, *renderer);
            code = app.run();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "salab: %s\n", e.what());
            code = 1;
        }
        renderer->wait_idle();
        renderer.reset();  // ImGui's Vulkan backend shuts down with it, before the ImGui context
    }
    return code;
}

}  // namespace salab::gui
