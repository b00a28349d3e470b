#include "pipeline.h"

#include "shaders.h"

namespace salab {

PipelineCache::PipelineCache(VulkanContext& ctx, uint32_t bindings, uint32_t push_bytes)
    : ctx_(ctx), bindings_(bindings) {
    std::vector<VkDescriptorSetLayoutBinding> b(bindings);
    for (uint32_t i = 0; i < bindings; ++i)
        b[i] = {i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
    VkDescriptorSetLayoutCreateInfo li{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    li.bindingCount = bindings;
    li.pBindings = b.data();
    SALAB_VK(vkCreateDescriptorSetLayout(ctx.device(), &li, nullptr, &set_layout_));
    VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes};
    VkPipelineLayoutCreateInfo pli{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    pli.setLayoutCount = 1;
    pli.pSetLayouts = &set_layout_;
    pli.pushConstantRangeCount = 1;
    pli.pPushConstantRanges = &range;
    SALAB_VK(vkCreatePipelineLayout(ctx.device(), &pli, nullptr, &layout_));
    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, bindings};
    VkDescriptorPoolCreateInfo pi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pi.maxSets = 1;
    pi.poolSizeCount = 1;
    pi.pPoolSizes = &size;
    SALAB_VK(vkCreateDescriptorPool(ctx.device(), &pi, nullptr, &pool_));
    VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = pool_;
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &set_layout_;
    SALAB_VK(vkAllocateDescriptorSets(ctx.device(), &ai, &set_));
}

PipelineCache::~PipelineCache() {
    VkDevice dev = ctx_.device();
    for (auto& [key, p] : cache_) vkDestroyPipeline(dev, p.pipeline, nullptr);
    vkDestroyDescriptorPool(dev, pool_, nullptr);
    vkDestroyPipelineLayout(dev, layout_, nullptr);
    vkDestroyDescriptorSetLayout(dev, set_layout_, nullptr);
}

const Pipeline& PipelineCache::get(const std::string& shader, const std::vector<uint32_t>& spec) {
    auto key = std::make_pair(shader, spec);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    auto words = shader_spirv(shader);
    VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    mi.codeSize = words.size() * 4;
    mi.pCode = words.data();
    VkShaderModule module;
    SALAB_VK(vkCreateShaderModule(ctx_.device(), &mi, nullptr, &module));
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
    Pipeline p;
    VkResult r = vkCreateComputePipelines(ctx_.device(), VK_NULL_HANDLE, 1, &ci, nullptr, &p.pipeline);
    vkDestroyShaderModule(ctx_.device(), module, nullptr);
    if (r != VK_SUCCESS) throw_vk(r, ("vkCreateComputePipelines(" + shader + ")").c_str(), __FILE__, __LINE__);
    return cache_.emplace(key, p).first->second;
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
