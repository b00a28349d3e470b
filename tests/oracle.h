// The CPU oracle over several heads, shared by the GPU suites: reference_attention (plain
// loops, double accumulation) per head on the head's slice of Q, K and V.
#pragma once

#include "mask.h"
#include "reference.h"
#include "synthetic.h"

#include <span>
#include <vector>

namespace salab::test {

// Mask: Csr or HeadMask (reference_attention takes either).
template <class Mask>
std::vector<float> oracle(const std::vector<Mask>& heads, const QKV& x, int64_t n, int64_t d) {
    const size_t per = size_t(n) * size_t(d);
    std::vector<float> out(per * heads.size());
    for (size_t h = 0; h < heads.size(); ++h)
        reference_attention(heads[h], std::span<const float>(x.q).subspan(h * per, per),
                            std::span<const float>(x.k).subspan(h * per, per),
                            std::span<const float>(x.v).subspan(h * per, per), d,
                            std::span<float>(out).subspan(h * per, per));
    return out;
}

}  // namespace salab::test
