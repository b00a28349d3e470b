// The GUI's compute thread: the thread, the mailbox and the device. It owns its own
// VulkanContext (a device separate from the window's) and a LiveProblem (compute/live_problem.h)
// that does the work one stage at a time; it takes the latest request (params + what the views
// show) and publishes results tagged with the request's generation. Newer requests cancel older
// work between stages (and inside the long ones), and a value posted during a drag waits in the
// mailbox (compute/live_mailbox.h) until the drag ends or holds still, so dragging a slider
// computes the value it stops at, not every one it passes.
#pragma once

#include "live_mailbox.h"
#include "live_types.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

namespace salab::gui {

class Worker {
public:
    // `wake` is called (from the worker thread) after each publish, so an idle frame loop that
    // waits for events can wake up (glfwPostEmptyEvent).
    explicit Worker(std::function<void()> wake = {});
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Replaces the pending request (latest wins). Cheap; call every frame something changed, every
    // frame of a drag and once when it ends. `drag`: a widget is held, the pointer moving or still
    // (the request waits until the drag ends or stops, LiveMailbox).
    void post(uint64_t gen, const LiveParams& params, const LiveView& view, Drag drag = Drag::none);
    // Everything published since the last take().
    LiveUpdate take();
    // What the worker is doing now ("" when idle).
    std::string activity() const;
    // True when every result of the latest request has been published.
    bool idle() const;

    // Scaling sweep of the current pattern over n = 256, 512, ... up to max_n, on a thread of
    // its own (own device); cancel_sweep() stops it between (and inside) runs.
    void start_sweep(const LiveParams& params, int64_t max_n);
    void cancel_sweep();
    SweepState sweep() const;

private:
    void run(std::stop_token stop);
    void publish(LiveUpdate&& update);
    void run_sweep(std::stop_token stop, LiveParams params, int64_t max_n);

    mutable std::mutex mutex_;
    std::condition_variable_any cv_;
    LiveMailbox mailbox_;  // the pending request (guarded by mutex_)
    uint64_t posts_ = 0;   // posts so far (a wait ends when it changes)
    bool idle_ = true;     // the worker found nothing left for the pending request
    LiveUpdate inbox_;
    std::string activity_;
    std::function<void()> wake_;
    std::atomic<uint64_t> latest_gen_{0};
    std::stop_source hops_stop_;

    mutable std::mutex sweep_mutex_;
    SweepState sweep_;
    std::jthread sweep_thread_;

    std::jthread thread_;  // last: started after every member it uses exists, joined first
};

}  // namespace salab::gui
