// The guided tour (salab --tour): a fixed list of chapters, each a pattern plus view settings,
// and for each chapter a page of 2-4 sentences whose every number is computed here from the
// engine (masks, hop analysis, block masks, the CPU softmax) for the pattern the user is looking
// at. No number is typed into the text: tests/test_tour.cpp recomputes each fact independently,
// so the words cannot drift from what the engine does.
//
// Usage:
//   const std::vector<TourChapter>& ch = tour_chapters();
//   LiveParams p; p.pattern = ch[k].pattern;            // what the GUI shows for chapter k
//   TourPage page = tour_page(k, p, ch[k].token, {});  // sentences + the facts behind them
//   double keys = page.fact("keys");                     // throws std::out_of_range if absent
//
// Engine only: no ImGui. Cost: at the chapters' sizes (n <= 4,096) a page takes a few to a few
// hundred milliseconds (the window chapters run a hop analysis over n / w layers); compute it
// once per change of the params, not per frame. A page for a pattern above tour_max_tokens is
// computed on the chapter's own pattern instead (and says so).
#pragma once

#include "live_types.h"

#include <optional>
#include <string>
#include <vector>

namespace salab {

struct TourChapter {
    std::string key;    // stable id: "dense", "window", ... (session files store the index)
    std::string title;
    Pattern pattern;    // what the chapter sets
    int64_t token = 0;  // the token the chapter points at (hop token / inspected row)
    bool show_blocks = false;
    bool color_by_component = false;
    bool hop_to = true;  // hop map: hops to the token (else from it)
};

// The chapters in order (8-12 of them). The same list every call.
const std::vector<TourChapter>& tour_chapters();

// What the GUI has measured for the current params (the quality/cost chapter quotes them).
struct TourMeasurements {
    std::optional<double> kept_mass;  // dense attention mass on kept pairs, mean over rows
    std::optional<double> rel_error;  // relative output error of the sparse layer vs dense
    std::optional<double> sparse_ms, dense_ms;
    std::string device;
};

struct TourFact {
    std::string name;
    double value = 0;
};

struct TourPage {
    std::string title;
    std::vector<std::string> sentences;  // 2-4, numbers from `facts`
    std::vector<TourFact> facts;         // every number the sentences quote, by name
    std::string note;                    // why the page is about the chapter's own pattern, or ""
    // Value of a named fact; throws std::out_of_range when the page has none of that name.
    double fact(const std::string& name) const;
    bool has(const std::string& name) const;
};

// Larger patterns are not analysed on the UI's behalf: the page uses the chapter's pattern.
inline constexpr int64_t tour_max_tokens = 16384;

// The page of chapter k (0-based) for params p, pointing at `token`. The facts come from p when
// its pattern has the chapter's structure (the same component types in the same order) and
// n <= tour_max_tokens, else from the chapter's pattern (note says so). Throws std::out_of_range
// for k outside the chapters, InputError when p's Q/K/V cannot be made (bad .npy files).
TourPage tour_page(int k, const LiveParams& p, int64_t token, const TourMeasurements& m);

// Mean over `rows` evenly spread query rows of the dense softmax(q.k / sqrt(d)) mass on the keys
// the mask keeps (double accumulation): the "kept attention mass" of one head. head h of qkv.
double kept_mass_cpu(const HeadMask& mask, const QKV& qkv, int h, int64_t d, int64_t rows);

// "1,000", "4,194,304": integers with thousands separators (the tour's numbers).
std::string tour_int(double v);

}  // namespace salab
