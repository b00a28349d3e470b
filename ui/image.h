// Images the views draw, and the texture interface the app implements. A view hands over an
// RGBA8 image; the app uploads it when its version changes and returns an opaque ImTextureID.
// ui/ never sees how (Vulkan stays in app/).
#pragma once

#include "live_types.h"

#include <imgui.h>

#include <cstdint>
#include <vector>

namespace salab::ui {

// RGBA8 pixels packed as ImU32 (IM_COL32 byte order: R in the low byte), row-major, top row first.
struct Rgba8Image {
    int w = 0, h = 0;
    std::vector<ImU32> px;
    uint64_t version = 0;  // unique per content; 0 for "no image"
    bool empty() const { return w <= 0 || h <= 0 || px.empty(); }
};

// A fresh, process-unique image version (one counter with the results' ids).
inline uint64_t next_image_version() { return next_version(); }

// Texture slots: one texture each, re-uploaded when the image version in a slot changes.
enum class TextureSlot { mask, minimap, heat_dense, heat_sparse, heat_diff, hop_strip, compare, compare_a, compare_b, count };

class Textures {
public:
    virtual ~Textures() = default;
    // The texture for `image` in `slot`, uploading it first when its version is new. Returns
    // nullptr when the image is empty or textures are unavailable.
    virtual ImTextureID get(TextureSlot slot, const Rgba8Image& image) = 0;
    // Adds the texture as a quad to `dl` (the app may need render-state callbacks around it).
    virtual void draw(ImDrawList* dl, ImTextureID tex, ImVec2 p0, ImVec2 p1, ImVec2 uv0 = {0, 0},
                      ImVec2 uv1 = {1, 1}) = 0;
};

// Draws `image` through `textures`, or a grey placeholder when textures are unavailable.
inline void draw_image(Textures& textures, TextureSlot slot, const Rgba8Image& image,
                       ImDrawList* dl, ImVec2 p0, ImVec2 p1) {
    if (ImTextureID tex = textures.get(slot, image))
        textures.draw(dl, tex, p0, p1);
    else
        dl->AddRectFilled(p0, p1, IM_COL32(60, 60, 60, 255));
}

}  // namespace salab::ui
