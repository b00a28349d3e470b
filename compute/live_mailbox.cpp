#include "live_mailbox.h"

#include <algorithm>

namespace salab {

void LiveMailbox::post(const LiveRequest& req, Drag drag, Clock::time_point now) {
    if (!pending_ || pending_->gen != req.gen) changed_ = moved_ = now;
    if (drag == Drag::moving) moved_ = now;
    held_ = drag == Drag::still;
    pending_ = req;
    dragging_ = drag != Drag::none;
}

std::optional<LiveMailbox::Clock::time_point> LiveMailbox::due_at() const {
    if (!pending_) return std::nullopt;
    if (!dragging_) return changed_;
    // Still: settled kLiveSettleMs after the pointer last moved (or the value last changed).
    if (held_) return std::max(changed_, moved_) + std::chrono::milliseconds(kLiveSettleMs);
    return changed_ + std::chrono::milliseconds(kLiveMaxHoldMs);
}

std::optional<LiveRequest> LiveMailbox::due(Clock::time_point now) const {
    const auto at = due_at();
    if (!at || now < *at) return std::nullopt;
    return pending_;
}

}  // namespace salab
