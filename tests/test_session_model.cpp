// Sessions keep the loaded model stack (its directory and layer): a round trip reopens it, a
// session written before sessions held a model still loads, and a session whose model directory
// is gone loads with a one-line message and the structured source instead of failing.
#ifdef SALAB_HAVE_UI
#include "app_state.h"
#include "errors.h"
#include "model_qkv.h"
#include "presets.h"
#include "session.h"
#include "synthetic.h"

#include <doctest/doctest.h>

#include <filesystem>

#include <unistd.h>

using namespace salab;
using namespace salab::ui;
namespace fs = std::filesystem;

namespace {

fs::path write_stack(const std::string& name, int layers, int heads, int64_t n, int64_t d) {
    const fs::path dir = fs::temp_directory_path() / ("salab_session_model_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    ModelQkv m;
    m.model = "tiny-test";
    m.text = "one two three";
    m.position = "rotary applied";
    m.layers = layers;
    m.heads = heads;
    m.n = n;
    m.d = d;
    for (int64_t i = 0; i < n; ++i) m.tokens.push_back("t" + std::to_string(i));
    std::vector<QKV> qkv;
    for (int l = 0; l < layers; ++l) qkv.push_back(make_qkv(heads, n, d, uint64_t(3 + l), QkvSource::gaussian));
    write_model_qkv(dir.string(), m, qkv);
    return dir;
}

}  // namespace

TEST_CASE("session with a model stack: round trip reopens the directory and layer") {
    const fs::path dir = write_stack("rt", 3, 2, 12, 8);
    AppState s;
    s.params.pattern = default_pattern();
    apply_model(s, dir.string(), 2);
    REQUIRE(s.model.layers == 3);
    REQUIRE(s.params.source == QkSource::npy);
    s.view.hop_token = 5;

    AppState back = session_from_json(session_to_json(s));
    CHECK(back.model.dir == dir.string());
    CHECK(back.model.layer == 2);
    CHECK(back.model.tokens.empty());  // not opened yet
    CHECK(restore_model(back) == "");
    CHECK(back.model == s.model);  // tokens and layer count from the directory again
    CHECK(back.params == s.params);
    CHECK(back.view == s.view);
    CHECK(back.params.q_path.find("layer02") != std::string::npos);

    // A session without a model writes no "model" key and restores nothing.
    AppState plain;
    plain.params.pattern = default_pattern();
    CHECK(session_to_json(plain).find("\"model\"") == std::string::npos);
    AppState plain_back = session_from_json(session_to_json(plain));
    CHECK(restore_model(plain_back) == "");
    CHECK(plain_back == plain);
    fs::remove_all(dir);
}

TEST_CASE("session with a model stack: an old session (no model key) loads as before") {
    // What sessions held before they named the model: the .npy paths in params only.
    const std::string old = R"({"salab_session": 1, "preset": "",
        "pattern": {"name": "w", "n": 64, "causal": false, "components": [{"type": "window", "radius": 2, "dilation": 1}]},
        "params": {"d": 16, "heads": 1, "layer": 0, "device": -1, "source": "sink", "data_seed": 4, "q": "", "k": "", "v": ""},
        "view": {"head": 0, "hop_token": 9, "hop_depth": 3}})";
    AppState s = session_from_json(old);
    CHECK(s.model == ModelRef{});
    CHECK(restore_model(s) == "");
    CHECK(s.params.source == QkSource::structured_sink);
    CHECK(s.params.pattern.n == 64);
    CHECK(s.view.hop_token == 9);

    CHECK_THROWS_AS(session_from_json(R"({"pattern": {"n": 8, "components": []}, "model": 3})"), InputError);
    CHECK_THROWS_AS(session_from_json(R"({"pattern": {"n": 8, "components": []}, "model": {"dir": 1}})"), InputError);
    CHECK_THROWS_AS(session_from_json(R"({"pattern": {"n": 8, "components": []}, "model": {"dir": "x", "layer": -1}})"),
                    InputError);
}

TEST_CASE("session with a model stack: a missing directory is a one-line message, not a failure") {
    const fs::path dir = write_stack("gone", 2, 1, 10, 4);
    AppState s;
    s.params.pattern = default_pattern();
    apply_model(s, dir.string(), 1);
    const std::string text = session_to_json(s);
    fs::remove_all(dir);

    AppState back = session_from_json(text);  // reading the session itself still works
    const std::string msg = restore_model(back);
    CHECK(!msg.empty());
    CHECK(msg.find('\n') == std::string::npos);
    CHECK(msg.find(dir.string()) != std::string::npos);
    CHECK(back.model == ModelRef{});
    CHECK(back.params.source == QkSource::structured);
    CHECK(back.params.q_path.empty());
    CHECK(back.params.pattern == s.params.pattern);  // the rest of the session is kept
}
#endif  // SALAB_HAVE_UI
