// A/B compare of two patterns at the same n: each one's statistics (density, kept pairs, kept
// attention mass and output error against dense attention on the synthetic source, hops) and
// the overlap of their masks (pairs only A keeps, only B, both). CPU only; the GPU time is the
// caller's (salab-cli compare, the GUI) since it needs a device.
//
//   Problem a = prepare_problem(pa, po), b = prepare_problem(pb, po);
//   CompareReport r = compare_problems(a, b);
//   r.overlap.a_only, r.b.kept_mass / r.a.kept_mass, to_json(r)
#pragma once

#include "hops.h"
#include "mask.h"
#include "palette.h"
#include "problem.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace salab {

// Pairs (i, j) of one head kept by A only, by B only, by both; exact (one row walk of each).
struct MaskOverlap {
    int64_t a_only = 0, b_only = 0, both = 0;
    int64_t pairs = 0;  // n * n
    bool operator==(const MaskOverlap&) const = default;
};
// Throws InputError when the masks' n differ.
MaskOverlap mask_overlap(const HeadMask& a, const HeadMask& b);

// The overlap as a picture of at most `cells` x `cells` cells over all n x n pairs: each cell
// the colour of its most common class (A only, B only, both; kEmptyRgb when neither keeps any
// pair there), every row counted. Row-major, top row first. O(kept pairs of A and B).
struct OverlapGrid {
    int cells = 0;
    int64_t tokens_per_cell = 1;
    std::vector<Rgb8> colors;
};
OverlapGrid overlap_grid(const HeadMask& a, const HeadMask& b, int cells);

// The overlap as a figure panel (figure.h): title, token axes, the A only / B only / both legend
// and the counts in the caption.
struct PanelData;
PanelData overlap_panel(const std::string& a_name, const std::string& b_name, const HeadMask& a, const HeadMask& b,
                        int cells);
// The A/B figure of salab-cli compare --out: A's mask, B's mask and their overlap, one row of
// three panels (each with title, token axes, legend and caption) at `cells` cells per side.
struct FigureSpec;
FigureSpec compare_figure(const std::string& a_name, const std::string& b_name, const HeadMask& a, const HeadMask& b,
                          int cells);

struct PatternStats {
    std::string name;
    int64_t n = 0;
    int heads = 0;
    int64_t kept_pairs = 0;  // over all heads of the layer
    double density = 0;      // kept pairs / (heads * n * n)
    // Quality of head 0 against dense attention on the same Q/K/V: the mean over rows of the
    // dense weight on kept pairs, and max |O_sparse - O_dense| / max |O_dense| over those rows.
    double kept_mass = 0;
    double output_error = 0;
    int64_t rows_used = 0;
    bool sampled = false;  // rows_used < n: evenly spaced rows
    // Hops of the whole stack (exact up to n = 4096, sampled sources above); empty with a
    // reason when the analysis does not fit.
    std::optional<HopsReport> hops;
    std::string hops_missing;
    std::optional<double> sparse_ms;  // filled by the caller with a device
    std::string time_missing;
    std::string path;                 // the kernel variant timed
};

struct CompareOptions {
    int64_t exact_rows_up_to = 4096;  // n above this: quality on `sample_rows` evenly spaced rows
    int64_t sample_rows = 256;
    bool hops = true;
    HopsOptions hops_options;
};

struct CompareReport {
    PatternStats a, b;
    MaskOverlap overlap;  // head 0 of the layer
    int layer = 0;
};

// Statistics of one prepared problem (its layer; hops over every layer of its pattern).
PatternStats pattern_stats(const Problem& p, const CompareOptions& o = {});
// Both problems must have the same n; throws InputError otherwise.
CompareReport compare_problems(const Problem& a, const Problem& b, const CompareOptions& o = {});

// B / A, or nullopt when A is 0 (and B is not).
std::optional<double> ratio(double a, double b);

std::string to_json(const CompareReport& r);
// The two-column text table (A, B, B/A) and the overlap lines.
std::string to_text(const CompareReport& r);

}  // namespace salab
