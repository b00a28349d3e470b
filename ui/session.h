// Sessions: the pattern, the other Params and the view settings as one JSON file, so a user can
// save what they were looking at and open it again (or send it to someone).
#pragma once

#include "app_state.h"

#include <string>
#include <string_view>

namespace salab::ui {

// {"salab_session": 1, "pattern": {...}, "params": {...}, "view": {...}}
std::string session_to_json(const AppState& s);
// Throws InputError with a one-line reason ("session: ...") on bad JSON or a bad pattern.
// Missing fields keep their defaults.
AppState session_from_json(std::string_view text);

void save_session(const std::string& path, const AppState& s);  // throws InputError
AppState load_session(const std::string& path);                  // throws InputError

}  // namespace salab::ui
