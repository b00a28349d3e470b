#include "gui_worker.h"

#include "live_problem.h"
#include "threads.h"
#include "vk_context.h"

#include <optional>
#include <utility>

#include <unistd.h>

namespace salab::gui {

namespace {

std::string sweep_status(int64_t n, const std::string& what) { return "n = " + std::to_string(n) + ": " + what; }

}  // namespace

Worker::Worker(std::function<void()> wake) : wake_(std::move(wake)) {
    thread_ = std::jthread([this](std::stop_token st) { run(st); });
}

Worker::~Worker() {
    hops_stop_.request_stop();
    thread_.request_stop();
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    sweep_thread_.request_stop();
}

void Worker::post(uint64_t gen, const LiveParams& params, const LiveView& view, Drag drag) {
    {
        std::lock_guard lock(mutex_);
        if (mailbox_.newest_gen() != 0 && gen != mailbox_.newest_gen()) hops_stop_.request_stop();
        mailbox_.post(LiveRequest{gen, params, view}, drag, LiveMailbox::Clock::now());
        ++posts_;
        idle_ = false;
    }
    latest_gen_ = gen;
    cv_.notify_all();
}

LiveUpdate Worker::take() {
    std::lock_guard lock(mutex_);
    return std::exchange(inbox_, {});
}

std::string Worker::activity() const {
    std::lock_guard lock(mutex_);
    return activity_;
}

bool Worker::idle() const {
    std::lock_guard lock(mutex_);
    return idle_;
}

void Worker::publish(LiveUpdate&& update) {
    if (update.empty()) return;
    {
        std::lock_guard lock(mutex_);
        inbox_.merge(std::move(update));
    }
    if (wake_) wake_();
}

void Worker::run(std::stop_token stop) {
    lower_thread_priority();
    // Declared in this order so the pipeline (and its engine) goes before the device.
    std::unique_ptr<VulkanContext> ctx;
    LiveProblem live;
    int device_index = -2;  // -2: not opened yet
    while (!stop.stop_requested()) {
        LiveRequest job;
        std::stop_token hop_stop;
        {
            std::unique_lock lock(mutex_);
            std::optional<LiveRequest> due;
            while (!stop.stop_requested()) {
                if (!idle_ && (due = mailbox_.due(LiveMailbox::Clock::now()))) break;
                // Nothing due: wait for a post, or for a held drag value to settle.
                const uint64_t seen = posts_;
                const auto at = idle_ ? std::nullopt : mailbox_.due_at();
                if (!idle_) activity_ = "waiting for the slider to stop";  // only a drag is held
                if (at)
                    cv_.wait_until(lock, stop, *at, [&] { return posts_ != seen; });
                else
                    cv_.wait(lock, stop, [&] { return posts_ != seen; });
            }
            if (stop.stop_requested()) return;
            job = std::move(*due);
            if (hops_stop_.stop_requested()) hops_stop_ = std::stop_source();
            hop_stop = hops_stop_.get_token();
        }
        if (device_index != job.params.device) {
            // (Re)opened when the choice changes; failure leaves mask-only views.
            {
                std::lock_guard lock(mutex_);
                activity_ = "opening Vulkan device";
            }
            live.set_device(nullptr);
            ctx.reset();
            device_index = job.params.device;
            ContextOptions co;
            co.device_index = device_index;
            ContextResult cr = VulkanContext::create(co);
            ctx = std::move(cr.context);
            live.set_device(ctx.get());
            LiveUpdate u;
            u.compute_error = ctx ? "" : "no Vulkan compute device: " + cr.error;
            u.device_name = ctx ? ctx->info().name : "";
            publish(std::move(u));
        }
        const LiveStage stage = live.next_stage(job);
        {
            std::lock_guard lock(mutex_);
            activity_ = std::string(stage_name(stage));
            // Idle only if no newer request arrived while this one was being looked at.
            if (stage == LiveStage::idle) {
                const auto now_due = mailbox_.due(LiveMailbox::Clock::now());
                if (now_due && now_due->gen == job.gen && now_due->view == job.view) idle_ = true;
            }
        }
        if (stage == LiveStage::idle) continue;
        const auto stale = [&] { return latest_gen_.load() != job.gen || stop.stop_requested(); };
        LiveUpdate out;
        live.run_stage(stage, job, stale, out, hop_stop);
        publish(std::move(out));
    }
}

void Worker::start_sweep(const LiveParams& params, int64_t max_n) {
    cancel_sweep();
    {
        std::lock_guard lock(sweep_mutex_);
        sweep_ = {};
        sweep_.running = true;
        sweep_.status = "starting";
    }
    sweep_thread_ = std::jthread([this, params, max_n](std::stop_token st) { run_sweep(st, params, max_n); });
}

void Worker::cancel_sweep() {
    if (sweep_thread_.joinable()) {
        sweep_thread_.request_stop();
        sweep_thread_.join();
    }
}

SweepState Worker::sweep() const {
    std::lock_guard lock(sweep_mutex_);
    return sweep_;
}

void Worker::run_sweep(std::stop_token stop, LiveParams params, int64_t max_n) {
    const auto set = [&](auto f) {
        {
            std::lock_guard lock(sweep_mutex_);
            f(sweep_);
        }
        if (wake_) wake_();
    };
    lower_thread_priority();
    try {
        ContextOptions co;
        co.device_index = params.device;
        ContextResult cr = VulkanContext::create(co);
        if (!cr.context) throw std::runtime_error("no Vulkan device: " + cr.error);
        AttentionEngine engine(*cr.context);
        std::vector<int64_t> sizes;
        for (int64_t n = 256; n <= max_n; n *= 2) sizes.push_back(n);
        const auto stopped = [&] { return stop.stop_requested(); };
        for (size_t idx = 0; idx < sizes.size() && !stop.stop_requested(); ++idx) {
            const int64_t n = sizes[idx];
            try {
                (void)with_n(params.pattern, n);
            } catch (const InputError& e) {
                set([&](SweepState& s) { s.status = sweep_status(n, std::string("skipped: ") + e.what()); });
                continue;
            }
            set([&](SweepState& s) { s.status = sweep_status(n, "building the mask and timing"); });
            try {
                const SweepPoint pt = sweep_point(engine, params, n, stopped);
                if (stop.stop_requested()) break;
                set([&](SweepState& s) {
                    s.points.push_back(pt);
                    s.progress = double(idx + 1) / double(sizes.size());
                });
            } catch (const InputError& e) {
                set([&](SweepState& s) { s.status = "stopped at n = " + std::to_string(n) + ": " + e.what(); });
                break;
            }
        }
        set([&](SweepState& s) {
            s.running = false;
            if (stop.stop_requested()) s.status = "cancelled";
            else if (s.status.rfind("stopped", 0) != 0) s.status = "done";
        });
    } catch (const std::exception& e) {
        set([&](SweepState& s) {
            s.running = false;
            s.status = std::string("failed: ") + e.what();
        });
    }
}

}  // namespace salab::gui
