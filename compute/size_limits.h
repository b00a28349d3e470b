// Size and time limits checked before work starts, so that a hostile or mistaken input is
// refused up front with a one-line InputError naming the limit and what to change, instead of
// allocating gigabytes or running for hours. Every limit and its message is listed in README.md
// ("Limits").
//
// The estimates are upper bounds computed from the components' geometry in O(components) (or
// O(n) for lsh, from its buckets), never by walking the mask.
#pragma once

#include "mask.h"
#include "pattern.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace salab {

// ---- input files -------------------------------------------------------------------------

inline constexpr size_t max_pattern_file_bytes = size_t(64) << 20;  // pattern / session JSON
inline constexpr int max_json_depth = 64;                           // nesting of [ and {

// Throws InputError("<what>: JSON nested deeper than 64 levels at byte N ...") when the text's
// arrays/objects nest deeper than max_depth (strings are skipped). nlohmann's parser is
// iterative, but every recursive walk of a parsed value (dump, destruction, our checks) is not.
void check_json_depth(std::string_view text, std::string_view what, int max_depth = max_json_depth);

// ---- mask size estimates -----------------------------------------------------------------

// Upper bounds over all rows of one head: kept pairs and the key runs HeadMask::row_runs emits
// (the cost of a runs walk: render, --blocks, the block-mask compiler).
struct HeadCost {
    double pairs = 0;
    double runs = 0;
    // Listed 64 x 64 blocks of the head's block mask (from the components' block geometry: a
    // window of radius 256 lists about 10 per query block, not n / 64).
    double blocks = 0;
};
// From the pattern alone; lsh counts as dense (its buckets are not known yet).
HeadCost head_cost(const HeadPattern& head, int64_t n);
// With lsh's buckets known.
HeadCost head_cost(const HeadMask& mask);

// ---- CPU work of content components (checked by HeadMask's constructor) -------------------

// top-k scores every pair: n^2 d multiply-adds on the CPU.
inline constexpr double max_topk_cpu_work = 1.5e11;
// lsh hashes every token: 2 n d (B/2) R multiply-adds.
inline constexpr double max_lsh_cpu_work = 1.5e11;
void check_content_build(const HeadPattern& head, int64_t n, int64_t d);

// ---- per command -------------------------------------------------------------------------

// Throws InputError when `bytes` exceed host_memory_budget(): "<what> needs 12 GiB, more than
// the 8 GiB this machine allows (half its memory; SALAB_MEMORY_LIMIT_MIB overrides): <change>".
void check_host_memory(double bytes, std::string_view what, std::string_view what_to_change);

// hops (CLI, GUI, render --view hops): token CSRs of every head plus the united graph.
double hops_bytes(const std::vector<std::vector<HeadCost>>& layers, int64_t n);
void check_hops(const std::vector<std::vector<HeadCost>>& layers, int64_t n);

// Walks of rows by runs (render --view mask): at most max_row_runs runs.
inline constexpr double max_row_runs = 4e9;
void check_row_walk(const HeadCost& cost, std::string_view what, std::string_view what_to_change);

// The block mask of a layer (64 x 64 blocks): entries are at most min(blocks^2, pairs) per head,
// and at most max_listed_blocks in all (the compile's CPU time and memory grow with them).
inline constexpr double max_listed_blocks = 1e8;
double block_mask_bytes_bound(const std::vector<HeadCost>& heads, int64_t n, int block = 64);
void check_block_mask(const std::vector<HeadCost>& heads, int64_t n, std::string_view what);

// export --mask: layers * heads * n^2 bytes, at most max_mask_export_bytes in all.
inline constexpr uint64_t max_mask_export_bytes = uint64_t(4) << 30;
// export --blocks: the JSON text (at most max_blocks_export_bytes) and the rows-by-blocks walk.
inline constexpr double max_blocks_export_bytes = double(uint64_t(2) << 30);
inline constexpr double max_blocks_export_work = 4e9;
void check_blocks_export(const std::vector<std::vector<HeadCost>>& layers, int64_t n, int block_size);

// GPU kernel time: kept 64 x 64 blocks times d, against a throughput guessed from the device
// type ("cpu": lavapipe/llvmpipe ~1 GFLOP/s; integrated ~0.5 TFLOP/s; discrete ~5 TFLOP/s).
// `blocks` counts every block visit of all dispatches together. Refuses above
// max_kernel_seconds; returns the estimate.
inline constexpr double max_kernel_seconds = 300;
double estimate_kernel_seconds(double blocks, int64_t d, const std::string& device_type);
double check_kernel_time(double blocks, int64_t d, const std::string& device_type, const std::string& device_name,
                         std::string_view what);
// Listed 64 x 64 blocks of one layer, bounded from the heads' costs (dense: every block).
double listed_blocks_bound(const std::vector<HeadCost>& heads, int64_t n, int block = 64);

// run / bench / the GUI worker, before anything is built: layer `layer` of p (with p.n) at
// `heads` heads (a flat pattern's head replicated) and head dimension d. Checks the block
// mask's size and the time of `runs` kernel dispatches (plus `dense_runs` of the dense kernel)
// on the device. Heads with lsh are skipped here (their size is known once hashed: check the
// compiled mask with check_kernel_time then).
void check_attention_problem(const Pattern& p, int layer, int heads, int64_t d, int runs, int dense_runs,
                             const std::string& device_type, const std::string& device_name,
                             std::string_view what);

}  // namespace salab
