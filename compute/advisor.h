// Pattern advisor: a search over a family of patterns (a base pattern plus parameter ranges) for
// the cheapest patterns that keep the attention that matters, on one head's Q/K/V.
//
// Usage:
//   Family f = parse_family(text);                      // docs/advisor.md: the JSON format
//   AdvisorSource src = make_advisor_source(qkv, n, d, "structured:seed1");   // dense P once
//   AdvisorCache cache;
//   AdvisorOptions o;  o.engine = &engine;              // measured time (null: a cost model)
//   AdvisorResult r = run_advisor(f, src, cache, o, &cancel, progress);
//   r.points, r.front (indices, cheapest first), recommend(r, 0.95)
//
// Every point is measured exactly where the issue asks for it: density and kept pairs from the
// rows; kept mass and output error from the dense probabilities computed once per source (exact
// for n <= exact_threshold; above, `sample_rows` evenly spread rows with a Hoeffding bound);
// hops over at most `layers` layers (compute/hops.h); kernel time from AttentionEngine::run of
// plan_kernel (the path the live view runs). Throws InputError for bad families or sources.
#pragma once

#include "kernel_plan.h"
#include "pattern.h"
#include "synthetic.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace salab {

class AttentionEngine;

// One searched parameter: a component field (or the head's causal flag) over listed values.
struct FamilyParam {
    std::string name;        // shown in tables and the explanation ("radius")
    int component = -1;      // index into base.components; -1 for "causal"
    std::string field;       // radius, first, per_query, stride, block, k, ..., or causal
    std::vector<int64_t> values;  // ascending, distinct (causal: 0, 1)
    bool operator==(const FamilyParam&) const = default;
};

struct Family {
    std::string name;
    Pattern base;  // flat
    std::vector<FamilyParam> params;
    bool operator==(const Family&) const = default;
    // Grid points: product of the params' value counts.
    int64_t size() const;
};

// Most grid points a family may have (the search is linear in them).
inline constexpr int64_t max_family_points = 100000;

// Parses the family JSON (docs/advisor.md). Throws InputError with one line ("family:
// params[1] (globals): field "frist" is not a parameter of a global component ...").
Family parse_family(std::string_view json_text);
Family load_family(const std::string& path);

// The pattern of grid point `index` (mixed radix over params, the first param slowest), named
// after its values ("radius=64 first=4 per_query=0"), at n.
Pattern family_pattern(const Family& f, const std::vector<int>& index, int64_t n);

// The Q/K/V of one head and what is precomputed from them once: dense softmax probabilities
// (bidirectional and causal, made on first use) for the exact rows or the sampled rows, and the
// dense outputs of those rows.
struct AdvisorSource {
    int64_t n = 0, d = 0;
    std::string id;  // names the data for the cache ("structured:seed1", "npy:q.npy,k.npy,v.npy")
    std::vector<float> q, k, v;  // [n, d]
    int64_t exact_threshold = 4096;
    int64_t sample_rows = 1024;  // used when n > exact_threshold
    double confidence = 0.99;    // of the sampled bound
    // Filled by prepare_rows (lazily by run_advisor): rows used (all, or evenly spread samples).
    std::vector<int64_t> rows;
    struct Dense {
        bool ready = false;
        std::vector<float> p;    // rows.size() x n
        std::vector<double> out; // rows.size() x d
        double out_max = 0;
    } dense[2];  // [causal]
    bool exact() const { return n <= exact_threshold; }
    // Half-width of the bound on mean kept mass when sampled (0 when exact): Hoeffding with
    // rows.size() rows, per-row mass in [0, 1], at `confidence`.
    double mass_bound() const;
};
// Takes head 0 of qkv. Throws InputError when sizes do not match.
AdvisorSource make_advisor_source(const QKV& qkv, int64_t n, int64_t d, std::string id, int64_t exact_threshold = 4096,
                                  int64_t sample_rows = 1024);
// Dense probabilities of the used rows (threads); stop polled between row chunks.
void prepare_dense(AdvisorSource& s, bool causal, const std::atomic<bool>* cancel = nullptr);

enum class CostModel {
    measured,  // AttentionEngine::run of plan_kernel, median ms
    density,   // kept pairs / n^2 (tests: no timing noise)
    blocks,    // 64 x 64 blocks the kernel visits
};
std::optional<CostModel> parse_cost_model(std::string_view s);

struct PointMetrics {
    std::vector<int> index;          // grid index per param
    std::vector<int64_t> values;     // the params' values
    Pattern pattern;
    int64_t kept_pairs = 0;
    double density = 0;
    double kept_mass = 0;            // mean over rows of the dense weight kept
    double mass_bound = 0;           // +- at the source's confidence (0: exact)
    double output_error = 0;         // relative_error of the sparse output vs dense, used rows
    std::optional<int> diameter;     // within the layer cap; empty: not everyone reached
    double mean_hops = 0;
    double reach = 0;                // fraction of pairs reached within the layer cap
    int64_t visited_blocks = 0;      // 64 x 64 blocks listed
    double time_ms = 0;              // measured kernel time (0 when not measured)
    double cost = 0;                 // by the cost model
    bool refined = false;            // added by the refinement pass
    bool cached = false;
};

struct AdvisorOptions {
    CostModel cost = CostModel::measured;
    AttentionEngine* engine = nullptr;  // needed for measured; Q/K/V of the source get uploaded
    int layers = 8;                     // hops cap L
    int64_t hop_sources = 64;           // sampled hop sources
    int repeats = 1;                    // timed repeats per point
    // Storage type of the timed runs; empty: f16 on GPUs with fp16 storage and arithmetic (their
    // tensor-core kernels run f16 only), f32 on CPU devices (f16 there only adds conversions).
    std::optional<DType> dtype;
    double warmup_ms = 200;  // GPU busy time before the dense reference (idle clocks ramp up)
    bool refine = true;
};

// Results per (pattern JSON, n, d, source id, cost model).
struct AdvisorCache {
    std::map<std::string, PointMetrics> points;
};

struct AdvisorResult {
    std::vector<PointMetrics> points;
    std::vector<size_t> front;  // non-dominated points (lower cost, higher mass), by cost
    double dense_ms = 0;        // measured dense kernel (0 when not measured)
    double dense_cost = 1;      // by the cost model
    int64_t coarse_points = 0, refined_points = 0, grid_points = 0;
    bool cancelled = false;
    double seconds = 0;
    std::string device;
    std::string path;  // the dense reference's kernel variant ("nv-coopmat2-f16", "tiled-f32")
};

// progress(done, planned): planned grows when refinement adds points. cancel stops between points
// (result.cancelled, points so far).
AdvisorResult run_advisor(const Family& f, AdvisorSource& src, AdvisorCache& cache, const AdvisorOptions& o,
                          const std::atomic<bool>* cancel = nullptr,
                          const std::function<void(int64_t, int64_t)>& progress = {});

// Pareto front of (cost low, mass high) over points passing keep (null: all), by cost ascending.
std::vector<size_t> pareto_front(const std::vector<PointMetrics>& pts,
                                 const std::function<bool(const PointMetrics&)>& keep = {});
// a dominates b: no worse in both, better in one.
bool dominates(const PointMetrics& a, const PointMetrics& b);
// The cheapest point with kept_mass >= budget (ties: higher mass); nullopt when none.
std::optional<size_t> recommend(const AdvisorResult& r, double budget_mass);
// "radius=64 first=4 keeps 96.1% of the mass at 7.9% density, 11.2x faster than dense here".
std::string explain(const AdvisorResult& r, size_t point);
// One JSON object of a point (params, all metrics).
std::string point_json(const PointMetrics& p);

}  // namespace salab
