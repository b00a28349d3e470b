// A storage buffer with exactly one owner. Prefers device-local memory; maps it when the
// device-local memory is also host-visible (lavapipe, integrated GPUs, ReBAR), otherwise data
// moves through a staging buffer.
#pragma once

#include "vk_context.h"

#include <cstddef>
#include <cstdint>

namespace salab {

class GpuBuffer {
public:
    GpuBuffer() = default;
    // Throws InputError if size exceeds the device's limits, VulkanError on allocation failure.
    GpuBuffer(VulkanContext& ctx, VkDeviceSize size, bool host_visible_required = false);
    ~GpuBuffer();
    GpuBuffer(GpuBuffer&& o) noexcept { swap(o); }
    GpuBuffer& operator=(GpuBuffer&& o) noexcept {
        GpuBuffer t(std::move(o));
        swap(t);
        return *this;
    }
    GpuBuffer(const GpuBuffer&) = delete;
    GpuBuffer& operator=(const GpuBuffer&) = delete;

    VkBuffer handle() const { return buffer_; }
    VkDeviceSize size() const { return size_; }
    void* mapped() const { return mapped_; }
    explicit operator bool() const { return buffer_ != VK_NULL_HANDLE; }

    // Copies host data in (through a staging buffer when not mapped).
    void write(VulkanContext& ctx, const void* data, VkDeviceSize bytes, VkDeviceSize offset = 0);
    void read(VulkanContext& ctx, void* data, VkDeviceSize bytes, VkDeviceSize offset = 0) const;

private:
    void swap(GpuBuffer& o) noexcept;
    VkDevice device_ = VK_NULL_HANDLE;
    VkBuffer buffer_ = VK_NULL_HANDLE;
    VkDeviceMemory memory_ = VK_NULL_HANDLE;
    VkDeviceSize size_ = 0;
    void* mapped_ = nullptr;
};

}  // namespace salab
