// Vulkan instance + one logical device with a compute queue, and what the kernels need to know
// about it (probed once). Environment problems come back as values with reasons; a failed
// VkResult after setup throws VulkanError naming the call, file and line.
#pragma once

#include "errors.h"
#include "vk_coopmat.h"
#include "vk_handle.h"

#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace salab {

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

// One VK_KHR_cooperative_matrix configuration (fixed M x N x K at a scope), types as
// VkComponentTypeKHR values (0 = fp16, 1 = fp32), scope as VkScopeKHR (2 = workgroup, 3 = subgroup).
struct KhrCoopMatShape {
    uint32_t m = 0, n = 0, k = 0;
    int a_type = 0, b_type = 0, c_type = 0, result_type = 0;
    bool saturating = false;
    int scope = 0;
};

// One VK_NV_cooperative_matrix2 flexible-dimension entry: any M, N, K that are multiples of the
// granularities (up to flexible_max_dimension), for workgroups of `invocations`.
struct FlexibleDims {
    uint32_t m_granularity = 0, n_granularity = 0, k_granularity = 0;
    int a_type = 0, b_type = 0, c_type = 0, result_type = 0;
    bool saturating = false;
    int scope = 0;
    uint32_t invocations = 0;
};

// What VK_NV_cooperative_matrix2 reports (all zero / false when the extension is absent).
struct CoopMat2Info {
    bool extension = false;  // VK_NV_cooperative_matrix2 and VK_KHR_cooperative_matrix listed
    // The seven feature bits of VkPhysicalDeviceCooperativeMatrix2FeaturesNV.
    bool workgroup_scope = false, flexible_dimensions = false, reductions = false, conversions = false,
         per_element_operations = false, tensor_addressing = false, block_loads = false;
    uint32_t workgroup_scope_max_workgroup_size = 0;
    uint32_t flexible_max_dimension = 0;
    uint32_t workgroup_scope_reserved_shared_memory = 0;  // bytes a workgroup-scope kernel cannot use
    std::vector<FlexibleDims> flexible;
    bool all_features() const {
        return workgroup_scope && flexible_dimensions && reductions && conversions && per_element_operations &&
               tensor_addressing && block_loads;
    }
};

struct DeviceInfo {
    int index = -1;
    std::string name;
    std::string type;  // "discrete", "integrated", "virtual", "cpu", "other"
    VkPhysicalDeviceType device_type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
    std::string api_version;
    uint32_t api_version_number = 0;  // VkPhysicalDeviceProperties::apiVersion (VK_API_VERSION_MAJOR/MINOR)
    std::string driver;
    uint32_t vendor_id = 0;
    uint64_t device_local_bytes = 0;   // largest device-local heap
    uint64_t max_storage_buffer_range = 0;
    uint64_t max_allocation_bytes = 0;
    uint32_t max_shared_memory = 0;    // per workgroup, bytes
    uint32_t max_workgroup_invocations = 0;
    uint32_t subgroup_size = 0;
    bool subgroup_arithmetic = false;  // subgroupAdd/Max in compute
    bool subgroup_shuffle = false;     // subgroupShuffleXor and subgroupBroadcast in compute (tiled _sg shaders)
    bool subgroup_size_control = false;  // VK_EXT_subgroup_size_control or Vulkan 1.3 (listed)
    // A compute pipeline may ask for any power of two in [min, max] (subgroupSizeControl enabled,
    // compute in requiredSubgroupSizeStages): how AMD's wave64 devices run 32-lane kernels.
    bool required_subgroup_size = false;
    uint32_t min_subgroup_size = 0, max_subgroup_size = 0;
    // Can a compute pipeline run with `size` lanes per subgroup (the default or required)?
    bool can_run_subgroup_size(uint32_t size) const {
        return subgroup_size == size ||
               (required_subgroup_size && min_subgroup_size <= size && size <= max_subgroup_size);
    }
    bool fp16_arithmetic = false;      // shaderFloat16
    bool storage16 = false;            // storageBuffer16BitAccess
    bool timestamps = false;           // compute queue has timestamp bits
    double timestamp_period_ns = 0.0;
    bool nv_coopmat = false;           // VK_NV_cooperative_matrix usable
    std::vector<CoopMatShape> coopmat_shapes;
    uint32_t max_workgroup_size[3] = {0, 0, 0};
    bool khr_coopmat = false;          // VK_KHR_cooperative_matrix feature cooperativeMatrix
    bool vulkan_memory_model = false;  // vulkanMemoryModel (the cooperative-matrix shaders' scopes)
    std::vector<KhrCoopMatShape> khr_coopmat_shapes;
    CoopMat2Info coopmat2;
    // VK_NV_cooperative_matrix2 usable by our kernels: all seven features, KHR coopmat, the
    // Vulkan memory model and Vulkan 1.3 (the kernels are SPIR-V 1.6). Enabled when true.
    bool nv_coopmat2 = false;
    bool buffer_device_address = false;  // bufferDeviceAddress (the gather-in-decode kernels)
    bool pipeline_statistics = false;    // VK_KHR_pipeline_executable_properties (register counts)
    bool usable = false;               // has a compute queue and Vulkan >= 1.1
    std::string unusable_reason;

    int rank() const;  // -1 when unusable, else device_type_rank(device_type)
};

// How much a device of this type is preferred when none is named: discrete 4 > integrated 3 >
// virtual 2 > cpu 1 > other 0. The one ranking for the engine and the window.
int device_type_rank(VkPhysicalDeviceType type);

// Index of a memory type allowed by `type_bits` that has every `want` flag, preferring one
// without the `avoid` flags; UINT32_MAX when there is none.
uint32_t find_memory_type(VkPhysicalDevice physical, uint32_t type_bits, VkMemoryPropertyFlags want,
                          VkMemoryPropertyFlags avoid = 0);

// The small objects every queue user creates (the engine and the window alike). Throw
// VulkanError when the create call fails.
Owned<vkDestroyCommandPool> create_command_pool(
    VkDevice device, uint32_t queue_family,
    VkCommandPoolCreateFlags flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT);
Owned<vkDestroyFence> create_fence(VkDevice device, VkFenceCreateFlags flags = 0);
Owned<vkDestroySemaphore> create_semaphore(VkDevice device);

// Where one-shot work goes: a queue, a pool to record from (each buffer is freed after use) and
// a fence to wait on (reset before each submission). One submission at a time per target.
struct SubmitTarget {
    VkDevice device = VK_NULL_HANDLE;
    VkQueue queue = VK_NULL_HANDLE;
    VkCommandPool pool = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
};
// Allocates a primary command buffer from target.pool and begins it (one-time submit).
Owned<free_command_buffer> begin_one_time(const SubmitTarget& target);
// Ends cb, submits it and waits for it on target.fence.
void end_one_time_and_wait(const SubmitTarget& target, VkCommandBuffer cb);
// Records with `record(VkCommandBuffer)`, submits and waits; the one one-shot submit of the
// engine and the window. Throws VulkanError when a call fails.
template <class F>
void submit_and_wait(const SubmitTarget& target, F&& record) {
    const Owned<free_command_buffer> cb = begin_one_time(target);
    record(cb.get());
    end_one_time_and_wait(target, cb);
}

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
    SubmitTarget submit_target() const { return {device_, queue_, pool_, fence_}; }
    bool fp16_enabled() const { return info_.fp16_arithmetic && info_.storage16; }

    // Validation messages of severity warning or error seen so far (tests fail on any).
    std::vector<std::string> validation_messages() const;
    void clear_validation_messages();

    uint32_t find_memory_type(uint32_t type_bits, VkMemoryPropertyFlags want, VkMemoryPropertyFlags avoid = 0) const {
        return salab::find_memory_type(physical_, type_bits, want, avoid);
    }

    // Records with `record`, submits, waits. Throws VulkanError on failure.
    template <class F>
    void submit_and_wait(F&& record);

    struct State;

private:
    VulkanContext() = default;

    // In creation order: destroyed in reverse, the device before the instance (in state_).
    DeviceInfo info_;
    std::unique_ptr<State> state_;  // messages, instance, debug messenger
    VkPhysicalDevice physical_ = VK_NULL_HANDLE;
    Owned<vkDestroyDevice> device_;
    VkQueue queue_ = VK_NULL_HANDLE;
    uint32_t queue_family_ = 0;
    Owned<vkDestroyCommandPool> pool_;
    Owned<vkDestroyFence> fence_;
};

template <class F>
void VulkanContext::submit_and_wait(F&& record) {
    salab::submit_and_wait(submit_target(), std::forward<F>(record));
}

}  // namespace salab
