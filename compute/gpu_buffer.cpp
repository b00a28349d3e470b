#include "gpu_buffer.h"

#include "errors.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace salab {

GpuBuffer::GpuBuffer(VulkanContext& ctx, VkDeviceSize size, bool host_visible_required) {
    const VkDevice device = ctx.device();
    size_ = std::max<VkDeviceSize>(size, 16);  // zero-sized buffers are invalid
    const auto& info = ctx.info();
    if (info.max_allocation_bytes && size_ > info.max_allocation_bytes)
        throw InputError("a buffer of " + std::to_string(size_ >> 20) + " MiB exceeds " + info.name +
                         "'s largest allocation (" + std::to_string(info.max_allocation_bytes >> 20) +
                         " MiB): use a smaller n, d or heads");
    VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bi.size = size_;
    bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
               VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    VkBuffer buffer;
    SALAB_VK(vkCreateBuffer(device, &bi, nullptr, &buffer));
    buffer_ = Owned<vkDestroyBuffer>(device, buffer);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(device, buffer, &req);
    const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    uint32_t type = UINT32_MAX;
    if (host_visible_required) {
        type = ctx.find_memory_type(req.memoryTypeBits, host);
    } else {
        type = ctx.find_memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
        if (type == UINT32_MAX) type = ctx.find_memory_type(req.memoryTypeBits, 0);
    }
    if (type == UINT32_MAX) throw VulkanError("no suitable memory type for a storage buffer");
    VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    ai.allocationSize = req.size;
    ai.memoryTypeIndex = type;
    VkDeviceMemory memory;
    VkResult r = vkAllocateMemory(device, &ai, nullptr, &memory);
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
        throw InputError("out of device memory allocating " + std::to_string(size_ >> 20) + " MiB on " + info.name +
                         ": use a smaller n, d or heads");
    if (r != VK_SUCCESS) throw_vk(r, "vkAllocateMemory", __FILE__, __LINE__);
    memory_ = Owned<vkFreeMemory>(device, memory);
    SALAB_VK(vkBindBufferMemory(device, buffer, memory, 0));

    VkPhysicalDeviceMemoryProperties mem;
    vkGetPhysicalDeviceMemoryProperties(ctx.physical_device(), &mem);
    if ((mem.memoryTypes[type].propertyFlags & host) == host)
        SALAB_VK(vkMapMemory(device, memory, 0, VK_WHOLE_SIZE, 0, &mapped_));
}

void GpuBuffer::write(VulkanContext& ctx, const void* data, VkDeviceSize bytes, VkDeviceSize offset) {
    if (bytes == 0) return;
    if (mapped_) {
        std::memcpy(static_cast<char*>(mapped_) + offset, data, bytes);
        return;
    }
    GpuBuffer staging(ctx, bytes, true);
    std::memcpy(staging.mapped(), data, bytes);
    ctx.submit_and_wait([&](VkCommandBuffer cb) {
        VkBufferCopy region{0, offset, bytes};
        vkCmdCopyBuffer(cb, staging.handle(), buffer_, 1, &region);
    });
}

void GpuBuffer::read(VulkanContext& ctx, void* data, VkDeviceSize bytes, VkDeviceSize offset) const {
    if (bytes == 0) return;
    if (mapped_) {
        std::memcpy(data, static_cast<const char*>(mapped_) + offset, bytes);
        return;
    }
    GpuBuffer staging(ctx, bytes, true);
    ctx.submit_and_wait([&](VkCommandBuffer cb) {
        VkBufferCopy region{offset, 0, bytes};
        vkCmdCopyBuffer(cb, buffer_, staging.handle(), 1, &region);
    });
    std::memcpy(data, staging.mapped(), bytes);
}

}  // namespace salab
