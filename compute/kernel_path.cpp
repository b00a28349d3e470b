// The kernel paths' names (kernel_plan.h), apart from the planning code: the session reader
// needs them without Vulkan (tests/fuzz links this file alone).
#include "kernel_plan.h"

#include <array>

namespace salab {

namespace {

struct PathName {
    KernelPath path;
    std::string_view name;
};
constexpr std::array<PathName, 6> kPathNames{{{KernelPath::automatic, "auto"},
                                              {KernelPath::tiled, "tiled"},
                                              {KernelPath::rowwise, "rowwise"},
                                              {KernelPath::nv_coopmat, "nv-coopmat"},
                                              {KernelPath::nv_coopmat2, "nv-coopmat2"},
                                              {KernelPath::khr_coopmat, "khr-coopmat"}}};

}  // namespace

std::string_view path_name(KernelPath path) {
    for (const auto& p : kPathNames)
        if (p.path == path) return p.name;
    return "?";
}

std::optional<KernelPath> parse_kernel_path(std::string_view name) {
    if (name == "portable") return KernelPath::tiled;  // the older name
    for (const auto& p : kPathNames)
        if (p.name == name) return p.path;
    return std::nullopt;
}

std::string kernel_path_names() {
    std::string s;
    for (const auto& p : kPathNames) {
        if (!s.empty()) s += ", ";
        s += p.name;
    }
    return s;
}

}  // namespace salab
