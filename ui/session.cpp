#include "session.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace salab::ui {

using nlohmann::json;

namespace {

const char* source_name(QkSource s) {
    switch (s) {
    case QkSource::structured: return "structured";
    case QkSource::gaussian: return "gaussian";
    case QkSource::npy: return "npy";
    }
    return "structured";
}

QkSource source_from(const std::string& s) {
    if (s == "gaussian") return QkSource::gaussian;
    if (s == "npy") return QkSource::npy;
    if (s == "structured") return QkSource::structured;
    throw InputError("session: params.source must be structured, gaussian or npy, got \"" + s + "\"");
}

template <class T>
void get(const json& j, const char* key, T& out) {
    if (j.contains(key)) out = j.at(key).get<T>();
}

}  // namespace

std::string session_to_json(const AppState& s) {
    json j;
    j["salab_session"] = 1;
    j["pattern"] = json::parse(to_json(s.params.pattern));
    j["preset"] = s.preset_path;
    const Params& p = s.params;
    j["params"] = {{"d", p.d},           {"heads", p.heads},       {"layer", p.layer},
                   {"device", p.device}, {"source", source_name(p.source)}, {"data_seed", p.data_seed},
                   {"q", p.q_path},      {"k", p.k_path},          {"v", p.v_path}};
    const ViewSettings& v = s.view;
    j["view"] = {{"head", v.head},
                 {"color_by_component", v.color_by_component},
                 {"show_blocks", v.show_blocks},
                 {"show_minimap", v.show_minimap},
                 {"show_hop_overlay", v.show_hop_overlay},
                 {"heat_scale", v.heat_scale == ColorScale::log ? "log" : "linear"},
                 {"heat_show_diff", v.heat_show_diff},
                 {"hop_token", v.hop_token},
                 {"hop_to", v.hop_to},
                 {"hop_depth", v.hop_depth}};
    return j.dump(2);
}

AppState session_from_json(std::string_view text) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        throw InputError(std::string("session: invalid JSON: ") + e.what());
    }
    if (!j.is_object() || !j.contains("pattern")) throw InputError("session: expected an object with \"pattern\"");
    AppState s;
    s.params.pattern = parse_pattern(j.at("pattern").dump());
    try {
        get(j, "preset", s.preset_path);
        if (j.contains("params")) {
            const json& p = j.at("params");
            get(p, "d", s.params.d);
            get(p, "heads", s.params.heads);
            get(p, "layer", s.params.layer);
            get(p, "device", s.params.device);
            if (p.contains("source")) s.params.source = source_from(p.at("source").get<std::string>());
            get(p, "data_seed", s.params.data_seed);
            get(p, "q", s.params.q_path);
            get(p, "k", s.params.k_path);
            get(p, "v", s.params.v_path);
        }
        if (j.contains("view")) {
            const json& v = j.at("view");
            get(v, "head", s.view.head);
            get(v, "color_by_component", s.view.color_by_component);
            get(v, "show_blocks", s.view.show_blocks);
            get(v, "show_minimap", s.view.show_minimap);
            get(v, "show_hop_overlay", s.view.show_hop_overlay);
            if (v.contains("heat_scale"))
                s.view.heat_scale = v.at("heat_scale").get<std::string>() == "linear" ? ColorScale::linear : ColorScale::log;
            get(v, "heat_show_diff", s.view.heat_show_diff);
            get(v, "hop_token", s.view.hop_token);
            get(v, "hop_to", s.view.hop_to);
            get(v, "hop_depth", s.view.hop_depth);
        }
    } catch (const json::exception& e) {
        throw InputError(std::string("session: ") + e.what());
    }
    if (s.params.layer < 0 || s.params.layer >= s.params.pattern.num_layers()) s.params.layer = 0;
    return s;
}

void save_session(const std::string& path, const AppState& s) {
    std::ofstream f(path);
    if (!f) throw InputError("session " + path + ": cannot write");
    f << session_to_json(s) << "\n";
    if (!f) throw InputError("session " + path + ": write failed");
}

AppState load_session(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw InputError("session " + path + ": cannot open");
    std::stringstream ss;
    ss << f.rdbuf();
    try {
        return session_from_json(ss.str());
    } catch (const InputError& e) {
        throw InputError(path + ": " + e.what());
    }
}

}  // namespace salab::ui
