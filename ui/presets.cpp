#include "presets.h"

#include <algorithm>
#include <filesystem>

namespace salab::ui {

namespace fs = std::filesystem;

std::string find_presets_dir(const std::string& exe_dir, const std::string& fallback) {
    std::vector<fs::path> candidates;
    if (!exe_dir.empty()) {
        candidates.push_back(fs::path(exe_dir) / ".." / "assets" / "presets");
        candidates.push_back(fs::path(exe_dir) / ".." / ".." / "assets" / "presets");
    }
    candidates.push_back(fs::current_path() / "assets" / "presets");
    if (!fallback.empty()) candidates.push_back(fs::path(fallback) / "assets" / "presets");
    std::error_code ec;
    for (const auto& c : candidates)
        if (fs::is_directory(c, ec)) return fs::weakly_canonical(c, ec).string();
    return "";
}

std::vector<PresetInfo> list_presets(const std::string& dir) {
    std::vector<PresetInfo> out;
    std::error_code ec;
    if (dir.empty() || !fs::is_directory(dir, ec)) return out;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (e.path().extension() != ".json") continue;
        PresetInfo p;
        p.path = e.path().string();
        p.name = e.path().stem().string();
        try {
            const Pattern pat = load_pattern(p.path);
            if (!pat.name.empty()) p.name = pat.name;
            p.description = pat.description;
        } catch (const std::exception& ex) {
            p.error = ex.what();
        }
        out.push_back(std::move(p));
    }
    std::sort(out.begin(), out.end(), [](const PresetInfo& a, const PresetInfo& b) { return a.path < b.path; });
    return out;
}

Pattern default_pattern() {
    Pattern p;
    p.name = "BigBird-ish";
    p.description = "Sliding window of 3, one global token, 2 random keys per query.";
    p.n = 4096;
    HeadPattern h;
    Component w;
    w.type = ComponentType::window;
    w.radius = 3;
    Component g;
    g.type = ComponentType::global;
    g.first = 1;
    Component r;
    r.type = ComponentType::random;
    r.per_query = 2;
    r.seed = 7;
    h.components = {w, g, r};
    p.layers = {Layer{{h}}};
    return p;
}

}  // namespace salab::ui
