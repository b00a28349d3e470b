// Every GPU kernel against the CPU oracle, over odd sizes, several heads, empty and dense rows.
#include "components.h"
#include "gpu_fixture.h"
#include "oracle.h"

#include "block_mask.h"
#include "half.h"
#include "mask.h"
#include "reference.h"
#include "synthetic.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace salab;
using salab::test::check_mixed_heads;
using salab::test::check_no_validation_messages;
using salab::test::global_first;
using salab::test::gpu_context;
using salab::test::mixed_heads;
using salab::test::oracle;
using salab::test::random_keys;
using salab::test::window;

TEST_SUITE("gpu") {
    TEST_CASE("sparse kernel matches the oracle over odd sizes, heads, empty and dense rows") {
        AttentionEngine engine(gpu_context());
        for (int64_t n : {1, 2, 7, 63, 64, 65, 1000, 4097})
            for (int64_t d : {1, 16, 64, 128})
                for (int heads : {1, 3})
                    for (bool gather : {false, true}) {
                        if (gather && d > 64) continue;  // gathering changes key order, not the head dim
                        CAPTURE(n);
                        CAPTURE(d);
                        CAPTURE(heads);
                        CAPTURE(gather);
                        auto csr = mixed_heads(n, heads);
                        QKV x = make_qkv(heads, n, d, uint64_t(n * 31 + d), QkvSource::gaussian);
                        engine.upload(x.q, x.k, x.v, {heads, n, d});
                        BlockMask bm = compile_block_mask(csr, 64, 0, gather);
                        if (gather && n >= 1000) CHECK(bm.gathered_blocks > 0);
                        RunResult r = engine.run(bm, {.read_back = true});
                        check_mixed_heads(r.out, r.path, "", oracle(csr, x, n, d), n, d, heads);
                    }
        check_no_validation_messages();
    }

    TEST_CASE("one block mask shared by every head") {
        AttentionEngine engine(gpu_context());
        const int64_t n = 300, d = 32;
        const int heads = 4;
        HeadPattern hp;
        hp.components = {window(7), global_first(3)};
        std::vector<HeadMask> one{HeadMask(hp, n)};
        BlockMask bm = compile_block_mask(one);
        QKV x = make_qkv(heads, n, d, 5, QkvSource::gaussian);
        engine.upload(x.q, x.k, x.v, {heads, n, d});
        RunResult r = engine.run(bm, {.read_back = true});
        std::vector<Csr> csr(size_t(heads), build_csr(one[0]));
        CHECK(relative_error(r.out, oracle(csr, x, n, d)) < 1e-4);
        check_no_validation_messages();
    }

    TEST_CASE("split-k: long block lists run in chunks and merge to the oracle") {
        AttentionEngine engine(gpu_context());
        for (int64_t n : {65, 1000, 4097})
            for (int64_t d : {16, 64})
                for (int heads : {1, 3})
                    for (int chunk : {1, 3, 0}) {
                        if (chunk == 1 && n > 1000) continue;  // lavapipe time
                        CAPTURE(n);
                        CAPTURE(d);
                        CAPTURE(heads);
                        CAPTURE(chunk);
                        auto csr = mixed_heads(n, heads);
                        QKV x = make_qkv(heads, n, d, uint64_t(n + d + heads), QkvSource::gaussian);
                        engine.upload(x.q, x.k, x.v, {heads, n, d});
                        auto bm = std::make_shared<const BlockMask>(compile_block_mask(csr, 64, 0, true));
                        const SplitPlan plan = plan_split(*bm, heads, chunk);
                        const KernelPlan kp = plan_blocks(bm, heads, chunk);
                        RunResult r = engine.run(kp, {.read_back = true});
                        CAPTURE(r.path);
                        CHECK((r.path.find("+split") != std::string::npos) == !plan.merges.empty());
                        if (chunk > 0 && n >= 1000) CHECK(!plan.merges.empty());
                        CHECK(relative_error(r.out, oracle(csr, x, n, d)) < 1e-4);
                        if (gpu_context().fp16_enabled() && d == 64) {
                            RunResult h = engine.run(kp, {.dtype = DType::f16, .read_back = true});
                            CHECK(relative_error(h.out, oracle(csr, x, n, d)) < 2e-2);
                        }
                    }
        // Automatic: one row of global tokens in a window pattern is split, the rest is not.
        const int64_t n = 4096, d = 32;
        HeadPattern hp;
        hp.components = {window(64), global_first(8)};
        std::vector<HeadMask> one{HeadMask(hp, n)};
        const BlockMask bm = compile_block_mask(one);
        const SplitPlan plan = plan_split(bm, 2);
        // Query block 0, planned once for the mask every head shares and run for both heads.
        CHECK(plan.merges.size() / 4 == 1);
        CHECK(plan.head_copies == 2);
        CHECK(plan.total_slots() == 2 * plan.slots);
        QKV x = make_qkv(2, n, d, 17, QkvSource::gaussian);
        engine.upload(x.q, x.k, x.v, {2, n, d});
        RunResult r = engine.run(bm, {.read_back = true});
        CHECK(r.path.find("+split") != std::string::npos);
        std::vector<Csr> csr(2, build_csr(one[0]));
        CHECK(relative_error(r.out, oracle(csr, x, n, d)) < 1e-4);
        // Five heads sharing one mask with a forced chunk: every list split, each head copy
        // writing its own slots (a wrong slot stride would mix the heads' partial results).
        {
            QKV x5 = make_qkv(5, 1000, 16, 23, QkvSource::gaussian);
            engine.upload(x5.q, x5.k, x5.v, {5, 1000, 16});
            std::vector<HeadMask> m1{HeadMask(hp, 1000)};
            const KernelPlan kp = plan_blocks(std::make_shared<const BlockMask>(compile_block_mask(m1)), 5, 2);
            CHECK(kp.split.head_copies == 5);
            RunResult r5 = engine.run(kp, {.read_back = true});
            CHECK(r5.path.find("+split") != std::string::npos);
            CHECK(relative_error(r5.out, oracle(std::vector<Csr>(5, build_csr(m1[0])), x5, 1000, 16)) < 1e-4);
        }
        check_no_validation_messages();
    }

    TEST_CASE("dense kernel matches the oracle, causal and not") {
        AttentionEngine engine(gpu_context());
        for (int64_t n : {1, 7, 65, 300})
            for (bool causal : {false, true}) {
                CAPTURE(n);
                CAPTURE(causal);
                const int64_t d = 24;
                const int heads = 2;
                HeadPattern hp;
                hp.causal = causal;
                hp.components = {Component{.type = ComponentType::dense}};
                std::vector<Csr> csr(size_t(heads), build_csr(HeadMask(hp, n)));
                QKV x = make_qkv(heads, n, d, 11, QkvSource::gaussian);
                engine.upload(x.q, x.k, x.v, {heads, n, d});
                RunResult r = engine.run_dense(causal, {.read_back = true});
                CHECK(relative_error(r.out, oracle(csr, x, n, d)) < 1e-4);
                // The sparse path over an all-full mask agrees with it.
                RunResult s = engine.run(compile_block_mask(csr), {.read_back = true});
                CHECK(relative_error(s.out, r.out) < 1e-5);
            }
        check_no_validation_messages();
    }

    TEST_CASE("band kernel (windows decided in the shader) matches the oracle") {
        AttentionEngine engine(gpu_context());
        // Radii around and across block edges, causal and not, odd n; f32 here, f16 below.
        for (int64_t n : {1, 2, 63, 65, 300, 1000})
            for (int64_t radius : {0, 1, 31, 64, 100, 5000})
                for (bool causal : {false, true}) {
                    CAPTURE(n);
                    CAPTURE(radius);
                    CAPTURE(causal);
                    HeadPattern hp;
                    hp.causal = causal;
                    hp.components = {window(radius), window(radius / 2)};
                    const std::optional<Band> band = band_of(hp);
                    REQUIRE(band);
                    CHECK(band->left == radius);
                    CHECK(band->right == (causal ? 0 : radius));
                    const int64_t d = n > 300 ? 64 : 20;
                    const int heads = 2;
                    std::vector<Csr> csr(size_t(heads), build_csr(HeadMask(hp, n)));
                    QKV x = make_qkv(heads, n, d, 5, QkvSource::gaussian);
                    engine.upload(x.q, x.k, x.v, {heads, n, d});
                    RunResult r = engine.run_band(band->left, band->right, {.read_back = true});
                    CHECK(r.path.ends_with("+band"));
                    CHECK(relative_error(r.out, oracle(csr, x, n, d)) < 1e-4);
                    if (gpu_context().fp16_enabled() && (n == 1000 || n == 65) && (radius == 100 || radius == 31)) {
                        for (int64_t dd : {64, 128}) {  // the tensor-core kernel where there is one
                            QKV y = make_qkv(heads, n, dd, 6, QkvSource::gaussian);
                            engine.upload(y.q, y.k, y.v, {heads, n, dd});
                            RunResult h =
                                engine.run_band(band->left, band->right, {.dtype = DType::f16, .read_back = true});
                            CAPTURE(h.path);
                            CHECK(relative_error(h.out, oracle(csr, y, n, dd)) < 2e-2);
                        }
                    }
                }
        // Not a band: dilated windows, other components, nothing at all.
        HeadPattern hp;
        hp.components = {window(4, 2)};
        CHECK(!band_of(hp));
        hp.components = {window(4), global_first(1)};
        CHECK(!band_of(hp));
        hp.components = {};
        CHECK(!band_of(hp));
        AttentionEngine e2(gpu_context());
        QKV x = make_qkv(1, 10, 8, 1, QkvSource::gaussian);
        e2.upload(x.q, x.k, x.v, {1, 10, 8});
        CHECK_THROWS_AS(e2.run_band(-1, 0), InputError);
        check_no_validation_messages();
    }

    TEST_CASE("pipelines built for one mode (fix_mode) match the oracle and the any-mode pipeline") {
        // Every path this device runs, each plan kind: dense, causal, band, a gathered block mask
        // with partial blocks, and a split one. The fixed-mode pipeline drops the other modes'
        // code (and, for coopmat2, the entry kinds the mask lacks): a mode compiled out by
        // mistake shows here as a wrong output.
        AttentionEngine engine(gpu_context());
        const int64_t n = 333;
        const int heads = 2;
        const auto csr = mixed_heads(n, heads);
        auto bm = std::make_shared<const BlockMask>(compile_block_mask(csr, 64, 0, true));
        REQUIRE(bm->gathered_blocks > 0);
        REQUIRE(bm->partial_blocks > 0);
        // The same mask without gathered blocks (contiguous entries only), for coopmat2's variant.
        auto plain = std::make_shared<const BlockMask>(compile_block_mask(csr, 64, 0, false));
        HeadPattern wp;
        wp.components = {window(40)};
        const std::vector<Csr> band_csr(size_t(heads), build_csr(HeadMask(wp, n)));
        HeadPattern dp;
        dp.components = {Component{.type = ComponentType::dense}};
        std::vector<Csr> dense_csr[2];
        for (bool causal : {false, true}) {
            dp.causal = causal;
            dense_csr[causal] = std::vector<Csr>(size_t(heads), build_csr(HeadMask(dp, n)));
        }
        struct Case {
            std::string name;
            KernelPlan plan;
            const std::vector<Csr>* truth;
        };
        const Case cases[] = {{"dense", plan_dense(heads, false), &dense_csr[0]},
                              {"causal", plan_dense(heads, true), &dense_csr[1]},
                              {"band", plan_band(heads, {40, 40}), &band_csr},
                              {"blocks", plan_blocks(bm, heads, 0), &csr},
                              {"contiguous blocks", plan_blocks(plain, heads, 0), &csr},
                              {"split", plan_blocks(bm, heads, 2), &csr}};
        int paths_run = 0;
        for (KernelPath path : {KernelPath::tiled, KernelPath::rowwise, KernelPath::nv_coopmat, KernelPath::nv_coopmat2,
                                KernelPath::khr_coopmat}) {
            const bool tensor = path != KernelPath::tiled && path != KernelPath::rowwise;
            const DType dtype = tensor ? DType::f16 : DType::f32;
            const int64_t d = tensor ? 64 : 16;
            if (!path_unsupported(gpu_context().info(), dtype, d, path).empty()) continue;
            ++paths_run;
            QKV x = make_qkv(heads, n, d, uint64_t(d + 3), QkvSource::gaussian);
            engine.upload(x.q, x.k, x.v, {heads, n, d});
            for (const Case& c : cases) {
                CAPTURE(path_name(path));
                CAPTURE(c.name);
                RunOptions fixed{.dtype = dtype, .read_back = true, .path = path};
                fixed.fix_mode = true;
                RunOptions any = fixed;
                any.fix_mode = false;
                const RunResult a = engine.run(c.plan, fixed), b = engine.run(c.plan, any);
                CAPTURE(a.path);
                CHECK(relative_error(a.out, oracle(*c.truth, x, n, d)) < (tensor ? 2e-2 : 1e-4));
                CHECK(relative_error(a.out, b.out) < (tensor ? 1e-3 : 1e-5));
            }
        }
        CHECK(paths_run >= 2);  // tiled and rowwise run everywhere
        check_no_validation_messages();
    }

    TEST_CASE("fp16 storage path within 2e-2") {
        if (!gpu_context().fp16_enabled()) {
            MESSAGE("device lacks fp16 storage/arithmetic; f16 path not tested here");
            return;
        }
        AttentionEngine engine(gpu_context());
        // d = 64 and 128 take the tensor-core kernel where the device has one (not lavapipe).
        for (int64_t n : {1, 65, 1000, 4097})
            for (int64_t d : {64, 128})
                for (bool gather : {false, true}) {
                    if (d == 128 && n > 1000 && !gather) continue;  // lavapipe time
                    CAPTURE(n);
                    CAPTURE(d);
                    CAPTURE(gather);
                    auto csr = mixed_heads(n, 3);
                    QKV x = make_qkv(3, n, d, 3, QkvSource::gaussian);
                    engine.upload(x.q, x.k, x.v, {3, n, d});
                    RunResult r =
                        engine.run(compile_block_mask(csr, 64, 0, gather), {.dtype = DType::f16, .read_back = true});
                    CAPTURE(r.path);
                    CHECK(relative_error(r.out, oracle(csr, x, n, d)) < 2e-2);
                    // The dense kernels, causal and not.
                    if (n == 1000 && !gather)
                        for (bool causal : {false, true}) {
                            HeadPattern hp;
                            hp.causal = causal;
                            hp.components = {Component{.type = ComponentType::dense}};
                            std::vector<Csr> dc(3, build_csr(HeadMask(hp, n)));
                            RunResult dr = engine.run_dense(causal, {.dtype = DType::f16, .read_back = true});
                            CHECK(relative_error(dr.out, oracle(dc, x, n, d)) < 2e-2);
                        }
                }
        check_no_validation_messages();
    }

    TEST_CASE("probability viewport matches a CPU softmax, alone and paired with dense weights") {
        AttentionEngine engine(gpu_context());
        // The CPU softmax of row i over the keys of `c`, on the viewport's grid.
        auto check = [](const std::vector<float>& p, const Csr& c, const QKV& x, int head, int64_t n, int64_t d,
                        const Viewport& v) {
            const size_t base = size_t(head) * size_t(n * d);
            for (int64_t r = 0; r < v.rows; ++r) {
                const int64_t i = v.row0 + r * v.stride;
                if (i >= n) break;
                CAPTURE(i);
                std::vector<double> s;
                double mx = -1e300, sum = 0;
                for (int64_t e = c.row_ptr[size_t(i)]; e < c.row_ptr[size_t(i) + 1]; ++e) {
                    double dot = 0;
                    for (int64_t k = 0; k < d; ++k)
                        dot += double(x.q[base + size_t(i * d + k)]) * x.k[base + size_t(c.cols[size_t(e)] * d + k)];
                    s.push_back(dot / std::sqrt(double(d)));
                    mx = std::max(mx, s.back());
                }
                for (double t : s) sum += std::exp(t - mx);
                std::vector<double> want(size_t(v.cols), 0.0);
                for (int64_t e = c.row_ptr[size_t(i)]; e < c.row_ptr[size_t(i) + 1]; ++e) {
                    const int64_t j = c.cols[size_t(e)];
                    if (j >= v.col0 && (j - v.col0) % v.stride == 0 && (j - v.col0) / v.stride < v.cols)
                        want[size_t((j - v.col0) / v.stride)] =
                            std::exp(s[size_t(e - c.row_ptr[size_t(i)])] - mx) / sum;
                }
                for (int64_t col = 0; col < v.cols; ++col)
                    CHECK(p[size_t(r * v.cols + col)] == doctest::Approx(want[size_t(col)]).epsilon(1e-4));
            }
        };
        for (auto [n, d] : {std::pair<int64_t, int64_t>{150, 16}, {333, 20}}) {
            CAPTURE(n);
            CAPTURE(d);
            auto csr = mixed_heads(n, 3);
            QKV x = make_qkv(3, n, d, 9, QkvSource::gaussian);
            engine.upload(x.q, x.k, x.v, {3, n, d});
            BlockMask bm = compile_block_mask(csr);
            for (int head : {0, 2})
                for (int64_t stride : {1, 3}) {
                    CAPTURE(head);
                    CAPTURE(stride);
                    const Viewport v{head, 5, 2, n == 150 ? 40 : 120, 45, stride};
                    check(engine.probabilities(&bm, v), csr[size_t(head)], x, head, n, d, v);
                    for (bool causal : {false, true}) {
                        CAPTURE(causal);
                        HeadPattern hp;
                        hp.causal = causal;
                        hp.components = {Component{.type = ComponentType::dense}};
                        const Csr dense = build_csr(HeadMask(hp, n));
                        const AttentionEngine::WeightPair w = engine.probabilities_pair(bm, causal, v);
                        check(w.sparse, csr[size_t(head)], x, head, n, d, v);
                        check(w.dense, dense, x, head, n, d, v);
                    }
                }
        }
        check_no_validation_messages();
    }

    TEST_CASE("problems that do not fit are refused with a reason") {
        AttentionEngine engine(gpu_context());
        CHECK(engine.check_fits({1, 1000, 64}).empty());
        CHECK(engine.check_fits({1, 1000, 300}).find("d must be in [1, 256]") != std::string::npos);
        CHECK(engine.check_fits({4096, int64_t(1) << 24, 256}).find("heads") != std::string::npos);
        CHECK_THROWS_AS(engine.upload({}, {}, {}, {1, 0, 64}), InputError);
    }
}

TEST_SUITE("half") {
    TEST_CASE("fp16 conversion round-trips representable values and rounds to nearest even") {
        for (float f : {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f})
            CHECK(half_to_float(float_to_half(f)) == f);
        CHECK(half_to_float(float_to_half(1.0f + 1.0f / 4096)) == 1.0f);  // tie -> even
        CHECK(std::isinf(half_to_float(float_to_half(1e6f))));
    }
}
