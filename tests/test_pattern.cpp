// Pattern JSON: parsing, defaults, stacks, round trips and one-line errors.
#include "pattern.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace salab;

namespace {

// The message of the InputError that parse_pattern throws, or "" when it parses.
std::string parse_error(const std::string& text) {
    try {
        parse_pattern(text);
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

std::string flat(const std::string& components, const std::string& extra = "") {
    return R"({"name": "t", "n": 100, "causal": false, )" + extra + R"("components": [)" +
           components + "]}";
}

}  // namespace

TEST_SUITE("pattern") {

    TEST_CASE("the DESIGN.md example parses to one layer with one head") {
        const Pattern p = parse_pattern(R"({
      "name": "BigBird-ish",
      "n": 4096,
      "causal": false,
      "components": [
        {"type": "window",  "radius": 3, "dilation": 1},
        {"type": "global",  "first": 1, "every": 0, "tokens": []},
        {"type": "random",  "per_query": 2, "seed": 7}
      ]
    })");
        CHECK(p.name == "BigBird-ish");
        CHECK(p.n == 4096);
        CHECK(p.is_flat());
        CHECK_FALSE(p.needs_qk());
        const HeadPattern& h = p.layers.at(0).heads.at(0);
        CHECK_FALSE(h.causal);
        REQUIRE(h.components.size() == 3);
        CHECK(h.components[0].type == ComponentType::window);
        CHECK(h.components[0].radius == 3);
        CHECK(h.components[1].type == ComponentType::global);
        CHECK(h.components[1].first == 1);
        CHECK(h.components[2].type == ComponentType::random);
        CHECK(h.components[2].per_query == 2);
        CHECK(h.components[2].seed == 7);
    }

    TEST_CASE("missing parameters take the defaults of Component") {
        const Pattern p = parse_pattern(
            flat(R"({"type": "window"}, {"type": "lsh"}, {"type": "fixed"}, {"type": "dense"})"));
        const auto& c = p.layers[0].heads[0].components;
        CHECK(c[0] == Component());
        Component lsh;
        lsh.type = ComponentType::lsh;
        CHECK(c[1] == lsh);
        CHECK(c[1].buckets == 2);
        CHECK(c[1].rounds == 1);
        CHECK(c[2].block == 1);
        CHECK(c[2].summary == 1);
        CHECK(p.needs_qk());
        CHECK(needs_qk(c[1]));
        CHECK_FALSE(needs_qk(c[0]));
    }

    TEST_CASE("causal defaults to false, description is kept, seeds are full uint64") {
        const Pattern p = parse_pattern(
            R"({"n": 5, "description": "d", "components": [{"type": "random", "per_query": 1, "seed": 18446744073709551615}]})");
        CHECK(p.name.empty());
        CHECK(p.description == "d");
        CHECK_FALSE(p.layers[0].heads[0].causal);
        CHECK(p.layers[0].heads[0].components[0].seed == 18446744073709551615ull);
    }

    TEST_CASE(
        "stacks: layers of heads, each with its own causal, top-level causal is the default") {
        const Pattern p = parse_pattern(R"({
      "name": "stack", "n": 64, "causal": true,
      "layers": [
        {"heads": [{"components": [{"type": "window", "radius": 2}]},
                   {"causal": false, "components": [{"type": "dense"}]}]},
        {"heads": [{"name": "ignored", "components": [{"type": "topk", "k": 4}]}]}
      ]
    })");
        CHECK(p.num_layers() == 2);
        CHECK(p.num_heads(0) == 2);
        CHECK(p.num_heads(1) == 1);
        CHECK_FALSE(p.is_flat());
        CHECK(p.layers[0].heads[0].causal);
        CHECK_FALSE(p.layers[0].heads[1].causal);
        CHECK(p.layers[1].heads[0].causal);
        CHECK(p.layers[1].heads[0].components[0].k == 4);
        CHECK(p.needs_qk());
    }

    TEST_CASE("round trip: parse(to_json(p)) == p, flat and stacked") {
        std::vector<std::string> texts = {
            flat(
                R"({"type": "window", "radius": 3, "dilation": 2}, {"type": "global", "first": 2, "every": 7, "tokens": [5, 9]},
               {"type": "random", "per_query": 3, "seed": 12345678901234567890}, {"type": "strided", "stride": 9},
               {"type": "fixed", "block": 8, "summary": 3},
               {"type": "block", "block": 16, "window_blocks": 1, "global_blocks": 2, "random_blocks": 3, "seed": 4},
               {"type": "lsh", "buckets": 8, "rounds": 3, "seed": 2}, {"type": "topk", "k": 5}, {"type": "dense"})"),
            R"({"name": "s", "description": "two layers", "n": 33, "layers": [{"heads": [{"causal": true, "components": []},
           {"causal": false, "components": [{"type": "dense"}]}]}, {"heads": [{"causal": true, "components": [{"type": "window"}]}]}]})",
            R"({"n": 1, "causal": true, "components": []})",
        };
        for (const auto& t : texts) {
            CAPTURE(t);
            const Pattern p = parse_pattern(t);
            CHECK(parse_pattern(to_json(p)) == p);
            CHECK(parse_pattern(to_json(p, -1)) == p);
        }
        // A one-layer, one-head stack is written flat and reads back equal.
        const Pattern one = parse_pattern(
            R"({"n": 4, "layers": [{"heads": [{"causal": true, "components": [{"type": "dense"}]}]}]})");
        CHECK(to_json(one).find("layers") == std::string::npos);
        CHECK(parse_pattern(to_json(one)) == one);
    }

    TEST_CASE("with_n replaces n and revalidates") {
        const Pattern p = parse_pattern(flat(R"({"type": "global", "tokens": [50]})"));
        CHECK(with_n(p, 300).n == 300);
        CHECK_THROWS_AS(with_n(p, 40), InputError);  // token 50 no longer exists
        CHECK_THROWS_AS(with_n(p, 0), InputError);
        CHECK_THROWS_WITH_AS(with_n(p, max_tokens + 1),
                             doctest::Contains("n must be in [1, 268435456]"), InputError);
    }

    TEST_CASE("component type names") {
        for (auto t : {ComponentType::window, ComponentType::global, ComponentType::random,
                       ComponentType::strided, ComponentType::fixed, ComponentType::block,
                       ComponentType::lsh, ComponentType::topk, ComponentType::dense})
            CHECK(component_type_from_string(to_string(t)) == t);
        CHECK_FALSE(component_type_from_string("windw").has_value());
    }

    TEST_CASE("bad input throws InputError with one useful line") {
        struct Case {
            std::string text, expect;
        };
        const std::vector<Case> cases = {
            {flat(R"({"type": "window", "radius": 2}, {"type": "window", "radius": -3})"),
             "pattern: components[1] (window): radius must be >= 0, got -3"},
            {flat(R"({"type": "window", "dilation": 0})"),
             "components[0] (window): dilation must be >= 1, got 0"},
            {flat(R"({"type": "windw"})"),
             "pattern: components[0]: unknown component type \"windw\" (expected one of window, "
             "global, random, strided, "
             "fixed, block, lsh, topk, dense); did you mean \"window\"?"},
            {R"({"n": 0, "components": []})", "pattern: n must be in [1, 268435456], got 0"},
            {R"({"n": 268435457, "components": []})",
             "pattern: n must be in [1, 268435456], got 268435457"},
            {R"({"name": "x", "n": 10, "components": [{"type": "dense"},]})",
             "pattern: invalid JSON at byte "},
            {"", "pattern: invalid JSON at byte"},
            {R"({"n": 10, "componets": []})", "unknown key \"componets\""},
            {R"({"n": 10, "componets": []})", "did you mean \"components\"?"},
            {flat(R"({"type": "window", "radius": 2, "radus": 3})"),
             "components[0] (window): unknown key \"radus\" (expected type, radius or dilation); "
             "did you mean \"radius\"?"},
            {flat(R"({"type": "dense", "k": 3})"), "components[0] (dense): unknown key \"k\""},
            {flat(R"({"type": "global", "first": -1})"), "(global): first must be >= 0, got -1"},
            {flat(R"({"type": "global", "every": -2})"), "(global): every must be >= 0, got -2"},
            {flat(R"({"type": "global", "tokens": [3, 100]})"),
             "(global): tokens[1] must be in [0, 99] (n = 100), got 100"},
            {flat(R"({"type": "global", "tokens": [-1]})"), "tokens[0] must be in [0, 99]"},
            {flat(R"({"type": "global", "tokens": 3})"), "tokens must be an array, got 3"},
            {flat(R"({"type": "random", "per_query": -1})"),
             "(random): per_query must be >= 0, got -1"},
            {flat(R"({"type": "random", "seed": -1})"),
             "(random): seed must be a non-negative integer, got -1"},
            {flat(R"({"type": "random", "seed": 1.5})"),
             "seed must be a non-negative integer, got 1.5"},
            {flat(R"({"type": "strided", "stride": 0})"), "(strided): stride must be >= 1, got 0"},
            {flat(R"({"type": "fixed", "block": 0})"), "(fixed): block must be >= 1, got 0"},
            {flat(R"({"type": "fixed", "block": 4, "summary": 5})"),
             "(fixed): summary must be in [1, block] = [1, 4], got 5"},
            {flat(R"({"type": "fixed", "block": 4, "summary": 0})"),
             "summary must be in [1, block]"},
            {flat(R"({"type": "block", "block": 0})"), "(block): block must be >= 1, got 0"},
            {flat(R"({"type": "block", "window_blocks": -1})"),
             "(block): window_blocks must be >= 0, got -1"},
            {flat(R"({"type": "block", "global_blocks": -1})"),
             "(block): global_blocks must be >= 0, got -1"},
            {flat(R"({"type": "block", "random_blocks": -1})"),
             "(block): random_blocks must be >= 0, got -1"},
            {flat(R"({"type": "lsh", "buckets": 3})"),
             "(lsh): buckets must be even and in [2, 65536], got 3"},
            {flat(R"({"type": "lsh", "buckets": 0})"), "buckets must be even"},
            {flat(R"({"type": "lsh", "rounds": 0})"), "(lsh): rounds must be in [1, 64], got 0"},
            {flat(R"({"type": "topk", "k": 0})"), "(topk): k must be >= 1, got 0"},
            {flat(R"({"type": "window", "radius": 2.5})"), "radius must be an integer, got 2.5"},
            {flat(R"({"type": "window", "radius": "3"})"), "radius must be an integer, got \"3\""},
            {flat(R"({"radius": 3})"), "components[0]: missing \"type\""},
            {flat(R"(3)"), "components[0] must be an object"},
            {R"({"n": 10})", "missing \"components\" (a flat pattern) or \"layers\""},
            {R"({"components": []})", "missing \"n\""},
            {R"({"n": 10, "components": [], "layers": []})",
             "has both \"components\" and \"layers\""},
            {R"({"n": 10, "layers": []})", "layers must not be empty"},
            {R"({"n": 10, "layers": [{"heads": []}]})", "layers[0].heads must not be empty"},
            {R"({"n": 10, "layers": [{}]})", "layers[0]: missing \"heads\""},
            {R"({"n": 10, "layers": [{"heads": [{"causal": true}]}]})",
             "layers[0].heads[0]: missing \"components\""},
            {R"({"n": 10, "layers": [{"heads": [{"components": [{"type": "window", "radius": -1}]}]}]})",
             "pattern: layers[0].heads[0].components[0] (window): radius must be >= 0, got -1"},
            {R"({"n": 10, "layers": [{"heads": [{"n": 3, "components": []}]}]})",
             "layers[0].heads[0]: unknown key \"n\""},
            {R"({"n": 10, "causal": 1, "components": []})", "causal must be true or false, got 1"},
            {R"({"n": 10, "name": 3, "components": []})", "name must be a string, got 3"},
            {R"([1, 2])", "expected a JSON object"},
            // Keys and type names from the file are quoted with escapes and cut short (the
            // fuzzer's "r\ndom_blocks" once put a line break into the message).
            {flat(R"({"type": "block", "r\ndom_blocks": 3})"), "unknown key \"r\\ndom_blocks\""},
            {flat(R"({"type": "win\tdow"})"), "unknown component type \"win\\tdow\""},
            {flat(R"({"type": "window", "\u0001": 1})"), "unknown key \"\\u0001\""},
            {flat("{\"type\": \"dense\", \"" + std::string(5000, 'k') + "\": 1}"),
             "unknown key \"" + std::string(40, 'k') + "...\" (expected"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.text);
            const std::string msg = parse_error(c.text);
            CHECK_MESSAGE(msg.find(c.expect) != std::string::npos, "got: " << msg);
            CHECK(msg.rfind("pattern: ", 0) == 0);
            CHECK(msg.find('\n') == std::string::npos);
        }
    }

    TEST_CASE("too many components for the component bitmask") {
        std::string comps;
        for (int c = 0; c < 33; ++c)
            comps += std::string(c ? "," : "") + R"({"type": "dense"})";
        CHECK(parse_error(flat(comps)).find("at most 32") != std::string::npos);
    }

    TEST_CASE("load_pattern names the file in its errors") {
        CHECK_THROWS_WITH_AS(load_pattern("/nonexistent/p.json"),
                             doctest::Contains("/nonexistent/p.json"), InputError);
        const auto path = std::filesystem::temp_directory_path() / "salab_test_pattern_bad.json";
        std::ofstream(path) << R"({"n": -1, "components": []})";
        CHECK_THROWS_WITH_AS(
            load_pattern(path.string()),
            doctest::Contains("salab_test_pattern_bad.json: n must be in [1, 268435456], got -1"),
            InputError);
        std::ofstream(path) << R"({"n": 7, "components": [{"type": "dense"}]})";
        CHECK(load_pattern(path.string()).n == 7);
        std::filesystem::remove(path);
    }

}  // TEST_SUITE
