// GPU time of recorded work: the one owner of a timestamp query pool and the one conversion of
// timestamp ticks to milliseconds (timestampPeriod, wrap-around at the queue's valid bits).
// Work is timed in sections, each a TOP_OF_PIPE timestamp before it and a BOTTOM_OF_PIPE one
// after; sections may nest (a total around per-pass sections).
//
//     GpuTimer timer(ctx);
//     ctx.submit_and_wait([&](VkCommandBuffer cb) {
//         timer.start(cb, 2);                    // this command buffer times up to 2 sections
//         { GpuTimer::Scope s(timer, cb); record_scores(cb); }
//         { GpuTimer::Scope s(timer, cb); record_select(cb); }
//     });
//     const std::vector<double> ms = timer.read_ms();  // {scores, select}, in begin order
//
// When the device's compute queue has no timestamps, nothing is recorded and read_ms() returns
// an empty vector. One recording at a time: start() may recreate the pool, so call it only
// when no earlier submission using this timer is in flight (engine calls wait for their work).
// Misuse (more sections than started, a section left open) throws std::logic_error.
#pragma once

#include "vk_context.h"
#include "vk_handle.h"

#include <cstdint>
#include <vector>

namespace salab {

class GpuTimer {
public:
    explicit GpuTimer(VulkanContext& ctx);

    bool enabled() const { return enabled_; }
    // Begins a recording of at most `sections` sections into cb (resets their queries).
    void start(VkCommandBuffer cb, uint32_t sections);
    // Writes the opening timestamp of the next section; returns its index (0, 1, ...).
    uint32_t begin(VkCommandBuffer cb);
    // Writes the closing timestamp of section `section`.
    void end(VkCommandBuffer cb, uint32_t section);
    // After the submission completed: each begun section's length in milliseconds, in begin
    // order (empty when timestamps are not available). Waits for the results.
    std::vector<double> read_ms() const;
    // Timestamp ticks to milliseconds on this device.
    double ticks_to_ms(uint64_t ticks) const { return double(ticks) * period_ns_ * 1e-6; }

    // One section around a scope of recording.
    class Scope {
    public:
        Scope(GpuTimer& timer, VkCommandBuffer cb) : timer_(timer), cb_(cb), section_(timer.begin(cb)) {}
        ~Scope() { timer_.end(cb_, section_); }
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;
        uint32_t section() const { return section_; }

    private:
        GpuTimer& timer_;
        VkCommandBuffer cb_;
        uint32_t section_;
    };

private:
    VkDevice device_;
    bool enabled_;
    double period_ns_;
    uint64_t valid_mask_;  // timestamps wrap at the queue's timestampValidBits
    Owned<vkDestroyQueryPool> pool_;
    uint32_t capacity_ = 0;  // sections the pool holds
    uint32_t started_ = 0;   // sections the current recording may use
    uint32_t begun_ = 0;
    uint32_t open_ = 0;  // begun, not yet ended
};

}  // namespace salab
