// The window's Vulkan side: instance + surface + device for presenting, the swapchain, the
// Dear ImGui Vulkan backend, textures for the views and the screenshot read-back. Structure
// follows Dear ImGui's examples/example_glfw_vulkan/main.cpp; every handle has one RAII owner
// (compute's Owned, vk_handle.h), declared in creation order so that destruction runs in
// reverse. Memory types, one-shot submits and the device ranking are compute's (vk_context.h).
//
// Compute does not happen here: the worker has its own device (gui_worker.h).
#pragma once

#include "image.h"

#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct GLFWwindow;

namespace salab::gui {

struct RgbImage {
    int w = 0, h = 0;
    std::vector<uint8_t> rgb;  // w * h * 3, top row first
};

class Renderer : public ui::Textures {
public:
    // Null with *error set when there is no usable device or the surface cannot be made.
    static std::unique_ptr<Renderer> create(GLFWwindow* window, std::string* error);
    ~Renderer() override;

    // Initialises the ImGui Vulkan backend (after ImGui::CreateContext and the GLFW backend).
    void init_imgui();
    // Call after the font atlas changes (uploads it).
    void upload_fonts();

    // Renders ImGui's draw data and presents. When `capture` is set, the frame's pixels are
    // read back into it before presenting. Recreates the swapchain on resize.
    void render(ImDrawData* draw_data, RgbImage* capture = nullptr);
    void wait_idle();
    std::string device_name() const;

    // ui::Textures
    ImTextureID get(ui::TextureSlot slot, const ui::Rgba8Image& image) override;
    void draw(ImDrawList* dl, ImTextureID tex, ImVec2 p0, ImVec2 p1, ImVec2 uv0, ImVec2 uv1) override;

    struct Impl;

private:
    explicit Renderer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace salab::gui
