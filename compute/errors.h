// The engine's two error tiers: bad input the user can fix, and a failed
// Vulkan call after setup. Environment problems found during setup (no device, a missing
// feature) are not exceptions: they come back as values with reasons (ContextResult).
#pragma once

#include <stdexcept>

namespace salab {

// Bad user input (files, parameters, sizes past a device's limits). The message is one line,
// fit to print as is, and says what to change.
struct InputError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A Vulkan call failed after setup; the message names the call, file and line (SALAB_VK in
// vk_context.h).
struct VulkanError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace salab
