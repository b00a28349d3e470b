// Vulkan instance + one logical device with a compute queue, and what the kernels need to know
// about it (probed once). Environment problems come back as values with reasons; a failed
// VkResult after setup throws VulkanError naming the call, file and line.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace salab {

struct VulkanError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] void throw_vk(VkResult r, const char* call, const char* file, int line);
#define SALAB_VK(call)                                                                     \
    do {                                                                                   \
        VkResult salab_vk_r_ = (call);                                                     \
        if (salab_vk_r_ != VK_SUCCESS) ::salab::throw_vk(salab_vk_r_, #call, __FILE__, __LINE__); \
    } while (0)

// One supported VK_NV_cooperative_matrix configuration (M x N x K, types as VkComponentTypeNV).
struct CoopMatShape {
    uint32_t m = 0, n = 0, k = 0;
    int a_type = 0, b_type = 0, c_type = 0, d_type = 0;
};

struct DeviceInfo {
    int index = -1;
    std::string name;
    std::string type;  // "discrete", "integrated", "virtual", "cpu", "other"
    std::string api_version;
    std::string driver;
    uint32_t vendor_id = 0;
    uint64_t device_local_bytes = 0;   // largest device-local heap
    uint64_t max_storage_buffer_range = 0;
    uint64_t max_allocation_bytes = 0;
    uint32_t max_shared_memory = 0;    // per workgroup, bytes
    uint32_t max_workgroup_invocations = 0;
    uint32_t subgroup_size = 0;
    bool subgroup_arithmetic = false;  // subgroupAdd/Max in compute
    bool subgroup_size_control = false;
    bool fp16_arithmetic = false;      // shaderFloat16
    bool storage16 = false;            // storageBuffer16BitAccess
    bool timestamps = false;           // compute queue has timestamp bits
    double timestamp_period_ns = 0.0;
    bool nv_coopmat = false;           // VK_NV_cooperative_matrix usable
    std::vector<CoopMatShape> coopmat_shapes;
    bool usable = false;               // has a compute queue and Vulkan >= 1.1
    std::string unusable_reason;

    int rank() const;  // higher is preferred: discrete > integrated > virtual > cpu
};

// Lists every physical device with its probed features. On failure (no loader, no driver)
// returns an empty list and sets *error to the reason.
std::vector<DeviceInfo> list_devices(std::string* error = nullptr);

struct ContextOptions {
    int device_index = -1;   // -1: best usable device
    bool validation = false; // enable VK_LAYER_KHRONOS_validation (also env SALAB_VALIDATION=1)
};

class VulkanContext;
struct ContextResult {
    std::unique_ptr<VulkanContext> context;  // null on failure
    std::string error;                        // why, one line, when context is null
};

class VulkanContext {
public:
    static ContextResult create(const ContextOptions& options = {});
    ~VulkanContext();
    VulkanContext(const VulkanContext&) = delete;
    VulkanContext& operator=(const VulkanContext&) = delete;

    const DeviceInfo& info() const { return info_; }
    VkDevice device() const { return device_; }
    VkPhysicalDevice physical_device() const { return physical_; }
    VkQueue queue() const { return queue_; }
    uint32_t queue_family() const { return queue_family_; }
    VkCommandPool command_pool() const { return pool_; }
    bool fp16_enabled() const { return info_.fp16_arithmetic && info_.storage16; }

    // Validation messages of severity warning or error seen so far (tests fail on any).
    std::vector<std::string> validation_messages() const;
    void clear_validation_messages();

    uint32_t find_memory_type(uint32_t type_bits, VkMemoryPropertyFlags want,
                              VkMemoryPropertyFlags avoid = 0) const;

    // Records with `record`, submits, waits. Throws VulkanError on failure.
    template <class F>
    void submit_and_wait(F&& record);

    struct State;

private:
    VulkanContext() = default;
    VkCommandBuffer begin_one_time();
    void end_and_wait(VkCommandBuffer cb);

    DeviceInfo info_;
    std::unique_ptr<State> state_;  // instance + debug messenger + messages
    VkPhysicalDevice physical_ = VK_NULL_HANDLE;
    VkDevice device_ = VK_NULL_HANDLE;
    VkQueue queue_ = VK_NULL_HANDLE;
    uint32_t queue_family_ = 0;
    VkCommandPool pool_ = VK_NULL_HANDLE;
    VkFence fence_ = VK_NULL_HANDLE;
};

template <class F>
void VulkanContext::submit_and_wait(F&& record) {
    VkCommandBuffer cb = begin_one_time();
    record(cb);
    end_and_wait(cb);
}

}  // namespace salab
