// Hop analysis: how many attention layers information needs to cross the sequence.
//
// Semantics (DESIGN.md "Hops: exact semantics"): one layer moves information from key j to
// query i when M(i, j) = 1, an edge j -> i; residual connections keep each token's own
// information, so every token reaches itself in 0 hops. After a step, token i holds itself
// plus what each of its kept keys held before the step. hops(j -> i) is the number of steps
// of the shortest such chain.
//
// Stacks: step s (1-based) uses layer (s - 1) % num_layers, the heads of a layer united.
// When more steps are needed than the stack has layers, the stack is CYCLED (layer 0 again
// after the last one), as if the model were run again on its own output; a flat pattern is
// one layer repeated. max_layers (the CLI's `--layers L`) caps the steps.
//
// Pairs: the required pairs are the ordered pairs (j, i), j != i (self pairs are 0 hops and
// left out of counts, fractions and means); with causal_pairs only those with j < i. Pass
// causal_pairs = hops_causal_pairs(pattern): every head of every layer is causal.
//
// Algorithm: bit-parallel frontier expansion. A batch of 64 or 128 source tokens is one bit
// each in a few words per token; one step is reach[i] |= OR over keys j of reach[j], done
// only for tokens one of whose keys changed since the last step with that layer. A batch ends
// when all its required pairs are reached or nothing can change anymore (a fixpoint).
// Batches run on std::thread workers. Up to exact_threshold tokens every token is a source
// (exact); above it, sample_sources seeded, distinct tokens are (exact = false) and every
// count, fraction, mean and eccentricity is over the sampled pairs (s, i), s a sampled source.
//
// Usage:
//   salab::HopsGraph g(stack);                       // once per pattern and n
//   salab::HopsReport r = salab::analyze_hops(g, salab::hops_causal_pairs(pattern));
//   std::puts(salab::to_json(r).c_str());
//   salab::TokenHops t = salab::token_hops(g, 17);   // the GUI's hop map for token 17
#pragma once

#include "mask.h"
#include "pattern.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace salab {

// Layers of heads, each head a token-exact Csr (row i's cols: keys j that query i reads).
using HopsStack = std::vector<std::vector<Csr>>;

// True when every head of every layer is causal: then only pairs j <= i are required.
inline bool hops_causal_pairs(const Pattern& p) {
    for (const Layer& layer : p.layers)
        for (const HeadPattern& head : layer.heads)
            if (!head.causal)
                return false;
    return !p.layers.empty();
}

// The stack compiled for hop analysis: per layer the union of its heads' edges (self edges
// dropped: the residual already keeps them) and its transpose. Build once, query many times;
// const methods and the functions below may run concurrently on one HopsGraph.
class HopsGraph {
  public:
    struct Adjacency {
        std::vector<int64_t> in_ptr;  // n + 1
        std::vector<int32_t> in;      // keys j of query i, sorted, unique, j != i
        std::vector<int64_t> out_ptr; // n + 1
        std::vector<int32_t> out;     // queries i that read key j, sorted
        bool operator==(const Adjacency&) const = default;
    };

    // Throws std::invalid_argument for an empty stack, a layer without heads, heads of
    // different n, or a malformed Csr (row_ptr not of size n + 1 / not non-decreasing from 0,
    // a col outside [0, n)). Cols need not be sorted or unique.
    explicit HopsGraph(const HopsStack& stack);
    explicit HopsGraph(const Csr& flat) : HopsGraph(HopsStack{{flat}}) {}

    int64_t n() const { return n_; }
    // Layers of the stack as given.
    int stack_layers() const { return stack_layers_; }
    // Smallest period of the stack's layer sequence (1 when all layers are equal): the
    // distinct graphs that the steps cycle through.
    int period() const { return static_cast<int>(layers_.size()); }
    // The graph of layer p of the period, p in [0, period()).
    const Adjacency& layer(int p) const { return layers_[static_cast<size_t>(p)]; }
    // The graph that step s >= 1 uses.
    const Adjacency& at_step(int64_t s) const {
        return layers_[static_cast<size_t>((s - 1) % period())];
    }

  private:
    int64_t n_ = 0;
    int stack_layers_ = 0;
    std::vector<Adjacency> layers_;
};

struct HopsOptions {
    // Step cap L (the CLI's --layers). 0: max(4, period) * n, which provably never stops
    // before a fixpoint (each source gains a token at least once every `period` steps until
    // it stops growing). A smaller cap counts pairs not reached within L as unreachable and,
    // if the analysis could still have progressed, sets HopsReport::capped.
    int64_t max_layers = 0;
    // n <= exact_threshold: every token is a source (exact). Above: sample_sources sources.
    int64_t exact_threshold = 4096;
    int64_t sample_sources = 256;
    uint64_t seed = 0x5a1ab; // the sampled sources depend only on (seed, n, sample_sources)
    // Worker threads; 0: available_cpus() (threads.h).
    int threads = 0;
    // Cancellation: when stop is requested the call returns early with cancelled = true
    // (every other field then meaningless). Checked once per step of every batch.
    std::stop_token stop;
    // Called with the fraction of source batches done, in (0, 1], after each batch. Runs on a
    // worker thread; calls are serialised (never concurrent) but must not block for long.
    std::function<void(double)> progress;
};

struct HopsReport {
    int64_t n = 0;
    bool exact = true;
    int64_t sources = 0;                // source tokens used: n when exact
    std::vector<int32_t> source_tokens; // the sampled sources, ascending; empty when exact
    bool causal_pairs = false;
    int stack_layers = 0;   // layers in the stack (cycled when steps exceed it)
    int64_t layers_cap = 0; // the step cap L used (max_layers or its default)
    int64_t steps = 0;      // steps run by the longest batch
    bool capped = false;    // stopped at the cap while pairs were unreached and could progress
    bool cancelled = false;

    int64_t required_pairs = 0;    // (j, i), j != i, j a source; j < i when causal_pairs
    int64_t unreachable_pairs = 0; // required pairs not reached within the cap
    std::optional<int> diameter;   // max hops over required pairs; empty if any unreached
    double mean_hops = 0;          // over reached required pairs; 0 when none
    // reach_after_layers[k - 1]: fraction of required pairs reached within k steps, for
    // k = 1 .. K, K the last step that reached a new pair (at least 1; the cap when capped).
    // The curve is flat after K. 1.0 when there are no required pairs.
    std::vector<double> reach_after_layers;
    // eccentricity[i] = max over required sources j of hops(j -> i): how many layers token i
    // needs to have heard from everyone. -1 if some required source never reaches i.
    // 0 for a token with no required source (token 0 under causal_pairs).
    std::vector<int> eccentricity;

    double ms = 0; // wall time of the analysis, graph build excluded
};

// Throws std::invalid_argument for a bad option (negative max_layers, exact_threshold or
// sample_sources < 1).
HopsReport analyze_hops(const HopsGraph& g, bool causal_pairs, const HopsOptions& opts = {});
// Compiles the stack (throws as HopsGraph does) and analyses it.
HopsReport analyze_hops(const HopsStack& stack, bool causal_pairs, const HopsOptions& opts = {});

// One JSON object: n, exact, sources, causal_pairs, stack_layers, layers_cap, steps, capped,
// cancelled, required_pairs, unreachable_pairs, diameter (int or null), mean_hops,
// reach_after_layers (list), eccentricity {min, mean, max (over tokens with one; null if
// none), unreachable_tokens, values (only with full_eccentricity)}, ms.
std::string to_json(const HopsReport& r, bool full_eccentricity = false);

// The GUI's hop map for one token t: from[i] = hops(t -> i), to[j] = hops(j -> t), -1 when not
// reached within the cap (opts.max_layers or its default). Uses opts' cap, threads, stop.
// Cost: `from` is one single-source expansion; `to` is a reverse BFS when period() == 1, and
// for stacks of differing layers (time-dependent paths) a bit-parallel pass over all sources
// that stops once t has heard from them all. Throws std::out_of_range for t outside [0, n).
struct TokenHops {
    std::vector<int> from;
    std::vector<int> to;
    bool capped = false;
    bool cancelled = false;
};
TokenHops token_hops(const HopsGraph& g, int64_t t, const HopsOptions& opts = {});

// Theory: a bidirectional (or causal, over j <= i) window of radius w on n tokens has diameter
// ceil((n - 1) / w); unreachable (empty) when w == 0 and n >= 2.
std::optional<int64_t> theory_diameter_window(int64_t n, int64_t radius);

} // namespace salab
