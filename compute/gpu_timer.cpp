#include "gpu_timer.h"

#include <stdexcept>
#include <string>

namespace salab {

GpuTimer::GpuTimer(VulkanContext& ctx)
    : device_(ctx.device()),
      enabled_(ctx.info().timestamps),
      period_ns_(ctx.info().timestamp_period_ns),
      valid_mask_(~uint64_t(0)) {
    uint32_t count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(ctx.physical_device(), &count, nullptr);
    std::vector<VkQueueFamilyProperties> families(count);
    vkGetPhysicalDeviceQueueFamilyProperties(ctx.physical_device(), &count, families.data());
    const uint32_t bits = ctx.queue_family() < count ? families[ctx.queue_family()].timestampValidBits : 0;
    if (bits == 0) enabled_ = false;
    if (bits > 0 && bits < 64) valid_mask_ = (uint64_t(1) << bits) - 1;
}

void GpuTimer::start(VkCommandBuffer cb, uint32_t sections) {
    if (open_ != 0) throw std::logic_error("GpuTimer::start with a section still open");
    started_ = sections;
    begun_ = 0;
    if (!enabled_ || sections == 0) return;
    if (sections > capacity_) {
        VkQueryPoolCreateInfo qi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
        qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
        qi.queryCount = 2 * sections;
        pool_.reset();
        VkQueryPool pool;
        SALAB_VK(vkCreateQueryPool(device_, &qi, nullptr, &pool));
        pool_ = Owned<vkDestroyQueryPool>(device_, pool);
        capacity_ = sections;
    }
    vkCmdResetQueryPool(cb, pool_, 0, 2 * sections);
}

uint32_t GpuTimer::begin(VkCommandBuffer cb) {
    if (begun_ >= started_)
        throw std::logic_error("GpuTimer: more sections than the " + std::to_string(started_) + " started");
    const uint32_t section = begun_++;
    ++open_;
    if (enabled_) vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, pool_, 2 * section);
    return section;
}

void GpuTimer::end(VkCommandBuffer cb, uint32_t section) {
    if (section >= begun_ || open_ == 0) throw std::logic_error("GpuTimer::end of a section never begun");
    --open_;
    if (enabled_) vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool_, 2 * section + 1);
}

std::vector<double> GpuTimer::read_ms() const {
    if (!enabled_ || begun_ == 0) return {};
    if (open_ != 0) throw std::logic_error("GpuTimer::read_ms with a section still open");
    std::vector<uint64_t> ticks(2 * size_t(begun_));
    SALAB_VK(vkGetQueryPoolResults(device_, pool_, 0, 2 * begun_, ticks.size() * sizeof(uint64_t), ticks.data(),
                                   sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
    std::vector<double> ms(begun_);
    for (size_t s = 0; s < ms.size(); ++s) ms[s] = ticks_to_ms((ticks[2 * s + 1] - ticks[2 * s]) & valid_mask_);
    return ms;
}

}  // namespace salab
