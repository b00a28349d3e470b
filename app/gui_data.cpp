#include "gui_data.h"

#include "npy.h"
#include "synthetic.h"

#include <utility>

namespace salab::gui {

Qkv make_qkv(const ui::Params& p, int heads) {
    const int64_t n = p.pattern.n, d = p.d;
    Qkv r;
    if (p.source == ui::QkSource::npy) {
        r.q = read_qkv(p.q_path, heads, n, d);
        r.k = read_qkv(p.k_path, heads, n, d);
        r.v = p.v_path.empty() ? r.k : read_qkv(p.v_path, heads, n, d);
        return r;
    }
    // The engine's generator, so the GUI shows the same data as `salab-cli run` and render.
    QKV g = salab::make_qkv(heads, n, d, p.data_seed,
                            p.source == ui::QkSource::structured ? QkvSource::structured : QkvSource::gaussian);
    r.q = std::move(g.q);
    r.k = std::move(g.k);
    r.v = std::move(g.v);
    return r;
}

}  // namespace salab::gui
