#include "reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace salab {

namespace {

template <class RowFn>
void attend(int64_t n, RowFn&& row_keys, std::span<const float> q, std::span<const float> k,
            std::span<const float> v, int64_t d, std::span<float> out) {
    const size_t need = size_t(n) * size_t(d);
    if (q.size() < need || k.size() < need || v.size() < need || out.size() < need)
        throw std::invalid_argument("reference_attention: Q/K/V/O must hold n * d floats");
    const double scale = 1.0 / std::sqrt(double(d));
    std::vector<int32_t> keys;
    std::vector<double> s, acc(static_cast<size_t>(d));
    for (int64_t i = 0; i < n; ++i) {
        row_keys(i, keys);
        std::fill(acc.begin(), acc.end(), 0.0);
        s.resize(keys.size());
        double mx = -std::numeric_limits<double>::infinity();
        for (size_t t = 0; t < keys.size(); ++t) {
            double dot = 0.0;
            for (int64_t c = 0; c < d; ++c) dot += double(q[size_t(i * d + c)]) * double(k[size_t(keys[t] * d + c)]);
            s[t] = dot * scale;
            mx = std::max(mx, s[t]);
        }
        double sum = 0.0;
        for (size_t t = 0; t < keys.size(); ++t) {
            const double p = std::exp(s[t] - mx);
            sum += p;
            for (int64_t c = 0; c < d; ++c) acc[size_t(c)] += p * double(v[size_t(keys[t] * d + c)]);
        }
        for (int64_t c = 0; c < d; ++c) out[size_t(i * d + c)] = sum > 0 ? float(acc[size_t(c)] / sum) : 0.0f;
    }
}

}  // namespace

void reference_attention(const HeadMask& mask, std::span<const float> q, std::span<const float> k,
                         std::span<const float> v, int64_t d, std::span<float> out) {
    attend(mask.n(), [&](int64_t i, std::vector<int32_t>& keys) { mask.row(i, keys); }, q, k, v, d, out);
}

void reference_attention(const Csr& csr, std::span<const float> q, std::span<const float> k,
                         std::span<const float> v, int64_t d, std::span<float> out) {
    attend(
        csr.n,
        [&](int64_t i, std::vector<int32_t>& keys) {
            keys.assign(csr.cols.begin() + csr.row_ptr[size_t(i)], csr.cols.begin() + csr.row_ptr[size_t(i) + 1]);
        },
        q, k, v, d, out);
}

double relative_error(std::span<const float> got, std::span<const float> want) {
    if (got.size() != want.size()) return std::numeric_limits<double>::infinity();
    double max_diff = 0.0, max_ref = 0.0;
    for (size_t i = 0; i < got.size(); ++i) {
        if (!std::isfinite(got[i])) return std::numeric_limits<double>::infinity();
        max_diff = std::max(max_diff, std::abs(double(got[i]) - double(want[i])));
        max_ref = std::max(max_ref, std::abs(double(want[i])));
    }
    return max_diff / std::max(max_ref, 1e-30);
}

}  // namespace salab
