// A storage buffer with exactly one owner. Prefers device-local memory; maps it when the
// device-local memory is also host-visible (lavapipe, integrated GPUs, ReBAR), otherwise data
// moves through a staging buffer.
#pragma once

#include "vk_context.h"
#include "vk_handle.h"

#include <cstddef>
#include <cstdint>
#include <utility>

namespace salab {

class GpuBuffer {
public:
    GpuBuffer() = default;
    // Throws InputError if size exceeds the device's limits, VulkanError on allocation failure.
    GpuBuffer(VulkanContext& ctx, VkDeviceSize size, bool host_visible_required = false);
    GpuBuffer(GpuBuffer&& o) noexcept { *this = std::move(o); }
    GpuBuffer& operator=(GpuBuffer&& o) noexcept {
        buffer_ = std::move(o.buffer_);
        memory_ = std::move(o.memory_);
        size_ = std::exchange(o.size_, 0);
        mapped_ = std::exchange(o.mapped_, nullptr);
        return *this;
    }

    VkBuffer handle() const { return buffer_; }
    VkDeviceSize size() const { return size_; }
    void* mapped() const { return mapped_; }
    explicit operator bool() const { return buffer_ != VK_NULL_HANDLE; }

    // Copies host data in (through a staging buffer when not mapped).
    void write(VulkanContext& ctx, const void* data, VkDeviceSize bytes, VkDeviceSize offset = 0);
    void read(VulkanContext& ctx, void* data, VkDeviceSize bytes, VkDeviceSize offset = 0) const;

private:
    Owned<vkDestroyBuffer> buffer_;
    Owned<vkFreeMemory> memory_;  // freeing it unmaps it
    VkDeviceSize size_ = 0;
    void* mapped_ = nullptr;
};

}  // namespace salab
