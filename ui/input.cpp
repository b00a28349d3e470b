#include "input.h"

#include <algorithm>
#include <vector>

namespace salab::ui {

void KeyEventQueue::push(int key, bool down) {
    if (key < 0 || key >= int(IM_ARRAYSIZE(ImGuiIO{}.KeysDown))) return;
    events_.push_back({key, down});
}

bool KeyEventQueue::apply(ImGuiIO& io) {
    std::vector<int> changed;
    while (!events_.empty()) {
        const Event e = events_.front();
        if (io.KeysDown[e.key] != e.down) {
            // A second change of this key waits for the next frame, and so does everything after it
            // (Ctrl down, S down, S up, Ctrl up: Ctrl+S this frame, both releases the next).
            if (std::find(changed.begin(), changed.end(), e.key) != changed.end()) break;
            io.KeysDown[e.key] = e.down;
            changed.push_back(e.key);
        }
        events_.pop_front();
    }
    const auto held = [&](const std::array<int, 2>& k) {
        return (k[0] >= 0 && io.KeysDown[k[0]]) || (k[1] >= 0 && io.KeysDown[k[1]]);
    };
    io.KeyCtrl = held(mods_.ctrl);
    io.KeyShift = held(mods_.shift);
    io.KeyAlt = held(mods_.alt);
    io.KeySuper = held(mods_.super);
    return !events_.empty();
}

void DeferredClick::click(double t, int64_t what) { held_ = Held{t, what}; }

std::optional<int64_t> DeferredClick::take(double t, double hold_s) {
    if (!held_ || t - held_->t < hold_s) return std::nullopt;
    const int64_t what = held_->what;
    held_.reset();
    return what;
}

}  // namespace salab::ui
