// Vulkan instance + one logical device with a compute queue, and what the kernels need to know
// about it (probed once). Environment problems come back as values with reasons; a failed
// VkResult after setup throws VulkanError naming the call, file and line.
#pragma once

#include "vk_coopmat.h"

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
    uint32_t max_workgroup_size[3] = {0, 0, 0};
    bool khr_coopmat = false;          // VK_KHR_cooperative_matrix feature cooperativeMatrix
    std::vector<KhrCoopMatShape> khr_coopmat_shapes;
    CoopMat2Info coopmat2;
    // VK_NV_cooperative_matrix2 usable by our kernels: all seven features, KHR coopmat, the
    // Vulkan memory model and Vulkan 1.3 (the kernels are SPIR-V 1.6). Enabled when true.
    bool nv_coopmat2 = false;
    bool buffer_device_address = false;  // bufferDeviceAddress (the gather-in-decode kernels)
    bool pipeline_statistics = false;    // VK_KHR_pipeline_executable_properties (register counts)
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
