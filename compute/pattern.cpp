// Pattern JSON: parsing with one-line errors, validation, serialisation.
#include "pattern.h"

#include "file_io.h"
#include "size_limits.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

namespace salab {

namespace {

using nlohmann::json;
using ordered_json = nlohmann::ordered_json;

constexpr std::array<std::pair<ComponentType, std::string_view>, 9> type_names{{
    {ComponentType::window, "window"},
    {ComponentType::global, "global"},
    {ComponentType::random, "random"},
    {ComponentType::strided, "strided"},
    {ComponentType::fixed, "fixed"},
    {ComponentType::block, "block"},
    {ComponentType::lsh, "lsh"},
    {ComponentType::topk, "topk"},
    {ComponentType::dense, "dense"},
}};

// The keys each component type accepts besides "type", in the order to_json writes them.
std::vector<std::string_view> keys_of(ComponentType t) {
    switch (t) {
    case ComponentType::window:
        return {"radius", "dilation"};
    case ComponentType::global:
        return {"first", "every", "tokens"};
    case ComponentType::random:
        return {"per_query", "seed"};
    case ComponentType::strided:
        return {"stride"};
    case ComponentType::fixed:
        return {"block", "summary"};
    case ComponentType::block:
        return {"block", "window_blocks", "global_blocks", "random_blocks", "seed"};
    case ComponentType::lsh:
        return {"buckets", "rounds", "seed"};
    case ComponentType::topk:
        return {"k"};
    case ComponentType::dense:
        return {};
    }
    return {};
}

[[noreturn]] void fail(const std::string& msg) {
    throw InputError("pattern: " + msg);
}

std::string join(const std::vector<std::string_view>& words, std::string_view last_sep) {
    std::string s;
    for (size_t i = 0; i < words.size(); ++i) {
        if (i > 0)
            s += (i + 1 == words.size()) ? std::string(last_sep) : std::string(", ");
        s += words[i];
    }
    return s;
}

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j)
        prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

// "; did you mean "radius"?" when one candidate is close, else "".
std::string suggestion(std::string_view got, const std::vector<std::string_view>& candidates) {
    std::string_view best;
    size_t best_d = 3;
    for (auto c : candidates) {
        size_t d = edit_distance(got, c);
        if (d < best_d)
            best_d = d, best = c;
    }
    return best.empty() ? std::string() : "; did you mean \"" + std::string(best) + "\"?";
}

// Appends at most about `budget` characters of v, one line; containers are walked only as far
// as the budget reaches, never whole (a value nested or long enough would otherwise cost its
// full size, or recursion depth, for a 40-character message).
void brief(const json& v, std::string& out, size_t budget, int depth) {
    if (out.size() > budget)
        return;
    if (v.is_array() || v.is_object()) {
        if (depth > 8) {
            out += v.is_array() ? "[...]" : "{...}";
            return;
        }
        out += v.is_array() ? '[' : '{';
        bool first = true;
        for (auto it = v.begin(); it != v.end(); ++it) {
            if (out.size() > budget)
                break;
            if (!first)
                out += ',';
            first = false;
            if (v.is_object())
                out += json(it.key()).dump(-1, ' ', false, json::error_handler_t::replace) + ':';
            brief(*it, out, budget, depth + 1);
        }
        if (out.size() <= budget)
            out += v.is_array() ? ']' : '}';
        return;
    }
    if (v.is_string()) {
        const auto& str = v.get_ref<const std::string&>();
        out += json(str.substr(0, std::min<size_t>(str.size(), budget + 1)))
                   .dump(-1, ' ', false, json::error_handler_t::replace);
        return;
    }
    out += v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A JSON value for an error message: one line, short.
std::string show(const json& v) {
    std::string s;
    brief(v, s, 40, 0);
    if (s.size() > 40)
        s = s.substr(0, 37) + "...";
    return s;
}

void check_keys(const json& obj, const std::vector<std::string_view>& allowed,
                const std::string& where) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        if (std::find(allowed.begin(), allowed.end(), it.key()) != allowed.end())
            continue;
        fail(where + "unknown key " + error_quote(it.key()) + " (expected " +
             (allowed.empty() ? std::string("no parameters") : join(allowed, " or ")) + ")" +
             suggestion(it.key(), allowed));
    }
}

int64_t as_int(const json& v, const std::string& what) {
    if (v.is_number_integer() && !v.is_number_unsigned())
        return v.get<int64_t>();
    if (v.is_number_unsigned()) {
        uint64_t u = v.get<uint64_t>();
        if (u > uint64_t(std::numeric_limits<int64_t>::max()))
            fail(what + " is too large, got " + show(v));
        return int64_t(u);
    }
    if (v.is_number_float()) {
        double x = v.get<double>();
        if (std::isfinite(x) && x == std::floor(x) && std::abs(x) < 9.0e15)
            return int64_t(x);
    }
    fail(what + " must be an integer, got " + show(v));
}

uint64_t as_seed(const json& v, const std::string& what) {
    if (v.is_number_unsigned())
        return v.get<uint64_t>();
    if (v.is_number_integer()) {
        int64_t x = v.get<int64_t>();
        if (x < 0)
            fail(what + " must be a non-negative integer, got " + show(v));
        return uint64_t(x);
    }
    if (v.is_number_float()) {
        double x = v.get<double>();
        if (std::isfinite(x) && x == std::floor(x) && x >= 0 && x < 9.0e15)
            return uint64_t(x);
    }
    fail(what + " must be a non-negative integer, got " + show(v));
}

bool as_bool(const json& v, const std::string& what) {
    if (!v.is_boolean())
        fail(what + " must be true or false, got " + show(v));
    return v.get<bool>();
}

std::string as_string(const json& v, const std::string& what) {
    if (!v.is_string())
        fail(what + " must be a string, got " + show(v));
    return v.get<std::string>();
}

const json& as_array(const json& v, const std::string& what) {
    if (!v.is_array())
        fail(what + " must be an array, got " + show(v));
    return v;
}

std::string component_where(const std::string& prefix, size_t idx) {
    return prefix + "components[" + std::to_string(idx) + "]";
}

Component parse_component(const json& j, const std::string& where) {
    if (!j.is_object())
        fail(where + " must be an object like {\"type\": \"window\", \"radius\": 3}, got " +
             show(j));
    std::vector<std::string_view> names;
    for (auto& [t, name] : type_names)
        names.push_back(name);
    auto type_it = j.find("type");
    if (type_it == j.end())
        fail(where + ": missing \"type\" (one of " + join(names, ", ") + ")");
    std::string type_name = as_string(*type_it, where + ".type");
    Component c;
    auto found = std::find_if(type_names.begin(), type_names.end(),
                              [&](const auto& e) { return e.second == type_name; });
    if (found == type_names.end())
        fail(where + ": unknown component type " + error_quote(type_name) + " (expected one of " +
             join(names, ", ") + ")" + suggestion(type_name, names));
    c.type = found->first;

    const std::string at = where + " (" + type_name + "): ";
    auto allowed = keys_of(c.type);
    allowed.insert(allowed.begin(), "type");
    check_keys(j, allowed, at);

    auto get_int = [&](const char* key, int64_t& field) {
        if (auto it = j.find(key); it != j.end())
            field = as_int(*it, at + key);
    };
    get_int("radius", c.radius);
    get_int("dilation", c.dilation);
    get_int("first", c.first);
    get_int("every", c.every);
    get_int("per_query", c.per_query);
    get_int("stride", c.stride);
    get_int("block", c.block);
    get_int("summary", c.summary);
    get_int("window_blocks", c.window_blocks);
    get_int("global_blocks", c.global_blocks);
    get_int("random_blocks", c.random_blocks);
    get_int("buckets", c.buckets);
    get_int("rounds", c.rounds);
    get_int("k", c.k);
    if (auto it = j.find("seed"); it != j.end())
        c.seed = as_seed(*it, at + "seed");
    if (auto it = j.find("tokens"); it != j.end()) {
        const json& arr = as_array(*it, at + "tokens");
        for (size_t t = 0; t < arr.size(); ++t)
            c.tokens.push_back(as_int(arr[t], at + "tokens[" + std::to_string(t) + "]"));
    }
    return c;
}

HeadPattern parse_head(const json& j, const std::string& prefix, bool default_causal) {
    HeadPattern h;
    h.causal = default_causal;
    if (auto it = j.find("causal"); it != j.end())
        h.causal = as_bool(*it, prefix + "causal");
    auto comps = j.find("components");
    if (comps == j.end())
        fail((prefix.empty() ? std::string() : prefix.substr(0, prefix.size() - 1) + ": ") +
             "missing \"components\" (a list such as [{\"type\": \"window\", \"radius\": 3}])");
    const json& arr = as_array(*comps, prefix + "components");
    for (size_t c = 0; c < arr.size(); ++c)
        h.components.push_back(parse_component(arr[c], component_where(prefix, c)));
    return h;
}

std::string head_prefix(bool stacked, size_t l, size_t h) {
    if (!stacked)
        return "";
    return "layers[" + std::to_string(l) + "].heads[" + std::to_string(h) + "].";
}

void validate_component(const Component& c, int64_t n, const std::string& where) {
    const std::string at = where + " (" + std::string(to_string(c.type)) + "): ";
    auto at_least = [&](const char* name, int64_t v, int64_t lo) {
        if (v < lo)
            fail(at + name + " must be >= " + std::to_string(lo) + ", got " + std::to_string(v));
    };
    switch (c.type) {
    case ComponentType::window:
        at_least("radius", c.radius, 0);
        at_least("dilation", c.dilation, 1);
        break;
    case ComponentType::global:
        at_least("first", c.first, 0);
        at_least("every", c.every, 0);
        for (size_t t = 0; t < c.tokens.size(); ++t)
            if (c.tokens[t] < 0 || c.tokens[t] >= n)
                fail(at + "tokens[" + std::to_string(t) + "] must be in [0, " +
                     std::to_string(n - 1) + "] (n = " + std::to_string(n) + "), got " +
                     std::to_string(c.tokens[t]));
        break;
    case ComponentType::random:
        at_least("per_query", c.per_query, 0);
        break;
    case ComponentType::strided:
        at_least("stride", c.stride, 1);
        break;
    case ComponentType::fixed:
        at_least("block", c.block, 1);
        if (c.summary < 1 || c.summary > c.block)
            fail(at + "summary must be in [1, block] = [1, " + std::to_string(c.block) + "], got " +
                 std::to_string(c.summary));
        break;
    case ComponentType::block:
        at_least("block", c.block, 1);
        at_least("window_blocks", c.window_blocks, 0);
        at_least("global_blocks", c.global_blocks, 0);
        at_least("random_blocks", c.random_blocks, 0);
        break;
    case ComponentType::lsh:
        if (c.buckets < 2 || c.buckets % 2 != 0 || c.buckets > 65536)
            fail(at + "buckets must be even and in [2, 65536], got " + std::to_string(c.buckets));
        if (c.rounds < 1 || c.rounds > 64)
            fail(at + "rounds must be in [1, 64], got " + std::to_string(c.rounds));
        break;
    case ComponentType::topk:
        at_least("k", c.k, 1);
        break;
    case ComponentType::dense:
        break;
    }
}

ordered_json component_to_json(const Component& c) {
    ordered_json j;
    j["type"] = std::string(to_string(c.type));
    for (auto key : keys_of(c.type)) {
        std::string k(key);
        if (k == "radius")
            j[k] = c.radius;
        else if (k == "dilation")
            j[k] = c.dilation;
        else if (k == "first")
            j[k] = c.first;
        else if (k == "every")
            j[k] = c.every;
        else if (k == "tokens")
            j[k] = c.tokens;
        else if (k == "per_query")
            j[k] = c.per_query;
        else if (k == "seed")
            j[k] = c.seed;
        else if (k == "stride")
            j[k] = c.stride;
        else if (k == "block")
            j[k] = c.block;
        else if (k == "summary")
            j[k] = c.summary;
        else if (k == "window_blocks")
            j[k] = c.window_blocks;
        else if (k == "global_blocks")
            j[k] = c.global_blocks;
        else if (k == "random_blocks")
            j[k] = c.random_blocks;
        else if (k == "buckets")
            j[k] = c.buckets;
        else if (k == "rounds")
            j[k] = c.rounds;
        else if (k == "k")
            j[k] = c.k;
    }
    return j;
}

ordered_json head_to_json(const HeadPattern& h) {
    ordered_json j;
    j["causal"] = h.causal;
    j["components"] = ordered_json::array();
    for (const auto& c : h.components)
        j["components"].push_back(component_to_json(c));
    return j;
}

}  // namespace

static void validate_paths(const Pattern& p, bool stacked);

std::string_view to_string(ComponentType t) {
    for (auto& [type, name] : type_names)
        if (type == t)
            return name;
    return "?";
}

std::optional<ComponentType> component_type_from_string(std::string_view name) {
    for (auto& [type, n] : type_names)
        if (n == name)
            return type;
    return std::nullopt;
}

bool needs_qk(const Component& c) {
    return c.type == ComponentType::lsh || c.type == ComponentType::topk;
}

bool Pattern::needs_qk() const {
    for (const auto& l : layers)
        for (const auto& h : l.heads)
            for (const auto& c : h.components)
                if (salab::needs_qk(c))
                    return true;
    return false;
}

Pattern parse_pattern(std::string_view json_text) {
    check_json_depth(json_text, "pattern");
    json root;
    try {
        root = json::parse(json_text.begin(), json_text.end());
    } catch (const json::parse_error& e) {
        std::string what = e.what();
        // Drop nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 5: ".
        if (auto p = what.find("] "); p != std::string::npos)
            what = what.substr(p + 2);
        if (what.rfind("parse error", 0) == 0)
            if (auto p = what.find(": "); p != std::string::npos)
                what = what.substr(p + 2);
        std::replace(what.begin(), what.end(), '\n', ' ');
        if (what.size() > 160)  // "last read: '<a megabyte of digits>'"
            what = what.substr(0, 157) + "...";
        // nlohmann counts bytes from 1; line and column help in a multi-line file.
        const size_t upto = std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, json_text.size());
        const size_t line = 1 + size_t(std::count(json_text.begin(),
                                                  json_text.begin() + std::ptrdiff_t(upto), '\n'));
        const size_t line_start = json_text.rfind('\n', upto == 0 ? 0 : upto - 1);
        const size_t column =
            line_start == std::string_view::npos || upto == 0 ? upto + 1 : upto - line_start;
        fail("invalid JSON at byte " + std::to_string(e.byte) + " (line " + std::to_string(line) +
             ", column " + std::to_string(column) + "): " + what);
    } catch (const json::exception& e) {
        // e.g. out_of_range.406 "number overflow parsing '1e999'"
        std::string what = e.what();
        if (auto p = what.find("] "); p != std::string::npos)
            what = what.substr(p + 2);
        std::replace(what.begin(), what.end(), '\n', ' ');
        if (what.size() > 160)
            what = what.substr(0, 157) + "...";
        fail("invalid JSON: " + what);
    }
    if (!root.is_object())
        fail("expected a JSON object like {\"name\": ..., \"n\": 1024, \"components\": [...]}, "
             "got " +
             show(root));

    check_keys(root, {"name", "description", "n", "causal", "components", "layers"}, "");
    Pattern p;
    if (auto it = root.find("name"); it != root.end())
        p.name = as_string(*it, "name");
    if (auto it = root.find("description"); it != root.end())
        p.description = as_string(*it, "description");
    auto n_it = root.find("n");
    if (n_it == root.end())
        fail("missing \"n\" (the number of tokens, e.g. \"n\": 1024)");
    p.n = as_int(*n_it, "n");

    bool has_components = root.contains("components"), has_layers = root.contains("layers");
    if (has_components && has_layers)
        fail("has both \"components\" and \"layers\"; use \"components\" for one head or "
             "\"layers\" for a stack");
    if (!has_components && !has_layers)
        fail("missing \"components\" (a flat pattern) or \"layers\" (a stack of layers of heads)");

    if (has_components) {
        p.layers.push_back(Layer{{parse_head(root, "", false)}});
    } else {
        // A top-level "causal" is the default for heads that do not say.
        bool default_causal = false;
        if (auto it = root.find("causal"); it != root.end())
            default_causal = as_bool(*it, "causal");
        const json& layers = as_array(root["layers"], "layers");
        for (size_t l = 0; l < layers.size(); ++l) {
            const std::string lw = "layers[" + std::to_string(l) + "]";
            const json& lj = layers[l];
            if (!lj.is_object())
                fail(lw + " must be an object like {\"heads\": [...]}, got " + show(lj));
            check_keys(lj, {"heads"}, lw + ": ");
            auto heads_it = lj.find("heads");
            if (heads_it == lj.end())
                fail(lw +
                     ": missing \"heads\" (a list of {\"causal\": ..., \"components\": [...]})");
            const json& heads = as_array(*heads_it, lw + ".heads");
            Layer layer;
            for (size_t h = 0; h < heads.size(); ++h) {
                const std::string hw = lw + ".heads[" + std::to_string(h) + "]";
                const json& hj = heads[h];
                if (!hj.is_object())
                    fail(
                        hw +
                        " must be an object like {\"causal\": false, \"components\": [...]}, got " +
                        show(hj));
                // A head entry is a pattern without n; its name/description are accepted and
                // ignored.
                check_keys(hj, {"causal", "components", "name", "description"}, hw + ": ");
                if (auto it = hj.find("name"); it != hj.end())
                    as_string(*it, hw + ".name");
                if (auto it = hj.find("description"); it != hj.end())
                    as_string(*it, hw + ".description");
                layer.heads.push_back(parse_head(hj, hw + ".", default_causal));
            }
            p.layers.push_back(std::move(layer));
        }
    }
    validate_paths(p, has_layers);
    return p;
}

Pattern load_pattern(const std::string& path) {
    const std::string text = read_file_limited(path, max_pattern_file_bytes, "pattern");
    try {
        return parse_pattern(text);
    } catch (const InputError& e) {
        std::string what = e.what();
        if (what.rfind("pattern: ", 0) == 0)
            what = what.substr(9);
        throw InputError("pattern " + path + ": " + what);
    }
}

// Paths in messages follow the source's shape: "components[0]" or
// "layers[0].heads[0].components[0]".
static void validate_paths(const Pattern& p, bool stacked) {
    if (p.n < 1 || p.n > max_tokens)
        fail("n must be in [1, " + std::to_string(max_tokens) + "], got " + std::to_string(p.n));
    if (p.layers.empty())
        fail("layers must not be empty (add {\"heads\": [...]})");
    for (size_t l = 0; l < p.layers.size(); ++l) {
        if (p.layers[l].heads.empty())
            fail("layers[" + std::to_string(l) +
                 "].heads must not be empty (add {\"causal\": false, \"components\": [...]})");
        for (size_t h = 0; h < p.layers[l].heads.size(); ++h) {
            const auto& head = p.layers[l].heads[h];
            const std::string prefix = head_prefix(stacked, l, h);
            if (head.components.size() > max_components)
                fail((prefix.empty() ? std::string() : prefix) + "components has " +
                     std::to_string(head.components.size()) + " entries; at most " +
                     std::to_string(max_components) + " are allowed");
            for (size_t c = 0; c < head.components.size(); ++c)
                validate_component(head.components[c], p.n, component_where(prefix, c));
        }
    }
}

void validate(const Pattern& p) {
    validate_paths(p, !p.is_flat());
}

std::string to_json(const Pattern& p, int indent) {
    ordered_json j;
    j["name"] = p.name;
    if (!p.description.empty())
        j["description"] = p.description;
    j["n"] = p.n;
    if (p.is_flat()) {
        auto head = head_to_json(p.layers[0].heads[0]);
        j["causal"] = head["causal"];
        j["components"] = head["components"];
    } else {
        j["layers"] = ordered_json::array();
        for (const auto& l : p.layers) {
            ordered_json lj;
            lj["heads"] = ordered_json::array();
            for (const auto& h : l.heads)
                lj["heads"].push_back(head_to_json(h));
            j["layers"].push_back(lj);
        }
    }
    return j.dump(indent);
}

Pattern with_n(Pattern p, int64_t n) {
    p.n = n;
    validate(p);
    return p;
}

}  // namespace salab
