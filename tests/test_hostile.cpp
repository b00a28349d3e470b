// Hostile input, one class at a time (issue 17): crashes, undefined behaviour, giant
// allocations, hangs, disk filling, lost writes, wrong results and the CLI's contract. The CLI
// cases run the built salab-cli as a subprocess (in the ASan build: the sanitized one), each
// under a wall-clock budget: a refusal must come up front, not after the work.
#include "block_mask.h"
#include "file_io.h"
#include "mask.h"
#include "npy.h"
#include "pattern.h"
#include "problem.h"
#include "size_limits.h"
#include "synthetic.h"
#ifdef SALAB_HAVE_UI
#include "session.h"
#endif
#include "gpu_fixture.h"

#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <sys/wait.h>
#include <vector>

namespace fs = std::filesystem;
using namespace salab;

namespace {

struct Output {
    int code = -1;
    std::string text;  // stdout + stderr
    double seconds = 0;
};

Output shell(const std::string& cmd) {
    Output o;
    const auto t0 = std::chrono::steady_clock::now();
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    REQUIRE(p);
    char buf[4096];
    while (size_t k = fread(buf, 1, sizeof buf, p)) o.text.append(buf, k);
    const int status = pclose(p);
    o.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return o;
}

// Leak checking is off for the subprocess under ASan: the Vulkan driver, unloaded at exit,
// leaves 128 bytes that LeakSanitizer cannot attribute (an "<unknown module>" frame) and would
// turn every exit code into 23. Everything else of ASan/UBSan stays on.
Output cli(const std::string& args) { return shell("ASAN_OPTIONS=detect_leaks=0 " + std::string(SALAB_CLI) + " " + args); }

fs::path scratch() {
    // One folder per process: ctest -j runs the cases as separate processes, and the /dev/full case
    // checks that no temporary file stays in it.
    struct Dir {
        fs::path path = fs::path(SALAB_BINARY_DIR) / ("hostile_test_" + std::to_string(::getpid()));
        ~Dir() {
            std::error_code ec;
            fs::remove_all(path, ec);
        }
    };
    static const Dir d;
    fs::create_directories(d.path);
    return d.path;
}

std::string file(const std::string& name, const std::string& text) {
    fs::path p = scratch() / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
}

int lines(const std::string& s) {
    int n = 0;
    for (char c : s) n += c == '\n';
    return n;
}

// Refused: exit `code`, one line mentioning `needle`, within `seconds`.
void refused(const std::string& args, const std::string& needle, int code = 2, double seconds = 20) {
    CAPTURE(args);
    const Output o = cli(args);
    CAPTURE(o.text);
    CHECK(o.code == code);
    CHECK(lines(o.text) == 1);
    CHECK(o.text.find(needle) != std::string::npos);
    CHECK(o.seconds < seconds);
}

std::string nested(const std::string& open, const std::string& close, int depth, const std::string& inner = "1") {
    std::string s;
    s.reserve(size_t(depth) * (open.size() + close.size()) + inner.size());
    for (int i = 0; i < depth; ++i) s += open;
    s += inner;
    for (int i = 0; i < depth; ++i) s += close;
    return s;
}

// A .npy file with an arbitrary header dict and `data_bytes` zero bytes after it.
std::string npy_file(const std::string& name, const std::string& dict, size_t data_bytes) {
    std::string h = dict;
    h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
    h += '\n';
    std::string s = "\x93NUMPY";
    s += char(1);
    s += char(0);
    s += char(h.size() & 0xff);
    s += char(h.size() >> 8);
    s += h;
    s.append(data_bytes, '\0');
    return file(name, s);
}

std::string shape_dict(const std::string& shape, const std::string& descr = "<f4") {
    return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
}

const char* kDenseMillion = R"({"name": "dense", "n": 1000000, "components": [{"type": "dense"}]})";
const char* kGood = R"({"name": "t", "n": 200, "components": [{"type": "window", "radius": 3},
  {"type": "global", "first": 1}]})";

bool no_temp_files(const fs::path& dir) {
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().find(".salab-tmp-") != std::string::npos) return false;
    return true;
}

}  // namespace

TEST_SUITE("hostile") {
    // ---- crash -------------------------------------------------------------------------------
    TEST_CASE("deep nesting is refused by depth, not by the stack") {
        const int deep = 300000;
        for (const std::string& text : std::vector<std::string>{
                 nested("[", "]", deep), R"({"n": 8, "layers": )" + nested("[", "]", deep) + "}",
              R"({"n": 8, "components": [{"type": "window", "radius": )" + nested("[", "]", deep) + "}]}",
              R"({"n": )" + nested("{\"a\":", "}", deep) + ", \"components\": []}",
              R"({"n": 8, "components": [)" + nested("[", "]", 63) + "]}"}) {
            CHECK_THROWS_AS(parse_pattern(text), InputError);
        }
        CHECK_THROWS_WITH_AS(parse_pattern(nested("[", "]", 100)), doctest::Contains("nested deeper than 64"), InputError);
        // Messages quote a value only as far as 40 characters reach, however large it is.
        try {
            parse_pattern(R"({"n": )" + nested("[", "]", 60, std::string(1 << 20, '7')) + ", \"components\": []}");
            FAIL("accepted");
        } catch (const InputError& e) {
            CHECK(std::string(e.what()).size() < 200);
        }
        refused("hops --pattern " + file("deep.json", nested("[", "]", deep)), "nested deeper than 64");
#ifdef SALAB_HAVE_UI
        CHECK_THROWS_WITH_AS(ui::session_from_json(R"({"pattern": )" + nested("[", "]", deep) + "}"),
                             doctest::Contains("nested deeper"), InputError);
#endif
    }

    // ---- undefined behaviour -----------------------------------------------------------------
    TEST_CASE(".npy shapes: overflowing products, negative, non-integer, empty and 20-digit entries") {
        struct Case {
            std::string shape, needle;
        };
        for (const Case& c : std::vector<Case>{{"(9223372036854775807, 64)", "too large"},
                                                {"(4294967296, 4294967296)", "64 bits"},
                                                {"(100000000000000000, 100)", "64 bits"},
                                                {"(300000000000000000, 10)", "more bytes than fit"},
                                                {"(-3, 4)", "not a non-negative integer"},
                                                {"(2.5, 4)", "not a non-negative integer"},
                                                {"(, 4)", "empty entry"},
                                                {"(3,, 4)", "empty entry"},
                                                {"(12345678901234567890, 1)", "too large"},
                                                {"(0x10, 1)", "not a non-negative integer"},
                                                {"[3, 4]", "not a tuple"}}) {
            CAPTURE(c.shape);
            const std::string path = npy_file("shape.npy", shape_dict(c.shape), 128);
            CHECK_THROWS_WITH_AS(read_npy(path), doctest::Contains(c.needle.c_str()), InputError);
        }
        CHECK_THROWS_WITH_AS(read_npy(npy_file("nodescr.npy", "{'shape': (3,), }", 12)),
                             doctest::Contains("no 'descr'"), InputError);
        // Radius near 2^63 - 1 with a dilation: the pair test and the rows agree, no overflow.
        const HeadMask m(HeadPattern{false, {Component{.type = ComponentType::window,
                                                       .radius = std::numeric_limits<int64_t>::max(),
                                                       .dilation = std::numeric_limits<int64_t>::max()}}},
                         50);
        std::vector<int32_t> row;
        m.row(10, row);
        CHECK(row == std::vector<int32_t>{10});
        CHECK(m.kept(10, 10));
        CHECK(!m.kept(10, 11));
    }

    // ---- giant allocations -------------------------------------------------------------------
    TEST_CASE("a .npy header claiming gigabytes on a small file is refused before allocating") {
        const std::string path = npy_file("liar.npy", shape_dict("(1024, 1024, 1024)"), 128);
        CHECK_THROWS_WITH_AS(read_npy(path), doctest::Contains("shorter than its shape"), InputError);
        CHECK_THROWS_WITH_AS(read_qkv(path, 1024, 1024, 1024), doctest::Contains("shorter than its shape"), InputError);
        refused("run --pattern " + file("good.json", kGood) + " --d 8 --q " + path + " --k " + path + " --v " + path,
                "shorter than its shape");
    }

    TEST_CASE("pattern and session files: size limit, devices, directories") {
        refused("hops --pattern /dev/zero", "limit");
        refused("hops --pattern " + scratch().string(), "is a directory");
        refused("hops --pattern /nonexistent/p.json", "cannot open");
        refused("run --pattern " + file("good.json", kGood) + " --d 8 --q " + scratch().string() + " --k x --v y",
                "is a directory");
        std::string big(max_pattern_file_bytes + 1, ' ');
        CHECK_THROWS_WITH_AS(load_pattern(file("big.json", big)), doctest::Contains("limit"), InputError);
        fs::remove(scratch() / "big.json");
    }

    TEST_CASE("dense n = 1,000,000 is refused up front by hops, render, export and run") {
        const std::string p = file("dense1m.json", kDenseMillion);
        const std::string png = (scratch() / "x.png").string();
        refused("hops --pattern " + p, "use a smaller --n", 2, 10);
        refused("render --pattern " + p + " --view hops --out " + png, "use a smaller --n", 2, 10);
        refused("render --pattern " + p + " --view heatmap --out " + png, "block mask", 2, 20);
        refused("render --pattern " + p + " --view blocks --out " + png, "block mask", 2, 10);
        refused("export --pattern " + p + " --blocks " + (scratch() / "b.json").string(), "--block-size", 2, 10);
        refused("export --pattern " + p + " --n 20000 --block-size 1 --blocks " + (scratch() / "b.json").string(),
                "--block-size", 2, 10);
        refused("run --pattern " + p + " --d 8", "block mask", 2, 20);
        // The mask view needs no block mask: by key runs it is cheap even here.
        const Output o = cli("render --pattern " + p + " --view mask --out " + png);
        CAPTURE(o.text);
        CHECK(o.code == 0);
        CHECK(o.seconds < 20);
    }

    TEST_CASE("limits: estimates are upper bounds and content work is refused up front") {
        const Pattern w = parse_pattern(R"({"n": 1000, "components": [{"type": "window", "radius": 5}]})");
        const HeadMask m(w.layers[0].heads[0], w.n);
        CHECK(head_cost(m).pairs >= double(compile_block_mask(std::vector<HeadMask>{m}).kept_pairs));
        const Pattern topk = parse_pattern(R"({"n": 100000, "components": [{"type": "topk", "k": 4}]})");
        CHECK_THROWS_WITH_AS(check_content_build(topk.layers[0].heads[0], topk.n, 64),
                             doctest::Contains("use a smaller n"), InputError);
        refused("export --pattern " + file("topk.json", to_json(topk)) + " --flex " + (scratch() / "t.py").string(),
                "topk at n = 100000", 2, 10);
        refused("export --pattern " + file("topk.json", to_json(topk)) + " --mask " + (scratch() / "t.npy").string(),
                "--blocks or --flex", 2, 10);
        CHECK(saturating_mul(int64_t(1) << 40, int64_t(1) << 40) == std::numeric_limits<int64_t>::max());
        int64_t out = 0;
        CHECK(!checked_mul(std::numeric_limits<int64_t>::max(), int64_t(2), out));
    }

    TEST_CASE("limits: the block-mask bound follows the block geometry, so a window at n = 2^20 fits") {
        // The bound is an upper bound of what the compiler lists, for every preset and odd n.
        auto check_bound = [](const Pattern& pattern, int64_t n) {
            for (int layer = 0; layer < pattern.num_layers(); ++layer) {
                const Problem p = prepare_problem(pattern, {.n = n, .d = 8, .layer = layer});
                for (size_t h = 0; h < p.masks.size(); ++h) {
                    CAPTURE(h);
                    const BlockMask one = compile_block_mask(std::vector<HeadMask>{p.masks[h]}, 64);
                    CHECK(head_cost(p.masks[h]).blocks >= double(one.listed_blocks()));
                    if (!p.pattern.needs_qk())
                        CHECK(head_cost(p.masks[h].pattern(), n).blocks >= double(one.listed_blocks()));
                }
            }
        };
        for (const auto& entry : fs::directory_iterator(fs::path(SALAB_SOURCE_DIR) / "assets/presets")) {
            CAPTURE(entry.path().string());
            const Pattern pattern = load_pattern(entry.path().string());
            for (int64_t n : {1, 63, 65, 777, 4097}) {
                CAPTURE(n);
                check_bound(pattern, n);
            }
        }
        for (
            const char* json :
            {R"({"n": 3000, "components": [{"type": "window", "radius": 7, "dilation": 3}, {"type": "global", "every": 100, "tokens": [5, 99]}]})",
             R"({"n": 3000, "components": [{"type": "strided", "stride": 70}, {"type": "strided", "stride": 9}]})",
             R"({"n": 3000, "components": [{"type": "fixed", "block": 40, "summary": 3}]})",
             R"({"n": 3000, "components": [{"type": "block", "block": 32, "window_blocks": 2, "global_blocks": 3, "random_blocks": 2, "seed": 4}]})",
             R"({"n": 3000, "causal": true, "components": [{"type": "block", "block": 192, "window_blocks": 1, "global_blocks": 1, "random_blocks": 1, "seed": 1}, {"type": "random", "per_query": 3, "seed": 2}]})"}) {
            CAPTURE(json);
            for (int64_t n : {100, 3000}) check_bound(parse_pattern(json), n);
        }
        // Radius 256 at n = 2^20: about ten 64 x 64 blocks per query block (n / 64 x n / 64 would
        // be 2.7e8, over the limit); dense at that n is still refused.
        const int64_t n = int64_t(1) << 20;
        const Pattern w = parse_pattern(R"({"n": 1024, "components": [{"type": "window", "radius": 256}]})");
        const HeadCost c = head_cost(w.layers[0].heads[0], n);
        CHECK(c.blocks <= 11.0 * double(n / 64));
        CHECK_NOTHROW(check_block_mask({c}, n, "window"));
        const Pattern dense = parse_pattern(R"({"n": 1024, "components": [{"type": "dense"}]})");
        CHECK_THROWS_WITH_AS(check_block_mask({head_cost(dense.layers[0].heads[0], n)}, n, "dense"),
                             doctest::Contains("use a smaller n"), InputError);
    }

    // ---- disk filling --------------------------------------------------------------------------
    TEST_CASE("a 3000-layer stack's --mask is refused by its total size, a file-size limit is honoured") {
        std::string layers;
        for (int l = 0; l < 3000; ++l)
            layers += std::string(l ? "," : "") + R"({"heads": [{"components": [{"type": "window", "radius": 1}]}]})";
        const std::string p = file("stack3000.json", R"({"name": "s", "n": 2048, "layers": [)" + layers + "]}");
        const std::string out = (scratch() / "stack.npy").string();
        refused("export --pattern " + p + " --mask " + out, "in all (limit", 2, 20);
        CHECK(!fs::exists(out));
        // ulimit -f 64 (KiB): a 1 MiB mask would be cut by SIGXFSZ; it is refused before writing.
        const Output o = shell("ulimit -f 64; " + std::string(SALAB_CLI) + " export --pattern " + file("good.json", kGood) +
                               " --n 1024 --mask " + out);
        CAPTURE(o.text);
        CHECK(o.code == 2);
        CHECK(o.text.find("can be written there") != std::string::npos);
        CHECK(!fs::exists(out));
        CHECK(no_temp_files(scratch()));
    }

    // ---- lost writes ---------------------------------------------------------------------------
    TEST_CASE("writes to /dev/full fail, failed exports leave the old file, no temporary files stay") {
        const std::string p = file("good.json", kGood);
        refused("export --pattern " + p + " --mask /dev/full", "No space left");
        refused("export --pattern " + p + " --blocks /dev/full", "No space left");
        refused("export --pattern " + p + " --flex /dev/full", "No space left");
        refused("render --pattern " + p + " --view mask --out /dev/full", "No space left");
        {
            const Output o = shell("{ " + std::string(SALAB_CLI) + " hops --pattern " + p + " --json > /dev/full; }");
            CAPTURE(o.text);
            CHECK(o.code == 2);
            CHECK(o.text.find("standard output") != std::string::npos);
        }
        refused("run --pattern " + p + " --d 8 --out /dev/full", "No space left", 2, 60);
        refused("export --pattern " + p + " --mask /nonexistent/dir/m.npy", "does not exist");
        refused("export --pattern " + p + " --mask " + scratch().string(), "is a directory");
        // The old file survives a refused export.
        const std::string old = file("old.npy", "old content");
        refused("export --pattern " + p + " --n 40000 --mask " + old, "--blocks or --flex");
        std::ifstream in(old);
        std::string text((std::istreambuf_iterator<char>(in)), {});
        CHECK(text == "old content");
        // A successful export replaces it in one step.
        REQUIRE(cli("export --pattern " + p + " --mask " + old).code == 0);
        CHECK(read_npy(old).shape == std::vector<int64_t>{200, 200});
        CHECK(no_temp_files(scratch()));
        // The writer itself: nothing is left when it is dropped before commit().
        {
            AtomicWriter w((scratch() / "dropped.bin").string(), "test");
            w.write("partial");
        }
        CHECK(!fs::exists(scratch() / "dropped.bin"));
        CHECK(no_temp_files(scratch()));
    }

    TEST_CASE("Ctrl+C during a long export leaves no partial file") {
        std::string layers;
        for (int l = 0; l < 6; ++l)
            layers += std::string(l ? "," : "") + R"({"heads": [{"components": [{"type": "dense"}]}]})";
        const std::string p = file("big_stack.json", R"({"name": "s", "n": 8192, "layers": [)" + layers + "]}");
        const fs::path out = scratch() / "interrupted.npy";
        fs::remove(out);
        // 384 MiB of mask: interrupted after 0.3 s.
        const Output o = shell(std::string(SALAB_CLI) + " export --pattern " + p + " --mask " + out.string() +
                               " & pid=$!; sleep 0.3; kill -INT $pid; wait $pid");
        CAPTURE(o.text);
        if (o.code == 0) {
            MESSAGE("the export finished before the signal; nothing to check");
        } else {
            CHECK(o.code == 130);
            CHECK(!fs::exists(out));
        }
        CHECK(no_temp_files(scratch()));
        fs::remove(out);
    }

    // ---- wrong results ---------------------------------------------------------------------------
    TEST_CASE("non-finite Q/K/V are refused at load with the first offending index") {
        std::vector<float> v(3 * 64 * 8, 0.25f);
        v[size_t((1 * 64 + 20) * 8 + 7)] = std::nanf("");
        const std::string vp = (scratch() / "v_nan.npy").string(), ok = (scratch() / "ok.npy").string();
        write_npy(vp, {3, 64, 8}, v.data());
        std::vector<float> x(3 * 64 * 8, 0.5f);
        write_npy(ok, {3, 64, 8}, x.data());
        CHECK_THROWS_WITH_AS(read_qkv(vp, 3, 64, 8), doctest::Contains("value at [1, 20, 7] is NaN"), InputError);
        v[size_t((1 * 64 + 20) * 8 + 7)] = std::numeric_limits<float>::infinity();
        write_npy(vp, {3, 64, 8}, v.data());
        CHECK_THROWS_WITH_AS(read_qkv(vp, 3, 64, 8), doctest::Contains("infinite"), InputError);
        refused("run --pattern " + file("w64.json", R"({"n": 64, "components": [{"type": "window", "radius": 3}]})") +
                    " --d 8 --heads 3 --q " + ok + " --k " + ok + " --v " + vp,
                "[1, 20, 7]");
    }

    TEST_CASE("a window radius near 2^63 - 1 is a dense pattern, on every path") {
        const int64_t huge = std::numeric_limits<int64_t>::max();
        for (bool causal : {false, true}) {
            const HeadMask m(HeadPattern{causal, {Component{.type = ComponentType::window, .radius = huge}}}, 300);
            const BlockMask bm = compile_block_mask(std::vector<HeadMask>{m});
            CHECK(bm.kept_pairs == (causal ? 300 * 301 / 2 : 300 * 300));
            CHECK(band_of(std::vector<HeadMask>{m})->left == 300);
        }
        const std::string p =
            file("huge_radius.json", R"({"n": 300, "components": [{"type": "window", "radius": 9223372036854775807}]})");
        for (const char* extra : {"", " --no-band"}) {
            const Output o = cli("run --pattern " + p + " --d 8 --check --json" + extra);
            CAPTURE(o.text);
            REQUIRE(o.code == 0);
            CHECK(o.text.find("\"density\":1.0") != std::string::npos);
            CHECK(o.text.find("\"check\":\"ok\"") != std::string::npos);
        }
    }

    // ---- contract --------------------------------------------------------------------------------
    TEST_CASE("every parse and range error: one line, exit 2, help exits 0, a missing device exits 3") {
        const std::string p = file("good.json", kGood);
        for (const std::string& args : std::vector<std::string>{
                 std::string(""), "bogus", "hops --pattern " + p + " --bogus", "hops --pattern", "hops --pattern " + p + " --n",
              "hops --pattern " + p + " --n abc", "hops --pattern " + p + " --n 1.5", "hops --pattern " + p + " --n -1",
              "hops --pattern " + p + " --n 99999999999999999999", "run --pattern " + p + " --dtype f64",
              "render --pattern " + p + " --view bogus --out x.png", "run --pattern " + p + " --heads -3",
              "bench --pattern " + p + " --repeats -1", "run --pattern " + p + " --device -2",
              "run --pattern " + p + " --seed -1", "bench --pattern " + p + " --n 100,-5",
              "render --pattern " + p + " --view mask --out x.png --size 1e9", "export --pattern " + p + " --block-size 0"}) {
            CAPTURE(args);
            const Output o = cli(args);
            CAPTURE(o.text);
            CHECK(o.code == 2);
            CHECK(lines(o.text) == 1);
            CHECK(o.text.rfind("salab-cli: error: ", 0) == 0);
        }
        CHECK(cli("--help").code == 0);
        CHECK(cli("run --help").code == 0);
        refused("run --pattern " + p + " --device 1000", "", 3, 20);
    }

#ifdef SALAB_HAVE_UI
    TEST_CASE("session errors name the key, out-of-range values are refused, not wrapped") {
        const std::string pat = R"("pattern": {"n": 8, "components": [{"type": "window", "radius": 1}]})";
        auto session = [&](const std::string& rest) { return "{" + pat + (rest.empty() ? "" : ", " + rest) + "}"; };
        CHECK_THROWS_WITH_AS(ui::session_from_json(session(R"("params": {"heads": 1e10})")),
                             doctest::Contains("params.heads must be an integer in [1, 4096]"), InputError);
        CHECK_THROWS_WITH_AS(ui::session_from_json(session(R"("params": {"heads": 10000000000})")),
                             doctest::Contains("params.heads"), InputError);
        CHECK_THROWS_WITH_AS(ui::session_from_json(session(R"("params": {"d": "64"})")),
                             doctest::Contains("params.d"), InputError);
        CHECK_THROWS_WITH_AS(ui::session_from_json(session(R"("view": {"show_blocks": 1})")),
                             doctest::Contains("view.show_blocks must be true or false"), InputError);
        CHECK_THROWS_WITH_AS(ui::session_from_json(session(R"("view": [])")), doctest::Contains("view must be an object"),
                             InputError);
        CHECK_THROWS_WITH_AS(ui::session_from_json(session(R"("params": {"data_seed": -1})")),
                             doctest::Contains("params.data_seed"), InputError);
        CHECK_THROWS_WITH_AS(ui::session_from_json(R"({"pattern": {"n": 8, "components": [{"type": "windw"}]}})"),
                             doctest::Contains("session: pattern: "), InputError);
        CHECK_THROWS_WITH_AS(ui::load_session("/dev/zero"), doctest::Contains("limit"), InputError);
        CHECK_THROWS_WITH_AS(ui::load_session(scratch().string()), doctest::Contains("is a directory"), InputError);
        CHECK(ui::session_from_json(session(R"("params": {"heads": 4, "d": 32})")).params.heads == 4);
    }
#endif
}

TEST_SUITE("gpu") {
    TEST_CASE("a masked key contributes nothing, whatever V holds (NaN in V[20, 7])") {
        const int64_t n = 64, d = 8;
        QKV x = make_qkv(1, n, d, 3, QkvSource::gaussian);
        x.v[size_t(20 * d + 7)] = std::nanf("");
        const HeadMask m(HeadPattern{false, {Component{.type = ComponentType::window, .radius = 3}}}, n);
        const BlockMask bm = compile_block_mask(std::vector<HeadMask>{m});
        AttentionEngine engine(test::gpu_context());
        engine.upload(x.q, x.k, x.v, {1, n, d});
        for (const RunResult& r : {engine.run(bm, {.read_back = true}), engine.run_band(3, 3, {.read_back = true})}) {
            CAPTURE(r.path);
            for (int64_t i = 0; i < n; ++i)
                for (int64_t c = 0; c < d; ++c) {
                    const bool attends = i >= 17 && i <= 23 && c == 7;
                    CHECK(std::isnan(r.out[size_t(i * d + c)]) == attends);
                }
        }
        test::check_no_validation_messages();
    }
}
