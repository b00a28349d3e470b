// The tiled portable kernel (shaders/attention_tiled_body.glsl) against the CPU oracle: every
// variant choose_tiled_shape can pick (rows per invocation, lanes per row merged by subgroup
// shuffles, the lane-broadcast loop, the plain fallback without subgroup operations), over odd
// sizes, head dimensions 1..256, several heads with different patterns, gathered blocks, bands,
// dense causal, split-k and empty rows; and the planner's choice of portable kernel.
#include "components.h"
#include "gpu_fixture.h"
#include "oracle.h"

#include "block_mask.h"
#include "mask.h"
#include "reference.h"
#include "synthetic.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

using namespace salab;
using salab::test::check_mixed_heads;
using salab::test::check_no_validation_messages;
using salab::test::global_first;
using salab::test::gpu_context;
using salab::test::mixed_heads;
using salab::test::oracle;
using salab::test::random_keys;
using salab::test::window;

namespace {

struct Variant {
    const char* name;
    TiledRequest request;
};
// Every shape the kernel has; each is checked whatever the device would pick.
const Variant kVariants[] = {
    {"auto", {}},
    {"plain fallback", {.tpr = 1, .bcast = 0, .rows = 1}},
    {"rows 2", {.tpr = 1, .bcast = 0, .rows = 2}},
    {"rows 8", {.tpr = 1, .bcast = 0, .rows = 8}},
    {"bcast rows 4", {.tpr = 1, .bcast = 1, .rows = 4}},
    {"bcast rows 1 kc 8", {.tpr = 1, .bcast = 1, .rows = 1, .kc = 8}},
    {"4 lanes per row", {.tpr = 4, .bcast = 0, .rows = 1}},
    {"8 lanes per row kc 64", {.tpr = 8, .bcast = 0, .rows = 1, .kc = 64}},
};

RunOptions tiled(const TiledRequest& r, DType dtype = DType::f32) {
    RunOptions o;
    o.dtype = dtype;
    o.read_back = true;
    o.path = KernelPath::tiled;
    o.tiled = r;
    return o;
}

}  // namespace

TEST_SUITE("gpu") {
    TEST_CASE("tiled kernel: every variant matches the oracle over odd sizes, heads, gathered and empty rows") {
        AttentionEngine engine(gpu_context());
        for (int64_t n : {1, 7, 65, 130})
            for (int64_t d : {1, 5, 40})
                for (bool gather : {false, true}) {
                    const int heads = n == 1 ? 1 : 3;
                    auto csr = mixed_heads(n, heads);
                    QKV x = make_qkv(heads, n, d, uint64_t(n * 7 + d), QkvSource::gaussian);
                    engine.upload(x.q, x.k, x.v, {heads, n, d});
                    const BlockMask bm = compile_block_mask(csr, 64, 0, gather);
                    const std::vector<float> want = oracle(csr, x, n, d);
                    for (const Variant& v : kVariants) {
                        CAPTURE(n);
                        CAPTURE(d);
                        CAPTURE(gather);
                        CAPTURE(v.name);
                        RunResult r = engine.run(bm, tiled(v.request));
                        check_mixed_heads(r.out, r.path, "tiled-f32", want, n, d, heads);
                    }
                }
        check_no_validation_messages();
    }

    TEST_CASE("tiled kernel: head dimensions 1 to 256, n not a multiple of the block, f16 storage") {
        AttentionEngine engine(gpu_context());
        const int64_t n = 70;
        // Wide heads (d4 = 32, 64) run in chunks on CPU devices; each variant is a pipeline that
        // lavapipe compiles for tens of seconds, so there only the automatic shape and one forced
        // chunk of 8 vec4s (a second chunk size through the same code) run d > 64.
        const bool cpu = gpu_context().info().device_type == VK_PHYSICAL_DEVICE_TYPE_CPU;
        for (int64_t d : {1, 3, 17, 33, 64, 65, 96, 128, 200, 256}) {
            CAPTURE(d);
            auto csr = mixed_heads(n, 2);
            QKV x = make_qkv(2, n, d, uint64_t(d), QkvSource::gaussian);
            engine.upload(x.q, x.k, x.v, {2, n, d});
            const BlockMask bm = compile_block_mask(csr, 64, 0, true);
            const std::vector<float> want = oracle(csr, x, n, d);
            std::vector<Variant> variants{kVariants[0], kVariants[1], kVariants[6]};
            if (cpu && d > 64) variants = {kVariants[0]};
            if (d > 64) variants.push_back({"chunk 8", {.chunk = 8}});
            for (const Variant& v : variants) {
                CAPTURE(v.name);
                RunResult r = engine.run(bm, tiled(v.request));
                CAPTURE(r.path);
                CHECK(r.path.starts_with("tiled-f32"));
                if (d > 64 && (cpu || v.request.chunk > 0)) CHECK(r.path.find("-c") != std::string::npos);
                check_mixed_heads(r.out, r.path, "tiled-f32", want, n, d, 2);
                if (gpu_context().fp16_enabled()) {
                    RunResult h = engine.run(bm, tiled(v.request, DType::f16));
                    CAPTURE(h.path);
                    CHECK(h.path.starts_with("tiled-f16"));
                    CHECK(relative_error(h.out, want) < 2e-2);
                }
            }
        }
        check_no_validation_messages();
    }

    TEST_CASE("tiled kernel: bands, dense causal and split-k match the oracle") {
        AttentionEngine engine(gpu_context());
        for (int64_t n : {2, 65, 200})
            for (bool causal : {false, true}) {
                CAPTURE(n);
                CAPTURE(causal);
                const int64_t d = 24;
                const int heads = 2;
                QKV x = make_qkv(heads, n, d, uint64_t(n), QkvSource::gaussian);
                engine.upload(x.q, x.k, x.v, {heads, n, d});
                for (const Variant& v : {kVariants[0], kVariants[1], kVariants[4], kVariants[6]}) {
                    CAPTURE(v.name);
                    // A band (windows decided in the shader) across block edges.
                    HeadPattern band_hp;
                    band_hp.causal = causal;
                    band_hp.components = {window(70)};
                    std::vector<Csr> band_csr(size_t(heads), build_csr(HeadMask(band_hp, n)));
                    RunResult b = engine.run_band(70, causal ? 0 : 70, tiled(v.request));
                    CHECK(b.path.ends_with("+band"));
                    CHECK(relative_error(b.out, oracle(band_csr, x, n, d)) < 1e-4);
                    // Dense, causal or not.
                    HeadPattern dense_hp;
                    dense_hp.causal = causal;
                    dense_hp.components = {Component{.type = ComponentType::dense}};
                    std::vector<Csr> dense_csr(size_t(heads), build_csr(HeadMask(dense_hp, n)));
                    RunResult dn = engine.run_dense(causal, tiled(v.request));
                    CHECK(relative_error(dn.out, oracle(dense_csr, x, n, d)) < 1e-4);
                    // Split-k: long lists in chunks of 1 entry, merged.
                    if (n >= 65) {
                        auto csr = mixed_heads(n, heads);
                        auto bm = std::make_shared<const BlockMask>(compile_block_mask(csr, 64, 0, true));
                        RunResult s = engine.run(plan_blocks(bm, heads, 1), tiled(v.request));
                        CAPTURE(s.path);
                        CHECK(s.path.find("+split") != std::string::npos);
                        CHECK(relative_error(s.out, oracle(csr, x, n, d)) < 1e-4);
                    }
                }
            }
        check_no_validation_messages();
    }

    TEST_CASE("portable path: the planner picks the tiled kernel, rowwise stays selectable and exact") {
        const DeviceInfo& info = gpu_context().info();
        CHECK(portable_path(info, DType::f32, 64) == KernelPath::tiled);
        CHECK(portable_path(info, DType::f32, 128) == KernelPath::tiled);
        const char* forced = std::getenv("SALAB_PATH");  // scripts/device_paths.sh
        if (!info.nv_coopmat2 && !info.nv_coopmat && !info.khr_coopmat && !(forced && *forced))
            CHECK(choose_path(info, DType::f32, 64) == KernelPath::tiled);
        CHECK(parse_kernel_path("portable") == KernelPath::tiled);
        AttentionEngine engine(gpu_context());
        const int64_t n = 130, d = 40;
        auto csr = mixed_heads(n, 3);
        QKV x = make_qkv(3, n, d, 3, QkvSource::gaussian);
        engine.upload(x.q, x.k, x.v, {3, n, d});
        RunOptions o;
        o.read_back = true;
        o.path = KernelPath::rowwise;
        RunResult r = engine.run(compile_block_mask(csr), o);
        CHECK(r.path == "rowwise-f32");
        CHECK(relative_error(r.out, oracle(csr, x, n, d)) < 1e-4);
        if (info.device_type == VK_PHYSICAL_DEVICE_TYPE_CPU) {
            // lavapipe's loop budget: dense n = 16,384 at d = 256 takes 256 key blocks per query
            // block, past 65535 steps in chunks; forcing tiled is refused, nothing runs wrong.
            const int64_t big = 16384, wide = 256;
            const TiledShape t = choose_tiled_shape(info, wide);
            CHECK(t.loop_steps(uint64_t(big / 64)) > kCpuLoopBudget);
            std::vector<float> zeros(size_t(big * wide), 0.0f);
            engine.upload(zeros, zeros, zeros, {1, big, wide});
            RunOptions f;
            f.path = KernelPath::tiled;
            CHECK_THROWS_AS(engine.run_dense(false, f), InputError);
        }
        check_no_validation_messages();
    }
}

TEST_CASE("tiled shape: sizes from the device limits, rowwise where the tiles do not fit") {
    DeviceInfo gpu;
    gpu.name = "test GPU";
    gpu.device_type = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
    gpu.max_shared_memory = 49152;
    gpu.max_workgroup_invocations = 1024;
    gpu.subgroup_size = 32;
    gpu.subgroup_shuffle = true;
    TiledShape t = choose_tiled_shape(gpu, 64);
    CHECK(t);
    CHECK(t.tpr == 4);
    CHECK(t.rows == 1);
    CHECK(!t.bcast);
    CHECK(t.subgroup);
    CHECK(t.ds == 17);
    CHECK(t.shared_bytes() <= 49152);
    CHECK(t.kc == 64);  // 2 * 64 * 17 * 16 + 256 = 35,072 B
    t = choose_tiled_shape(gpu, 256);
    CHECK(t);
    CHECK(t.shared_bytes() <= 49152);
    CHECK(t.kc >= 8 * t.tpr);
    CHECK(portable_path(gpu, DType::f32, 256) == KernelPath::tiled);

    DeviceInfo cpu = gpu;
    cpu.name = "test CPU";
    cpu.device_type = VK_PHYSICAL_DEVICE_TYPE_CPU;
    cpu.max_shared_memory = 32768;
    cpu.subgroup_size = 8;
    t = choose_tiled_shape(cpu, 64);
    CHECK(t.tpr == 1);
    CHECK(!t.bcast);  // only when asked for (2x slower on lavapipe)
    CHECK(!t.subgroup);
    CHECK(choose_tiled_shape(cpu, 64, {.bcast = 1}).bcast);
    CHECK(t.rows == 8);
    CHECK(t.kc == 32);  // 64 would need 32,768 + 256 B
    CHECK(t.workgroup() == 8);
    CHECK(t.chunk == t.d4);  // d <= 64: fully unrolled
    CHECK(t.loop_steps_per_block() == 11);
    CHECK(choose_tiled_shape(cpu, 128).rows == 4);  // rows x d4 <= 128: registers
    CHECK(choose_tiled_shape(cpu, 256).rows == 2);
    // Wide heads on CPUs: the head dimension in chunks (compile time), the tiled kernel.
    t = choose_tiled_shape(cpu, 128);
    CHECK(t.chunk == kCpuChunk);
    CHECK(t.chunks() == 32 / kCpuChunk);
    CHECK(t.loop_steps_per_block() > 11);
    CHECK(t.loop_steps(1) > t.loop_steps_per_block());
    CHECK(choose_tiled_shape(cpu, 256, {.chunk = 64}).chunk == 64);
    CHECK(choose_tiled_shape(cpu, 96, {.chunk = 3}).chunk == 2);  // a power of two
    CHECK(portable_path(cpu, DType::f32, 128) == KernelPath::tiled);
    CHECK(portable_path(cpu, DType::f32, 256) == KernelPath::tiled);
    CHECK(choose_tiled_shape(gpu, 256).chunk == 64);  // GPUs unroll every d

    DeviceInfo plain = gpu;  // no subgroup shuffles: the fallback
    plain.subgroup_shuffle = false;
    t = choose_tiled_shape(plain, 64);
    CHECK(t.tpr == 1);
    CHECK(!t.subgroup);

    DeviceInfo tiny = plain;  // Vulkan's minimum shared memory: d = 256 tiles do not fit
    tiny.max_shared_memory = 16384;
    t = choose_tiled_shape(tiny, 256);
    CHECK(!t);
    CHECK(t.why_not.find("rowwise") != std::string::npos);
    tiny.fp16_arithmetic = tiny.storage16 = true;
    CHECK(portable_path(tiny, DType::f32, 256) == KernelPath::rowwise);
    CHECK(portable_path(tiny, DType::f32, 64) == KernelPath::tiled);
    CHECK(choose_path(tiny, DType::f32, 256) == KernelPath::rowwise);
    CHECK_THROWS_AS(choose_path(tiny, DType::f32, 256, KernelPath::tiled), InputError);
    CHECK(path_unsupported(tiny, DType::f32, 256, KernelPath::tiled).find("shared memory") != std::string::npos);
}
