// The advisor's background search for the GUI: one thread, its own Vulkan context (the live
// worker keeps its own), progress and cancel through atomics, results handed over under a mutex.
#pragma once

#include "advisor.h"
#include "live_types.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace salab {

class AdvisorJob {
public:
    ~AdvisorJob() { cancel(); if (thread_.joinable()) thread_.join(); }
    // Starts a search of the family file for the params' Q/K/V source, n and d (cancels a running one).
    void start(const LiveParams& p, const std::string& family_path);
    void cancel() { cancel_ = true; }
    bool running() const { return running_; }
    int64_t done() const { return done_; }
    int64_t planned() const { return planned_; }
    // The latest finished (or cancelled) result; version() changes when it does.
    std::shared_ptr<const AdvisorResult> result() const { std::lock_guard l(m_); return result_; }
    std::string error() const { std::lock_guard l(m_); return error_; }

private:
    std::thread thread_;
    std::atomic<bool> cancel_{false}, running_{false};
    std::atomic<int64_t> done_{0}, planned_{0};
    mutable std::mutex m_;
    std::shared_ptr<const AdvisorResult> result_;
    std::string error_;
    AdvisorCache cache_;  // used by the search thread only (one at a time)
};

}  // namespace salab
