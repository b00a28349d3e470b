// Compute pipelines sharing one layout (N storage buffers + a push-constant block), created on
// first use per (shader, specialization constants) and cached.
#pragma once

#include "vk_context.h"
#include "vk_handle.h"

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace salab {

// vec4 registers per head-dimension row: the D4 specialization constant of the kernels that
// keep a row of Q (or K) in registers. ceil(d / 4) rounded up to a power of two, so only a
// handful of pipelines exist and padding wastes less than half of the arithmetic.
constexpr uint32_t d4_for(int64_t d) {
    uint32_t d4 = 1;
    while (int64_t(d4) * 4 < d) d4 *= 2;
    return d4;
}

// One statistic the driver reports for a pipeline (VK_KHR_pipeline_executable_properties),
// e.g. NVIDIA's "Register Count"; value as text (integers, floats and booleans alike).
struct PipelineStatistic {
    std::string executable, name, value;
};

struct Pipeline {
    Owned<vkDestroyPipeline> pipeline;
    std::vector<PipelineStatistic> statistics;  // empty when the driver reports none
    // Set by the engine once a run dispatched it: a first dispatch may include the driver's
    // compile (lavapipe compiles at first use), so the engine times it only after a warm-up.
    mutable bool dispatched = false;
    // An integer statistic by name ("Register Count"), -1 when absent.
    int64_t statistic(const std::string& name) const;
};

class PipelineCache {
public:
    PipelineCache(VulkanContext& ctx, uint32_t bindings, uint32_t push_bytes);
    PipelineCache(const PipelineCache&) = delete;
    PipelineCache& operator=(const PipelineCache&) = delete;

    // Specialization constants are 32-bit, numbered 0, 1, ... in order. subgroup_size > 0: the
    // pipeline runs with that many lanes per subgroup (the device's default, or required through
    // subgroup size control: DeviceInfo::can_run_subgroup_size must hold).
    const Pipeline& get(const std::string& shader, const std::vector<uint32_t>& spec, uint32_t subgroup_size = 0);
    VkPipelineLayout layout() const { return layout_; }
    // Points the (single, reused) descriptor set at these buffers. Only valid while no earlier
    // submission using the set is in flight (every engine call waits for its work).
    template <size_t N>
    VkDescriptorSet bind_buffers(const std::array<VkBuffer, N>& buffers) {
        return bind_buffers(buffers.data(), uint32_t(N));
    }
    VkDescriptorSet bind_buffers(const VkBuffer* buffers, uint32_t count);

private:
    VulkanContext& ctx_;
    uint32_t bindings_;
    Owned<vkDestroyDescriptorSetLayout> set_layout_;
    Owned<vkDestroyPipelineLayout> layout_;
    Owned<vkDestroyDescriptorPool> pool_;
    VkDescriptorSet set_ = VK_NULL_HANDLE;  // freed with pool_
    std::map<std::tuple<std::string, std::vector<uint32_t>, uint32_t>, Pipeline> cache_;
};

}  // namespace salab
