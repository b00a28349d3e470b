#include "pipeline.h"

#include "errors.h"
#include "shaders.h"

#include <stdexcept>

namespace salab {

int64_t Pipeline::statistic(const std::string& name) const {
    for (const auto& s : statistics)
        if (s.name == name) {
            try {
                return std::stoll(s.value);
            } catch (const std::exception&) {
                return -1;
            }
        }
    return -1;
}

namespace {

// Reads what the driver reports about each executable of a pipeline created with
// VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR.
std::vector<PipelineStatistic> read_statistics(VkDevice dev, VkPipeline pipeline) {
    std::vector<PipelineStatistic> out;
    auto get_props = reinterpret_cast<PFN_vkGetPipelineExecutablePropertiesKHR>(
        vkGetDeviceProcAddr(dev, "vkGetPipelineExecutablePropertiesKHR"));
    auto get_stats = reinterpret_cast<PFN_vkGetPipelineExecutableStatisticsKHR>(
        vkGetDeviceProcAddr(dev, "vkGetPipelineExecutableStatisticsKHR"));
    if (!get_props || !get_stats) return out;
    VkPipelineInfoKHR pi{VK_STRUCTURE_TYPE_PIPELINE_INFO_KHR};
    pi.pipeline = pipeline;
    uint32_t count = 0;
    if (get_props(dev, &pi, &count, nullptr) != VK_SUCCESS) return out;
    std::vector<VkPipelineExecutablePropertiesKHR> props(count, {VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_PROPERTIES_KHR});
    if (get_props(dev, &pi, &count, props.data()) != VK_SUCCESS) return out;
    for (uint32_t e = 0; e < count; ++e) {
        VkPipelineExecutableInfoKHR ei{VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR};
        ei.pipeline = pipeline;
        ei.executableIndex = e;
        uint32_t n = 0;
        if (get_stats(dev, &ei, &n, nullptr) != VK_SUCCESS) continue;
        std::vector<VkPipelineExecutableStatisticKHR> st(n, {VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR});
        if (get_stats(dev, &ei, &n, st.data()) != VK_SUCCESS) continue;
        for (const auto& s : st) {
            std::string v;
            switch (s.format) {
            case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR: v = s.value.b32 ? "true" : "false"; break;
            case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR: v = std::to_string(s.value.i64); break;
            case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR: v = std::to_string(s.value.u64); break;
            case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_FLOAT64_KHR: v = std::to_string(s.value.f64); break;
            default: continue;
            }
            out.push_back({props[e].name, s.name, v});
        }
    }
    return out;
}

}  // namespace

PipelineCache::PipelineCache(VulkanContext& ctx, uint32_t bindings, uint32_t push_bytes)
    : ctx_(ctx), bindings_(bindings) {
    std::vector<VkDescriptorSetLayoutBinding> b(bindings);
    for (uint32_t i = 0; i < bindings; ++i)
        b[i] = {i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
    VkDescriptorSetLayoutCreateInfo li{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    li.bindingCount = bindings;
    li.pBindings = b.data();
    const VkDevice dev = ctx.device();
    VkDescriptorSetLayout set_layout;
    SALAB_VK(vkCreateDescriptorSetLayout(dev, &li, nullptr, &set_layout));
    set_layout_ = Owned<vkDestroyDescriptorSetLayout>(dev, set_layout);
    VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes};
    VkPipelineLayoutCreateInfo pli{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    pli.setLayoutCount = 1;
    pli.pSetLayouts = &set_layout;
    pli.pushConstantRangeCount = 1;
    pli.pPushConstantRanges = &range;
    VkPipelineLayout layout;
    SALAB_VK(vkCreatePipelineLayout(dev, &pli, nullptr, &layout));
    layout_ = Owned<vkDestroyPipelineLayout>(dev, layout);
    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, bindings};
    VkDescriptorPoolCreateInfo pi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pi.maxSets = 1;
    pi.poolSizeCount = 1;
    pi.pPoolSizes = &size;
    VkDescriptorPool pool;
    SALAB_VK(vkCreateDescriptorPool(dev, &pi, nullptr, &pool));
    pool_ = Owned<vkDestroyDescriptorPool>(dev, pool);
    VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = pool;
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &set_layout;
    SALAB_VK(vkAllocateDescriptorSets(dev, &ai, &set_));
}

const Pipeline& PipelineCache::get(const std::string& shader, const std::vector<uint32_t>& spec,
                                   uint32_t subgroup_size) {
    auto key = std::make_tuple(shader, spec, subgroup_size);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    auto words = shader_spirv(shader);
    VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    mi.codeSize = words.size() * 4;
    mi.pCode = words.data();
    VkShaderModule raw_module;
    SALAB_VK(vkCreateShaderModule(ctx_.device(), &mi, nullptr, &raw_module));
    const Owned<vkDestroyShaderModule> module(ctx_.device(), raw_module);  // the pipeline keeps no reference
    std::vector<VkSpecializationMapEntry> entries(spec.size());
    for (uint32_t i = 0; i < spec.size(); ++i) entries[i] = {i, i * 4, 4};
    VkSpecializationInfo si{uint32_t(entries.size()), entries.data(), spec.size() * 4, spec.data()};
    VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    ci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
    ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    ci.stage.module = module;
    ci.stage.pName = "main";
    ci.stage.pSpecializationInfo = spec.empty() ? nullptr : &si;
    ci.layout = layout_;
    VkPipelineShaderStageRequiredSubgroupSizeCreateInfo required{
        VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO};
    if (subgroup_size != 0 && subgroup_size != ctx_.info().subgroup_size) {
        if (!ctx_.info().can_run_subgroup_size(subgroup_size))
            throw VulkanError(shader + " needs " + std::to_string(subgroup_size) + "-lane subgroups; " +
                              ctx_.info().name + " cannot run them");
        // (Workgroup widths are multiples of the size: SPIR-V 1.6 modules then get full subgroups.)
        required.requiredSubgroupSize = subgroup_size;
        ci.stage.pNext = &required;
    }
    if (ctx_.info().pipeline_statistics) ci.flags |= VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR;
    VkPipeline pipeline;
    VkResult r = vkCreateComputePipelines(ctx_.device(), VK_NULL_HANDLE, 1, &ci, nullptr, &pipeline);
    if (r != VK_SUCCESS) throw_vk(r, ("vkCreateComputePipelines(" + shader + ")").c_str(), __FILE__, __LINE__);
    Pipeline p{Owned<vkDestroyPipeline>(ctx_.device(), pipeline)};
    if (ctx_.info().pipeline_statistics) p.statistics = read_statistics(ctx_.device(), p.pipeline);
    return cache_.emplace(key, std::move(p)).first->second;
}

VkDescriptorSet PipelineCache::bind_buffers(const VkBuffer* buffers, uint32_t count) {
    std::vector<VkDescriptorBufferInfo> infos(count);
    std::vector<VkWriteDescriptorSet> writes(count);
    for (uint32_t i = 0; i < count; ++i) {
        infos[i] = {buffers[i], 0, VK_WHOLE_SIZE};
        writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        writes[i].dstSet = set_;
        writes[i].dstBinding = i;
        writes[i].descriptorCount = 1;
        writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        writes[i].pBufferInfo = &infos[i];
    }
    vkUpdateDescriptorSets(ctx_.device(), count, writes.data(), 0, nullptr);
    return set_;
}

}  // namespace salab
