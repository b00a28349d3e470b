// salab-cli end to end: bad input gives one clear line and a non-zero exit; good input works.
#include "npy.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <sys/wait.h>

namespace fs = std::filesystem;

namespace {

struct Output {
    int code = -1;
    std::string text;  // stdout + stderr
};

Output cli(const std::string& args) {
    Output o;
    const std::string cmd = std::string(SALAB_CLI) + " " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p);
    char buf[4096];
    while (size_t k = fread(buf, 1, sizeof buf, p)) o.text.append(buf, k);
    const int status = pclose(p);
    o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return o;
}

fs::path scratch() {
    fs::path d = fs::path(SALAB_BINARY_DIR) / "cli_test";
    fs::create_directories(d);
    return d;
}

std::string write_file(const std::string& name, const std::string& text) {
    fs::path p = scratch() / name;
    std::ofstream(p) << text;
    return p.string();
}

int lines(const std::string& s) {
    int n = 0;
    for (char c : s) n += c == '\n';
    return n;
}

// A bad input: non-zero exit, one line, mentioning `needle`.
void expect_error(const std::string& args, const std::string& needle) {
    CAPTURE(args);
    Output o = cli(args);
    CAPTURE(o.text);
    CHECK(o.code != 0);
    CHECK(lines(o.text) == 1);
    CHECK(o.text.find(needle) != std::string::npos);
}

const char* kGood = R"({"name": "t", "n": 200, "components": [{"type": "window", "radius": 3},
  {"type": "global", "first": 1}, {"type": "random", "per_query": 2, "seed": 1}]})";

}  // namespace

TEST_SUITE("cli") {
    TEST_CASE("bad patterns are refused with one line") {
        expect_error("run --pattern " + write_file("bad1.json", "{\"n\": 10, \"components\": [") , "JSON");
        expect_error("run --pattern " + write_file("bad2.json", R"({"n":10,"components":[{"type":"windw"}]})"),
                     "windw");
        expect_error("run --pattern " + write_file("bad3.json", R"({"n":10,"components":[{"type":"window","radius":-3}]})"),
                     "radius");
        expect_error("run --pattern " + write_file("bad4.json", R"({"n":0,"components":[{"type":"dense"}]})"), "n");
        expect_error("run --pattern " + write_file("good.json", kGood) + " --n 0", "n");
        expect_error("run --pattern /nonexistent/p.json", "p.json");
        expect_error("run --pattern " + write_file("good.json", kGood) + " --d 300", "d must be in [1, 256]");
        expect_error("hops --pattern " + write_file("bad2.json", R"({"n":10,"components":[{"type":"windw"}]})"), "windw");
    }

    TEST_CASE("wrong .npy shapes and dtypes are refused") {
        const std::string pat = write_file("good.json", kGood);
        std::vector<float> x(200 * 8, 0.5f);
        const std::string q = (scratch() / "q.npy").string(), bad = (scratch() / "q_bad.npy").string();
        salab::write_npy(q, {200, 8}, x.data());
        salab::write_npy(bad, {100, 8}, x.data());
        std::vector<uint8_t> u(200 * 8);
        const std::string u8 = (scratch() / "q_u8.npy").string();
        salab::write_npy(u8, {200, 8}, u.data());
        expect_error("run --pattern " + pat + " --d 8 --q " + bad + " --k " + q + " --v " + q, "expected float32 [1, 200, 8]");
        expect_error("run --pattern " + pat + " --d 8 --q " + u8 + " --k " + q + " --v " + q, "uint8");
        expect_error("run --pattern " + pat + " --d 8 --q " + q, "all of --q, --k and --v");
        expect_error("run --pattern " + pat + " --d 8 --q " + write_file("junk.npy", "not numpy") + " --k " + q + " --v " + q,
                     "not a .npy");
    }

    TEST_CASE("a size the device cannot hold is refused") {
        expect_error("run --pattern " + write_file("huge.json", R"({"n":268435456,"components":[{"type":"window","radius":0}]})") +
                         " --heads 64 --d 256",
                     "heads");
    }

    TEST_CASE("--path forces each portable kernel, and a path the device lacks is one line") {
        const std::string pat = write_file("good.json", kGood);
        for (const char* path : {"tiled", "rowwise", "portable", "auto"}) {
            CAPTURE(path);
            Output o = cli("run --pattern " + pat + " --d 20 --heads 2 --check --json --path " + path);
            CAPTURE(o.text);
            REQUIRE(o.code == 0);
            auto j = nlohmann::json::parse(o.text.substr(o.text.find('{')));
            CHECK(j["check"] == "ok");
            const std::string want = std::string(path) == "rowwise" ? "rowwise-" : "tiled-";
            if (std::string(path) != "auto") CHECK(j["path"].get<std::string>().starts_with(want));
        }
        Output b = cli("bench --pattern " + pat + " --d 16 --repeats 1 --no-dense --json --path rowwise");
        CAPTURE(b.text);
        REQUIRE(b.code == 0);
        CHECK(nlohmann::json::parse(b.text.substr(b.text.find('{')))["path"].get<std::string>().starts_with("rowwise-"));
        expect_error("run --pattern " + pat + " --path warp-speed", "tiled, rowwise");
        expect_error("bench --pattern " + pat + " --path warp-speed", "tiled, rowwise");
        expect_error("run --pattern " + pat + " --path khr-coopmat", "--path khr-coopmat");
        expect_error("bench --pattern " + pat + " --path khr-coopmat --d 64", "--path khr-coopmat");
    }

    TEST_CASE("run --check agrees with the oracle and writes O") {
        const std::string out = (scratch() / "o.npy").string();
        Output o = cli("run --pattern " + write_file("good.json", kGood) + " --d 16 --heads 2 --check --json --out " + out);
        CAPTURE(o.text);
        REQUIRE(o.code == 0);
        auto j = nlohmann::json::parse(o.text.substr(o.text.find('{')));
        CHECK(j["check"] == "ok");
        CHECK(j["max_rel_error"].get<double>() < 1e-4);
        CHECK(j["n"] == 200);
        salab::NpyArray a = salab::read_npy(out);
        CHECK(a.shape == std::vector<int64_t>{2, 200, 16});
    }

    TEST_CASE("bench prints one JSON object per line with the required fields") {
        Output o = cli("bench --pattern " + write_file("good.json", kGood) + " --n 100,300 --d 8 --repeats 2 --json");
        CAPTURE(o.text);
        REQUIRE(o.code == 0);
        int rows = 0;
        size_t pos = 0;
        while ((pos = o.text.find('{', pos)) != std::string::npos) {
            size_t end = o.text.find('\n', pos);
            auto j = nlohmann::json::parse(o.text.substr(pos, end - pos));
            for (const char* k : {"pattern", "n", "d", "heads", "density", "sparse_ms", "dense_ms", "mask_build_ms", "eff_gflops"})
                CHECK(j.contains(k));
            CHECK(j["density"].get<double>() > 0.0);
            CHECK(j["density"].get<double>() <= 1.0);
            ++rows;
            pos = end;
        }
        CHECK(rows == 2);
    }

    TEST_CASE("bench --suite anchors reads its reference figures from a data file, ratios included") {
        const std::string refs = write_file("anchors.jsonl",
            "{\"impl\":\"device\",\"device\":\"test\",\"fp16_tensor_tflops\":100.0}\n"
            "{\"impl\":\"flex\",\"pattern\":\"window\",\"n\":320,\"d\":16,\"heads\":1,\"ms\":50.0,\"mask_build_ms\":4.0}\n"
            "{\"impl\":\"sdpa_dense\",\"pattern\":\"dense\",\"n\":320,\"d\":16,\"heads\":1,\"ms\":20.0}\n"
            "{\"impl\":\"llama.cpp-vulkan\",\"pattern\":\"window\",\"n\":320,\"d\":16,\"heads\":1,\"ms\":80.0}\n");
        const Output o = cli("bench --suite anchors --n 320 --d 16 --heads 1 --repeats 1 --no-dense --json --anchors " + refs);
        REQUIRE(o.code == 0);
        int window = 0, dense = 0;
        std::istringstream in(o.text);
        for (std::string line; std::getline(in, line);) {
            if (line.empty() || line[0] != '{') continue;
            const auto j = nlohmann::json::parse(line);
            REQUIRE(j.contains("peak_share"));
            if (j["pattern"] == "window") {
                ++window;
                CHECK(j["ref_torch"] == "flex");
                CHECK(j["ref_torch_ms"] == 50.0);
                CHECK(j["vs_torch"].get<double>() == doctest::Approx(50.0 / j["sparse_ms"].get<double>()));
                CHECK(j["vs_llamacpp"].get<double>() == doctest::Approx(80.0 / j["sparse_ms"].get<double>()));
            } else if (j["pattern"] == "dense") {
                ++dense;
                CHECK(j["ref_torch"] == "sdpa_dense");
                CHECK_FALSE(j.contains("vs_llamacpp"));
            } else {
                CHECK_FALSE(j.contains("vs_torch"));  // no figure for it in this file
            }
        }
        CHECK(window == 1);
        CHECK(dense == 1);
        const Output bad = cli("bench --suite anchors --n 320 --d 16 --anchors " + write_file("bad.jsonl", "not json\n"));
        CHECK(bad.code == 2);
        CHECK(bad.text.find("bad.jsonl:1: not a reference figure") != std::string::npos);
    }

    TEST_CASE("export --mask writes the uint8 mask, render writes a PNG, devices lists lavapipe or a GPU") {
        const std::string pat = write_file("good.json", kGood);
        const std::string m = (scratch() / "m.npy").string(), png = (scratch() / "mask.png").string();
        REQUIRE(cli("export --pattern " + pat + " --mask " + m).code == 0);
        salab::NpyArray a = salab::read_npy(m);
        CHECK(a.dtype == "|u1");
        CHECK(a.shape == std::vector<int64_t>{200, 200});
        CHECK(a.u8[0] == 1);             // global token 0
        CHECK(a.u8[100 * 200 + 103]);    // window
        for (const char* view : {"mask", "blocks", "heatmap", "hops"}) {
            Output o = cli("render --pattern " + pat + " --view " + view + " --out " + png);
            CAPTURE(o.text);
            CHECK(o.code == 0);
            CHECK(fs::file_size(png) > 100);
        }
        Output d = cli("devices --json");
        REQUIRE(d.code == 0);
        auto j = nlohmann::json::parse(d.text.substr(d.text.find('{')));
        CHECK(j["devices"].size() >= 1);
    }
}
