// CPU oracle: plain loops, double accumulation. Slow on purpose; the truth for every GPU test.
#pragma once

#include "mask.h"

#include <cstdint>
#include <span>
#include <vector>

namespace salab {

// Q, K, V, O of one head, row-major [n, d]. Rows with no keys give zeros.
// O_i = sum_j softmax_j(q_i.k_j * scale) v_j over the kept keys (scale = 1/sqrt(d)).
void reference_attention(const HeadMask& mask, std::span<const float> q, std::span<const float> k,
                         std::span<const float> v, int64_t d, std::span<float> out);

// Same over an explicit CSR.
void reference_attention(const Csr& csr, std::span<const float> q, std::span<const float> k,
                         std::span<const float> v, int64_t d, std::span<float> out);

// max |a-b| / max(max |b|, tiny): the normalised error used by every GPU test and --check.
double relative_error(std::span<const float> got, std::span<const float> want);

}  // namespace salab
