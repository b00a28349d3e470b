// libFuzzer: the GUI's session reader (ui/session.cpp, no ImGui) on arbitrary bytes: an
// InputError naming what is wrong, or a state that round-trips.
#include "session.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace salab;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const ui::AppState s = ui::session_from_json(text);
        if (s.params.heads < 1 || s.params.heads > 4096 || s.params.d < 1 || s.params.d > 256) std::abort();
        const ui::AppState back = ui::session_from_json(ui::session_to_json(s));
        if (!(back.params == s.params)) std::abort();
    } catch (const InputError& e) {
        const std::string_view what = e.what();
        if (what.empty() || what.find('\n') != std::string_view::npos) std::abort();
    }
    return 0;
}
