// GPU mask density image (AttentionEngine::mask_density) against a CPU count from the
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
#ifdef SALAB_HAVE_UI
#include "mask_image.h"
#include "live_types.h"
#endif

#include <doctest/doctest.h>

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
                bm.entries.push_back(uint32_t(J) | gpu::kPartialBit);
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

#ifdef SALAB_HAVE_UI
    TEST_CASE("the mask view's image: GPU density matches the CPU aggregation pixel for pixel") {
        // What the GUI worker does for a zoomed-out view (app/gui_worker.cpp): the floor grid of
        // cell_grid counted by mask_density on a DensityGrid, expanded by image_from_cells.
        // The CPU path (aggregate_mask, every row counted) must give the same image: within
        // 1e-6 per pixel when the GPU visits every row of a cell, and when it samples rows, equal
        // to the CPU mean over the same rows (rbeg + floor(s * R / u)).
        AttentionEngine engine(gpu_context());
        struct Case {
            int64_t n;
            TokenRect region;
            int w, h;
        };
        int sampled_images = 0;
        for (int64_t n : {int64_t(1000), int64_t(4097)}) {
            HeadPattern bigbird;
            bigbird.components = {salab::test::window(3), salab::test::global_first(2), salab::test::random_keys(3, 7)};
            HeadPattern strided;
            strided.causal = true;
            Component st;
            st.type = ComponentType::strided;
            st.stride = 37;
            strided.components = {st};
            const std::vector<HeadMask> heads{HeadMask(bigbird, n), HeadMask(strided, n)};
            const BlockMask bm = compile_block_mask(heads);
            const auto dm = engine.upload_for_density(bm);  // once, as the GUI worker does
            const std::vector<Case> cases{
                {n, {0, 0, n, n}, 558, 558},                       // fitted, unequal cells (n / 558)
                {n, {0, 0, n, n}, 1024, 700},                      // non-square pixel grid
                {n, {n / 7, n / 3, n / 2, n / 2 + 1}, 333, 250},   // zoomed and panned
                {n, {n - 900, 5, 900, 901}, 450, 450},             // 2 x 2 tokens per pixel
                {n, {0, 0, n, n}, 40, 40},                         // > 16 and (n = 4097) > 64 rows per pixel: sampled
                {n, {n / 7, 3, n / 2, n - 10}, 30, 20},            // wide unequal cells, sampled
            };
            for (const Case& c : cases)
                for (int h = 0; h < 2; ++h) {
                    CAPTURE(n);
                    CAPTURE(h);
                    CAPTURE(c.region.row0);
                    CAPTURE(c.region.rows);
                    CAPTURE(c.w);
                    MaskImageRequest req;
                    req.head = h;
                    req.region = c.region;
                    req.w = c.w;
                    req.h = c.h;
                    REQUIRE(wants_gpu_density(req));
                    const CellGrid g = cell_grid(c.region, c.w, c.h);
                  // Every row up to the kernel's default (64), and the GUI's cap on a CPU device.
                  for (int64_t max_rows : {int64_t(0), int64_t(16)}) {
                    const DensityGrid dg{h, c.region.row0, c.region.col0, c.region.rows, c.region.cols, g.ch, g.cw, max_rows};
                    const int64_t u = AttentionEngine::density_rows(dg);
                    const DensityImage gpu = image_from_cells(
                        c.region, c.w, c.h, g,
                        engine.mask_density(*dm, dg), u);
                    AggregateOptions exact;
                    exact.max_rows_per_pixel = 1 << 30;
                    const DensityImage cpu = aggregate_mask(heads[size_t(h)], c.region, c.w, c.h, {}, exact);
                    REQUIRE(gpu.w == cpu.w);
                    REQUIRE(gpu.h == cpu.h);
                    REQUIRE(gpu.region == cpu.region);
                    REQUIRE(gpu.density.size() == cpu.density.size());
                    CHECK(gpu.rows_per_pixel == cpu.rows_per_pixel);
                    CHECK(gpu.sampled == (gpu.rows_per_pixel > u));
                    sampled_images += gpu.sampled;
                    // Sampled: the CPU mean over the GPU's sampled rows, per cell.
                    std::vector<double> cell_want;
                    if (gpu.sampled) {
                        cell_want.assign(size_t(g.cw * g.ch), 0.0);
                        std::vector<int32_t> keys;
                        for (int64_t cy = 0; cy < g.ch; ++cy) {
                            const int64_t r0 = c.region.row0 + cell_begin(cy, c.region.rows, g.ch);
                            const int64_t R = c.region.row0 + cell_begin(cy + 1, c.region.rows, g.ch) - r0;
                            const int64_t used = std::min(R, u);
                            for (int64_t sidx = 0; sidx < used; ++sidx) {
                                heads[size_t(h)].row(r0 + sidx * R / used, keys);
                                for (int64_t cx = 0; cx < g.cw; ++cx) {
                                    const int64_t k0 = c.region.col0 + cell_begin(cx, c.region.cols, g.cw);
                                    const int64_t k1 = c.region.col0 + cell_begin(cx + 1, c.region.cols, g.cw);
                                    cell_want[size_t(cy * g.cw + cx)] +=
                                        double(std::lower_bound(keys.begin(), keys.end(), int32_t(k1)) -
                                               std::lower_bound(keys.begin(), keys.end(), int32_t(k0))) /
                                        double(k1 - k0) / double(used);
                                }
                            }
                        }
                    }
                    int bad = 0;
                    for (int y = 0; y < c.h; ++y)
                        for (int x = 0; x < c.w; ++x) {
                            const size_t k = size_t(y) * size_t(c.w) + size_t(x);
                            const double want = gpu.sampled
                                ? cell_want[size_t((int64_t(y) * g.ch / c.h) * g.cw + int64_t(x) * g.cw / c.w)]
                                : double(cpu.density[k]);
                            if (!(std::abs(double(gpu.density[k]) - want) <= 1e-6) && bad++ < 3)
                                FAIL_CHECK("pixel (" << x << ", " << y << "): gpu " << gpu.density[k] << ", cpu " << want);
                        }
                    CHECK(bad == 0);
                  }
                }
        }
        CHECK(sampled_images > 0);
        check_no_validation_messages();
    }

    TEST_CASE("density grids: square strides are the special case, bad grids are refused") {
        AttentionEngine engine(gpu_context());
        const int64_t n = 1000;
        std::vector<HeadMask> one{HeadMask(dens_pattern(1), n)};
        const BlockMask bm = compile_block_mask(one);
        Viewport v;
        v.row0 = 10;
        v.col0 = 900;
        v.rows = 40;
        v.cols = 7;  // runs past n: cells past n are 0
        v.stride = 24;
        CHECK(engine.mask_density(bm, v) ==
              engine.mask_density(bm, DensityGrid{0, v.row0, v.col0, v.rows * v.stride, v.cols * v.stride, v.rows, v.cols}));
        CHECK_THROWS_AS(engine.mask_density(bm, DensityGrid{0, 0, 0, 10, 10, 11, 5}), InputError);  // more cells than rows
        CHECK_THROWS_AS(engine.mask_density(bm, DensityGrid{0, 0, 0, 10, 10, 0, 5}), InputError);
        CHECK_THROWS_AS(engine.mask_density(bm, DensityGrid{0, -1, 0, 10, 10, 5, 5}), InputError);
        check_no_validation_messages();
    }
#endif
}
