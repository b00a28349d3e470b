// A real model's Q/K/V, as scripts/qkv_from_hf.py writes them: a directory holding model.json
// and, per layer, one float32 [heads, n, d] .npy for each of Q, K and V (Q and K after the
// model's rotary / position step, K and V repeated to every query head under grouped-query
// attention). One file per layer and tensor, not one [layers, heads, n, d] array: the live view
// reads only the layer it shows, and every file is itself a valid `salab-cli run --q/--k/--v`.
//
//   model.json  {"format": "salab-qkv-1", "model": "...", "text": "...", "tokens": [..n..],
//                "layers": L, "heads": H, "n": n, "d": d, "position": "rotary applied",
//                "files": [{"q": "layer00_q.npy", "k": "layer00_k.npy", "v": "layer00_v.npy"}, ...]}
//
//   ModelQkv m = load_model_qkv("out/qkv");           // the directory or its model.json
//   QKV layer3 = read_model_layer(m, 3);                // [heads, n, d] each
#pragma once

#include "synthetic.h"

#include <cstdint>
#include <string>
#include <vector>

namespace salab {

struct ModelLayerFiles {
    std::string q, k, v;  // absolute or relative to the working directory
    bool operator==(const ModelLayerFiles&) const = default;
};

struct ModelQkv {
    std::string dir;  // where model.json is
    std::string model, text, position;
    std::vector<std::string> tokens;  // n of them, or empty
    int layers = 0, heads = 0;
    int64_t n = 0, d = 0;
    std::vector<ModelLayerFiles> files;  // one per layer
    bool operator==(const ModelQkv&) const = default;
};

inline constexpr int kMaxModelLayers = 4096;

// Reads and checks model.json and every file's header (float32, [heads, n, d]; the data is not
// read). Throws InputError with one line naming the file and the problem.
ModelQkv load_model_qkv(const std::string& dir_or_manifest);

// Q, K, V of one layer. Throws InputError for a layer out of range or a bad file.
QKV read_model_layer(const ModelQkv& m, int layer);

// Writes model.json and the per-layer files (what the script does; tests and tools use it).
// qkv[l] is [heads, n, d] each.
void write_model_qkv(const std::string& dir, const ModelQkv& meta, const std::vector<QKV>& qkv);

// Token label for axes: the token with whitespace markers made visible and long ones cut to
// `max_chars` ("Ġthe" -> "_the", "\n" -> "\\n").
std::string token_label_text(const std::string& token, size_t max_chars = 10);

}  // namespace salab
