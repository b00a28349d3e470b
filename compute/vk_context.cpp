#include "vk_context.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>

namespace salab {

void throw_vk(VkResult r, const char* call, const char* file, int line) {
    std::ostringstream s;
    s << "Vulkan call failed (VkResult " << int(r) << "): " << call << " at " << file << ":" << line;
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
        s << " (out of memory: use a smaller n, d or heads)";
    if (r == VK_ERROR_DEVICE_LOST) s << " (device lost: the kernel may have run too long)";
    throw VulkanError(s.str());
}

int device_type_rank(VkPhysicalDeviceType type) {
    switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
    }
}

int DeviceInfo::rank() const { return usable ? device_type_rank(device_type) : -1; }

namespace {

// vkDestroyDebugUtilsMessengerEXT is an extension command: the loader does not export it.
void destroy_debug_messenger(VkInstance instance, VkDebugUtilsMessengerEXT messenger,
                             const VkAllocationCallbacks* allocator) {
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroy) destroy(instance, messenger, allocator);
}

}  // namespace

// Messages first: the messenger writes into them until it is destroyed, before the instance.
struct VulkanContext::State {
    mutable std::mutex mutex;
    std::vector<std::string> messages;
    Owned<vkDestroyInstance> instance;
    Owned<destroy_debug_messenger> messenger;
};

namespace {

const char* type_name(VkPhysicalDeviceType t) {
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

std::string version_string(uint32_t v) {
    return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) +
           "." + std::to_string(VK_API_VERSION_PATCH(v));
}

bool has_extension(VkPhysicalDevice pd, const char* name) {
    uint32_t count = 0;
    vkEnumerateDeviceExtensionProperties(pd, nullptr, &count, nullptr);
    std::vector<VkExtensionProperties> exts(count);
    vkEnumerateDeviceExtensionProperties(pd, nullptr, &count, exts.data());
    return std::any_of(exts.begin(), exts.end(),
                       [&](const VkExtensionProperties& e) { return std::strcmp(e.extensionName, name) == 0; });
}

int compute_queue_family(VkPhysicalDevice pd, bool* timestamps) {
    uint32_t count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &count, nullptr);
    std::vector<VkQueueFamilyProperties> fams(count);
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &count, fams.data());
    int best = -1;
    for (uint32_t i = 0; i < count; ++i) {
        if (!(fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
        // Prefer a queue family that has timestamps; then the first.
        if (best < 0 || (fams[i].timestampValidBits > 0 && fams[best].timestampValidBits == 0))
            best = int(i);
    }
    if (best >= 0 && timestamps) *timestamps = fams[best].timestampValidBits > 0;
    return best;
}

DeviceInfo probe(VkInstance instance, VkPhysicalDevice pd, int index) {
    DeviceInfo info;
    info.index = index;

    VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceSubgroupSizeControlProperties size_control{
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES};
    subgroup.pNext = &driver;
    VkPhysicalDeviceProperties basic;
    vkGetPhysicalDeviceProperties(pd, &basic);
    const bool has_size_control =
        basic.apiVersion >= VK_API_VERSION_1_3 || has_extension(pd, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
    if (has_size_control) driver.pNext = &size_control;
    VkPhysicalDeviceProperties2 props2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    props2.pNext = &subgroup;
    vkGetPhysicalDeviceProperties2(pd, &props2);
    const VkPhysicalDeviceProperties& p = props2.properties;

    info.name = p.deviceName;
    info.type = type_name(p.deviceType);
    info.device_type = p.deviceType;
    info.api_version = version_string(p.apiVersion);
    info.api_version_number = p.apiVersion;
    info.driver = std::string(driver.driverName) + " " + driver.driverInfo;
    info.vendor_id = p.vendorID;
    info.max_storage_buffer_range = p.limits.maxStorageBufferRange;
    info.max_shared_memory = p.limits.maxComputeSharedMemorySize;
    info.max_workgroup_invocations = p.limits.maxComputeWorkGroupInvocations;
    info.subgroup_size = subgroup.subgroupSize;
    info.subgroup_arithmetic = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                               (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
    info.subgroup_shuffle = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                            (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) &&
                            (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_BALLOT_BIT);
    info.timestamp_period_ns = p.limits.timestampPeriod;

    VkPhysicalDeviceMaintenance3Properties m3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceProperties2 props_m3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    props_m3.pNext = &m3;
    vkGetPhysicalDeviceProperties2(pd, &props_m3);
    info.max_allocation_bytes = m3.maxMemoryAllocationSize;

    VkPhysicalDeviceMemoryProperties mem;
    vkGetPhysicalDeviceMemoryProperties(pd, &mem);
    for (uint32_t h = 0; h < mem.memoryHeapCount; ++h)
        if (mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
            info.device_local_bytes = std::max<uint64_t>(info.device_local_bytes, mem.memoryHeaps[h].size);

    for (int i = 0; i < 3; ++i) info.max_workgroup_size[i] = p.limits.maxComputeWorkGroupSize[i];

    // Cooperative-matrix extensions: chained into the queries only when the device lists them.
    const bool has_khr_coop = has_extension(pd, VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME);
    const bool has_coop2 = has_khr_coop && has_extension(pd, VK_NV_COOPERATIVE_MATRIX_2_EXTENSION_NAME);
    const bool has_exec_props = has_extension(pd, VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME);
    VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
    VkPhysicalDeviceCooperativeMatrixFeaturesKHR fkhr{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR};
    VkPhysicalDeviceCooperativeMatrix2FeaturesNV fcm2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_2_FEATURES_NV};
    VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR fexec{
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR};
    VkPhysicalDeviceSubgroupSizeControlFeatures fsize{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
    f11.pNext = &f12;
    void** tail = &f12.pNext;
    if (has_size_control) {
        *tail = &fsize;
        tail = &fsize.pNext;
    }
    if (has_khr_coop) { *tail = &fkhr; tail = &fkhr.pNext; }
    if (has_coop2) { *tail = &fcm2; tail = &fcm2.pNext; }
    if (has_exec_props) { *tail = &fexec; tail = &fexec.pNext; }
    VkPhysicalDeviceFeatures2 feats{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    feats.pNext = &f11;
    bool api12 = p.apiVersion >= VK_API_VERSION_1_2;
    if (api12) vkGetPhysicalDeviceFeatures2(pd, &feats);
    info.buffer_device_address = api12 && f12.bufferDeviceAddress;
    info.pipeline_statistics = api12 && has_exec_props && fexec.pipelineExecutableInfo;
    info.khr_coopmat = api12 && has_khr_coop && fkhr.cooperativeMatrix;
    info.vulkan_memory_model = api12 && f12.vulkanMemoryModel;
    if (info.khr_coopmat) {
        auto get = reinterpret_cast<PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR>(
            vkGetInstanceProcAddr(instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR"));
        uint32_t count = 0;
        if (get && get(pd, &count, nullptr) == VK_SUCCESS && count > 0) {
            std::vector<VkCooperativeMatrixPropertiesKHR> shapes(
                count, VkCooperativeMatrixPropertiesKHR{VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR});
            if (get(pd, &count, shapes.data()) == VK_SUCCESS)
                for (uint32_t i = 0; i < count; ++i) {
                    const auto& s = shapes[i];
                    info.khr_coopmat_shapes.push_back({s.MSize, s.NSize, s.KSize, int(s.AType), int(s.BType),
                                                       int(s.CType), int(s.ResultType),
                                                       s.saturatingAccumulation != VK_FALSE, int(s.scope)});
                }
        }
    }
    if (api12 && has_coop2) {
        CoopMat2Info& c = info.coopmat2;
        c.extension = true;
        c.workgroup_scope = fcm2.cooperativeMatrixWorkgroupScope;
        c.flexible_dimensions = fcm2.cooperativeMatrixFlexibleDimensions;
        c.reductions = fcm2.cooperativeMatrixReductions;
        c.conversions = fcm2.cooperativeMatrixConversions;
        c.per_element_operations = fcm2.cooperativeMatrixPerElementOperations;
        c.tensor_addressing = fcm2.cooperativeMatrixTensorAddressing;
        c.block_loads = fcm2.cooperativeMatrixBlockLoads;
        VkPhysicalDeviceCooperativeMatrix2PropertiesNV pcm2{
            VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_2_PROPERTIES_NV};
        VkPhysicalDeviceProperties2 props_cm2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
        props_cm2.pNext = &pcm2;
        vkGetPhysicalDeviceProperties2(pd, &props_cm2);
        c.workgroup_scope_max_workgroup_size = pcm2.cooperativeMatrixWorkgroupScopeMaxWorkgroupSize;
        c.flexible_max_dimension = pcm2.cooperativeMatrixFlexibleDimensionsMaxDimension;
        c.workgroup_scope_reserved_shared_memory = pcm2.cooperativeMatrixWorkgroupScopeReservedSharedMemory;
        auto get = reinterpret_cast<PFN_vkGetPhysicalDeviceCooperativeMatrixFlexibleDimensionsPropertiesNV>(
            vkGetInstanceProcAddr(instance, "vkGetPhysicalDeviceCooperativeMatrixFlexibleDimensionsPropertiesNV"));
        uint32_t count = 0;
        if (get && get(pd, &count, nullptr) == VK_SUCCESS && count > 0) {
            std::vector<VkCooperativeMatrixFlexibleDimensionsPropertiesNV> dims(
                count, VkCooperativeMatrixFlexibleDimensionsPropertiesNV{
                           VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_FLEXIBLE_DIMENSIONS_PROPERTIES_NV});
            if (get(pd, &count, dims.data()) == VK_SUCCESS)
                for (uint32_t i = 0; i < count; ++i) {
                    const auto& s = dims[i];
                    c.flexible.push_back({s.MGranularity, s.NGranularity, s.KGranularity, int(s.AType),
                                          int(s.BType), int(s.CType), int(s.ResultType),
                                          s.saturatingAccumulation != VK_FALSE, int(s.scope),
                                          s.workgroupInvocations});
                }
        }
        info.nv_coopmat2 = c.all_features() && info.khr_coopmat && f12.vulkanMemoryModel &&
                           p.apiVersion >= VK_API_VERSION_1_3 && f12.shaderFloat16 && f11.storageBuffer16BitAccess;
    }
    info.fp16_arithmetic = api12 && f12.shaderFloat16;
    info.storage16 = api12 && f11.storageBuffer16BitAccess;
    info.subgroup_size_control = has_size_control;
    info.required_subgroup_size = api12 && has_size_control && fsize.subgroupSizeControl &&
                                  (size_control.requiredSubgroupSizeStages & VK_SHADER_STAGE_COMPUTE_BIT);
    if (info.required_subgroup_size) {
        info.min_subgroup_size = size_control.minSubgroupSize;
        info.max_subgroup_size = size_control.maxSubgroupSize;
    }

    if (has_extension(pd, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME)) {
        auto get = reinterpret_cast<PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV>(
            vkGetInstanceProcAddr(instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV"));
        if (get) {
            uint32_t count = 0;
            get(pd, &count, nullptr);
            std::vector<VkCooperativeMatrixPropertiesNV> shapes(
                count, VkCooperativeMatrixPropertiesNV{VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV});
            get(pd, &count, shapes.data());
            for (auto& s : shapes)
                if (s.scope == VK_SCOPE_SUBGROUP_NV)
                    info.coopmat_shapes.push_back({s.MSize, s.NSize, s.KSize, int(s.AType), int(s.BType),
                                                   int(s.CType), int(s.DType)});
            // The coopmat shaders use the Vulkan memory model (scopes on loads/stores).
            info.nv_coopmat = !info.coopmat_shapes.empty() && api12 && f12.vulkanMemoryModel;
        }
    }

    bool ts = false;
    int qf = compute_queue_family(pd, &ts);
    info.timestamps = ts && p.limits.timestampComputeAndGraphics;
    if (p.apiVersion < VK_API_VERSION_1_1) {
        info.unusable_reason = info.name + ": Vulkan " + info.api_version + " < 1.1";
    } else if (qf < 0) {
        info.unusable_reason = info.name + ": no compute queue";
    } else {
        info.usable = true;
    }
    return info;
}

VKAPI_ATTR VkBool32 VKAPI_CALL on_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                VkDebugUtilsMessageTypeFlagsEXT,
                                                const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                void* user) {
    if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
        auto* state = static_cast<VulkanContext::State*>(user);
        std::lock_guard lock(state->mutex);
        state->messages.emplace_back(data->pMessage ? data->pMessage : "(no message)");
    }
    return VK_FALSE;
}

bool layer_available(const char* name) {
    uint32_t count = 0;
    vkEnumerateInstanceLayerProperties(&count, nullptr);
    std::vector<VkLayerProperties> layers(count);
    vkEnumerateInstanceLayerProperties(&count, layers.data());
    return std::any_of(layers.begin(), layers.end(),
                       [&](const VkLayerProperties& l) { return std::strcmp(l.layerName, name) == 0; });
}

// Creates an instance; returns VK_NULL_HANDLE and fills *error when there is no loader/driver.
VkInstance create_instance(bool validation, std::string* error) {
    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = "Sparse Attention Lab";
    // 1.3: the coopmat2 kernels are SPIR-V 1.6 (devices of lower versions still work).
    app.apiVersion = VK_API_VERSION_1_3;
    std::vector<const char*> layers, exts;
    if (validation) {
        layers.push_back("VK_LAYER_KHRONOS_validation");
        exts.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    }
    VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ci.pApplicationInfo = &app;
    ci.enabledLayerCount = uint32_t(layers.size());
    ci.ppEnabledLayerNames = layers.data();
    ci.enabledExtensionCount = uint32_t(exts.size());
    ci.ppEnabledExtensionNames = exts.data();
    VkInstance instance = VK_NULL_HANDLE;
    VkResult r = vkCreateInstance(&ci, nullptr, &instance);
    if (r != VK_SUCCESS) {
        if (error)
            *error = r == VK_ERROR_INCOMPATIBLE_DRIVER
                         ? "no Vulkan driver found (install mesa-vulkan-drivers for lavapipe, or a GPU driver)"
                         : "vkCreateInstance failed (VkResult " + std::to_string(int(r)) + ")";
        return VK_NULL_HANDLE;
    }
    return instance;
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance instance) {
    uint32_t count = 0;
    vkEnumeratePhysicalDevices(instance, &count, nullptr);
    std::vector<VkPhysicalDevice> pds(count);
    vkEnumeratePhysicalDevices(instance, &count, pds.data());
    return pds;
}

bool env_flag(const char* name) {
    const char* v = std::getenv(name);
    return v && *v && std::strcmp(v, "0") != 0;
}

}  // namespace

std::vector<DeviceInfo> list_devices(std::string* error) {
    const Owned<vkDestroyInstance> instance(create_instance(false, error));
    if (!instance) return {};
    std::vector<DeviceInfo> out;
    auto pds = physical_devices(instance);
    for (size_t i = 0; i < pds.size(); ++i) out.push_back(probe(instance, pds[i], int(i)));
    if (out.empty() && error) *error = "no Vulkan devices found (install mesa-vulkan-drivers for lavapipe)";
    return out;
}

ContextResult VulkanContext::create(const ContextOptions& options) {
    ContextResult result;
    std::unique_ptr<VulkanContext> ctx(new VulkanContext());
    ctx->state_ = std::make_unique<State>();
    bool validation = options.validation || env_flag("SALAB_VALIDATION");
    if (validation && !layer_available("VK_LAYER_KHRONOS_validation")) {
        result.error = "validation requested but VK_LAYER_KHRONOS_validation is missing (install vulkan-validationlayers)";
        return result;
    }
    ctx->state_->instance = Owned<vkDestroyInstance>(create_instance(validation, &result.error));
    const VkInstance instance = ctx->state_->instance;
    if (!instance) return result;

    if (validation) {
        VkDebugUtilsMessengerCreateInfoEXT mi{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
        mi.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
        mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                         VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
        mi.pfnUserCallback = on_debug_message;
        mi.pUserData = ctx->state_.get();
        auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
            vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT"));
        VkDebugUtilsMessengerEXT messenger;
        if (create && create(instance, &mi, nullptr, &messenger) == VK_SUCCESS)
            ctx->state_->messenger = Owned<destroy_debug_messenger>(instance, messenger);
    }

    auto pds = physical_devices(instance);
    if (pds.empty()) {
        result.error = "no Vulkan devices found (install mesa-vulkan-drivers for lavapipe, or a GPU driver)";
        return result;
    }
    std::vector<DeviceInfo> infos;
    for (size_t i = 0; i < pds.size(); ++i) infos.push_back(probe(instance, pds[i], int(i)));

    int chosen = -1;
    if (options.device_index >= 0) {
        if (options.device_index >= int(infos.size())) {
            result.error = "--device " + std::to_string(options.device_index) + " is out of range: " +
                           std::to_string(infos.size()) + " device(s) found (see salab-cli devices)";
            return result;
        }
        if (!infos[options.device_index].usable) {
            result.error = "device " + std::to_string(options.device_index) + " is not usable: " +
                           infos[options.device_index].unusable_reason;
            return result;
        }
        chosen = options.device_index;
    } else {
        for (size_t i = 0; i < infos.size(); ++i)
            if (infos[i].usable && (chosen < 0 || infos[i].rank() > infos[chosen].rank())) chosen = int(i);
        if (chosen < 0) {
            result.error = "no usable Vulkan device:";
            for (auto& i : infos) result.error += " " + i.unusable_reason + ";";
            return result;
        }
    }
    ctx->info_ = infos[chosen];
    ctx->physical_ = pds[chosen];
    bool ts = false;
    ctx->queue_family_ = uint32_t(compute_queue_family(ctx->physical_, &ts));

    // Enable only what the kernels may use and the device has.
    VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
    VkPhysicalDeviceCooperativeMatrixFeaturesNV coop{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
    f11.pNext = &f12;
    f11.storageBuffer16BitAccess = ctx->info_.storage16;
    f12.shaderFloat16 = ctx->info_.fp16_arithmetic;
    std::vector<const char*> exts;
    void** tail = &f12.pNext;
    if (ctx->info_.nv_coopmat) {
        f12.vulkanMemoryModel = VK_TRUE;
        *tail = &coop;
        tail = &coop.pNext;
        coop.cooperativeMatrix = VK_TRUE;
        exts.push_back(VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME);
    }
    // VK_NV_cooperative_matrix2 (with VK_KHR_cooperative_matrix, which it depends on): all seven
    // features, as the kernels may use any of them (tensor loads, reductions, per-element ops,
    // conversions, workgroup scope, flexible dimensions, block loads by decode callbacks).
    VkPhysicalDeviceCooperativeMatrixFeaturesKHR khr{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR};
    VkPhysicalDeviceCooperativeMatrix2FeaturesNV cm2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_2_FEATURES_NV};
    if (ctx->info_.khr_coopmat) {
        if (ctx->info_.vulkan_memory_model) f12.vulkanMemoryModel = VK_TRUE;  // the khr-coopmat kernel
        khr.cooperativeMatrix = VK_TRUE;
        *tail = &khr;
        tail = &khr.pNext;
        exts.push_back(VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME);
    }
    if (ctx->info_.nv_coopmat2) {
        f12.vulkanMemoryModel = VK_TRUE;
        cm2.cooperativeMatrixWorkgroupScope = cm2.cooperativeMatrixFlexibleDimensions = VK_TRUE;
        cm2.cooperativeMatrixReductions = cm2.cooperativeMatrixConversions = VK_TRUE;
        cm2.cooperativeMatrixPerElementOperations = cm2.cooperativeMatrixTensorAddressing = VK_TRUE;
        cm2.cooperativeMatrixBlockLoads = VK_TRUE;
        *tail = &cm2;
        tail = &cm2.pNext;
        exts.push_back(VK_NV_COOPERATIVE_MATRIX_2_EXTENSION_NAME);
        if (ctx->info_.buffer_device_address) f12.bufferDeviceAddress = VK_TRUE;
    }
    // Required subgroup sizes (the khr-coopmat kernel's 32 lanes on AMD's wave64 default).
    VkPhysicalDeviceSubgroupSizeControlFeatures size_control{
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
    if (ctx->info_.required_subgroup_size) {
        size_control.subgroupSizeControl = VK_TRUE;
        *tail = &size_control;
        tail = &size_control.pNext;
        if (ctx->info_.api_version_number < VK_API_VERSION_1_3)
            exts.push_back(VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
    }
    // Register counts of our pipelines (occupancy), where the driver reports statistics.
    VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR exec{
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR};
    if (ctx->info_.pipeline_statistics) {
        exec.pipelineExecutableInfo = VK_TRUE;
        *tail = &exec;
        tail = &exec.pNext;
        exts.push_back(VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME);
    }
    const uint32_t api = ctx->info_.api_version_number;
    const bool api12 =
        VK_API_VERSION_MAJOR(api) > 1 || (VK_API_VERSION_MAJOR(api) == 1 && VK_API_VERSION_MINOR(api) >= 2);
    float priority = 1.0f;
    VkDeviceQueueCreateInfo qi{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    qi.queueFamilyIndex = ctx->queue_family_;
    qi.queueCount = 1;
    qi.pQueuePriorities = &priority;
    VkDeviceCreateInfo di{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    di.pNext = api12 ? &f11 : nullptr;
    di.queueCreateInfoCount = 1;
    di.pQueueCreateInfos = &qi;
    di.enabledExtensionCount = uint32_t(exts.size());
    di.ppEnabledExtensionNames = exts.data();
    VkDevice device;
    VkResult r = vkCreateDevice(ctx->physical_, &di, nullptr, &device);
    if (r != VK_SUCCESS) {
        result.error = ctx->info_.name + ": vkCreateDevice failed (VkResult " + std::to_string(int(r)) + ")";
        return result;
    }
    ctx->device_ = Owned<vkDestroyDevice>(device);
    vkGetDeviceQueue(device, ctx->queue_family_, 0, &ctx->queue_);
    ctx->pool_ = create_command_pool(device, ctx->queue_family_);
    ctx->fence_ = create_fence(device);
    result.context = std::move(ctx);
    return result;
}

// The members release themselves (vk_handle.h); only outstanding work needs waiting for.
VulkanContext::~VulkanContext() {
    if (device_) vkDeviceWaitIdle(device_);
}

std::vector<std::string> VulkanContext::validation_messages() const {
    std::lock_guard lock(state_->mutex);
    return state_->messages;
}

void VulkanContext::clear_validation_messages() {
    std::lock_guard lock(state_->mutex);
    state_->messages.clear();
}

uint32_t find_memory_type(VkPhysicalDevice physical, uint32_t type_bits, VkMemoryPropertyFlags want,
                          VkMemoryPropertyFlags avoid) {
    VkPhysicalDeviceMemoryProperties mem;
    vkGetPhysicalDeviceMemoryProperties(physical, &mem);
    for (int pass = 0; pass < 2; ++pass)
        for (uint32_t i = 0; i < mem.memoryTypeCount; ++i) {
            if (!(type_bits & (1u << i))) continue;
            VkMemoryPropertyFlags f = mem.memoryTypes[i].propertyFlags;
            if ((f & want) != want) continue;
            if (pass == 0 && (f & avoid)) continue;
            return i;
        }
    return UINT32_MAX;
}

Owned<vkDestroyCommandPool> create_command_pool(VkDevice device, uint32_t queue_family,
                                                VkCommandPoolCreateFlags flags) {
    VkCommandPoolCreateInfo ci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    ci.flags = flags;
    ci.queueFamilyIndex = queue_family;
    VkCommandPool pool;
    SALAB_VK(vkCreateCommandPool(device, &ci, nullptr, &pool));
    return {device, pool};
}

Owned<vkDestroyFence> create_fence(VkDevice device, VkFenceCreateFlags flags) {
    VkFenceCreateInfo ci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    ci.flags = flags;
    VkFence fence;
    SALAB_VK(vkCreateFence(device, &ci, nullptr, &fence));
    return {device, fence};
}

Owned<vkDestroySemaphore> create_semaphore(VkDevice device) {
    VkSemaphoreCreateInfo ci{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    VkSemaphore semaphore;
    SALAB_VK(vkCreateSemaphore(device, &ci, nullptr, &semaphore));
    return {device, semaphore};
}

Owned<free_command_buffer> begin_one_time(const SubmitTarget& target) {
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = target.pool;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    VkCommandBuffer raw;
    SALAB_VK(vkAllocateCommandBuffers(target.device, &ai, &raw));
    Owned<free_command_buffer> cb({target.device, target.pool}, raw);
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    SALAB_VK(vkBeginCommandBuffer(cb, &bi));
    return cb;
}

void end_one_time_and_wait(const SubmitTarget& target, VkCommandBuffer cb) {
    SALAB_VK(vkEndCommandBuffer(cb));
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cb;
    SALAB_VK(vkResetFences(target.device, 1, &target.fence));
    SALAB_VK(vkQueueSubmit(target.queue, 1, &si, target.fence));
    SALAB_VK(vkWaitForFences(target.device, 1, &target.fence, VK_TRUE, UINT64_MAX));
}

}  // namespace salab
