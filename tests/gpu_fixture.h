// Shared Vulkan context for the "gpu" suite: created once, validation on when SALAB_VALIDATION
// is set (ctest sets it). Every GPU test ends with check_no_validation_messages().
#pragma once

#include "attention.h"
#include "vk_context.h"

#include <doctest/doctest.h>

#include <memory>

namespace salab::test {

inline VulkanContext& gpu_context() {
    static std::unique_ptr<VulkanContext> ctx = [] {
        auto r = VulkanContext::create();
        if (!r.context) FAIL("no Vulkan device for the gpu suite: " << r.error);
        return std::move(r.context);
    }();
    return *ctx;
}

inline void check_no_validation_messages() {
    auto msgs = gpu_context().validation_messages();
    for (auto& m : msgs) FAIL_CHECK("validation: " << m);
    gpu_context().clear_validation_messages();
}

}  // namespace salab::test
