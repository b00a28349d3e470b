// The live worker's mailbox: where the GUI posts its newest request and the worker picks the one
// to compute. The newest request always wins (an older one is replaced, never queued), and a
// request posted while a slider is being dragged is held back until the drag ends or the hand
// stops: the latest frame of the drag had the pointer still, kLiveSettleMs after it last moved (or
// kLiveMaxHoldMs after the value changed, when the pointer keeps moving without changing it). A drag from
// radius 1 to 64 computes the value it stops at, not the 60 it passed (issue 16, "a drag renders
// every intermediate mask"), however slow the frames are (on a loaded CPU a frame can take longer
// than the settle time; a frame whose pointer moved is no pause). Meanwhile the views keep the last
// finished figure, veiled as "updating" (their generation is older).
//
// No threads or clocks of its own: the caller locks it and passes the time, so tests drive it.
//
//   mailbox.post(req, drag, now);              // every change, every frame of a drag, its end
//   if (auto job = mailbox.due(now)) work(*job);
//   else if (auto at = mailbox.due_at()) wait_until(*at);  // a held value that settles then
//   else wait_for_post();
#pragma once

#include "live_problem.h"

#include <chrono>
#include <optional>

namespace salab {

// How long a dragged value has to hold still before it is computed: longer than the gap between
// two frames of a moving drag (16-50 ms), short enough to read as "live" when the hand stops.
inline constexpr int kLiveSettleMs = 150;
// A drag whose pointer moves but whose value stays (a coarse slider, a wiggle) is computed after this.
inline constexpr int kLiveMaxHoldMs = 600;

// What the pointer does while the request is posted: no widget held (none), a widget held with the
// pointer moving this frame (moving) or still (still).
enum class Drag { none, moving, still };
class LiveMailbox {
public:
    using Clock = std::chrono::steady_clock;

    // Replaces the pending request. `drag`: whether a widget is held (ImGui::IsAnyItemActive) and
    // whether the pointer moved this frame. Post every frame of a drag: a Drag::still post says the
    // hand has stopped; a Drag::none one (the release, or any post without a held widget) makes the
    // request due at once. A repost of the same generation keeps the time of its last change.
    void post(const LiveRequest& req, Drag drag, Clock::time_point now);
    // The request to work on at `now`: the newest, unless it is a drag that still moves.
    std::optional<LiveRequest> due(Clock::time_point now) const;
    // When the pending request becomes due (now or earlier when it is due already); nullopt
    // when nothing is posted.
    std::optional<Clock::time_point> due_at() const;
    // The newest generation posted (held or not), 0 before the first post.
    uint64_t newest_gen() const { return pending_ ? pending_->gen : 0; }

private:
    std::optional<LiveRequest> pending_;
    bool dragging_ = false;
    bool held_ = false;            // the latest drag frame had the pointer still
    Clock::time_point moved_{};    // when the pointer last moved (a Drag::moving post)
    Clock::time_point changed_{};  // when pending_'s generation was first posted
};

}  // namespace salab
