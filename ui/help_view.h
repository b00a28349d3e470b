// The keyboard shortcuts (handled by the app's frame loop) and the help window listing them.
#pragma once

#include <span>

namespace salab::ui {

struct Shortcut {
    const char* keys;
    const char* action;
};

std::span<const Shortcut> shortcuts();
void draw_help(bool* open);

}  // namespace salab::ui
