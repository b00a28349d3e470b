#include "session.h"

#include "file_io.h"
#include "model_qkv.h"
#include "size_limits.h"

#include <nlohmann/json.hpp>

#include <cmath>

namespace salab::ui {

using nlohmann::json;

namespace {

const char* source_name(QkSource s) { return to_string(s); }

QkSource source_from(const std::string& s) {
    QkSource out{};
    if (parse_qkv_source(s, out)) return out;
    throw InputError("session: params.source must be structured, local, sink, broad, gaussian or npy, got \"" + s + "\"");
}

[[noreturn]] void bad(const std::string& key, const std::string& want, const json& v) {
    std::string got = v.is_structured() ? (v.is_array() ? "an array" : "an object")
                                        : v.dump(-1, ' ', false, json::error_handler_t::replace);
    if (got.size() > 40) got = got.substr(0, 37) + "...";
    throw InputError("session: " + key + " must be " + want + ", got " + got);
}

// Typed fields with their ranges: a wrong type or a value out of range names the key.
void get_int(const json& j, const std::string& where, const char* key, int64_t lo, int64_t hi, int64_t& out) {
    auto it = j.find(key);
    if (it == j.end()) return;
    const std::string name = where + "." + key;
    const std::string want = "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    const json& v = *it;
    if (v.is_number_unsigned()) {
        if (v.get<uint64_t>() > uint64_t(hi)) bad(name, want, v);
        out = int64_t(v.get<uint64_t>());
    } else if (v.is_number_integer()) {
        out = v.get<int64_t>();
    } else if (v.is_number_float()) {
        const double x = v.get<double>();
        if (!(x == std::floor(x)) || !(x >= double(lo)) || !(x <= double(hi))) bad(name, want, v);
        out = int64_t(x);
    } else {
        bad(name, want, v);
    }
    if (out < lo || out > hi) bad(name, want, v);
}

template <class T>
void get_int(const json& j, const std::string& where, const char* key, int64_t lo, int64_t hi, T& out) {
    int64_t x = int64_t(out);
    get_int(j, where, key, lo, hi, x);
    out = T(x);
}

void get_seed(const json& j, const std::string& where, const char* key, uint64_t& out) {
    auto it = j.find(key);
    if (it == j.end()) return;
    if (it->is_number_unsigned()) out = it->get<uint64_t>();
    else if (it->is_number_integer() && it->get<int64_t>() >= 0) out = uint64_t(it->get<int64_t>());
    else bad(where + "." + key, "a non-negative integer", *it);
}

void get_bool(const json& j, const std::string& where, const char* key, bool& out) {
    auto it = j.find(key);
    if (it == j.end()) return;
    if (!it->is_boolean()) bad(where + "." + key, "true or false", *it);
    out = it->get<bool>();
}

void get_string(const json& j, const std::string& where, const char* key, std::string& out) {
    auto it = j.find(key);
    if (it == j.end()) return;
    if (!it->is_string()) bad((where.empty() ? "" : where + ".") + key, "a string", *it);
    out = it->get<std::string>();
}

const json* section(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end()) return nullptr;
    if (!it->is_object()) bad(key, "an object", *it);
    return &*it;
}

}  // namespace

std::string session_to_json(const AppState& s) {
    json j;
    j["salab_session"] = 1;
    j["pattern"] = json::parse(to_json(s.params.pattern));
    j["preset"] = s.preset_path;
    const Params& p = s.params;
    j["params"] = {{"d", p.d},
                   {"heads", p.heads},
                   {"layer", p.layer},
                   {"device", p.device},
                   {"source", source_name(p.source)},
                   {"data_seed", p.data_seed},
                   {"q", p.q_path},
                   {"k", p.k_path},
                   {"v", p.v_path},
                   {"kernel_path", std::string(path_name(p.kernel_path))}};
    const ViewSettings& v = s.view;
    j["view"] = {{"head", v.head},
                 {"color_by_component", v.color_by_component},
                 {"show_blocks", v.show_blocks},
                 {"show_minimap", v.show_minimap},
                 {"show_hop_overlay", v.show_hop_overlay},
                 {"heat_scale", v.heat_scale == ColorScale::log ? "log" : "linear"},
                 {"heat_show_diff", v.heat_show_diff},
                 {"heat_follow_mask", v.heat_follow_mask},
                 {"hop_token", v.hop_token},
                 {"hop_to", v.hop_to},
                 {"hop_depth", v.hop_depth},
                 {"show_tour", v.show_tour},
                 {"tour_chapter", v.tour_chapter}};
    if (!s.model.dir.empty()) j["model"] = {{"dir", s.model.dir}, {"layer", s.model.layer}};
    return j.dump(2);
}

AppState session_from_json(std::string_view text) {
    check_json_depth(text, "session");  // every walk of the value below recurses
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        std::string what = e.what();
        if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
        for (char& c : what)
            if (c == '\n') c = ' ';
        if (what.size() > 160) what = what.substr(0, 157) + "...";
        throw InputError("session: invalid JSON: " + what);
    }
    if (!j.is_object() || !j.contains("pattern")) throw InputError("session: expected an object with \"pattern\"");
    AppState s;
    try {
        s.params.pattern = parse_pattern(j.at("pattern").dump());
    } catch (const InputError& e) {
        std::string what = e.what();  // "pattern: ..." -> "session: pattern: ..."
        throw InputError("session: " + what);
    }
    get_string(j, "", "preset", s.preset_path);
    if (const json* p = section(j, "params")) {
        get_int(*p, "params", "d", 1, 256, s.params.d);
        get_int(*p, "params", "heads", 1, 4096, s.params.heads);  // kMaxHeads (attention.h)
        get_int(*p, "params", "layer", 0, 1 << 20, s.params.layer);
        get_int(*p, "params", "device", -1, 1023, s.params.device);
        if (auto it = p->find("source"); it != p->end()) {
            if (!it->is_string()) bad("params.source", "structured, local, sink, broad, gaussian or npy", *it);
            s.params.source = source_from(it->get<std::string>());
        }
        get_seed(*p, "params", "data_seed", s.params.data_seed);
        get_string(*p, "params", "q", s.params.q_path);
        get_string(*p, "params", "k", s.params.k_path);
        get_string(*p, "params", "v", s.params.v_path);
        // Sessions written before the kernel-path setting have none: auto.
        if (auto it = p->find("kernel_path"); it != p->end()) {
            const auto path = it->is_string() ? parse_kernel_path(it->get<std::string>()) : std::nullopt;
            if (!path) bad("params.kernel_path", "one of " + kernel_path_names(), *it);
            s.params.kernel_path = *path;
        }
    }
    if (const json* v = section(j, "view")) {
        get_int(*v, "view", "head", 0, 4095, s.view.head);
        get_bool(*v, "view", "color_by_component", s.view.color_by_component);
        get_bool(*v, "view", "show_blocks", s.view.show_blocks);
        get_bool(*v, "view", "show_minimap", s.view.show_minimap);
        get_bool(*v, "view", "show_hop_overlay", s.view.show_hop_overlay);
        if (auto it = v->find("heat_scale"); it != v->end()) {
            if (!it->is_string() || (*it != "linear" && *it != "log")) bad("view.heat_scale", "\"log\" or \"linear\"", *it);
            s.view.heat_scale = *it == "linear" ? ColorScale::linear : ColorScale::log;
        }
        get_bool(*v, "view", "heat_show_diff", s.view.heat_show_diff);
        get_bool(*v, "view", "heat_follow_mask", s.view.heat_follow_mask);
        get_int(*v, "view", "hop_token", 0, max_tokens - 1, s.view.hop_token);
        get_bool(*v, "view", "hop_to", s.view.hop_to);
        get_int(*v, "view", "hop_depth", 1, 3, s.view.hop_depth);
        get_bool(*v, "view", "show_tour", s.view.show_tour);
        get_int(*v, "view", "tour_chapter", 0, 63, s.view.tour_chapter);
    }
    if (const json* m = section(j, "model")) {
        get_string(*m, "model", "dir", s.model.dir);
        get_int(*m, "model", "layer", 0, kMaxModelLayers - 1, s.model.layer);
    }
    if (s.params.layer < 0 || s.params.layer >= s.params.pattern.num_layers()) s.params.layer = 0;
    return s;
}

void save_session(const std::string& path, const AppState& s) {
    write_file_atomic(path, session_to_json(s) + "\n", "session");
}

AppState load_session(const std::string& path) {
    const std::string text = read_file_limited(path, max_pattern_file_bytes, "session");
    try {
        return session_from_json(text);
    } catch (const InputError& e) {
        throw InputError(path + ": " + e.what());
    }
}

}  // namespace salab::ui
