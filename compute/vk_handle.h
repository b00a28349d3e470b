// Owned<Destroy>: the one RAII owner of a Vulkan handle, for compute and the GUI alike. The
// handle and parent types come from the destroy function's signature, so the owner states how
// it ends:
//
//     Owned<vkDestroyBuffer> buffer(device, raw);  // vkDestroyBuffer(device, raw, nullptr) at the end
//     Owned<vkDestroyInstance> instance(raw);      // vkDestroyInstance(raw, nullptr)
//
// Destroy is any function taking (Parent, Handle, const VkAllocationCallbacks*) or (Handle, const
// VkAllocationCallbacks*), so handles whose release needs more (descriptor sets, extension
// objects) get a small named function of that shape. Move-only; a null handle is never
// destroyed. Create into a local handle and wrap it once the call succeeded (a failed create
// leaves its output undefined). Declare owners in creation order: members are destroyed in reverse, children first.
#pragma once

#include <vulkan/vulkan.h>

#include <cstddef>
#include <utility>

namespace salab {

namespace detail {

template <class F>
struct DestroyTraits;
template <class P, class H>
struct DestroyTraits<void (*)(P, H, const VkAllocationCallbacks*)> {
    using Parent = P;
    using Handle = H;
    static constexpr bool has_parent = true;
};
template <class H>
struct DestroyTraits<void (*)(H, const VkAllocationCallbacks*)> {
    using Parent = std::nullptr_t;
    using Handle = H;
    static constexpr bool has_parent = false;
};

}  // namespace detail

template <auto Destroy>
class Owned {
    using Traits = detail::DestroyTraits<decltype(Destroy)>;

public:
    using Handle = typename Traits::Handle;
    using Parent = typename Traits::Parent;

    Owned() = default;
    Owned(Parent parent, Handle handle) requires Traits::has_parent : parent_(parent), handle_(handle) {}
    explicit Owned(Handle handle) requires(!Traits::has_parent) : handle_(handle) {}
    ~Owned() { reset(); }

    Owned(Owned&& o) noexcept : parent_(o.parent_), handle_(std::exchange(o.handle_, Handle{})) {}
    Owned& operator=(Owned&& o) noexcept {
        if (this != &o) {
            reset();
            parent_ = o.parent_;
            handle_ = std::exchange(o.handle_, Handle{});
        }
        return *this;
    }
    Owned(const Owned&) = delete;
    Owned& operator=(const Owned&) = delete;

    Handle get() const { return handle_; }
    operator Handle() const { return handle_; }  // pass it where Vulkan takes the raw handle
    void reset() {
        if (handle_ != Handle{}) {
            if constexpr (Traits::has_parent)
                Destroy(parent_, handle_, nullptr);
            else
                Destroy(handle_, nullptr);
        }
        handle_ = Handle{};
    }

private:
    [[no_unique_address]] Parent parent_{};
    Handle handle_{};
};

// Children of a pool go back to their pool: Owned<free_command_buffer>, Owned<free_descriptor_set>.
template <class Pool>
struct PoolRef {
    VkDevice device = VK_NULL_HANDLE;
    Pool pool = VK_NULL_HANDLE;
};
inline void free_command_buffer(PoolRef<VkCommandPool> p, VkCommandBuffer cb, const VkAllocationCallbacks*) {
    vkFreeCommandBuffers(p.device, p.pool, 1, &cb);
}
// The pool must have been created with VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT.
inline void free_descriptor_set(PoolRef<VkDescriptorPool> p, VkDescriptorSet set, const VkAllocationCallbacks*) {
    vkFreeDescriptorSets(p.device, p.pool, 1, &set);
}

}  // namespace salab
