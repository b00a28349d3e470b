// Patterns as data: the JSON format and exact semantics of DESIGN.md.
//
// A Pattern is one or more layers, each with one or more heads; a flat JSON pattern
// ("components" at top level) is one layer with one head. Parsing validates every
// parameter and throws salab::InputError with a one-line message that says what to change.
#pragma once

#include "errors.h"  // InputError

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace salab {

enum class ComponentType { window, global, random, strided, fixed, block, lsh, topk, dense };

std::string_view to_string(ComponentType t);
// "window" -> ComponentType::window; nullopt for an unknown name.
std::optional<ComponentType> component_type_from_string(std::string_view name);

// Most components in one head: HeadMask::components_keeping returns one bit per component.
inline constexpr size_t max_components = 32;

// One component of a head's union. Only the fields of its type are meaningful; the others
// keep their defaults so that == compares what matters.
struct Component {
    ComponentType type = ComponentType::window;
    // window
    int64_t radius = 0;
    int64_t dilation = 1;
    // global
    int64_t first = 0;
    int64_t every = 0;
    std::vector<int64_t> tokens;
    // random (per_query), block (random_blocks), lsh: seeded draws
    int64_t per_query = 0;
    uint64_t seed = 0;
    // strided
    int64_t stride = 1;
    // fixed (block, summary) and block (block, window_blocks, global_blocks, random_blocks)
    int64_t block = 1;
    int64_t summary = 1;
    int64_t window_blocks = 0;
    int64_t global_blocks = 0;
    int64_t random_blocks = 0;
    // lsh
    int64_t buckets = 2;
    int64_t rounds = 1;
    // topk
    int64_t k = 1;

    bool operator==(const Component&) const = default;
};

// True for components whose mask depends on Q and K (lsh, topk).
bool needs_qk(const Component& c);

struct HeadPattern {
    bool causal = false;
    std::vector<Component> components;
    bool operator==(const HeadPattern&) const = default;
};

struct Layer {
    std::vector<HeadPattern> heads;
    bool operator==(const Layer&) const = default;
};

struct Pattern {
    std::string name;
    std::string description;
    int64_t n = 0;
    std::vector<Layer> layers;  // at least one layer, each with at least one head

    bool operator==(const Pattern&) const = default;

    int num_layers() const { return static_cast<int>(layers.size()); }
    int num_heads(int layer = 0) const { return static_cast<int>(layers.at(layer).heads.size()); }
    bool is_flat() const { return layers.size() == 1 && layers[0].heads.size() == 1; }
    bool needs_qk() const;
};

// Largest n the engine accepts (token indices are stored as 32-bit on the GPU).
inline constexpr int64_t max_tokens = int64_t(1) << 28;

// Parse and validate. Throws InputError with one line naming what to change, e.g.
//   pattern: components[1] (window): radius must be >= 0, got -3
//   pattern: layers[0].heads[1].components[0]: unknown component type "windw" (expected one of ...)
//   pattern: invalid JSON at byte 37: syntax error while parsing object key ...
// Unknown keys are errors (typos must not be silently ignored). Missing component parameters
// take the defaults of Component above. Seeds are non-negative JSON integers (uint64).
// In a stack, a top-level "causal" is the default for heads that have no "causal" of their own;
// head entries may carry "name"/"description", which are ignored.
Pattern parse_pattern(std::string_view json_text);
// load_pattern's messages name the file: "pattern foo.json: n must be in ...".
Pattern load_pattern(const std::string& path);
// Re-checks all parameters against n (e.g. after --n overrides it). Throws InputError.
void validate(const Pattern& p);
// Serialise; parse_pattern(to_json(p)) == p. Flat patterns are written flat.
std::string to_json(const Pattern& p, int indent = 2);

// Returns p with n replaced and revalidated (the --n flag).
Pattern with_n(Pattern p, int64_t n);

}  // namespace salab
