// salab-cli devices: every Vulkan device with what the kernels need to know about it,
// including the cooperative-matrix extensions and, on devices with tensor-core kernels, the
// register count of each attention pipeline (occupancy).
#include "attention.h"
#include "attention_cm2.h"
#include "cli_commands.h"
#include "gemm_probe.h"
#include "vk_context.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

namespace salab {

namespace {

using nlohmann::json;

const char* component_name(int t) {
    switch (t) {
    case 0: return "f16";
    case 1: return "f32";
    case 2: return "f64";
    case 3: return "s8";
    case 4: return "s16";
    case 5: return "s32";
    case 6: return "s64";
    case 7: return "u8";
    case 8: return "u16";
    case 9: return "u32";
    case 10: return "u64";
    default: return "other";
    }
}

const char* scope_name(int s) {
    switch (s) {
    case 1: return "device";
    case 2: return "workgroup";
    case 3: return "subgroup";
    case 5: return "queue-family";
    default: return "other";
    }
}

std::string types(int a, int b, int c, int r) {
    return std::string(component_name(a)) + "x" + component_name(b) + "+" + component_name(c) + "->" +
           component_name(r);
}

// Register counts of the tensor-core attention pipelines (builds them on a context of that device).
json kernel_statistics(const DeviceInfo& d, std::string* error) {
    json out = json::array();
    if (!d.usable || !(d.nv_coopmat || d.nv_coopmat2)) return out;
    try {
        ContextOptions o;
        o.device_index = d.index;
        auto r = VulkanContext::create(o);
        if (!r.context) {
            *error = r.error;
            return out;
        }
        AttentionEngine eng(*r.context);
        for (int64_t dim : {64, 128})
            for (const auto& k : eng.kernel_statistics(dim)) {
                json values = json::object();
                for (const auto& [name, value] : k.values) values[name] = value;
                out.push_back({{"shader", k.shader}, {"d", dim}, {"registers", k.registers}, {"statistics", values}});
            }
    } catch (const std::exception& e) {
        *error = e.what();
    }
    return out;
}

// The coopmat2 GEMM probe on device d (null when it cannot run there).
json gemm_probe(const DeviceInfo& d) {
    if (!d.usable || !cm2_device_support(d).empty()) return nullptr;
    ContextOptions o;
    o.device_index = d.index;
    auto r = VulkanContext::create(o);
    if (!r.context) return {{"error", r.error}};
    const GemmProbeResult g = probe_cm2_gemm(*r.context);
    json j = {{"n", g.n}, {"ms", g.ms}, {"min_ms", g.min_ms}, {"tflops", g.tflops}, {"max_error", g.max_error},
              {"registers", g.registers}};
    if (!g.why_not.empty()) j["error"] = g.why_not;
    return j;
}

}  // namespace

int cmd_devices(const CliArgs& a) {
    std::string error;
    auto devs = list_devices(&error);
    if (devs.empty()) throw VulkanError(error);
    json out = json::array();
    std::vector<json> stats(devs.size());
    std::vector<std::string> stats_error(devs.size());
    std::vector<json> probes(devs.size());
    for (size_t i = 0; i < devs.size(); ++i) {
        const auto& d = devs[i];
        stats[i] = kernel_statistics(d, &stats_error[i]);
        if (a.probe) probes[i] = gemm_probe(d);
        json shapes = json::array();
        for (auto& s : d.coopmat_shapes)
            shapes.push_back({{"m", s.m}, {"n", s.n}, {"k", s.k}, {"a", s.a_type}, {"c", s.c_type}});
        json khr = json::array();
        for (auto& s : d.khr_coopmat_shapes)
            khr.push_back({{"m", s.m}, {"n", s.n}, {"k", s.k}, {"types", types(s.a_type, s.b_type, s.c_type, s.result_type)},
                           {"saturating", s.saturating}, {"scope", scope_name(s.scope)}});
        const auto& c = d.coopmat2;
        json flex = json::array();
        for (auto& f : c.flexible)
            flex.push_back({{"m_granularity", f.m_granularity}, {"n_granularity", f.n_granularity},
                            {"k_granularity", f.k_granularity},
                            {"types", types(f.a_type, f.b_type, f.c_type, f.result_type)},
                            {"saturating", f.saturating}, {"scope", scope_name(f.scope)},
                            {"invocations", f.invocations}});
        json cm2 = {{"extension", c.extension},
                    {"features", {{"workgroup_scope", c.workgroup_scope},
                                  {"flexible_dimensions", c.flexible_dimensions},
                                  {"reductions", c.reductions},
                                  {"conversions", c.conversions},
                                  {"per_element_operations", c.per_element_operations},
                                  {"tensor_addressing", c.tensor_addressing},
                                  {"block_loads", c.block_loads}}},
                    {"workgroup_scope_max_workgroup_size", c.workgroup_scope_max_workgroup_size},
                    {"flexible_max_dimension", c.flexible_max_dimension},
                    {"workgroup_scope_reserved_shared_memory", c.workgroup_scope_reserved_shared_memory},
                    {"flexible_dimensions", flex},
                    {"usable", d.nv_coopmat2},
                    {"kernels", cm2_device_support(d).empty() ? "yes" : cm2_device_support(d)}};
        out.push_back({{"index", d.index}, {"name", d.name}, {"type", d.type}, {"api", d.api_version},
                       {"driver", d.driver}, {"usable", d.usable}, {"reason", d.unusable_reason},
                       {"device_local_mib", d.device_local_bytes >> 20},
                       {"max_storage_buffer_mib", d.max_storage_buffer_range >> 20},
                       {"shared_memory_bytes", d.max_shared_memory}, {"subgroup_size", d.subgroup_size},
                       {"max_workgroup_invocations", d.max_workgroup_invocations},
                       {"max_workgroup_size", {d.max_workgroup_size[0], d.max_workgroup_size[1], d.max_workgroup_size[2]}},
                       {"subgroup_arithmetic", d.subgroup_arithmetic}, {"fp16", d.fp16_arithmetic},
                       {"storage16", d.storage16}, {"timestamps", d.timestamps},
                       {"timestamp_period_ns", d.timestamp_period_ns}, {"nv_coopmat", d.nv_coopmat},
                       {"coopmat_shapes", shapes}, {"khr_coopmat", d.khr_coopmat}, {"khr_coopmat_shapes", khr},
                       {"nv_coopmat2", cm2}, {"buffer_device_address", d.buffer_device_address},
                       {"pipeline_statistics", d.pipeline_statistics}, {"kernel_statistics", stats[i]},
                       {"rank", d.rank()}});
        if (d.required_subgroup_size)  // subgroup sizes a pipeline may require (min, max)
            out.back()["required_subgroup_sizes"] = {d.min_subgroup_size, d.max_subgroup_size};
        if (!stats_error[i].empty()) out.back()["kernel_statistics_error"] = stats_error[i];
        if (a.probe) out.back()["gemm_probe"] = probes[i];
    }
    if (a.json) {
        std::puts(json{{"devices", out}}.dump().c_str());
        return 0;
    }
    for (size_t i = 0; i < devs.size(); ++i) {
        const auto& d = devs[i];
        std::printf("[%d] %s (%s, Vulkan %s)%s\n", d.index, d.name.c_str(), d.type.c_str(), d.api_version.c_str(),
                    d.usable ? "" : ("  UNUSABLE: " + d.unusable_reason).c_str());
        const std::string sizes = d.required_subgroup_size ? ", required " + std::to_string(d.min_subgroup_size) + "-" +
                                                                 std::to_string(d.max_subgroup_size)
                                                           : "";
        std::printf(
            "    driver %s; %llu MiB device-local; shared %u B; subgroup %u%s%s; fp16 %s; timestamps %s (%.3g ns)\n",
            d.driver.c_str(), (unsigned long long)(d.device_local_bytes >> 20), d.max_shared_memory, d.subgroup_size,
            sizes.c_str(), d.subgroup_arithmetic ? " (arithmetic)" : "",
            d.fp16_arithmetic && d.storage16 ? "yes" : "no", d.timestamps ? "yes" : "no", d.timestamp_period_ns);
        std::printf("    workgroups: %u invocations, size %u x %u x %u; bufferDeviceAddress %s; pipeline statistics %s\n",
                    d.max_workgroup_invocations, d.max_workgroup_size[0], d.max_workgroup_size[1],
                    d.max_workgroup_size[2], d.buffer_device_address ? "yes" : "no",
                    d.pipeline_statistics ? "yes" : "no");
        if (d.nv_coopmat) {
            std::printf("    VK_NV_cooperative_matrix:");
            for (auto& s : d.coopmat_shapes) std::printf(" %ux%ux%u", s.m, s.n, s.k);
            std::printf("\n");
        }
        if (d.khr_coopmat) {
            std::printf("    VK_KHR_cooperative_matrix:");
            for (auto& s : d.khr_coopmat_shapes)
                std::printf(" %ux%ux%u %s (%s)", s.m, s.n, s.k, types(s.a_type, s.b_type, s.c_type, s.result_type).c_str(),
                            scope_name(s.scope));
            std::printf("\n");
        }
        const auto& c = d.coopmat2;
        if (c.extension) {
            std::printf("    VK_NV_cooperative_matrix2: features workgroupScope %d flexibleDimensions %d reductions %d "
                        "conversions %d perElementOperations %d tensorAddressing %d blockLoads %d\n",
                        c.workgroup_scope, c.flexible_dimensions, c.reductions, c.conversions,
                        c.per_element_operations, c.tensor_addressing, c.block_loads);
            std::printf("      workgroup scope: max %u invocations, %u B shared memory reserved; flexible dimensions up to %u\n",
                        c.workgroup_scope_max_workgroup_size, c.workgroup_scope_reserved_shared_memory,
                        c.flexible_max_dimension);
            for (auto& f : c.flexible)
                std::printf("      flexible %ux%ux%u granularity, %s, %s, %u invocations%s\n", f.m_granularity,
                            f.n_granularity, f.k_granularity, types(f.a_type, f.b_type, f.c_type, f.result_type).c_str(),
                            scope_name(f.scope), f.invocations, f.saturating ? ", saturating" : "");
        }
        const std::string why = cm2_device_support(d);
        std::printf("    coopmat2 kernels: %s\n", why.empty() ? "yes" : why.c_str());
        // What --path can force here (f16 storage, d = 64: every family's common case).
        for (KernelPath p : {KernelPath::tiled, KernelPath::rowwise, KernelPath::nv_coopmat2, KernelPath::nv_coopmat,
                             KernelPath::khr_coopmat}) {
            const std::string no = d.usable ? path_unsupported(d, DType::f16, 64, p) : d.unusable_reason;
            std::printf("    --path %-11s (f16, d = 64): %s\n", std::string(path_name(p)).c_str(),
                        no.empty() ? "runs" : no.c_str());
        }
        for (const auto& k : stats[i])
            std::printf("    pipeline %s: %lld registers\n", k["shader"].get<std::string>().c_str(),
                        (long long)k["registers"].get<int64_t>());
        if (!stats_error[i].empty()) std::printf("    kernel statistics: %s\n", stats_error[i].c_str());
        if (a.probe) {
            const json& g = probes[i];
            if (g.is_null())
                std::printf("    coopmat2 GEMM probe: not run (no coopmat2 kernels here)\n");
            else if (g.contains("error"))
                std::printf("    coopmat2 GEMM probe: %s\n", g["error"].get<std::string>().c_str());
            else
                std::printf("    coopmat2 GEMM probe (%lld^3 fp16 -> fp32, 128 x 128 tiles, 256 invocations, %lld "
                            "registers): %.3f ms, %.1f TFLOP/s (max error %.1e)\n",
                            (long long)g["n"].get<int64_t>(), (long long)g["registers"].get<int64_t>(),
                            g["ms"].get<double>(), g["tflops"].get<double>(), g["max_error"].get<double>());
        }
    }
    return 0;
}

}  // namespace salab
