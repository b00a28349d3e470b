// libFuzzer: parse_pattern on arbitrary bytes. Must never crash, leak or hit UB: either an
// InputError (one line) or a pattern that survives to_json -> parse_pattern unchanged and whose
// masks (at a small n) agree row by row with the pair test.
#include "mask.h"
#include "pattern.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace salab;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    Pattern p;
    try {
        p = parse_pattern(text);
    } catch (const InputError& e) {
        const std::string_view what = e.what();
        if (what.empty() || what.find('\n') != std::string_view::npos) std::abort();  // one line
        return 0;
    }
    if (!(parse_pattern(to_json(p)) == p)) std::abort();
    // Rows of every head at a small n (content components need Q/K: skipped).
    if (p.needs_qk()) return 0;
    try {
        p = with_n(p, std::min<int64_t>(p.n, 70));
    } catch (const InputError&) {
        return 0;  // e.g. a global token past the smaller n
    }
    std::vector<int32_t> row;
    std::vector<KeyRun> runs;
    for (const Layer& l : p.layers)
        for (const HeadPattern& h : l.heads) {
            const HeadMask m(h, p.n);
            for (int64_t i = 0; i < p.n; ++i) {
                m.row(i, row);
                m.row_runs(i, runs);
                size_t in_runs = 0;
                for (const KeyRun& r : runs) in_runs += size_t(r.hi - r.lo);
                if (in_runs != row.size()) std::abort();
                for (int32_t j : row)
                    if (!m.kept(i, j)) std::abort();
            }
            QueryBlockRuns q;
            m.query_block_runs(0, p.n, q);
        }
    return 0;
}
