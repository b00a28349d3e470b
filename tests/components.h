// Component builders shared by the test suites (one place, the field names of pattern.h).
#pragma once

#include "pattern.h"

namespace salab::test {

inline Component window(int64_t radius, int64_t dilation = 1) {
    Component c;
    c.type = ComponentType::window;
    c.radius = radius;
    c.dilation = dilation;
    return c;
}
inline Component global_first(int64_t first) {
    Component c;
    c.type = ComponentType::global;
    c.first = first;
    return c;
}
inline Component random_keys(int64_t per_query, uint64_t seed) {
    Component c;
    c.type = ComponentType::random;
    c.per_query = per_query;
    c.seed = seed;
    return c;
}
inline Component lsh_component(int64_t buckets, int64_t rounds, uint64_t seed) {
    Component c;
    c.type = ComponentType::lsh;
    c.buckets = buckets;
    c.rounds = rounds;
    c.seed = seed;
    return c;
}
inline Component topk_component(int64_t k) {
    Component c;
    c.type = ComponentType::topk;
    c.k = k;
    return c;
}

}  // namespace salab::test
