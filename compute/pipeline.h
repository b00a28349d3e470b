// Compute pipelines sharing one layout (N storage buffers + a push-constant block), created on
// first use per (shader, specialization constants) and cached.
#pragma once

#include "vk_context.h"

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace salab {

// One statistic the driver reports for a pipeline (VK_KHR_pipeline_executable_properties),
// e.g. NVIDIA's "Register Count"; value as text (integers, floats and booleans alike).
struct PipelineStatistic {
    std::string executable, name, value;
};

struct Pipeline {
    VkPipeline pipeline = VK_NULL_HANDLE;
    std::vector<PipelineStatistic> statistics;  // empty when the driver reports none
    // An integer statistic by name ("Register Count"), -1 when absent.
    int64_t statistic(const std::string& name) const;
};

class PipelineCache {
public:
    PipelineCache(VulkanContext& ctx, uint32_t bindings, uint32_t push_bytes);
    ~PipelineCache();
    PipelineCache(const PipelineCache&) = delete;
    PipelineCache& operator=(const PipelineCache&) = delete;

    // Specialization constants are 32-bit, numbered 0, 1, ... in order.
    const Pipeline& get(const std::string& shader, const std::vector<uint32_t>& spec);
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
    VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
    VkPipelineLayout layout_ = VK_NULL_HANDLE;
    VkDescriptorPool pool_ = VK_NULL_HANDLE;
    VkDescriptorSet set_ = VK_NULL_HANDLE;
    std::map<std::pair<std::string, std::vector<uint32_t>>, Pipeline> cache_;
};

}  // namespace salab
