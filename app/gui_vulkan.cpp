#include "gui_vulkan.h"

#include "vk_context.h"  // SALAB_VK, find_memory_type, submit_and_wait, device_type_rank, create_*

#define GLFW_INCLUDE_NONE
#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <backends/imgui_impl_vulkan.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <utility>

namespace salab::gui {

namespace {

void imgui_check(VkResult r) {
    if (r != VK_SUCCESS) throw std::runtime_error("Dear ImGui Vulkan backend: VkResult " + std::to_string(int(r)));
}

// Dear ImGui 1.86's Vulkan backend binds its font descriptor set once per frame and ignores
// ImTextureID (user textures arrived in 1.87 with ImGui_ImplVulkan_AddTexture). To draw our own
// textures we bind their descriptor set from an ImDrawList callback, allocated from and bound
// with the backend's own set layout and pipeline layout, which we read from its backend data.
// The mirror below is the head of 1.86's ImGui_ImplVulkan_Data; create() checks the fields it
// can (device, render pass) and disables textures when they do not match.
struct ImGui186VulkanDataHead {
    ImGui_ImplVulkan_InitInfo VulkanInitInfo;
    VkRenderPass RenderPass;
    VkDeviceSize BufferMemoryAlignment;
    VkPipelineCreateFlags PipelineCreateFlags;
    VkDescriptorSetLayout DescriptorSetLayout;
    VkPipelineLayout PipelineLayout;
};

// ImGui's Vulkan backend is process-wide state; Owned<shutdown_imgui_backend> (a token handle
// of 1 once initialised) shuts it down in its place in Impl's member order.
void shutdown_imgui_backend(int, const VkAllocationCallbacks*) { ImGui_ImplVulkan_Shutdown(); }

// The command buffer being recorded and the layout to bind with, for bind_texture_callback
// (ImDrawCallback has no user argument for them). Only the render thread touches these.
VkCommandBuffer g_recording = VK_NULL_HANDLE;
VkPipelineLayout g_imgui_layout = VK_NULL_HANDLE;

void bind_texture_callback(const ImDrawList*, const ImDrawCmd* cmd) {
    auto set = reinterpret_cast<VkDescriptorSet>(cmd->UserCallbackData);
    vkCmdBindDescriptorSets(g_recording, VK_PIPELINE_BIND_POINT_GRAPHICS, g_imgui_layout, 0, 1, &set, 0, nullptr);
}

constexpr uint32_t frames_in_flight = 2;

}  // namespace

struct Renderer::Impl {
    struct Frame {
        Owned<vkDestroyCommandPool> pool;
        VkCommandBuffer cb = VK_NULL_HANDLE;
        Owned<vkDestroyFence> fence;
        Owned<vkDestroySemaphore> acquired;
    };
    struct Texture {
        int w = 0, h = 0;
        uint64_t version = 0;
        Owned<vkDestroyImage> image;
        Owned<vkFreeMemory> memory;
        Owned<vkDestroyImageView> view;
        Owned<vkDestroyBuffer> staging;
        Owned<vkFreeMemory> staging_memory;
        void* mapped = nullptr;
        Owned<free_descriptor_set> set;
    };

    GLFWwindow* window = nullptr;
    Owned<vkDestroyInstance> instance;
    Owned<vkDestroySurfaceKHR> surface;
    VkPhysicalDevice physical = VK_NULL_HANDLE;
    VkPhysicalDeviceProperties props{};
    uint32_t family = 0;
    Owned<vkDestroyDevice> device;
    VkQueue queue = VK_NULL_HANDLE;
    Owned<vkDestroyDescriptorPool> descriptor_pool;
    Owned<vkDestroyCommandPool> upload_pool;
    Owned<vkDestroyFence> upload_fence;
    VkSurfaceFormatKHR format{};
    VkPresentModeKHR present_mode = VK_PRESENT_MODE_FIFO_KHR;
    Owned<vkDestroyRenderPass> render_pass;
    std::array<Frame, frames_in_flight> frames;
    uint32_t frame_index = 0;

    // Swapchain and what depends on its images (recreated on resize).
    uint32_t min_image_count = 2;
    VkExtent2D extent{};
    bool can_capture = false;
    Owned<vkDestroySwapchainKHR> swapchain;
    std::vector<VkImage> images;
    std::vector<Owned<vkDestroyImageView>> views;
    std::vector<Owned<vkDestroyFramebuffer>> framebuffers;
    std::vector<Owned<vkDestroySemaphore>> rendered;  // per image: a present waits on its own
    bool rebuild = false;

    Owned<vkDestroyBuffer> capture_buffer;
    Owned<vkFreeMemory> capture_memory;
    VkDeviceSize capture_size = 0;

    // Set after ImGui_ImplVulkan_Init; shuts the backend down before the handles it uses go.
    Owned<shutdown_imgui_backend> imgui_backend;
    VkDescriptorSetLayout imgui_set_layout = VK_NULL_HANDLE;
    std::array<Texture, size_t(ui::TextureSlot::count)> textures;

    ~Impl() {
        if (device) vkDeviceWaitIdle(device);
    }

    Owned<vkFreeMemory> allocate(VkMemoryRequirements req, VkMemoryPropertyFlags want) {
        VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
        ai.allocationSize = req.size;
        ai.memoryTypeIndex = find_memory_type(physical, req.memoryTypeBits, want);
        if (ai.memoryTypeIndex == UINT32_MAX)
            throw std::runtime_error("no Vulkan memory type with the needed properties");
        VkDeviceMemory m;
        SALAB_VK(vkAllocateMemory(device, &ai, nullptr, &m));
        return {device, m};
    }

    std::pair<Owned<vkDestroyBuffer>, Owned<vkFreeMemory>> host_buffer(VkDeviceSize size, VkBufferUsageFlags usage) {
        VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
        bi.size = size;
        bi.usage = usage;
        VkBuffer b;
        SALAB_VK(vkCreateBuffer(device, &bi, nullptr, &b));
        VkDevice d = device;
        Owned<vkDestroyBuffer> buf(d, b);
        VkMemoryRequirements req;
        vkGetBufferMemoryRequirements(device, b, &req);
        auto mem = allocate(req, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
        SALAB_VK(vkBindBufferMemory(device, b, mem, 0));
        return {std::move(buf), std::move(mem)};
    }

    template <class F>
    void submit_now(F&& record) {
        submit_and_wait(SubmitTarget{device, queue, upload_pool, upload_fence}, std::forward<F>(record));
    }

    void create_swapchain() {
        int fw = 0, fh = 0;
        glfwGetFramebufferSize(window, &fw, &fh);
        VkSurfaceCapabilitiesKHR caps;
        SALAB_VK(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(physical, surface, &caps));
        if (caps.currentExtent.width != UINT32_MAX) {
            extent = caps.currentExtent;
        } else {
            extent.width = std::clamp(uint32_t(std::max(fw, 1)), caps.minImageExtent.width, caps.maxImageExtent.width);
            extent.height = std::clamp(uint32_t(std::max(fh, 1)), caps.minImageExtent.height, caps.maxImageExtent.height);
        }
        if (extent.width == 0 || extent.height == 0) return;  // minimised
        min_image_count = std::max(caps.minImageCount + 1, 2u);
        if (caps.maxImageCount) min_image_count = std::min(min_image_count, caps.maxImageCount);
        can_capture = (caps.supportedUsageFlags & VK_IMAGE_USAGE_TRANSFER_SRC_BIT) != 0;

        VkSwapchainCreateInfoKHR ci{VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR};
        ci.surface = surface;
        ci.minImageCount = min_image_count;
        ci.imageFormat = format.format;
        ci.imageColorSpace = format.colorSpace;
        ci.imageExtent = extent;
        ci.imageArrayLayers = 1;
        // TRANSFER_SRC: the screenshot reads the presented image back.
        ci.imageUsage = VkImageUsageFlags(VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT) |
                        (can_capture ? VkImageUsageFlags(VK_IMAGE_USAGE_TRANSFER_SRC_BIT) : 0u);
        ci.imageSharingMode = VK_SHARING_MODE_EXCLUSIVE;
        ci.preTransform = (caps.supportedTransforms & VK_SURFACE_TRANSFORM_IDENTITY_BIT_KHR)
                              ? VK_SURFACE_TRANSFORM_IDENTITY_BIT_KHR
                              : caps.currentTransform;
        ci.compositeAlpha = VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR;
        ci.presentMode = present_mode;
        ci.clipped = VK_TRUE;
        ci.oldSwapchain = swapchain;
        VkSwapchainKHR sc;
        SALAB_VK(vkCreateSwapchainKHR(device, &ci, nullptr, &sc));
        framebuffers.clear();
        views.clear();
        rendered.clear();
        VkDevice d = device;
        swapchain = Owned<vkDestroySwapchainKHR>(d, sc);

        uint32_t count = 0;
        SALAB_VK(vkGetSwapchainImagesKHR(device, sc, &count, nullptr));
        images.resize(count);
        SALAB_VK(vkGetSwapchainImagesKHR(device, sc, &count, images.data()));
        for (VkImage img : images) {
            VkImageViewCreateInfo vi{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
            vi.image = img;
            vi.viewType = VK_IMAGE_VIEW_TYPE_2D;
            vi.format = format.format;
            vi.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
            VkImageView v;
            SALAB_VK(vkCreateImageView(device, &vi, nullptr, &v));
            views.emplace_back(d, v);
            VkFramebufferCreateInfo fi{VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO};
            fi.renderPass = render_pass;
            fi.attachmentCount = 1;
            fi.pAttachments = &v;
            fi.width = extent.width;
            fi.height = extent.height;
            fi.layers = 1;
            VkFramebuffer f;
            SALAB_VK(vkCreateFramebuffer(device, &fi, nullptr, &f));
            framebuffers.emplace_back(d, f);
            rendered.push_back(create_semaphore(device));
        }
        if (imgui_backend) ImGui_ImplVulkan_SetMinImageCount(min_image_count);
        rebuild = false;
    }

    void recreate_swapchain() {
        vkDeviceWaitIdle(device);
        create_swapchain();
    }
};

Renderer::Renderer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Renderer::~Renderer() = default;

std::unique_ptr<Renderer> Renderer::create(GLFWwindow* window, std::string* error) {
    auto im = std::make_unique<Impl>();
    im->window = window;
    try {
        uint32_t ext_count = 0;
        const char** glfw_exts = glfwGetRequiredInstanceExtensions(&ext_count);
        if (!glfw_exts) throw std::runtime_error("GLFW found no Vulkan surface support (no Vulkan loader or ICD)");
        VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
        app.pApplicationName = "salab";
        app.apiVersion = VK_API_VERSION_1_1;
        VkInstanceCreateInfo ici{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
        ici.pApplicationInfo = &app;
        ici.enabledExtensionCount = ext_count;
        ici.ppEnabledExtensionNames = glfw_exts;
        VkInstance inst;
        SALAB_VK(vkCreateInstance(&ici, nullptr, &inst));
        im->instance = Owned<vkDestroyInstance>(inst);

        VkSurfaceKHR surf;
        SALAB_VK(glfwCreateWindowSurface(inst, window, nullptr, &surf));
        im->surface = Owned<vkDestroySurfaceKHR>(inst, surf);

        // The device that can present to this surface, discrete first.
        uint32_t count = 0;
        SALAB_VK(vkEnumeratePhysicalDevices(inst, &count, nullptr));
        std::vector<VkPhysicalDevice> devs(count);
        SALAB_VK(vkEnumeratePhysicalDevices(inst, &count, devs.data()));
        int best_rank = -1;
        for (VkPhysicalDevice pd : devs) {
            VkPhysicalDeviceProperties pr;
            vkGetPhysicalDeviceProperties(pd, &pr);
            uint32_t qn = 0;
            vkGetPhysicalDeviceQueueFamilyProperties(pd, &qn, nullptr);
            std::vector<VkQueueFamilyProperties> qf(qn);
            vkGetPhysicalDeviceQueueFamilyProperties(pd, &qn, qf.data());
            for (uint32_t f = 0; f < qn; ++f) {
                VkBool32 present = VK_FALSE;
                vkGetPhysicalDeviceSurfaceSupportKHR(pd, f, surf, &present);
                if (!(qf[f].queueFlags & VK_QUEUE_GRAPHICS_BIT) || !present) continue;
                const int rank = device_type_rank(pr.deviceType);
                if (rank > best_rank) {
                    best_rank = rank;
                    im->physical = pd;
                    im->props = pr;
                    im->family = f;
                }
                break;
            }
        }
        if (!im->physical) throw std::runtime_error("no Vulkan device can present to this window");

        const float prio = 1.0f;
        VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
        qci.queueFamilyIndex = im->family;
        qci.queueCount = 1;
        qci.pQueuePriorities = &prio;
        const char* dev_exts[] = {VK_KHR_SWAPCHAIN_EXTENSION_NAME};
        VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
        dci.queueCreateInfoCount = 1;
        dci.pQueueCreateInfos = &qci;
        dci.enabledExtensionCount = 1;
        dci.ppEnabledExtensionNames = dev_exts;
        VkDevice dev;
        SALAB_VK(vkCreateDevice(im->physical, &dci, nullptr, &dev));
        im->device = Owned<vkDestroyDevice>(dev);
        vkGetDeviceQueue(dev, im->family, 0, &im->queue);

        // Sets for ImGui's font and for our textures (one per slot, reallocated on resize).
        VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 64};
        VkDescriptorPoolCreateInfo pci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
        pci.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
        pci.maxSets = 64;
        pci.poolSizeCount = 1;
        pci.pPoolSizes = &ps;
        VkDescriptorPool pool;
        SALAB_VK(vkCreateDescriptorPool(dev, &pci, nullptr, &pool));
        im->descriptor_pool = Owned<vkDestroyDescriptorPool>(dev, pool);

        im->upload_pool = create_command_pool(dev, im->family);
        im->upload_fence = create_fence(dev);

        // UNORM formats: ImGui's colours are authored for a non-sRGB target.
        uint32_t fc = 0;
        SALAB_VK(vkGetPhysicalDeviceSurfaceFormatsKHR(im->physical, surf, &fc, nullptr));
        std::vector<VkSurfaceFormatKHR> formats(fc);
        SALAB_VK(vkGetPhysicalDeviceSurfaceFormatsKHR(im->physical, surf, &fc, formats.data()));
        if (formats.empty()) throw std::runtime_error("the window surface offers no formats");
        im->format = formats[0];
        for (const auto& f : formats)
            if ((f.format == VK_FORMAT_B8G8R8A8_UNORM || f.format == VK_FORMAT_R8G8B8A8_UNORM) &&
                f.colorSpace == VK_COLOR_SPACE_SRGB_NONLINEAR_KHR) {
                im->format = f;
                break;
            }
        // MAILBOX (or IMMEDIATE) so that presenting never blocks the frame loop behind a slow
        // software rasteriser; the loop caps the frame rate itself. FIFO is the fallback.
        uint32_t pmc = 0;
        SALAB_VK(vkGetPhysicalDeviceSurfacePresentModesKHR(im->physical, surf, &pmc, nullptr));
        std::vector<VkPresentModeKHR> modes(pmc);
        SALAB_VK(vkGetPhysicalDeviceSurfacePresentModesKHR(im->physical, surf, &pmc, modes.data()));
        im->present_mode = VK_PRESENT_MODE_FIFO_KHR;
        for (VkPresentModeKHR want : {VK_PRESENT_MODE_MAILBOX_KHR, VK_PRESENT_MODE_IMMEDIATE_KHR})
            if (im->present_mode == VK_PRESENT_MODE_FIFO_KHR && std::find(modes.begin(), modes.end(), want) != modes.end())
                im->present_mode = want;

        VkAttachmentDescription att{};
        att.format = im->format.format;
        att.samples = VK_SAMPLE_COUNT_1_BIT;
        att.loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR;
        att.storeOp = VK_ATTACHMENT_STORE_OP_STORE;
        att.stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE;
        att.stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
        att.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
        att.finalLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
        VkAttachmentReference ref{0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
        VkSubpassDescription sub{};
        sub.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS;
        sub.colorAttachmentCount = 1;
        sub.pColorAttachments = &ref;
        // The acquire semaphore is waited at COLOR_ATTACHMENT_OUTPUT: the layout transition
        // must wait there too.
        VkSubpassDependency dep{};
        dep.srcSubpass = VK_SUBPASS_EXTERNAL;
        dep.dstSubpass = 0;
        dep.srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
        dep.dstStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
        dep.dstAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
        VkRenderPassCreateInfo rpi{VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO};
        rpi.attachmentCount = 1;
        rpi.pAttachments = &att;
        rpi.subpassCount = 1;
        rpi.pSubpasses = &sub;
        rpi.dependencyCount = 1;
        rpi.pDependencies = &dep;
        VkRenderPass rp;
        SALAB_VK(vkCreateRenderPass(dev, &rpi, nullptr, &rp));
        im->render_pass = Owned<vkDestroyRenderPass>(dev, rp);

        for (auto& f : im->frames) {
            f.pool = create_command_pool(dev, im->family);
            VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
            ai.commandPool = f.pool;
            ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
            ai.commandBufferCount = 1;
            SALAB_VK(vkAllocateCommandBuffers(dev, &ai, &f.cb));
            f.fence = create_fence(dev, VK_FENCE_CREATE_SIGNALED_BIT);  // the first frame waits on it
            f.acquired = create_semaphore(dev);
        }
        im->create_swapchain();
    } catch (const std::exception& e) {
        if (error) *error = e.what();
        return nullptr;
    }
    return std::unique_ptr<Renderer>(new Renderer(std::move(im)));
}

void Renderer::init_imgui() {
    Impl& im = *impl_;
    ImGui_ImplVulkan_InitInfo info{};
    info.Instance = im.instance;
    info.PhysicalDevice = im.physical;
    info.Device = im.device;
    info.QueueFamily = im.family;
    info.Queue = im.queue;
    info.DescriptorPool = im.descriptor_pool;
    info.Subpass = 0;
    info.MinImageCount = im.min_image_count;
    info.ImageCount = uint32_t(std::max<size_t>(im.images.size(), im.min_image_count));
    info.MSAASamples = VK_SAMPLE_COUNT_1_BIT;
    info.CheckVkResultFn = imgui_check;
    if (!ImGui_ImplVulkan_Init(&info, im.render_pass)) throw std::runtime_error("ImGui_ImplVulkan_Init failed");
    im.imgui_backend = Owned<shutdown_imgui_backend>(1);
    const auto* head = static_cast<const ImGui186VulkanDataHead*>(ImGui::GetIO().BackendRendererUserData);
#if IMGUI_VERSION_NUM == 18600
    if (head && head->VulkanInitInfo.Device == im.device.get() && head->RenderPass == im.render_pass.get()) {
        im.imgui_set_layout = head->DescriptorSetLayout;
        g_imgui_layout = head->PipelineLayout;
    }
#else
    (void)head;  // other versions: textures fall back to placeholders until ported
#endif
}

void Renderer::upload_fonts() {
    Impl& im = *impl_;
    im.submit_now([](VkCommandBuffer cb) { ImGui_ImplVulkan_CreateFontsTexture(cb); });
    ImGui_ImplVulkan_DestroyFontUploadObjects();
}

void Renderer::wait_idle() { vkDeviceWaitIdle(impl_->device); }

std::string Renderer::device_name() const { return impl_->props.deviceName; }

void Renderer::render(ImDrawData* dd, RgbImage* capture) {
    Impl& im = *impl_;
    int fw = 0, fh = 0;
    glfwGetFramebufferSize(im.window, &fw, &fh);
    if (fw <= 0 || fh <= 0) return;
    if (im.rebuild || !im.swapchain || uint32_t(fw) != im.extent.width || uint32_t(fh) != im.extent.height)
        im.recreate_swapchain();
    if (!im.swapchain) return;

    Impl::Frame& f = im.frames[im.frame_index];
    VkFence fence = f.fence;
    SALAB_VK(vkWaitForFences(im.device, 1, &fence, VK_TRUE, UINT64_MAX));
    uint32_t idx = 0;
    VkResult r = vkAcquireNextImageKHR(im.device, im.swapchain, UINT64_MAX, f.acquired, VK_NULL_HANDLE, &idx);
    if (r == VK_ERROR_OUT_OF_DATE_KHR) {
        im.rebuild = true;
        return;
    }
    if (r != VK_SUCCESS && r != VK_SUBOPTIMAL_KHR) throw_vk(r, "vkAcquireNextImageKHR", __FILE__, __LINE__);
    SALAB_VK(vkResetFences(im.device, 1, &fence));
    SALAB_VK(vkResetCommandPool(im.device, f.pool, 0));
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    SALAB_VK(vkBeginCommandBuffer(f.cb, &bi));
    VkClearValue clear{};
    clear.color = {{0.06f, 0.06f, 0.07f, 1.0f}};  // ImGui's dark WindowBg: the tiled windows draw none
    VkRenderPassBeginInfo rbi{VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO};
    rbi.renderPass = im.render_pass;
    rbi.framebuffer = im.framebuffers[idx];
    rbi.renderArea.extent = im.extent;
    rbi.clearValueCount = 1;
    rbi.pClearValues = &clear;
    vkCmdBeginRenderPass(f.cb, &rbi, VK_SUBPASS_CONTENTS_INLINE);
    g_recording = f.cb;
    ImGui_ImplVulkan_RenderDrawData(dd, f.cb);
    g_recording = VK_NULL_HANDLE;
    vkCmdEndRenderPass(f.cb);

    const bool capturing = capture && im.can_capture;
    const VkDeviceSize bytes = VkDeviceSize(im.extent.width) * im.extent.height * 4;
    if (capturing) {
        if (im.capture_size < bytes) {
            auto [buf, mem] = im.host_buffer(bytes, VK_BUFFER_USAGE_TRANSFER_DST_BIT);
            im.capture_buffer = std::move(buf);
            im.capture_memory = std::move(mem);
            im.capture_size = bytes;
        }
        VkImageMemoryBarrier b{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
        b.srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
        b.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
        b.oldLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
        b.newLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
        b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
        b.image = im.images[idx];
        b.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
        vkCmdPipelineBarrier(f.cb, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0,
                             nullptr, 0, nullptr, 1, &b);
        VkBufferImageCopy region{};
        region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
        region.imageExtent = {im.extent.width, im.extent.height, 1};
        vkCmdCopyImageToBuffer(f.cb, im.images[idx], VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, im.capture_buffer, 1, &region);
        b.srcAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
        b.dstAccessMask = 0;
        b.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
        b.newLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
        VkBufferMemoryBarrier hb{VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER};
        hb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
        hb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
        hb.srcQueueFamilyIndex = hb.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
        hb.buffer = im.capture_buffer;
        hb.size = VK_WHOLE_SIZE;
        vkCmdPipelineBarrier(f.cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
                             VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 0, nullptr, 1, &hb,
                             1, &b);
    }
    SALAB_VK(vkEndCommandBuffer(f.cb));

    VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    VkSemaphore acquired = f.acquired, done = im.rendered[idx];
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.waitSemaphoreCount = 1;
    si.pWaitSemaphores = &acquired;
    si.pWaitDstStageMask = &wait_stage;
    si.commandBufferCount = 1;
    si.pCommandBuffers = &f.cb;
    si.signalSemaphoreCount = 1;
    si.pSignalSemaphores = &done;
    SALAB_VK(vkQueueSubmit(im.queue, 1, &si, fence));

    if (capturing) {
        SALAB_VK(vkWaitForFences(im.device, 1, &fence, VK_TRUE, UINT64_MAX));
        void* p = nullptr;
        SALAB_VK(vkMapMemory(im.device, im.capture_memory, 0, bytes, 0, &p));
        const auto* src = static_cast<const uint8_t*>(p);
        const bool bgra = im.format.format == VK_FORMAT_B8G8R8A8_UNORM || im.format.format == VK_FORMAT_B8G8R8A8_SRGB;
        capture->w = int(im.extent.width);
        capture->h = int(im.extent.height);
        capture->rgb.resize(size_t(bytes / 4 * 3));
        for (size_t i = 0, n = size_t(bytes / 4); i < n; ++i) {
            capture->rgb[3 * i + 0] = src[4 * i + (bgra ? 2 : 0)];
            capture->rgb[3 * i + 1] = src[4 * i + 1];
            capture->rgb[3 * i + 2] = src[4 * i + (bgra ? 0 : 2)];
        }
        vkUnmapMemory(im.device, im.capture_memory);
    } else if (capture) {
        capture->w = capture->h = 0;
    }

    VkSwapchainKHR sc = im.swapchain;
    VkPresentInfoKHR pi{VK_STRUCTURE_TYPE_PRESENT_INFO_KHR};
    pi.waitSemaphoreCount = 1;
    pi.pWaitSemaphores = &done;
    pi.swapchainCount = 1;
    pi.pSwapchains = &sc;
    pi.pImageIndices = &idx;
    r = vkQueuePresentKHR(im.queue, &pi);
    if (r == VK_ERROR_OUT_OF_DATE_KHR || r == VK_SUBOPTIMAL_KHR) im.rebuild = true;
    else if (r != VK_SUCCESS)
        throw_vk(r, "vkQueuePresentKHR", __FILE__, __LINE__);
    im.frame_index = (im.frame_index + 1) % frames_in_flight;
}

ImTextureID Renderer::get(ui::TextureSlot slot, const ui::Rgba8Image& image) {
    Impl& im = *impl_;
    if (image.empty() || !im.imgui_set_layout) return nullptr;
    Impl::Texture& t = im.textures[size_t(slot)];
    if (t.version == image.version && t.set) return reinterpret_cast<ImTextureID>(t.set.get());
    // In-flight frames may still sample the old contents: finish them first. Uploads happen
    // only when an image changes, so this costs at most a frame now and then.
    vkDeviceWaitIdle(im.device);
    VkDevice dev = im.device;
    if (t.w != image.w || t.h != image.h || !t.set) {
        t = Impl::Texture{};
        VkImageCreateInfo ici{VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
        ici.imageType = VK_IMAGE_TYPE_2D;
        ici.format = VK_FORMAT_R8G8B8A8_UNORM;
        ici.extent = {uint32_t(image.w), uint32_t(image.h), 1};
        ici.mipLevels = 1;
        ici.arrayLayers = 1;
        ici.samples = VK_SAMPLE_COUNT_1_BIT;
        ici.tiling = VK_IMAGE_TILING_OPTIMAL;
        ici.usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
        ici.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
        VkImage img;
        SALAB_VK(vkCreateImage(dev, &ici, nullptr, &img));
        t.image = Owned<vkDestroyImage>(dev, img);
        VkMemoryRequirements req;
        vkGetImageMemoryRequirements(dev, img, &req);
        t.memory = im.allocate(req, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
        SALAB_VK(vkBindImageMemory(dev, img, t.memory, 0));
        VkImageViewCreateInfo vi{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
        vi.image = img;
        vi.viewType = VK_IMAGE_VIEW_TYPE_2D;
        vi.format = VK_FORMAT_R8G8B8A8_UNORM;
        vi.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
        VkImageView view;
        SALAB_VK(vkCreateImageView(dev, &vi, nullptr, &view));
        t.view = Owned<vkDestroyImageView>(dev, view);
        auto [buf, mem] = im.host_buffer(VkDeviceSize(image.w) * image.h * 4, VK_BUFFER_USAGE_TRANSFER_SRC_BIT);
        t.staging = std::move(buf);
        t.staging_memory = std::move(mem);
        SALAB_VK(vkMapMemory(dev, t.staging_memory, 0, VK_WHOLE_SIZE, 0, &t.mapped));
        VkDescriptorSetAllocateInfo dai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
        dai.descriptorPool = im.descriptor_pool;
        dai.descriptorSetCount = 1;
        dai.pSetLayouts = &im.imgui_set_layout;
        VkDescriptorSet set;
        SALAB_VK(vkAllocateDescriptorSets(dev, &dai, &set));
        VkDescriptorPool pool = im.descriptor_pool;
        t.set = Owned<free_descriptor_set>({dev, pool}, set);
        VkDescriptorImageInfo dii{VK_NULL_HANDLE, view, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL};
        VkWriteDescriptorSet w{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        w.dstSet = set;
        w.descriptorCount = 1;
        w.descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
        w.pImageInfo = &dii;
        vkUpdateDescriptorSets(dev, 1, &w, 0, nullptr);
        t.w = image.w;
        t.h = image.h;
    }
    std::memcpy(t.mapped, image.px.data(), size_t(image.w) * size_t(image.h) * 4);
    im.submit_now([&](VkCommandBuffer cb) {
        VkImageMemoryBarrier b{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
        b.srcAccessMask = 0;
        b.dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
        b.oldLayout = VK_IMAGE_LAYOUT_UNDEFINED;  // every texel is overwritten
        b.newLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
        b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
        b.image = t.image;
        b.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
        vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, nullptr, 0,
                             nullptr, 1, &b);
        VkBufferImageCopy region{};
        region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
        region.imageExtent = {uint32_t(image.w), uint32_t(image.h), 1};
        vkCmdCopyBufferToImage(cb, t.staging, t.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
        b.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
        b.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
        b.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
        b.newLayout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
        vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT, 0, 0, nullptr,
                             0, nullptr, 1, &b);
    });
    t.version = image.version;
    return reinterpret_cast<ImTextureID>(t.set.get());
}

void Renderer::draw(ImDrawList* dl, ImTextureID tex, ImVec2 p0, ImVec2 p1, ImVec2 uv0, ImVec2 uv1) {
    dl->AddCallback(bind_texture_callback, tex);
    dl->AddImage(tex, p0, p1, uv0, uv1);
    // Back to ImGui's own state (font descriptor set) for what follows.
    dl->AddCallback(ImDrawCallback_ResetRenderState, nullptr);
}

}  // namespace salab::gui
