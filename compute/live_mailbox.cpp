#include "live_mailbox.h"

namespace salab {

void LiveMailbox::post(const LiveRequest& req, bool dragging, Clock::time_point now) {
    if (!pending_ || pending_->gen != req.gen) {
        changed_ = now;
        held_ = false;
    } else if (dragging) {
        held_ = true;
    }
    pending_ = req;
    dragging_ = dragging;
}

std::optional<LiveMailbox::Clock::time_point> LiveMailbox::due_at() const {
    if (!pending_) return std::nullopt;
    if (!dragging_) return changed_;
    if (!held_) return std::nullopt;
    return changed_ + std::chrono::milliseconds(kLiveSettleMs);
}

std::optional<LiveRequest> LiveMailbox::due(Clock::time_point now) const {
    const auto at = due_at();
    if (!at || now < *at) return std::nullopt;
    return pending_;
}

}  // namespace salab
