// The GUI's compute thread. It owns its own VulkanContext + AttentionEngine (a device separate
// from the window's), takes the latest request (Params + what the views show) and publishes
// results tagged with the request's generation. Newer requests cancel older work between
// stages (and inside the long ones), so dragging a slider never queues stale work.
#pragma once

#include "app_state.h"
#include "results.h"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

namespace salab::gui {

// What the views currently show; cheap to recompute parts of the model for.
struct ViewRequest {
    ui::MaskImageRequest mask;
    ui::HeatRequest heat;
    int64_t hop_token = 0;
    bool operator==(const ViewRequest&) const = default;
};

// Everything new since the last take().
struct Inbox {
    std::optional<ui::ModelResult> model;
    std::optional<ui::MaskImageResult> mask;
    std::vector<ui::TimingSample> timings;
    std::optional<ui::HeatResult> heat;
    std::vector<ui::AccuracyResult> accuracy;  // parts: kept_mass or rel_error < 0 = not in it
    std::optional<ui::HopResult> hops;
    std::optional<ui::TokenHopResult> token_hops;
    std::optional<std::string> compute_error;  // device or run failure ("" clears)
    std::optional<std::string> device_name;
};

class Worker {
public:
    // `wake` is called (from the worker thread) after each publish, so an idle frame loop that
    // waits for events can wake up (glfwPostEmptyEvent).
    explicit Worker(std::function<void()> wake = {});
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Replaces the pending request (latest wins). Cheap; call every frame something changed.
    void post(uint64_t gen, const ui::Params& params, const ViewRequest& view);
    Inbox take();
    // What the worker is doing now ("" when idle).
    std::string activity() const;
    bool idle() const;

    // Scaling sweep of the current pattern over n = 256, 512, ... up to max_n, on a thread of
    // its own (own device); cancel() stops it between (and inside) runs.
    void start_sweep(const ui::Params& params, int64_t max_n);
    void cancel_sweep();
    ui::SweepState sweep() const;

private:
    struct Job {
        uint64_t gen = 0;
        ui::Params params;
        ViewRequest view;
    };
    struct State;  // worker-thread-only state (device, model, what is done)

    void run(std::stop_token stop);
    bool has_work_locked() const;
    void publish(const std::function<void(Inbox&)>& f);
    void set_activity(std::string s);
    void run_sweep(std::stop_token stop, ui::Params params, int64_t max_n);

    mutable std::mutex mutex_;
    std::condition_variable_any cv_;
    Job latest_;
    bool has_job_ = false;
    Inbox inbox_;
    std::string activity_;
    std::function<void()> wake_;
    std::unique_ptr<State> state_;  // touched by the worker thread only (and has_work_locked)
    std::atomic<uint64_t> latest_gen_{0};
    std::stop_source hops_stop_;

    mutable std::mutex sweep_mutex_;
    ui::SweepState sweep_;
    std::jthread sweep_thread_;

    std::jthread thread_;  // last: started after every member it uses exists, joined first
};

}  // namespace salab::gui
