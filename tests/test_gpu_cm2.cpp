// The tensor-core kernels against the CPU oracle: the VK_NV_cooperative_matrix2 ones (sparse with
// full, partial, gathered blocks and empty rows; dense, causal, band, split-k; d = 64 and 128;
// every variant the device builds) and the two subgroup-scope ones, VK_NV_cooperative_matrix
// (v1) and VK_KHR_cooperative_matrix, each forced (the same cases, plus scores that rise along
// the key list so the KHR kernel's lazy rescale moves mid-list). Skipped with a message on
// devices without them (lavapipe).
#include "gpu_fixture.h"
#include "components.h"
#include "oracle.h"

#include "attention_cm2.h"
#include "block_mask.h"
#include "gemm_probe.h"
#include "kernel_plan.h"
#include "mask.h"
#include "reference.h"
#include "synthetic.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

using namespace salab;
using salab::test::check_no_validation_messages;
using salab::test::gpu_context;
using salab::test::oracle;
using salab::test::global_first;
using salab::test::random_keys;
using salab::test::window;

namespace {

// The GPU suites' mixed heads (tests/components.h) with more random keys and a wider window:
// full, partial and, with gathering, gathered blocks, and head 2's emptied rows.
std::vector<Csr> mixed_heads(int64_t n) {
    return salab::test::mixed_heads(n, 3, {.random0 = 3, .random1 = 2, .wide = 70});
}

// The variants to test: every one this device builds for d (each forced in turn).
std::vector<std::string> variants(int64_t d) {
    std::vector<std::string> v;
    for (const auto& k : cm2_kernels(gpu_context().info(), d)) v.push_back(k.variant);
    return v;
}

struct ForceVariant {
    explicit ForceVariant(const std::string& v) { setenv("SALAB_CM2_VARIANT", v.c_str(), 1); }
    ~ForceVariant() { unsetenv("SALAB_CM2_VARIANT"); }
};

// The subgroup-scope tensor-core paths this device runs at d (fp16), with a message for the rest.
std::vector<KernelPath> subgroup_paths(int64_t d) {
    std::vector<KernelPath> out;
    for (KernelPath p : {KernelPath::nv_coopmat, KernelPath::khr_coopmat}) {
        const std::string why = path_unsupported(gpu_context().info(), DType::f16, d, p);
        if (why.empty())
            out.push_back(p);
        else
            MESSAGE(path_name(p) << " not tested at d = " << d << ": " << why);
    }
    return out;
}

// SALAB_PATH (scripts/device_paths.sh runs the whole gpu suite with one kernel family forced):
// the coopmat2 cases then run on that path, with its name in r.path.
const char* forced_path() {
    const char* p = std::getenv("SALAB_PATH");
    return p && *p && std::string_view(p) != "auto" ? p : nullptr;
}
std::string tensor_path_f16() { return std::string(forced_path() ? forced_path() : "nv-coopmat2") + "-f16"; }

bool have_cm2() {
    const std::string why = cm2_device_support(gpu_context().info());
    if (!why.empty()) MESSAGE("coopmat2 kernels not tested on " << gpu_context().info().name << ": " << why);
    return why.empty();
}

}  // namespace

TEST_SUITE("gpu") {
    TEST_CASE("coopmat2: sparse block lists (full, partial, gathered, empty rows) match the oracle") {
        if (!have_cm2()) return;
        AttentionEngine engine(gpu_context());
        for (int64_t d : {64, 128})
            for (const std::string& v : variants(d)) {
                ForceVariant force(v);
                for (int64_t n : {1, 2, 63, 65, 1000, 4097})
                    for (bool gather : {false, true}) {
                        CAPTURE(d);
                        CAPTURE(v);
                        CAPTURE(n);
                        CAPTURE(gather);
                        auto csr = mixed_heads(n);
                        QKV x = make_qkv(3, n, d, uint64_t(7 * n + d), QkvSource::gaussian);
                        engine.upload(x.q, x.k, x.v, {3, n, d});
                        const BlockMask bm = compile_block_mask(csr, 64, 0, gather);
                        if (gather && n >= 1000) CHECK(bm.gathered_blocks > 0);
                        RunResult r = engine.run(bm, {.dtype = DType::f16, .read_back = true});
                        CAPTURE(r.path);
                        CHECK(r.path.starts_with(tensor_path_f16()));
                        CHECK(relative_error(r.out, oracle(csr, x, n, d)) < 2e-2);
                        if (n >= 7) {  // head 2, row 1 is empty: exact zeros
                            const size_t row = size_t(2 * n + 1) * size_t(d);
                            for (int64_t c = 0; c < d; ++c) CHECK(r.out[row + size_t(c)] == 0.0f);
                        }
                    }
            }
        check_no_validation_messages();
    }

    TEST_CASE("coopmat2: an fp16 O cannot overflow (flat attention over 16k keys of V = 8)") {
        // Q = 0: every score is equal, so P = 1 on every key and an unscaled fp16 O would sum
        // 16384 x 8 = 131072 > 65504 (inf). The p_shift keeps it finite: O is exactly 8 (and
        // -8 in the second column). Dense, band and a block list, every variant.
        if (!have_cm2()) return;
        AttentionEngine engine(gpu_context());
        const int64_t n = 16384, d = 64;
        std::vector<float> q(size_t(n * d), 0.0f), k(size_t(n * d)), v(size_t(n * d));
        for (int64_t i = 0; i < n; ++i)
            for (int64_t c = 0; c < d; ++c) {
                k[size_t(i * d + c)] = float((i * 7 + c) % 5) - 2.0f;
                v[size_t(i * d + c)] = c == 1 ? -8.0f : 8.0f;
            }
        engine.upload(q, k, v, {1, n, d});
        Csr every;
        every.n = n;
        every.row_ptr.push_back(0);
        for (int64_t i = 0; i < 128; ++i) {  // the first 128 rows keep every key (a block list)
            for (int64_t j = 0; j < n; ++j) every.cols.push_back(int32_t(j));
            every.row_ptr.push_back(int64_t(every.cols.size()));
        }
        for (int64_t i = 128; i < n; ++i) {
            every.cols.push_back(int32_t(i));
            every.row_ptr.push_back(int64_t(every.cols.size()));
        }
        const BlockMask bm = compile_block_mask(std::vector<Csr>{every});
        for (const std::string& var : variants(d)) {
            ForceVariant force(var);
            CAPTURE(var);
            for (int plan = 0; plan < 3; ++plan) {
                CAPTURE(plan);
                RunResult r = plan == 0   ? engine.run(plan_dense(1, false), {.dtype = DType::f16, .read_back = true})
                              : plan == 1 ? engine.run(plan_band(1, {n, n}), {.dtype = DType::f16, .read_back = true})
                                          : engine.run(bm, {.dtype = DType::f16, .read_back = true});
                CAPTURE(r.path);
                int bad = 0;
                for (int64_t i = 0; i < (plan == 2 ? 128 : n); ++i)
                    for (int64_t c = 0; c < d; ++c) {
                        const float want = c == 1 ? -8.0f : 8.0f;
                        if (!(std::fabs(r.out[size_t(i * d + c)] - want) <= 8e-3f * 8.0f)) ++bad;
                    }
                CHECK(bad == 0);
            }
        }
        check_no_validation_messages();
    }

    TEST_CASE("coopmat2: the GEMM probe matches the CPU where it runs, and says why where it cannot") {
        const GemmProbeResult bad = probe_cm2_gemm(gpu_context(), 100);
        CHECK(bad.why_not.find("multiple of 128") != std::string::npos);
        const GemmProbeResult g = probe_cm2_gemm(gpu_context(), 512, 3);
        if (!cm2_device_support(gpu_context().info()).empty()) {
            CHECK(!g.why_not.empty());
            return;
        }
        CHECK(g.why_not.empty());
        CHECK(g.max_error < 1e-2);
        CHECK(g.ms > 0.0);
        check_no_validation_messages();
    }

    TEST_CASE("coopmat2: a mask with no kept pair gives zeros") {
        if (!have_cm2()) return;
        AttentionEngine engine(gpu_context());
        const int64_t n = 130, d = 64;
        Csr empty;
        empty.n = n;
        empty.row_ptr.assign(size_t(n) + 1, 0);
        // Row 0 keeps key 129 only (a block that is otherwise empty for the other 63 rows).
        Csr one = empty;
        one.cols = {129};
        for (size_t i = 1; i < one.row_ptr.size(); ++i) one.row_ptr[i] = 1;
        std::vector<Csr> heads{empty, one};
        QKV x = make_qkv(2, n, d, 3, QkvSource::gaussian);
        engine.upload(x.q, x.k, x.v, {2, n, d});
        RunResult r = engine.run(compile_block_mask(heads), {.dtype = DType::f16, .read_back = true});
        const auto ref = oracle(heads, x, n, d);
        for (size_t i = 0; i < r.out.size(); ++i) CHECK(std::abs(r.out[i] - ref[i]) < 2e-2f * (1.0f + std::abs(ref[i])));
        for (int64_t i = 0; i < n * d; ++i) CHECK(r.out[size_t(i)] == 0.0f);
        check_no_validation_messages();
    }

    TEST_CASE("coopmat2: dense and causal dense match the oracle") {
        if (!have_cm2()) return;
        AttentionEngine engine(gpu_context());
        for (int64_t d : {64, 128})
            for (int64_t n : {1, 63, 65, 1000, 4097})
                for (bool causal : {false, true}) {
                    CAPTURE(d);
                    CAPTURE(n);
                    CAPTURE(causal);
                    HeadPattern hp;
                    hp.causal = causal;
                    hp.components = {Component{.type = ComponentType::dense}};
                    std::vector<Csr> csr(2, build_csr(HeadMask(hp, n)));
                    QKV x = make_qkv(2, n, d, uint64_t(n + 3), QkvSource::gaussian);
                    engine.upload(x.q, x.k, x.v, {2, n, d});
                    RunResult r = engine.run_dense(causal, {.dtype = DType::f16, .read_back = true});
                    CAPTURE(r.path);
                    CHECK(r.path.starts_with(tensor_path_f16()));
                    CHECK(relative_error(r.out, oracle(csr, x, n, d)) < 2e-2);
                }
        check_no_validation_messages();
    }

    TEST_CASE("coopmat2: band mode (edge blocks range-masked) matches the oracle") {
        if (!have_cm2()) return;
        AttentionEngine engine(gpu_context());
        for (int64_t d : {64, 128})
            for (int64_t n : {1, 63, 65, 1000, 4097})
                for (int64_t radius : {0, 1, 31, 64, 100, 256, 5000})
                    for (bool causal : {false, true}) {
                        CAPTURE(d);
                        CAPTURE(n);
                        CAPTURE(radius);
                        CAPTURE(causal);
                        HeadPattern hp;
                        hp.causal = causal;
                        hp.components = {window(radius)};
                        const auto band = band_of(hp);
                        REQUIRE(band);
                        std::vector<Csr> csr(2, build_csr(HeadMask(hp, n)));
                        QKV x = make_qkv(2, n, d, uint64_t(n + radius), QkvSource::gaussian);
                        engine.upload(x.q, x.k, x.v, {2, n, d});
                        RunResult r = engine.run_band(band->left, band->right, {.dtype = DType::f16, .read_back = true});
                        CAPTURE(r.path);
                        CHECK(r.path.starts_with(tensor_path_f16()));
                        CHECK(relative_error(r.out, oracle(csr, x, n, d)) < 2e-2);
                    }
        check_no_validation_messages();
    }

    TEST_CASE("coopmat2: split-k chunks (forced and automatic) merge to the oracle") {
        if (!have_cm2()) return;
        AttentionEngine engine(gpu_context());
        for (int64_t d : {64, 128})
            for (int64_t n : {65, 1000, 4097})
                for (int chunk : {1, 3, 0})
                    for (bool gather : {false, true}) {
                        CAPTURE(d);
                        CAPTURE(n);
                        CAPTURE(chunk);
                        CAPTURE(gather);
                        auto csr = mixed_heads(n);
                        QKV x = make_qkv(3, n, d, uint64_t(n * d + chunk), QkvSource::gaussian);
                        engine.upload(x.q, x.k, x.v, {3, n, d});
                        const BlockMask bm = compile_block_mask(csr, 64, 0, gather);
                        const KernelPlan plan = plan_blocks(std::make_shared<const BlockMask>(bm), 3, chunk);
                        RunResult r = engine.run(plan, {.dtype = DType::f16, .read_back = true});
                        CAPTURE(r.path);
                        CHECK(r.path.starts_with(tensor_path_f16()));
                        // Few query blocks x heads (here <= 65 x 3): a plan that does not split
                        // is split by the engine along the lists longer than cm2_split_chunk.
                        const bool split = !plan.split.empty() ||
                                           !plan_split(bm, 3, std::max(1, cm2_split_chunk(bm, 3))).empty();
                        // (A forced path, SALAB_PATH, splits by its own rule.)
                        if (!forced_path()) CHECK((r.path.find("+split") != std::string::npos) == split);
                        if (chunk > 0 && n >= 1000) CHECK(split);
                        CHECK(relative_error(r.out, oracle(csr, x, n, d)) < 2e-2);
                        if (n >= 7) {
                            const size_t row = size_t(2 * n + 1) * size_t(d);
                            for (int64_t c = 0; c < d; ++c) CHECK(r.out[row + size_t(c)] == 0.0f);
                        }
                    }
        check_no_validation_messages();
    }

    TEST_CASE("coopmat2: other head dimensions and f32 fall back to the older kernels") {
        AttentionEngine engine(gpu_context());
        const int64_t n = 100;
        for (int64_t d : {32, 64}) {
            CAPTURE(d);
            HeadPattern hp;
            hp.components = {window(5)};
            std::vector<Csr> csr(1, build_csr(HeadMask(hp, n)));
            QKV x = make_qkv(1, n, d, 9, QkvSource::gaussian);
            engine.upload(x.q, x.k, x.v, {1, n, d});
            RunResult r = engine.run(compile_block_mask(csr), {.read_back = true});
            const char* forced = std::getenv("SALAB_PATH");  // scripts/device_paths.sh
            if (!(forced && *forced)) CHECK(r.path.starts_with("tiled-f32"));
            if (d == 32 && gpu_context().fp16_enabled()) {
                RunResult h = engine.run(compile_block_mask(csr), {.dtype = DType::f16, .read_back = true});
                CHECK(h.path.find("coopmat2") == std::string::npos);
                CHECK(relative_error(h.out, oracle(csr, x, n, d)) < 2e-2);
            }
        }
        const Cm2Kernel k = choose_cm2_kernel(gpu_context().info(), 96);
        CHECK(!k);
        CHECK(!k.why_not.empty());
        check_no_validation_messages();
    }
}

TEST_SUITE("gpu") {
    TEST_CASE("nv-coopmat and khr-coopmat: sparse, gathered, split-k, dense, causal and band match the oracle") {
        AttentionEngine engine(gpu_context());
        for (int64_t d : {64, 128})
            for (KernelPath path : subgroup_paths(d)) {
                const std::string name(path_name(path));
                CAPTURE(d);
                CAPTURE(name);
                for (int64_t n : {1, 2, 63, 65, 1000, 4097}) {
                    CAPTURE(n);
                    auto csr = mixed_heads(n);
                    QKV x = make_qkv(3, n, d, uint64_t(5 * n + d), QkvSource::gaussian);
                    engine.upload(x.q, x.k, x.v, {3, n, d});
                    const auto ref = oracle(csr, x, n, d);
                    for (int variant = 0; variant < 4; ++variant) {  // plain, gathered, split 1, split 3
                        CAPTURE(variant);
                        const auto bm = std::make_shared<const BlockMask>(compile_block_mask(csr, 64, 0, variant == 1));
                        const KernelPlan plan = plan_blocks(bm, 3, variant == 2 ? 1 : variant == 3 ? 3 : -1);
                        RunResult r = engine.run(plan, {.dtype = DType::f16, .read_back = true, .path = path});
                        CAPTURE(r.path);
                        CHECK(r.path.starts_with(name + "-f16"));
                        CHECK(relative_error(r.out, ref) < 2e-2);
                        if (n >= 7) {  // head 2, row 1 is empty: exact zeros
                            const size_t row = size_t(2 * n + 1) * size_t(d);
                            for (int64_t c = 0; c < d; ++c) CHECK(r.out[row + size_t(c)] == 0.0f);
                        }
                    }
                    for (bool causal : {false, true}) {
                        CAPTURE(causal);
                        HeadPattern hp;
                        hp.causal = causal;
                        hp.components = {Component{.type = ComponentType::dense}};
                        std::vector<Csr> dense(3, build_csr(HeadMask(hp, n)));
                        RunResult r = engine.run_dense(causal, {.dtype = DType::f16, .read_back = true, .path = path});
                        CHECK(r.path.starts_with(name + "-f16"));
                        CHECK(relative_error(r.out, oracle(dense, x, n, d)) < 2e-2);
                        hp.components = {window(100)};
                        const auto band = band_of(hp);
                        REQUIRE(band);
                        std::vector<Csr> banded(3, build_csr(HeadMask(hp, n)));
                        RunResult b = engine.run_band(band->left, band->right,
                                                      {.dtype = DType::f16, .read_back = true, .path = path});
                        CHECK(relative_error(b.out, oracle(banded, x, n, d)) < 2e-2);
                    }
                }
            }
        check_no_validation_messages();
    }

    TEST_CASE("nv-coopmat and khr-coopmat: scores rising along the keys (the lazy rescale moves mid-list)") {
        // Row maxima grow by 0.04 per key (log2 domain) plus a jump of 9 in every second
        // block: the KHR kernel's reference maximum must move many times within one list,
        // by less and by more than its threshold, and O must still match the oracle.
        AttentionEngine engine(gpu_context());
        for (int64_t d : {64, 128})
            for (KernelPath path : subgroup_paths(d)) {
                CAPTURE(d);
                CAPTURE(path_name(path));
                const int64_t n = 2048;
                const double per_unit = 8.0 * 1.4426950408889634 / std::sqrt(double(d));  // q0 = 8
                std::vector<float> q(size_t(n * d), 0.0f), k(size_t(n * d), 0.0f);
                QKV x = make_qkv(1, n, d, 11, QkvSource::gaussian);
                for (int64_t i = 0; i < n; ++i) {
                    q[size_t(i * d)] = 8.0f;
                    const double t = 0.04 * double(i) + ((i / 64) % 2 ? 9.0 : 0.0);
                    k[size_t(i * d)] = float(t / per_unit);
                }
                x.q = q;
                x.k = k;
                engine.upload(x.q, x.k, x.v, {1, n, d});
                for (bool causal : {false, true}) {
                    CAPTURE(causal);
                    HeadPattern hp;
                    hp.causal = causal;
                    hp.components = {Component{.type = ComponentType::dense}};
                    std::vector<Csr> csr(1, build_csr(HeadMask(hp, n)));
                    RunResult r = engine.run_dense(causal, {.dtype = DType::f16, .read_back = true, .path = path});
                    CAPTURE(r.path);
                    CHECK(relative_error(r.out, oracle(csr, x, n, d)) < 2e-2);
                    for (float v : r.out) REQUIRE(std::isfinite(v));
                }
            }
        check_no_validation_messages();
    }
}

TEST_CASE("khr-coopmat is refused with a reason where it cannot run") {
    DeviceInfo none;
    none.name = "none";
    const std::string unbuilt = "not part of this build";
    const std::string want = cm2_shaders_built() ? "lacks VK_KHR_cooperative_matrix" : unbuilt;
    CHECK(path_unsupported(none, DType::f16, 64, KernelPath::khr_coopmat).find(want) != std::string::npos);
    CHECK(path_unsupported(none, DType::f32, 64, KernelPath::khr_coopmat).find(cm2_shaders_built() ? "f16" : unbuilt) !=
          std::string::npos);
    DeviceInfo amd = none;  // a device with the feature and a 16x16x16 shape, but wave64
    amd.khr_coopmat = amd.vulkan_memory_model = amd.fp16_arithmetic = amd.storage16 = true;
    amd.khr_coopmat_shapes.push_back({16, 16, 16, 0, 0, 1, 1, false, 3});
    amd.max_shared_memory = 65536;
    amd.subgroup_size = 64;
    if (cm2_shaders_built()) {
        CHECK(path_unsupported(amd, DType::f16, 64, KernelPath::khr_coopmat).find("32-lane") != std::string::npos);
        amd.subgroup_size = 32;
        CHECK(path_unsupported(amd, DType::f16, 64, KernelPath::khr_coopmat).empty());
        CHECK(path_unsupported(amd, DType::f16, 96, KernelPath::khr_coopmat).find("d = 64 and 128") != std::string::npos);
        amd.max_shared_memory = 32768;
        CHECK(path_unsupported(amd, DType::f16, 128, KernelPath::khr_coopmat).find("shared memory") != std::string::npos);
        amd.max_shared_memory = 65536;
        amd.khr_coopmat_shapes[0].scope = 2;  // workgroup scope only: not this kernel's shape
        CHECK(path_unsupported(amd, DType::f16, 64, KernelPath::khr_coopmat).find("16x16x16") != std::string::npos);
    }
}

TEST_CASE("coopmat2 p_shift bounds an fp16 O by 2^14") {
    CHECK(cm2_p_shift(16384, 1.0) == 0.0f);
    CHECK(cm2_p_shift(16384, 8.0) == 3.0f);   // 16384 x 8 x 2^-3 = 2^14
    CHECK(cm2_p_shift(65536, 5.5) == 5.0f);   // 360448 / 2^5 = 11264 <= 2^14 < 22528
    CHECK(cm2_p_shift(576, 5.5) == 0.0f);     // a window's 9 blocks
    CHECK(cm2_p_shift(0, 0.0) == 0.0f);
    CHECK(!cm2_p_shift(1 << 20, 1e6));        // would need k > 16: fp32 O instead
    CHECK(!cm2_p_shift(64, std::nan("")));
}

TEST_CASE("coopmat2 support is refused with a reason on a device without it") {
    DeviceInfo none;
    CHECK(!cm2_device_support(none).empty());
    CHECK(cm2_kernels(none, 64).empty());
    CHECK(!choose_cm2_kernel(none, 64));
}
