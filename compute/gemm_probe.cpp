#include "gemm_probe.h"

#include "attention_cm2.h"
#include "gpu_buffer.h"
#include "gpu_timer.h"
#include "half.h"
#include "pipeline.h"
#include "shaders.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <vector>

namespace salab {

namespace {

float a_at(int64_t i, int64_t k) { return float((i + 2 * k) % 7 - 3) / 8.0f; }  // exact in fp16
float b_at(int64_t k, int64_t j) { return float((3 * k + j) % 5 - 2) / 8.0f; }

}  // namespace

GemmProbeResult probe_cm2_gemm(VulkanContext& ctx, int64_t n, int repeats) {
    GemmProbeResult r;
    r.n = n;
    if (n < 128 || n > 16384 || n % 128 != 0) {
        r.why_not = "probe size must be a multiple of 128 in 128..16384, got " + std::to_string(n);
        return r;
    }
    const DeviceInfo& info = ctx.info();
    if (auto why = cm2_device_support(info); !why.empty()) {
        r.why_not = why;
        return r;
    }
    if (!shader_exists("gemm_probe")) {
        r.why_not = "built without the coopmat2 shaders";
        return r;
    }
    if (info.coopmat2.workgroup_scope_max_workgroup_size < 256) {
        r.why_not = "workgroup-scope matrices limited to fewer than 256 invocations";
        return r;
    }
    const size_t count = size_t(n) * size_t(n);
    std::vector<uint16_t> a(count), b(count);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < n; ++k) {
            a[size_t(i * n + k)] = float_to_half(a_at(i, k));
            b[size_t(i * n + k)] = float_to_half(b_at(i, k));
        }
    GpuBuffer ga(ctx, count * 2), gb(ctx, count * 2), gc(ctx, count * 2);
    ga.write(ctx, a.data(), count * 2);
    gb.write(ctx, b.data(), count * 2);
    PipelineCache pipelines(ctx, 3, 4);
    const Pipeline& pipe = pipelines.get("gemm_probe", {});
    r.registers = pipe.statistic("Register Count");
    VkDescriptorSet set = pipelines.bind_buffers(std::array<VkBuffer, 3>{ga.handle(), gb.handle(), gc.handle()});
    const uint32_t push = uint32_t(n), tiles = uint32_t(n / 128);
    auto record = [&](VkCommandBuffer cb) {
        vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipe.pipeline);
        vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipelines.layout(), 0, 1, &set, 0, nullptr);
        vkCmdPushConstants(cb, pipelines.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, 4, &push);
        vkCmdDispatch(cb, tiles, tiles, 1);
        VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
        mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
        mb.dstAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT;
        vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                             VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT |
                                 VK_PIPELINE_STAGE_TRANSFER_BIT,
                             0, 1, &mb, 0, nullptr, 0, nullptr);
    };
    // Warm-up by time (an idle GPU clocks down), then the timed repeats.
    const auto t0 = std::chrono::steady_clock::now();
    while (std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() < 300.0)
        ctx.submit_and_wait([&](VkCommandBuffer cb) { record(cb); });
    GpuTimer timer(ctx);
    repeats = std::clamp(repeats, 1, 100);
    ctx.submit_and_wait([&](VkCommandBuffer cb) {
        timer.start(cb, uint32_t(repeats));
        for (int i = 0; i < repeats; ++i) {
            const GpuTimer::Scope s(timer, cb);
            record(cb);
        }
    });
    std::vector<double> ms = timer.read_ms();
    if (ms.empty()) {
        r.why_not = "no timestamps on this device's compute queue";
        return r;
    }
    std::sort(ms.begin(), ms.end());
    r.ms = ms[ms.size() / 2];
    r.min_ms = ms.front();
    r.tflops = r.ms > 0 ? 2.0 * double(n) * double(n) * double(n) / (r.ms * 1e9) : 0.0;
    // Spot check: 64 entries spread over C against double sums.
    std::vector<uint16_t> c(count);
    gc.read(ctx, c.data(), count * 2);
    for (int s = 0; s < 64; ++s) {
        const int64_t i = (s * 977) % n, j = (s * 613 + 5) % n;
        double want = 0.0;
        for (int64_t k = 0; k < n; ++k) want += double(a_at(i, k)) * double(b_at(k, j));
        const double got = double(half_to_float(c[size_t(i * n + j)]));
        r.max_error = std::max(r.max_error, std::fabs(got - want) / (1.0 + std::fabs(want)));
    }
    if (!(r.max_error < 1e-2)) r.why_not = "GEMM probe result wrong (max error " + std::to_string(r.max_error) + ")";
    return r;
}

}  // namespace salab
