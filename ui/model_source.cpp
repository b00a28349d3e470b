// apply_model (app_state.h): a real model's Q/K/V stack as the .npy source of the live view.
#include "app_state.h"

#include "model_qkv.h"

#include <algorithm>

namespace salab::ui {

void apply_model(AppState& s, const std::string& dir, int layer) {
    const ModelQkv m = load_model_qkv(dir);
    layer = std::clamp(layer, 0, m.layers - 1);
    Params& p = s.params;
    p.source = QkvSource::npy;
    p.q_path = m.files[size_t(layer)].q;
    p.k_path = m.files[size_t(layer)].k;
    p.v_path = m.files[size_t(layer)].v;
    p.d = m.d;
    if (p.pattern.is_flat()) p.heads = m.heads;
    if (p.pattern.n != m.n) set_tokens(s, m.n);
    s.view.head = std::clamp(s.view.head, 0, m.heads - 1);
    s.model = ModelRef{dir, layer, m.layers, m.tokens};
}

}  // namespace salab::ui
