#include "model_qkv.h"

#include "errors.h"
#include "file_io.h"
#include "npy.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace salab {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& where, const std::string& what) { throw InputError(where + ": " + what); }

std::string shape_text(const std::vector<int64_t>& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

}  // namespace

ModelQkv load_model_qkv(const std::string& path) {
    std::error_code ec;
    const fs::path p(path);
    const fs::path manifest = fs::is_directory(p, ec) ? p / "model.json" : p;
    const std::string where = manifest.string();
    if (!fs::exists(manifest, ec))
        bad(where, "not found (give the directory scripts/qkv_from_hf.py wrote, or its model.json)");
    json j;
    try {
        j = json::parse(read_file_limited(where, 64u << 20, "model.json"));
    } catch (const json::exception& e) {
        bad(where, std::string("not valid JSON (") + e.what() + ")");
    }
    if (!j.is_object() || j.value("format", "") != "salab-qkv-1")
        bad(where, "not a salab Q/K/V manifest (\"format\": \"salab-qkv-1\" missing)");
    ModelQkv m;
    m.dir = manifest.parent_path().string();
    auto num = [&](const char* key, int64_t lo, int64_t hi) {
        if (!j.contains(key) || !j[key].is_number_integer())
            bad(where, std::string("\"") + key + "\" must be an integer");
        const int64_t v = j[key].get<int64_t>();
        if (v < lo || v > hi)
            bad(where, std::string("\"") + key + "\" = " + std::to_string(v) + " is outside [" + std::to_string(lo) +
                           ", " + std::to_string(hi) + "]");
        return v;
    };
    m.layers = int(num("layers", 1, kMaxModelLayers));
    m.heads = int(num("heads", 1, 4096));
    m.n = num("n", 1, int64_t(1) << 20);
    m.d = num("d", 1, 256);
    m.model = j.value("model", "");
    m.text = j.value("text", "");
    m.position = j.value("position", "");
    if (j.contains("tokens")) {
        if (!j["tokens"].is_array()) bad(where, "\"tokens\" must be a list of strings");
        for (const auto& t : j["tokens"]) {
            if (!t.is_string()) bad(where, "\"tokens\" must be a list of strings");
            m.tokens.push_back(t.get<std::string>());
        }
        if (!m.tokens.empty() && int64_t(m.tokens.size()) != m.n)
            bad(where, std::to_string(m.tokens.size()) + " tokens for n = " + std::to_string(m.n));
    }
    if (!j.contains("files") || !j["files"].is_array() || int(j["files"].size()) != m.layers)
        bad(where, "\"files\" must list one {q, k, v} per layer (" + std::to_string(m.layers) + ")");
    const std::vector<int64_t> want = {m.heads, m.n, m.d};
    for (int l = 0; l < m.layers; ++l) {
        const json& f = j["files"][size_t(l)];
        ModelLayerFiles lf;
        for (auto [key, dst] : {std::pair{"q", &lf.q}, std::pair{"k", &lf.k}, std::pair{"v", &lf.v}}) {
            if (!f.is_object() || !f.contains(key) || !f[key].is_string())
                bad(where, "layer " + std::to_string(l) + " has no \"" + key + "\" file");
            const fs::path fp = fs::path(f[key].get<std::string>());
            *dst = (fp.is_absolute() ? fp : manifest.parent_path() / fp).string();
            const NpyInfo info = read_npy_info(*dst);
            if (info.dtype != "<f4" || info.shape != want)
                bad(*dst, "expected float32 " + shape_text(want) + " (layer " + std::to_string(l) + "), got " +
                              info.dtype + " " + shape_text(info.shape));
        }
        m.files.push_back(lf);
    }
    return m;
}

QKV read_model_layer(const ModelQkv& m, int layer) {
    if (layer < 0 || layer >= m.layers)
        throw InputError("layer " + std::to_string(layer) + " is out of range: the model has " +
                         std::to_string(m.layers) + " layers");
    const ModelLayerFiles& f = m.files[size_t(layer)];
    QKV out;
    out.q = read_qkv(f.q, m.heads, m.n, m.d);
    out.k = read_qkv(f.k, m.heads, m.n, m.d);
    out.v = read_qkv(f.v, m.heads, m.n, m.d);
    return out;
}

void write_model_qkv(const std::string& dir, const ModelQkv& meta, const std::vector<QKV>& qkv) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw InputError(dir + ": cannot create (" + ec.message() + ")");
    json files = json::array();
    const std::vector<int64_t> shape = {meta.heads, meta.n, meta.d};
    for (size_t l = 0; l < qkv.size(); ++l) {
        char name[32];
        json f;
        for (auto [key, data] : {std::pair{"q", &qkv[l].q}, std::pair{"k", &qkv[l].k}, std::pair{"v", &qkv[l].v}}) {
            std::snprintf(name, sizeof name, "layer%02zu_%s.npy", l, key);
            if (data->size() != size_t(meta.heads) * size_t(meta.n) * size_t(meta.d))
                throw InputError(std::string("layer ") + std::to_string(l) + " " + key + " has the wrong size");
            write_npy((fs::path(dir) / name).string(), shape, data->data());
            f[key] = name;
        }
        files.push_back(f);
    }
    json j = {{"format", "salab-qkv-1"},   {"model", meta.model}, {"text", meta.text}, {"tokens", meta.tokens},
              {"layers", qkv.size()},      {"heads", meta.heads}, {"n", meta.n},       {"d", meta.d},
              {"position", meta.position}, {"files", files}};
    write_file_atomic((fs::path(dir) / "model.json").string(), j.dump(1), "model.json");
}

std::string token_label_text(const std::string& token, size_t max_chars) {
    std::string out;
    for (size_t i = 0; i < token.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(token[i]);
        // "Ġ" (U+0120, GPT-2 BPE space) and "▁" (U+2581, SentencePiece space) read as "_".
        if (c == 0xC4 && i + 1 < token.size() && static_cast<unsigned char>(token[i + 1]) == 0xA0) {
            out += '_';
            ++i;
        } else if (c == 0xE2 && i + 2 < token.size() && static_cast<unsigned char>(token[i + 1]) == 0x96 &&
                   static_cast<unsigned char>(token[i + 2]) == 0x81) {
            out += '_';
            i += 2;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == ' ') {
            out += '_';
        } else if (c < 0x20 || c >= 0x80) {
            out += c >= 0x80 ? char(c) : '?';
        } else {
            out += char(c);
        }
    }
    if (out.size() > max_chars) {
        size_t cut = max_chars;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
        out = out.substr(0, cut) + "~";
    }
    return out;
}

}  // namespace salab
