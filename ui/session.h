// Sessions: the pattern, the other Params and the view settings as one JSON file, so a user can
// save what they were looking at and open it again (or send it to someone).
#pragma once

#include "app_state.h"

#include <string>
#include <string_view>

namespace salab::ui {

// {"salab_session": 1, "pattern": {...}, "params": {...}, "view": {...}, "model": {"dir", "layer"}}
// ("model" only when a model stack is loaded; sessions without it load as before).
std::string session_to_json(const AppState& s);
// Throws InputError with a one-line reason ("session: ...") on bad JSON or a bad pattern.
// Missing fields keep their defaults. The model's directory and layer are read into s.model but
// not opened: restore_model does that.
AppState session_from_json(std::string_view text);

// Reopens the model stack a loaded session names (s.model.dir, s.model.layer) with apply_model.
// Returns "" when there is none or it opened; otherwise clears s.model, moves a .npy source back
// to the structured one and returns a one-line message saying so (for the status line).
std::string restore_model(AppState& s);

void save_session(const std::string& path, const AppState& s);  // throws InputError
AppState load_session(const std::string& path);                  // throws InputError

}  // namespace salab::ui
