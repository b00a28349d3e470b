// Input that ImGui 1.86 would otherwise lose, fed to ImGuiIO once per frame.
//
// KeyEventQueue: ImGui 1.86 samples io.KeysDown[] once per frame, and its GLFW backend writes
// that array straight from the key callback, so a press and its release inside one frame (a fast
// typist, xdotool, a remote desktop) never reach ImGui: Enter never leaves a text field, and while
// the field stays active every shortcut is dead. The queue keeps the events in order and applies
// them with at most one transition per key per frame (the "trickle" ImGui 1.87 adopted).
//
// DeferredClick: a click that also starts a double-click must not act as a click. The click is
// held for the double-click time and dropped when the second click comes.
//
// Both are pure ImGui (no GLFW): tested on a headless ImGui context.
#pragma once

#include <imgui.h>

#include <array>
#include <cstdint>
#include <deque>
#include <optional>

namespace salab::ui {

// Key indices (io.KeysDown) of the modifier keys, left and right (the backend's key codes).
struct ModifierKeys {
    std::array<int, 2> ctrl{-1, -1}, shift{-1, -1}, alt{-1, -1}, super{-1, -1};
};

class KeyEventQueue {
public:
    explicit KeyEventQueue(ModifierKeys mods = {}) : mods_(mods) {}
    // A key went down (press or auto-repeat) or up. Keys outside io.KeysDown are ignored.
    void push(int key, bool down);
    // Before ImGui::NewFrame: applies queued events in order until one would change a key a second
    // time this frame, and sets the modifier flags. Returns true while events are left (the caller
    // should draw another frame soon).
    bool apply(ImGuiIO& io);
    bool empty() const { return events_.empty(); }

private:
    struct Event {
        int key;
        bool down;
    };
    ModifierKeys mods_;
    std::deque<Event> events_;
};

class DeferredClick {
public:
    // A click at time t (seconds) on `what` (e.g. the query under the pointer then).
    void click(double t, int64_t what);
    // The second click of a double-click: the held click is dropped.
    void double_click() { held_.reset(); }
    // The held click once `hold_s` (io.MouseDoubleClickTime) has passed without a double-click.
    std::optional<int64_t> take(double t, double hold_s);
    bool pending() const { return held_.has_value(); }

private:
    struct Held {
        double t;
        int64_t what;
    };
    std::optional<Held> held_;
};

}  // namespace salab::ui
