// A real model's Q/K/V stack (compute/model_qkv.h), on files this test writes itself: the
// manifest and per-layer files round-trip, each layer loads as the problem's Q/K/V (dense
// attention of the model next to the pattern), and every malformed stack is one InputError.
#include "model_qkv.h"
#include "npy.h"
#include "problem.h"

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <unistd.h>

using namespace salab;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
    const fs::path d = fs::temp_directory_path() / ("salab_model_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(d);
    return d;
}

ModelQkv meta(int layers, int heads, int64_t n, int64_t d) {
    ModelQkv m;
    m.model = "tiny-test";
    m.text = "a b c";
    m.position = "rotary applied";
    m.layers = layers;
    m.heads = heads;
    m.n = n;
    m.d = d;
    for (int64_t i = 0; i < n; ++i) m.tokens.push_back(i == 0 ? "<s>" : "\xC4\xA0tok" + std::to_string(i));
    return m;
}

std::vector<QKV> stack(int layers, int heads, int64_t n, int64_t d) {
    std::vector<QKV> s;
    for (int l = 0; l < layers; ++l) s.push_back(make_qkv(heads, n, d, uint64_t(10 + l), QkvSource::gaussian));
    return s;
}

}  // namespace

TEST_SUITE("model") {
    TEST_CASE("model Q/K/V stack: write, load, read each layer, run it as a problem") {
        const fs::path dir = fresh_dir("ok");
        const auto s = stack(3, 2, 12, 8);
        write_model_qkv(dir.string(), meta(3, 2, 12, 8), s);
        for (const fs::path& p : {dir, dir / "model.json"}) {
            const ModelQkv m = load_model_qkv(p.string());
            CHECK(m.layers == 3);
            CHECK(m.heads == 2);
            CHECK(m.n == 12);
            CHECK(m.d == 8);
            REQUIRE(m.tokens.size() == 12);
            CHECK(m.tokens[0] == "<s>");
            CHECK(token_label_text(m.tokens[3]) == "_tok3");
            CHECK(m.model == "tiny-test");
            for (int l = 0; l < 3; ++l) {
                const QKV x = read_model_layer(m, l);
                CHECK(x.q == s[size_t(l)].q);
                CHECK(x.k == s[size_t(l)].k);
                CHECK(x.v == s[size_t(l)].v);
            }
            CHECK_THROWS_AS(read_model_layer(m, 3), InputError);
            // A layer's files are the problem's Q/K/V: the real attention next to the pattern.
            const Pattern pat = parse_pattern(R"({"name":"w","n":12,"components":[{"type":"window","radius":2}]})");
            ProblemOptions po;
            po.d = 8;
            po.heads = 2;
            po.q_path = m.files[1].q;
            po.k_path = m.files[1].k;
            po.v_path = m.files[1].v;
            const Problem prob = prepare_problem(pat, po);
            CHECK(prob.qkv.q == s[1].q);
        }
        fs::remove_all(dir);
    }

    TEST_CASE("model Q/K/V stack: malformed manifests and files are one-line errors") {
        const fs::path dir = fresh_dir("bad");
        write_model_qkv(dir.string(), meta(2, 1, 6, 4), stack(2, 1, 6, 4));
        auto rewrite = [&](const std::string& text) { std::ofstream(dir / "model.json") << text; };
        auto one_line_error = [&](const std::string& path) {
            try {
                load_model_qkv(path);
            } catch (const InputError& e) {
                const std::string w = e.what();
                CHECK(w.find('\n') == std::string::npos);
                return w;
            }
            FAIL("no error");
            return std::string();
        };
        CHECK(one_line_error((dir / "nope").string()).find("not found") != std::string::npos);
        // A layer file of the wrong shape.
        const std::vector<float> wrong(5 * 4, 0.0f);
        write_npy((dir / "layer01_k.npy").string(), {1, 5, 4}, wrong.data());
        CHECK(one_line_error(dir.string()).find("layer01_k.npy") != std::string::npos);
        fs::remove(dir / "layer01_k.npy");
        CHECK(one_line_error(dir.string()).find("layer01_k.npy") != std::string::npos);
        rewrite("{not json");
        CHECK(one_line_error(dir.string()).find("JSON") != std::string::npos);
        rewrite(R"({"layers": 1})");
        CHECK(one_line_error(dir.string()).find("salab-qkv-1") != std::string::npos);
        rewrite(
            R"({"format":"salab-qkv-1","layers":1,"heads":1,"n":6,"d":4,"tokens":["a"],"files":[{"q":"layer00_q.npy","k":"layer00_k.npy","v":"layer00_v.npy"}]})");
        CHECK(one_line_error(dir.string()).find("tokens") != std::string::npos);
        rewrite(
            R"({"format":"salab-qkv-1","layers":2,"heads":1,"n":6,"d":4,"files":[{"q":"layer00_q.npy","k":"layer00_k.npy","v":"layer00_v.npy"}]})");
        CHECK(one_line_error(dir.string()).find("per layer") != std::string::npos);
        rewrite(R"({"format":"salab-qkv-1","layers":0,"heads":1,"n":6,"d":4,"files":[]})");
        CHECK(one_line_error(dir.string()).find("layers") != std::string::npos);
        rewrite(
            R"({"format":"salab-qkv-1","layers":1,"heads":1,"n":6,"d":4,"files":[{"q":"layer00_q.npy","k":"layer00_k.npy"}]})");
        CHECK(one_line_error(dir.string()).find("\"v\"") != std::string::npos);
        fs::remove_all(dir);
    }
}

TEST_SUITE("cli") {
    TEST_CASE("render --model: a layer's real attention with the tokens on the axes, bad layer fails with one line") {
        const fs::path dir = fresh_dir("cli");
        write_model_qkv(dir.string(), meta(2, 2, 10, 16), stack(2, 2, 10, 16));
        const std::string pattern = std::string(SALAB_SOURCE_DIR) + "/assets/presets/illustrated_hybrid.json";
        auto run = [&](const std::string& args) {
            const std::string cmd = std::string(SALAB_CLI) + " render --pattern " + pattern + " --model " +
                                    dir.string() + " " + args + " 2>" + (dir / "err.txt").string();
            const int st = std::system(cmd.c_str());
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        };
        const fs::path png = dir / "mask.png";
        CHECK(run("--view mask --model-layer 1 --out " + png.string()) == 0);
        CHECK(fs::file_size(png) > 1000);
        const int heat = run("--view heatmap --out " + (dir / "heat.png").string());
        CHECK((heat == 0 || heat == 3));  // 3: no Vulkan device here
        CHECK(run("--view mask --model-layer 2 --out " + png.string()) == 2);
        std::ifstream err(dir / "err.txt");
        std::string line, rest;
        std::getline(err, line);
        CHECK(line.find("--model-layer 2") != std::string::npos);
        CHECK_FALSE(std::getline(err, rest));
        CHECK(run("--view mask --n 11 --out " + png.string()) == 2);
        fs::remove_all(dir);
    }
}
