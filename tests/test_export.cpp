// Exports: .npy bytes against rows, block lists against a brute-force count, and the Python
// mask_mod checked by tests/py/test_export.py --check-files (NumPy) for presets and random
// patterns.
#include "export.h"
#include "npy.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

using namespace salab;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() {
    const fs::path d =
        fs::temp_directory_path() / ("salab_test_export_" + std::to_string(std::random_device{}()));
    fs::create_directories(d);
    return d;
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

bool have_python_numpy() {
    static const bool ok = std::system("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1") == 0;
    return ok;
}

// Exports all three files for p and runs the Python checker on them; returns its exit status.
int check_with_python(const Pattern& p, const fs::path& dir) {
    const StackMasks masks = build_stack_masks(p);
    const fs::path m = dir / "m.npy", f = dir / "f.py", b = dir / "b.json";
    export_mask_npy(p, masks, m.string());
    write_text(f, export_flex_python(p, masks));
    write_text(b, export_blocks_json(p, masks, 16));
    const std::string cmd = "/usr/bin/python3 " +
                            (fs::path(SALAB_SOURCE_DIR) / "tests/py/test_export.py").string() +
                            " --check-files " + m.string() + " " + f.string() + " " + b.string() +
                            " > " + (dir / "log.txt").string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    if (rc != 0) {
        std::ifstream log(dir / "log.txt");
        std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
        MESSAGE("python checker: " << text);
    }
    return rc;
}

}  // namespace

TEST_SUITE("export") {

    TEST_CASE("the .npy mask holds the rows: [n, n] flat, [layers, heads, n, n] stacked") {
        const fs::path dir = temp_dir();
        const Pattern flat = parse_pattern(
            R"({"n": 37, "causal": true, "components": [{"type": "window", "radius": 2},
                                         {"type": "random", "per_query": 2, "seed": 3}]})");
        export_mask_npy(flat, (dir / "flat.npy").string());
        const NpyArray a = read_npy((dir / "flat.npy").string());
        CHECK(a.shape == std::vector<int64_t>{37, 37});
        const HeadMask m(flat.layers[0].heads[0], 37);
        for (int64_t i = 0; i < 37; ++i)
            for (int64_t j = 0; j < 37; ++j)
                CHECK(a.u8[size_t(i * 37 + j)] == (m.kept(i, j) ? 1 : 0));

        const Pattern stack = parse_pattern(R"({"n": 20, "layers": [
        {"heads": [{"components": [{"type": "window"}]}, {"causal": true, "components": [{"type": "dense"}]}]},
        {"heads": [{"components": [{"type": "topk", "k": 3}]}, {"components": []}]}]})");
        const StackMasks masks = build_stack_masks(stack);
        export_mask_npy(stack, masks, (dir / "stack.npy").string());
        const NpyArray s = read_npy((dir / "stack.npy").string());
        CHECK(s.shape == std::vector<int64_t>{2, 2, 20, 20});
        for (int64_t l = 0; l < 2; ++l)
            for (int64_t h = 0; h < 2; ++h)
                for (int64_t i = 0; i < 20; ++i)
                    for (int64_t j = 0; j < 20; ++j)
                        CHECK(s.u8[size_t(((l * 2 + h) * 20 + i) * 20 + j)] ==
                              (masks[size_t(l)][size_t(h)].kept(i, j) ? 1 : 0));
        fs::remove_all(dir);
    }

    TEST_CASE("--mask refuses n > 32768 and points to --blocks/--flex") {
        const Pattern p = parse_pattern(R"({"n": 40000, "components": [{"type": "window"}]})");
        CHECK_THROWS_WITH_AS(export_mask_npy(p, "/nonexistent/never.npy"),
                             doctest::Contains("use --blocks or --flex"), InputError);
        const Pattern ok = parse_pattern(R"({"n": 4, "components": [{"type": "window"}]})");
        CHECK_THROWS_WITH_AS(export_mask_npy(ok, "/nonexistent/dir/m.npy"),
                             doctest::Contains("cannot write /nonexistent/dir/m.npy"), InputError);
    }

    TEST_CASE("content components use make_qkv(heads, n, 64, seed 0) when no Q/K are given") {
        const Pattern p = parse_pattern(
            R"({"n": 50, "layers": [{"heads": [{"components": [{"type": "topk", "k": 3}]},
                                      {"components": [{"type": "lsh", "buckets": 4}]}]}]})");
        const auto masks = build_head_masks(p, 0);
        const QKV qkv = make_qkv(2, 50, 64, 0, QkvSource::gaussian);
        for (int h = 0; h < 2; ++h) {
            const HeadMask want(p.layers[0].heads[size_t(h)], 50, head_qk(qkv, h, 50, 64));
            CHECK(build_csr(masks[size_t(h)]) == build_csr(want));
        }
        const QKV other = make_qkv(2, 50, 8, 5);
        CHECK(build_csr(build_head_masks(p, 0, &other, 8)[0]) != build_csr(masks[0]));
        CHECK_THROWS_WITH_AS(build_head_masks(p, 0, &other, 64), doctest::Contains("[2, 50, 64]"),
                             InputError);
        CHECK_THROWS_AS(build_head_masks(p, 1), InputError);
    }

    TEST_CASE("block lists: partial in kv_*, full in full_kv_*, against brute force") {
        std::mt19937_64 rng(9);
        for (
            const char* text : {
                R"({"n": 45, "causal": true, "components": [{"type": "window", "radius": 3}, {"type": "global", "first": 2}]})",
                R"({"n": 64, "components": [{"type": "block", "block": 8, "window_blocks": 1, "random_blocks": 1, "seed": 2}]})",
                R"({"n": 33, "components": [{"type": "dense"}]})",
                R"({"n": 17, "components": []})",
            }) {
            CAPTURE(text);
            const Pattern p = parse_pattern(text);
            const StackMasks masks = build_stack_masks(p);
            const HeadMask& m = masks[0][0];
            for (int bs : {1, 8, 16, 128}) {
                const auto j = nlohmann::json::parse(export_blocks_json(p, masks, bs));
                const int64_t n = p.n, nb = (n + bs - 1) / bs;
                CHECK(j["format"] == "salab.flex_block_mask.v1");
                CHECK(j["num_q_blocks"] == nb);
                const auto& head = j["layers"][0]["heads"][0];
                int64_t kept = 0;
                for (int64_t Q = 0; Q < nb; ++Q) {
                    std::vector<int64_t> partial, full;
                    for (int64_t K = 0; K < nb; ++K) {
                        int64_t count = 0, cells = 0;
                        for (int64_t i = Q * bs; i < std::min(n, Q * bs + bs); ++i)
                            for (int64_t k = K * bs; k < std::min(n, K * bs + bs); ++k)
                                count += m.kept(i, k), ++cells;
                        kept += count;
                        if (count == cells && count > 0)
                            full.push_back(K);
                        else if (count > 0)
                            partial.push_back(K);
                    }
                    CHECK(head["kv_indices"][size_t(Q)].get<std::vector<int64_t>>() == partial);
                    CHECK(head["full_kv_indices"][size_t(Q)].get<std::vector<int64_t>>() == full);
                    CHECK(head["kv_num_blocks"][size_t(Q)] == partial.size());
                    CHECK(head["full_kv_num_blocks"][size_t(Q)] == full.size());
                }
                CHECK(head["kept_pairs"] == kept);
            }
        }
        CHECK_THROWS_AS(export_blocks_json(parse_pattern(R"({"n": 4, "components": []})"), 0),
                        InputError);
    }

    TEST_CASE("the flex file: one mask_mod per layer, tables loaded lazily, no top-level numpy") {
        const Pattern flat = parse_pattern(
            R"({"name": "x", "n": 30, "components": [{"type": "random", "per_query": 2}]})");
        const std::string py = export_flex_python(flat);
        CHECK(py.find("def mask_mod(b, h, q_idx, kv_idx):") != std::string::npos);
        CHECK(py.find("create_block_mask(mask_mod, B=None, H=None, Q_LEN=30, KV_LEN=30, "
                      "BLOCK_SIZE=128)") != std::string::npos);
        CHECK(py.find("\nimport") == std::string::npos);
        // The mask code (head functions and mask_mods) uses no `and`, `or` or `if`.
        const std::string code = py.substr(py.find("def _layer0_head0"),
                                           py.find("_TABLES = {}") - py.find("def _layer0_head0"));
        for (const char* word : {" and ", " or ", "if "})
            CHECK(code.find(word) == std::string::npos);
        const Pattern stack =
            parse_pattern(R"({"n": 30, "layers": [{"heads": [{"components": [{"type": "dense"}]}]},
                                          {"heads": [{"components": []}, {"components": [{"type": "window"}]}]}]})");
        const std::string sp = export_flex_python(stack);
        CHECK(sp.find("def mask_mod_layer0(b, h, q_idx, kv_idx):") != std::string::npos);
        CHECK(sp.find("def mask_mod_layer1(b, h, q_idx, kv_idx):") != std::string::npos);
        CHECK(sp.find("HEADS = [1, 2]") != std::string::npos);
        CHECK(sp.find("(h == 1)") != std::string::npos);
        const Pattern huge = parse_pattern(
            R"({"n": 268435456, "components": [{"type": "random", "per_query": 1}]})");
        CHECK_THROWS_WITH_AS(
            export_flex_python(huge, {{HeadMask(huge.layers[0].heads[0], huge.n)}}),
            doctest::Contains("--flex tables would hold more than"), InputError);
    }

    TEST_CASE("the Python mask_mod reproduces the mask: presets at reduced n and random patterns") {
        if (!have_python_numpy()) {
            MESSAGE("skipped: /usr/bin/python3 with numpy not found");
            return;
        }
        const fs::path dir = temp_dir();
        for (const auto& entry :
             fs::directory_iterator(fs::path(SALAB_SOURCE_DIR) / "assets/presets")) {
            if (entry.path().extension() != ".json")
                continue;
            CAPTURE(entry.path().string());
            CHECK(check_with_python(with_n(load_pattern(entry.path().string()), 131), dir) == 0);
        }
        // Every component type with parameters that stress the expressions (huge values, n not a
        // multiple of anything, many global tokens through a table).
        const char* texts[] = {
            R"({"n": 61, "causal": true, "components": [{"type": "window", "radius": 3, "dilation": 4},
            {"type": "global", "first": 1, "every": 17, "tokens": [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 40]},
            {"type": "random", "per_query": 5, "seed": 99}]})",
            R"({"n": 47, "components": [{"type": "strided", "stride": 6}, {"type": "fixed", "block": 9, "summary": 2},
            {"type": "block", "block": 5, "window_blocks": 0, "global_blocks": 1, "random_blocks": 2, "seed": 1}]})",
            R"({"n": 40, "causal": true, "components": [{"type": "block", "block": 3, "window_blocks": 1, "random_blocks": 4},
            {"type": "lsh", "buckets": 6, "rounds": 3, "seed": 4}, {"type": "topk", "k": 5}]})",
            R"({"n": 23, "components": [{"type": "window", "radius": 9000000000000000000, "dilation": 9000000000000000000},
            {"type": "strided", "stride": 9000000000000000000}, {"type": "fixed", "block": 9000000000000000000, "summary": 1},
            {"type": "global", "every": 9000000000000000000}]})",
            R"({"n": 1, "components": [{"type": "random", "per_query": 3}, {"type": "block", "random_blocks": 2}]})",
            R"({"n": 29, "layers": [{"heads": [{"causal": true, "components": [{"type": "topk", "k": 2}]},
            {"components": [{"type": "lsh", "buckets": 2}]}, {"components": []}]},
            {"heads": [{"components": [{"type": "fixed", "block": 4, "summary": 4}]}, {"components": [{"type": "dense"}]},
             {"causal": true, "components": [{"type": "global", "first": 3}]}]}]})",
        };
        for (const char* t : texts) {
            CAPTURE(t);
            CHECK(check_with_python(parse_pattern(t), dir) == 0);
        }
        fs::remove_all(dir);
    }

}  // TEST_SUITE
