// Block masks from the components' block geometry: the block lists, full/partial classes,
// partial bitmasks and gather tables computed per query block in O(listed blocks), without
// walking token rows. What plan_kernel builds the kernel's mask with (compute/kernel_plan.h).
//
// Every listed block is classified from the components' block-level geometry: a component
// either covers a key block fully (dense, a window's interior, a BigBird block whose size is a
// multiple of the mask block, a fixed layout's own block), keeps row-invariant columns of it
// (global columns, fixed summaries), keeps whole rows (global rows), or keeps a pattern that
// depends only on the key block's offset from the query block (window edges, strided, a fixed
// layout's own-block edges, the causal diagonal). Bitmasks of the last kind are evaluated once
// per distinct (offset, phase, rows, columns) and shared by every query block that needs them,
// so the cost is the size of the output, not n x keys.
//
// The content equals compile_block_mask(heads, block, threads, gather) — the CPU oracle —
// entry by entry (same key blocks in the same order, same full/partial class, same bitmasks
// and gathered keys); only where a bitmask or gather block is stored may differ (this builder
// shares bitmasks across the whole mask). tests/test_block_mask_struct.cpp checks that.
#pragma once

#include "block_mask.h"

#include <optional>
#include <string>
#include <vector>

namespace salab {

// Why the structural builder cannot build these heads, "" when it can: random, lsh and topk
// components (per-row draws or content), block layouts whose block is not a multiple of `block`.
std::string structural_block_mask_unsupported(const std::vector<HeadMask>& heads, int block);

// The block mask of `heads` (as compile_block_mask), or nullopt when unsupported (then use
// compile_block_mask). block: 32, 64 or 128; threads 0: available CPUs.
std::optional<BlockMask> build_block_mask_structural(const std::vector<HeadMask>& heads, int block = 64,
                                                     int threads = 0, bool gather = false);

// True when every head keeps every pair (a dense component), all with the same causal flag:
// such heads need no block mask at all (plan_dense). causal gets the heads' flag.
bool heads_are_dense(const std::vector<HeadMask>& heads, bool& causal);

}  // namespace salab
