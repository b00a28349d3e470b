// GPU mask density image (issue 4, AttentionEngine::mask_density) against a CPU count from the
// token CSRs of the same heads.
//
// Tolerances: a cell covering at most mask_density_sample_rows(stride) query rows visits every
// row, so it must match the exact CPU density within 1e-6 (float rounding). A cell covering
// more rows averages the per-row fractions f of evenly spaced rows (segment k of the cell's R
// rows is [floor(k*R/u), floor((k+1)*R/u)), sampled at its first row). Then
//   (a) it must match the CPU average over the same sampled rows within 1e-6, and
//   (b) its error against the exact density is at most ceil(R/u)/R * V + S * range(f)/2, where
//       V is the total variation of f over the cell's rows, range(f) = max f - min f and
//       S = sum_k |len_k/R - 1/u| (segment-mean vs sample term plus unequal-weight term).
#include "gpu_fixture.h"
#include "components.h"

#include "block_mask.h"
#include "mask.h"

#include <doctest.h>

#include <algorithm>
#include <cmath>

using namespace salab;
using salab::test::check_no_validation_messages;
using salab::test::gpu_context;

namespace {

Component dens_dense() {
    Component c;
    c.type = ComponentType::dense;
    return c;
}

HeadPattern dens_pattern(int which) {
    HeadPattern hp;
    if (which == 0) hp.components = {salab::test::window(5)};
    if (which == 1) hp.components = {salab::test::global_first(2), salab::test::random_keys(3, 11)};
    if (which == 2) {
        hp.causal = true;
        hp.components = {dens_dense()};
    }
    return hp;
}

// Kept keys of row `row` (CSR) in [kbeg, kend), as a fraction of the keys.
double row_fraction(const Csr& m, int64_t row, int64_t kbeg, int64_t kend) {
    auto b = m.cols.begin() + m.row_ptr[size_t(row)], e = m.cols.begin() + m.row_ptr[size_t(row) + 1];
    auto lo = std::lower_bound(b, e, int32_t(kbeg)), hi = std::lower_bound(b, e, int32_t(kend));
    return double(hi - lo) / double(kend - kbeg);
}

struct CellRef {
    double exact = 0, sampled = 0, tol = 1e-6;
    bool is_sampled = false;
};

CellRef cell_ref(const Csr& m, int64_t n, int64_t rbeg, int64_t kbeg, int64_t stride, int64_t u_max) {
    CellRef c;
    if (rbeg >= n || kbeg >= n) return c;
    const int64_t rend = std::min(n, rbeg + stride), kend = std::min(n, kbeg + stride);
    const int64_t R = rend - rbeg;
    std::vector<double> f(static_cast<size_t>(R));
    for (int64_t i = 0; i < R; ++i) f[size_t(i)] = row_fraction(m, rbeg + i, kbeg, kend);
    double sum = 0;
    for (double x : f) sum += x;
    c.exact = sum / double(R);
    const int64_t u = std::min(R, u_max);
    if (u == R) {
        c.sampled = c.exact;
        return c;
    }
    c.is_sampled = true;
    double ssum = 0, S = 0;
    for (int64_t k = 0; k < u; ++k) {
        const int64_t s0 = k * R / u, s1 = (k + 1) * R / u;
        ssum += f[size_t(s0)];
        S += std::abs(double(s1 - s0) / double(R) - 1.0 / double(u));
    }
    c.sampled = ssum / double(u);
    double V = 0;
    for (size_t i = 1; i < f.size(); ++i) V += std::abs(f[i] - f[i - 1]);
    const auto [mn, mx] = std::minmax_element(f.begin(), f.end());
    c.tol = double((R + u - 1) / u) / double(R) * V + S * (*mx - *mn) / 2.0 + 1e-6;
    return c;
}

// Every block full (or, when causal, blocks J < I full and diagonal blocks partial with key
// j <= row r), built directly: compiling a dense pattern at n = 65,536 on the CPU takes a minute.
BlockMask hand_dense(int64_t n, bool causal) {
    BlockMask bm;
    bm.n = n;
    bm.heads = 1;
    bm.num_blocks = (n + 63) / 64;
    bm.row_ptr.push_back(0);
    for (int64_t I = 0; I < bm.num_blocks; ++I) {
        for (int64_t J = 0; J <= (causal ? I : bm.num_blocks - 1); ++J) {
            if (causal && J == I) {
                bm.entries.push_back(uint32_t(J) | 0x80000000u);
                bm.entries.push_back(uint32_t(bm.partial_blocks++));
                for (uint32_t r = 0; r < 64; ++r) {  // n is a multiple of 64 here
                    bm.bits.push_back(r >= 31 ? 0xffffffffu : ((2u << r) - 1u));
                    bm.bits.push_back(r < 32 ? 0u : (r == 63 ? 0xffffffffu : ((2u << (r - 32)) - 1u)));
                }
            } else {
                bm.entries.push_back(uint32_t(J));
                bm.entries.push_back(0);
                ++bm.full_blocks;
            }
        }
        bm.row_ptr.push_back(uint32_t(bm.entries.size() / 2));
    }
    return bm;
}

}  // namespace

TEST_SUITE("gpu") {
    TEST_CASE("mask density image on the GPU matches the CPU count") {
        AttentionEngine engine(gpu_context());  // no Q/K/V upload: only the mask is needed
        int exact_cells = 0, sampled_cells = 0;
        for (int64_t n : {1, 7, 65, 1000, 4097}) {
            // Two heads with different patterns, plus the causal dense pattern as a shared mask.
            std::vector<HeadMask> two{HeadMask(dens_pattern(0), n), HeadMask(dens_pattern(1), n)};
            std::vector<HeadMask> one{HeadMask(dens_pattern(2), n)};
            const BlockMask bm2 = compile_block_mask(two), bm1 = compile_block_mask(one);
            const std::vector<Csr> csr2{build_csr(two[0]), build_csr(two[1])};
            const Csr csr1 = build_csr(one[0]);
            for (int64_t stride : {1, 3, 64, 100})
                for (int which = 0; which < 3; ++which)
                    for (int64_t off : {int64_t(0), n / 3, n - 1}) {
                        CAPTURE(n);
                        CAPTURE(stride);
                        CAPTURE(which);
                        CAPTURE(off);
                        const BlockMask& bm = which == 2 ? bm1 : bm2;
                        const Csr& m = which == 2 ? csr1 : csr2[size_t(which)];
                        Viewport v;
                        v.head = which == 2 ? 3 : which;  // any head reads a shared mask
                        v.row0 = off;
                        v.col0 = n - 1 - off;
                        v.stride = stride;
                        // One extra cell past n on each side (must be 0), capped for test time.
                        v.rows = std::min<int64_t>(150, (n - v.row0 + stride - 1) / stride + 1);
                        v.cols = std::min<int64_t>(150, (n - v.col0 + stride - 1) / stride + 1);
                        const std::vector<float> got = engine.mask_density(bm, v);
                        REQUIRE(got.size() == size_t(v.rows * v.cols));
                        const int64_t u = AttentionEngine::mask_density_sample_rows(stride);
                        int bad = 0;
                        for (int64_t r = 0; r < v.rows; ++r)
                            for (int64_t c = 0; c < v.cols; ++c) {
                                const CellRef ref =
                                    cell_ref(m, n, v.row0 + r * stride, v.col0 + c * stride, stride, u);
                                const double g = got[size_t(r * v.cols + c)];
                                (ref.is_sampled ? sampled_cells : exact_cells)++;
                                const bool ok = std::abs(g - ref.sampled) <= 1e-6 &&
                                                std::abs(g - ref.exact) <= ref.tol && g >= 0.0 && g <= 1.0;
                                if (!ok && bad++ < 3)
                                    FAIL_CHECK("cell (" << r << ", " << c << "): gpu " << g << ", cpu exact "
                                                        << ref.exact << ", cpu sampled " << ref.sampled
                                                        << ", tol " << ref.tol);
                            }
                        CHECK(bad == 0);
                    }
        }
        CHECK(exact_cells > 0);
        CHECK(sampled_cells > 0);  // stride 100 > 64 sampled rows
        check_no_validation_messages();
    }

    TEST_CASE("mask density of wide cells stays within lavapipe's loop budget") {
        // n = 65,536 dense blocks: 1,024 entries per row, so one cell spanning every token needs
        // fewer sampled rows (mask_density_sample_rows) to stay under the 65,535-step budget;
        // a loop cut short by the budget would show as a density below the exact value.
        AttentionEngine engine(gpu_context());
        const int64_t n = 65536;
        for (bool causal : {false, true}) {
            CAPTURE(causal);
            const BlockMask bm = hand_dense(n, causal);
            for (int64_t stride : {n, int64_t(4096)}) {
                CAPTURE(stride);
                Viewport v;
                v.stride = stride;
                v.rows = v.cols = n / stride;
                const std::vector<float> got = engine.mask_density(bm, v);
                const int64_t u = AttentionEngine::mask_density_sample_rows(stride);
                for (int64_t r = 0; r < v.rows; ++r)
                    for (int64_t c = 0; c < v.cols; ++c) {
                        double want = 1.0;
                        if (causal) {  // sampled rows i keep keys <= i of the cell's keys
                            double sum = 0;
                            for (int64_t k = 0; k < u; ++k) {
                                const int64_t i = r * stride + k * stride / u, k0 = c * stride;
                                sum += double(std::clamp<int64_t>(i - k0 + 1, 0, stride)) / double(stride);
                            }
                            want = sum / double(u);
                        }
                        CHECK(std::abs(double(got[size_t(r * v.cols + c)]) - want) <= 1e-6);
                    }
            }
        }
        check_no_validation_messages();
    }

    TEST_CASE("mask density rejects bad viewports") {
        AttentionEngine engine(gpu_context());
        std::vector<HeadMask> two{HeadMask(dens_pattern(0), 100), HeadMask(dens_pattern(1), 100)};
        const BlockMask bm = compile_block_mask(two);
        Viewport v;
        v.rows = v.cols = 4;
        v.head = 2;
        CHECK_THROWS_AS(engine.mask_density(bm, v), InputError);
        v.head = 0;
        v.stride = 0;
        CHECK_THROWS_AS(engine.mask_density(bm, v), InputError);
        v.stride = 1;
        CHECK(engine.mask_density(bm, v).size() == 16);
        check_no_validation_messages();
    }
}
