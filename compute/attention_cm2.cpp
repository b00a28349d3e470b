#include "attention_cm2.h"

#include "shaders.h"
#include "shared.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace salab {

namespace {

bool env_on(const char* name) {
    const char* v = std::getenv(name);
    return v && *v && std::strcmp(v, "0") != 0;
}

constexpr int kFp16 = 0, kFp32 = 1, kWorkgroupScope = 2;
constexpr uint32_t kInvocations = 128;

// A flexible-dimension entry that allows fp16 x fp16 + acc -> acc matrices of 64 rows with
// n_cols columns and k = 64 at workgroup scope, 128 invocations.
bool flexible_fits(const DeviceInfo& info, uint32_t n_cols, int acc = kFp32) {
    for (const auto& f : info.coopmat2.flexible)
        if (f.a_type == kFp16 && f.b_type == kFp16 && f.c_type == acc && f.result_type == acc &&
            f.scope == kWorkgroupScope && f.invocations == kInvocations && f.m_granularity > 0 &&
            f.n_granularity > 0 && f.k_granularity > 0 && 64 % f.m_granularity == 0 &&
            n_cols % f.n_granularity == 0 && 64 % f.k_granularity == 0)
            return true;
    return false;
}

// Shared memory of the staged variants: one 64-row block of d fp16 with rows padded by 8.
uint32_t staged_shared_bytes(int64_t d) { return uint32_t(gpu::kBlock * (d + 8) * 2); }

bool staged_fits(const DeviceInfo& info, int64_t d) {
    const uint64_t usable = info.max_shared_memory > info.coopmat2.workgroup_scope_reserved_shared_memory
                                ? info.max_shared_memory - info.coopmat2.workgroup_scope_reserved_shared_memory
                                : 0;
    return staged_shared_bytes(d) <= usable;
}

}  // namespace

bool cm2_shaders_built() {
#ifdef SALAB_HAVE_COOPMAT2_SHADERS
    return true;
#else
    return false;
#endif
}

std::string cm2_device_support(const DeviceInfo& info) {
    if (!cm2_shaders_built()) return "built without the coopmat2 shaders (no glslc that compiles them)";
    const auto& c = info.coopmat2;
    if (!c.extension) return "no VK_NV_cooperative_matrix2";
    if (!c.all_features()) return "VK_NV_cooperative_matrix2 lacks some of its seven features";
    if (!info.nv_coopmat2) return "VK_NV_cooperative_matrix2 needs KHR coopmat, the Vulkan memory model, fp16 and Vulkan 1.3";
    if (c.workgroup_scope_max_workgroup_size && c.workgroup_scope_max_workgroup_size < kInvocations)
        return "workgroup-scope matrices limited to " + std::to_string(c.workgroup_scope_max_workgroup_size) +
               " invocations";
    if (c.flexible_max_dimension && c.flexible_max_dimension < 128)
        return "flexible dimensions limited to " + std::to_string(c.flexible_max_dimension);
    if (!flexible_fits(info, 64))
        return "no flexible-dimension entry fp16 x fp16 -> fp32, workgroup scope, 128 invocations, 64 x 64 x 64";
    return {};
}

std::vector<Cm2Kernel> cm2_kernels(const DeviceInfo& info, int64_t d) {
    std::vector<Cm2Kernel> out;
    if (d != 64 && d != 128) return out;
    if (!cm2_device_support(info).empty()) return out;
    const std::string suffix = "_d" + std::to_string(d);
    const bool narrow = flexible_fits(info, 16);  // 64 x 16 row-statistics matrices allowed
    // Order = preference, from the H200 measurements in docs/benchmarks.md: the decode variant
    // declares no shared memory and ran d = 128 at 146 TFLOP/s dense where the staged one (17 KiB
    // of shared memory declared, even when unused) ran 98; at d = 64 all four are within 5%.
    const bool o16 = flexible_fits(info, 64, kFp16);
    if (narrow && info.buffer_device_address && o16)
        out.push_back({"attention_cm2_decode_o16" + suffix, "decode_o16", {}, true});
    if (narrow && info.buffer_device_address) out.push_back({"attention_cm2_decode" + suffix, "decode", {}});
    if (narrow && staged_fits(info, d)) out.push_back({"attention_cm2" + suffix, "staged", {}});
    if (narrow && staged_fits(info, d) && o16) out.push_back({"attention_cm2_o16" + suffix, "o16", {}, true});
    if (staged_fits(info, d)) out.push_back({"attention_cm2_s64" + suffix, "s64", {}});
    for (auto& k : out)
        if (!shader_exists(k.shader)) k.shader.clear();
    out.erase(std::remove_if(out.begin(), out.end(), [](const Cm2Kernel& k) { return k.shader.empty(); }), out.end());
    return out;
}

Cm2Kernel choose_cm2_kernel(const DeviceInfo& info, int64_t d, bool allow_o16) {
    if (env_on("SALAB_NO_COOPMAT2") || env_on("SALAB_PORTABLE")) return {{}, {}, "turned off by the environment"};
    if (d != 64 && d != 128) return {{}, {}, "coopmat2 kernels exist for d = 64 and 128"};
    if (auto why = cm2_device_support(info); !why.empty()) return {{}, {}, why};
    const auto kernels = cm2_kernels(info, d);
    if (kernels.empty()) return {{}, {}, "no coopmat2 variant fits this device's shared memory and features"};
    if (const char* want = std::getenv("SALAB_CM2_VARIANT"); want && *want) {
        for (const auto& k : kernels)
            if (k.variant == want) return k;
        return {{}, {}, std::string("SALAB_CM2_VARIANT=") + want + " is not available here"};
    }
    for (const auto& k : kernels)
        if (allow_o16 || !k.o16) return k;
    return {{}, {}, "no coopmat2 variant with an fp32 O fits this device"};
}

std::optional<float> cm2_p_shift(int64_t longest_keys, double v_max_abs) {
    if (!std::isfinite(v_max_abs)) return std::nullopt;
    const double bound = double(std::max<int64_t>(longest_keys, 1)) * std::max(v_max_abs, 1e-30);
    const double k = std::max(0.0, std::ceil(std::log2(bound / 16384.0)));
    if (!(k <= 16.0)) return std::nullopt;
    return float(k);
}

int cm2_split_chunk(const BlockMask& mask, int heads) {
    // ~2 workgroups per multiprocessor of a large GPU (132 on an H100/H200) keep it busy.
    constexpr int64_t kTargetGroups = 2 * 132;
    const int64_t groups = mask.num_blocks * int64_t(heads);
    if (groups <= 0 || groups >= kTargetGroups || mask.row_ptr.empty()) return 0;
    const int64_t per_head = int64_t(mask.row_ptr.back());
    const int64_t entries = mask.heads == 1 ? per_head * heads : per_head;
    const int64_t chunk = std::max<int64_t>(4, (entries + 2 * kTargetGroups - 1) / (2 * kTargetGroups));
    return int(chunk);
}

}  // namespace salab
