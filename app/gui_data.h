// Q, K, V for the GUI: the engine's synthetic sources (structured: local bands, an attention
// sink on the first tokens, content clusters; or Gaussian), or the user's .npy files. All
// float32 [heads, n, d].
#pragma once

#include "app_state.h"

#include <vector>

namespace salab::gui {

struct Qkv {
    std::vector<float> q, k, v;
};

// Throws InputError (bad .npy files, shapes).
Qkv make_qkv(const ui::Params& p, int heads);

}  // namespace salab::gui
