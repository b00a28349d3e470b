// Everything about one query of one head, for the GUI's query inspector and tests: its kept keys
// grouped by the component that keeps them (a BigBird block component split into its window,
// global and random parts), as key ranges, and the kernel blocks of its query block (key block,
// full or partial, and whether this row has keys there).
#pragma once

#include "block_mask.h"
#include "mask.h"

#include <cstdint>
#include <string>
#include <vector>

namespace salab {

struct KeyRange {
    int64_t first = 0, last = 0;  // inclusive
    bool operator==(const KeyRange&) const = default;
};

struct QueryPart {
    std::string label;              // "window", "global", "block: random", ...
    int component = 0;              // index in the head's components
    int64_t keys = 0;
    std::vector<KeyRange> ranges;   // sorted, disjoint, non-touching
};

struct QueryBlock {
    int64_t key_block = 0;      // J (for gathered entries: the gather block's index)
    bool partial = false;
    bool gathered = false;
    int64_t row_keys = 0;       // keys of this query inside the block (0: visited for the others)
};

struct QueryInspection {
    int64_t query = 0;
    int64_t keys = 0;                 // row(i).size()
    std::vector<QueryPart> parts;     // one or more per component; keys may be in several
    int64_t query_block = 0;
    std::vector<QueryBlock> blocks;   // the query block's entries in the block mask
};

// Throws std::out_of_range for i outside [0, n); blocks empty when `blocks` is null or has fewer
// heads than `head`.
QueryInspection inspect_query(const HeadMask& mask, int64_t i, const BlockMask* blocks = nullptr, int head = 0);

// Which rule of a BigBird block component keeps (i, j): "window", "global", "random", or
// "not kept" (the component's own rules; causal applies to the union).
const char* block_rule(const Component& c, int64_t i, int64_t j, int64_t n, bool causal);
// The kernel's block that holds (i, j) for `head`: "full", "partial" or "skipped" (a pair the
// plan reaches through a gathered block only reads as skipped here).
const char* kernel_block_kind(const BlockMask& blocks, int head, int64_t i, int64_t j);

// Sorted unique keys as inclusive ranges.
std::vector<KeyRange> key_ranges(const std::vector<int32_t>& keys);

}  // namespace salab
