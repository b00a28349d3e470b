// Pattern advisor (compute/advisor.h): the front, recovery of a planted pattern, the sampled
// mass bound, family errors, and salab-cli advise --json.
#include "advisor.h"
#include "errors.h"
#include "export.h"
#include "synthetic.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

using namespace salab;

namespace {

std::string family_text(int64_t n, const std::string& params) {
    return R"({"name": "t", "base": {"name": "b", "n": )" + std::to_string(n) +
           R"(, "components": [{"type": "window", "radius": 1}, {"type": "global", "first": 0}, {"type": "random", "per_query": 0, "seed": 3}]}, "params": )" +
           params + "}";
}

const std::string three_params =
    R"([{"name": "radius", "component": 0, "field": "radius", "values": [1, 2, 4, 8, 12, 16, 24]},
        {"name": "globals", "component": 1, "field": "first", "range": [0, 4]},
        {"name": "random", "component": 2, "field": "per_query", "values": [0, 2, 8]}])";

// Attention that is exactly a window of radius r plus two sink tokens: d = n, k_j = e_j, and
// q_i holds beta on the keys of its window and s on keys 0 and 1 (each sink as heavy as the
// whole window). Every other key has logit 0, a weight e^-beta of a window key.
QKV planted(int64_t n, int64_t r, double beta) {
    const int64_t d = n;
    QKV x;
    x.q.assign(size_t(n * d), 0.f);
    x.k.assign(size_t(n * d), 0.f);
    x.v = gaussian_tensor(n * d, 5);
    const double sd = std::sqrt(double(d));
    const double sink = beta + std::log(double(2 * r + 1));
    for (int64_t i = 0; i < n; ++i) {
        x.k[size_t(i * d + i)] = 1;
        for (int64_t j = std::max<int64_t>(0, i - r); j <= std::min(n - 1, i + r); ++j)
            x.q[size_t(i * d + j)] = float(beta * sd);
        x.q[size_t(i * d + 0)] = float(sink * sd);
        x.q[size_t(i * d + 1)] = float(sink * sd);
    }
    return x;
}

}  // namespace

TEST_CASE("advisor: the front is non-dominated and dominates every other point") {
    const Family f = parse_family(family_text(256, three_params));
    CHECK(f.size() == 7 * 5 * 3);
    QKV qkv = make_qkv(1, 256, 16, 2, QkvSource::structured);
    AdvisorSource src = make_advisor_source(qkv, 256, 16, "structured:2");
    AdvisorCache cache;
    AdvisorOptions o;
    o.cost = CostModel::density;
    o.refine = false;  // every point, so that domination is checked over the whole grid
    AdvisorResult r = run_advisor(f, src, cache, o);
    REQUIRE(r.points.size() == size_t(f.size()));
    REQUIRE(!r.front.empty());
    std::vector<bool> on(r.points.size(), false);
    for (size_t i : r.front) on[i] = true;
    for (size_t a : r.front)
        for (size_t b = 0; b < r.points.size(); ++b) CHECK_FALSE(dominates(r.points[b], r.points[a]));
    for (size_t b = 0; b < r.points.size(); ++b) {
        if (on[b]) continue;
        bool covered = false;
        for (size_t a : r.front)
            covered = covered || dominates(r.points[a], r.points[b]) ||
                      (r.points[a].cost == r.points[b].cost && r.points[a].kept_mass == r.points[b].kept_mass);
        CHECK(covered);
    }
    for (size_t i = 1; i < r.front.size(); ++i) {
        CHECK(r.points[r.front[i]].cost > r.points[r.front[i - 1]].cost);
        CHECK(r.points[r.front[i]].kept_mass > r.points[r.front[i - 1]].kept_mass);
    }
    // A second run is answered from the cache with the same numbers.
    AdvisorResult again = run_advisor(f, src, cache, o);
    REQUIRE(again.points.size() == r.points.size());
    CHECK(again.points[5].cached);
    CHECK(again.points[5].kept_mass == r.points[5].kept_mass);
}

TEST_CASE("advisor: recovers a planted window radius and two sinks") {
    const int64_t n = 256, d = n, r_planted = 12;
    const Family f = parse_family(family_text(n, R"([{"name": "radius", "component": 0, "field": "radius", "range": [4, 20]},
        {"name": "globals", "component": 1, "field": "first", "range": [0, 4]},
        {"name": "random", "component": 2, "field": "per_query", "values": [0, 4]}])"));
    AdvisorSource src = make_advisor_source(planted(n, r_planted, 12.0), n, d, "planted");
    AdvisorCache cache;
    AdvisorOptions o;
    o.cost = CostModel::density;
    for (bool refine : {false, true}) {
        CAPTURE(refine);
        o.refine = refine;
        AdvisorResult r = run_advisor(f, src, cache, o);
        if (refine) CHECK(r.points.size() < size_t(f.size()));
        const auto best = recommend(r, 0.99);
        REQUIRE(best);
        const PointMetrics& p = r.points[*best];
        CAPTURE(explain(r, *best));
        CHECK(p.values[0] == r_planted);
        CHECK(p.values[1] == 2);
        CHECK(p.values[2] == 0);
        CHECK(p.kept_mass >= 0.99);
    }
}

TEST_CASE("advisor: the recommendation's mask_mod file (the GUI's export) is export --flex's, and bad paths fail in one line") {
    const int64_t n = 128, d = n;
    const Family f = parse_family(family_text(n, R"([{"name": "radius", "component": 0, "field": "radius", "range": [2, 10]},
        {"name": "globals", "component": 1, "field": "first", "range": [0, 3]}])"));
    AdvisorSource src = make_advisor_source(planted(n, 6, 12.0), n, d, "planted6");
    AdvisorCache cache;
    AdvisorOptions o;
    o.cost = CostModel::density;
    AdvisorResult r = run_advisor(f, src, cache, o);
    const auto best = recommend(r, 0.99);
    REQUIRE(best);
    const Pattern& p = r.points[*best].pattern;
    CHECK(p.layers[0].heads[0].components[0].radius == 6);
    const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("salab_advisor_flex_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string file = (dir / "mask_mod.py").string();
    write_flex_file(p, file);
    std::ifstream in(file);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text == export_flex_python(p));
    CHECK(text.find("def mask_mod(") != std::string::npos);
    // The window of radius 6 and globals 0, 1 in the file's own table-free arithmetic: evaluate it.
    if (std::system("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1") == 0) {
        const std::string cmd = "cd " + dir.string() + " && /usr/bin/python3 -c \"import numpy as np, mask_mod as m; "
                                "q = np.arange(128)[:, None]; k = np.arange(128)[None, :]; "
                                "got = np.asarray(m.mask_mod(0, 0, q, k), dtype=bool); "
                                "want = (abs(q - k) <= 6) | (q < 2) | (k < 2); "
                                "raise SystemExit(0 if (got == want).all() else 1)\" > /dev/null 2>&1";
        CHECK(std::system(cmd.c_str()) == 0);
    }
    CHECK_THROWS_AS(write_flex_file(p, dir.string()), InputError);  // a directory
    CHECK_THROWS_AS(write_flex_file(p, (dir / "no/such/dir/f.py").string()), InputError);
    CHECK_THROWS_AS(write_flex_file(p, ""), InputError);
    try {
        write_flex_file(p, dir.string());
    } catch (const InputError& e) {
        CHECK(std::string(e.what()).find('\n') == std::string::npos);
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("advisor: sampled mass agrees with exact mass within its bound") {
    const int64_t n = 512, d = 16;
    const Family f = parse_family(family_text(n, R"([{"name": "radius", "component": 0, "field": "radius", "values": [2, 16, 64]},
        {"name": "globals", "component": 1, "field": "first", "values": [0, 4]}])"));
    QKV qkv = make_qkv(1, n, d, 4, QkvSource::structured);
    AdvisorSource exact = make_advisor_source(qkv, n, d, "s");
    AdvisorSource sampled = make_advisor_source(qkv, n, d, "s", /*exact_threshold=*/100, /*sample_rows=*/128);
    CHECK(exact.exact());
    CHECK_FALSE(sampled.exact());
    CHECK(sampled.rows.size() == 128);
    const double bound = sampled.mass_bound();
    CHECK(bound > 0);
    CHECK(bound < 0.2);
    AdvisorCache c1, c2;
    AdvisorOptions o;
    o.cost = CostModel::density;
    o.refine = false;
    AdvisorResult a = run_advisor(f, exact, c1, o);
    AdvisorResult b = run_advisor(f, sampled, c2, o);
    REQUIRE(a.points.size() == b.points.size());
    for (size_t i = 0; i < a.points.size(); ++i) {
        CAPTURE(a.points[i].pattern.name);
        CHECK(a.points[i].mass_bound == 0);
        CHECK(b.points[i].mass_bound == doctest::Approx(bound));
        CHECK(std::abs(a.points[i].kept_mass - b.points[i].kept_mass) <= bound);
        CHECK(a.points[i].kept_pairs == b.points[i].kept_pairs);  // pairs are exact either way
    }
}

TEST_CASE("advisor: bad family JSON gives one-line errors") {
    auto err = [](const std::string& text) {
        try {
            parse_family(text);
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    const std::pair<std::string, std::string> cases[] = {
        {"{", "invalid JSON"},
        {"[]", "expected a JSON object"},
        {R"({"params": []})", "base"},
        {family_text(64, "[]"), "params"},
        {family_text(64, R"([{"component": 0, "field": "radius", "values": [1]}, 3])"), "params[1] must be an object"},
        {family_text(64, R"([{"component": 0, "field": "frist", "values": [1]}])"), "not a parameter of a window"},
        {family_text(64, R"([{"component": 7, "field": "radius", "values": [1]}])"), "component 7 is not in"},
        {family_text(64, R"([{"component": 0, "field": "radius", "values": [-3]}])"), "radius must be >= 0"},
        {family_text(64, R"([{"component": 0, "field": "radius", "range": [1, 4, 0]}])"), "step must be >= 1"},
        {family_text(64, R"([{"component": 0, "field": "radius", "values": [1], "range": [1, 2]}])"), "exactly one of"},
        {family_text(64, R"([{"component": 0, "field": "radius", "values": ["x"]}])"), "must be an integer"},
        {family_text(64, R"([{"field": "causal", "values": [0, 2]}])"), "causal values"},
        {family_text(64, R"([{"component": 0, "field": "radius", "range": [0, 1000]}, {"component": 1, "field": "first", "range": [0, 1000]}])"),
         "more than 100000"},
    };
    for (const auto& [text, needle] : cases) {
        CAPTURE(text);
        const std::string e = err(text);
        CAPTURE(e);
        CHECK(e.find(needle) != std::string::npos);
        CHECK(e.find('\n') == std::string::npos);
        CHECK(e.rfind("family: ", 0) == 0);
    }
}

TEST_SUITE("cli") {
    TEST_CASE("advise --json prints the front and a recommended pattern export accepts") {
        namespace fs = std::filesystem;
        const fs::path dir = fs::path(SALAB_BINARY_DIR) / "advise_test";
        fs::create_directories(dir);
        const fs::path fam = dir / "fam.json", rec = dir / "rec.json", bad = dir / "bad.json";
        std::ofstream(fam) << family_text(256, three_params);
        std::ofstream(bad) << family_text(256, R"([{"component": 0, "field": "k", "values": [1]}])");
        auto cli = [](const std::string& args, int& code) {
            const std::string cmd = std::string(SALAB_CLI) + " " + args + " 2>&1";
            FILE* p = popen(cmd.c_str(), "r");
            REQUIRE(p);
            std::string out;
            char buf[4096];
            while (size_t k = fread(buf, 1, sizeof buf, p)) out.append(buf, k);
            const int st = pclose(p);
            code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            return out;
        };
        int code = -1;
        const std::string out = cli("advise --family " + fam.string() + " --d 16 --cost density --budget-mass 0.5 --json --out " +
                                        rec.string(), code);
        CAPTURE(out);
        REQUIRE(code == 0);
        std::istringstream lines(out);
        std::string line;
        int front = 0;
        nlohmann::json last;
        double prev_cost = -1;
        while (std::getline(lines, line)) {
            last = nlohmann::json::parse(line);
            if (last.contains("front")) {
                ++front;
                CHECK(last["cost"].get<double>() > prev_cost);
                prev_cost = last["cost"].get<double>();
            }
        }
        CHECK(front >= 2);
        REQUIRE(last.contains("recommended"));
        CHECK(last["recommended"].is_object());
        CHECK(last["recommended"]["n"] == 256);
        CHECK(last["points"].get<int>() > 0);
        CHECK(last["explanation"].get<std::string>().find("of the mass") != std::string::npos);
        const std::string ex = cli("export --pattern " + rec.string() + " --flex " + (dir / "m.py").string(), code);
        CAPTURE(ex);
        CHECK(code == 0);
        CHECK(fs::exists(dir / "m.py"));
        const std::string e = cli("advise --family " + bad.string() + " --cost density", code);
        CHECK(code == 2);
        CHECK(e.find("not a parameter of a window") != std::string::npos);
        CHECK(std::count(e.begin(), e.end(), '\n') == 1);
    }
}
