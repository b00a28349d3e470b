// apply_model (app_state.h): a real model's Q/K/V stack as the .npy source of the live view;
// restore_model (session.h), which reopens the stack a session names.
#include "app_state.h"
#include "errors.h"
#include "session.h"

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

std::string restore_model(AppState& s) {
    if (s.model.dir.empty()) return "";
    const ModelRef want = s.model;
    try {
        apply_model(s, want.dir, want.layer);
        return "";
    } catch (const InputError& e) {
        // The stack's files are gone: a session that reads them would fail in every view.
        s.model = ModelRef{};
        if (s.params.source == QkSource::npy) {
            s.params.source = QkSource::structured;
            s.params.q_path.clear();
            s.params.k_path.clear();
            s.params.v_path.clear();
        }
        std::string what = e.what();
        if (what.size() > 160) what = what.substr(0, 157) + "...";
        return "session: model " + want.dir + " not reopened (" + what + "); using the structured source";
    }
}

}  // namespace salab::ui
