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
        p.path = preset_key(e.path().string());
        p.name = e.path().stem().string();
        try {
            const Pattern pat = load_pattern(p.path);
            if (!pat.name.empty()) p.name = pat.name;
            p.description = pat.description;
            p.pattern = pat;
        } catch (const std::exception& ex) {
            p.error = ex.what();
        }
        out.push_back(std::move(p));
    }
    std::sort(out.begin(), out.end(), [](const PresetInfo& a, const PresetInfo& b) { return a.path < b.path; });
    return out;
}

std::string preset_key(const std::string& path) {
    if (path.empty()) return "";
    std::error_code ec;
    const fs::path abs = fs::weakly_canonical(fs::absolute(path, ec), ec);
    return ec ? fs::path(path).lexically_normal().string() : abs.string();
}

PresetMatch match_preset(const std::vector<PresetInfo>& presets, const std::string& preset_path, const Pattern& shown) {
    PresetMatch m;
    for (const PresetInfo& pr : presets)
        if (!preset_path.empty() && pr.error.empty() && pr.path == preset_path) m.preset = &pr;
    if (!m.preset) {
        m.label = "(custom)";  // built in, from the advisor, or a file outside the presets
        return m;
    }
    // n is a size, not the pattern: a preset opened at another n is still that preset.
    Pattern same_n = shown;
    same_n.n = m.preset->pattern.n;
    m.edited = !(same_n == m.preset->pattern);
    m.label = m.preset->name + (m.edited ? " (edited)" : "");
    return m;
}

namespace {

std::string component_summary(const Component& c) {
    const auto num = [](int64_t v) { return std::to_string(v); };
    switch (c.type) {
    case ComponentType::window:
        return "window r=" + num(c.radius) + (c.dilation > 1 ? " dil " + num(c.dilation) : "");
    case ComponentType::global: {
        std::string s = "global";
        if (c.first > 0) s += " first " + num(c.first);
        if (c.every > 0) s += " every " + num(c.every);
        if (!c.tokens.empty()) s += " +" + num(int64_t(c.tokens.size())) + " tokens";
        return s == "global" ? "global (none)" : s;
    }
    case ComponentType::random: return "random " + num(c.per_query) + "/query";
    case ComponentType::strided: return "strided l=" + num(c.stride);
    case ComponentType::fixed: return "fixed l=" + num(c.block) + " c=" + num(c.summary);
    case ComponentType::block:
        return "block b=" + num(c.block) + " (window " + num(c.window_blocks) + ", global " + num(c.global_blocks) +
               ", random " + num(c.random_blocks) + ")";
    case ComponentType::lsh: return "lsh " + num(c.buckets) + " buckets x " + num(c.rounds);
    case ComponentType::topk: return "top-" + num(c.k);
    case ComponentType::dense: return "dense";
    }
    return "?";
}

}  // namespace

std::string pattern_summary(const Pattern& p, int layer, int head) {
    if (p.layers.empty()) return "";
    const Layer& l = p.layers[size_t(std::clamp(layer, 0, int(p.layers.size()) - 1))];
    if (l.heads.empty()) return "";
    const HeadPattern& h = l.heads[size_t(std::clamp(head, 0, int(l.heads.size()) - 1))];
    std::string s;
    for (const Component& c : h.components) s += (s.empty() ? "" : " + ") + component_summary(c);
    if (s.empty()) s = "no components";
    s += h.causal ? "; causal" : "; bidirectional";
    if (!p.is_flat())
        s += " (layer " + std::to_string(layer) + " of " + std::to_string(p.layers.size()) + ", head " + std::to_string(head) + ")";
    return s;
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
