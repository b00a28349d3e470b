// Block mask: the form the GPU kernels consume. For each (head, query block) a list of the key
// blocks to visit, each either full (every pair kept; no per-element test) or partial (a
// bitmask of block x block bits). Blocks with no kept pair are never listed.
//
// Memory is O(listed blocks + partial blocks * block^2 / 8); nothing n x n is allocated.
#pragma once

#include "mask.h"
#include "shared.h"  // the entry encoding (gpu::kPartialBit, kGatherBit, kIndexMask, kNoKey)

#include <cstdint>
#include <vector>

namespace salab {

struct BlockMask {
    int64_t n = 0;
    int block = 64;          // query and key block size, a multiple of 32
    int heads = 0;           // heads of the layer, all in one structure
    int64_t num_blocks = 0;  // ceil(n / block), for queries and keys alike

    // Entries of (head h, query block I): [row_ptr[h*num_blocks+I], row_ptr[h*num_blocks+I+1]).
    std::vector<uint32_t> row_ptr;
    // Two words per entry: key block J with the partial/gathered flags (read it with
    // decode_entry), then the index of its bitmask in `bits` (in units of one block's bitmask;
    // 0 for full blocks).
    std::vector<uint32_t> entries;
    // Bitmasks of partial blocks: `block` rows of block/32 words; bit (j % 32) of word j / 32 in
    // row r is key J*block + j for query I*block + r. Positions past n are 0. Entries with the
    // same bitmask may share one (a window's edge blocks repeat in every query block), so
    // bits.size() can be far below partial_blocks * words_per_partial().
    std::vector<uint32_t> bits;
    // Gathered entries (gpu::kGatherBit in the first word; only when compiled with gather =
    // true): the index is a gather block here, `block` key indices (gpu::kNoKey for unused
    // slots), and the entry's bitmask columns are those slots instead of contiguous keys.
    std::vector<uint32_t> gather;

    // Exact statistics gathered while compiling.
    int64_t kept_pairs = 0;      // over all heads
    int64_t full_blocks = 0;
    int64_t partial_blocks = 0;
    int64_t min_keys_per_query = 0;
    int64_t max_keys_per_query = 0;
    int64_t empty_rows = 0;
    int64_t gathered_blocks = 0;  // listed entries that are gathered (counted in full/partial too)

    int64_t listed_blocks() const { return full_blocks + partial_blocks; }
    int64_t words_per_row() const { return block / 32; }
    int64_t words_per_partial() const { return int64_t(block) * words_per_row(); }
    // Bytes of the structure as uploaded to the GPU.
    int64_t bytes() const {
        return int64_t(4) * (int64_t(row_ptr.size()) + int64_t(entries.size()) + int64_t(bits.size()) +
                             int64_t(gather.size()));
    }
    double density() const {
        return n == 0 ? 0.0 : double(kept_pairs) / (double(n) * double(n) * double(heads));
    }
};

// The first word of an entry, decoded: the key block (or, when gathered, the gather block) and
// how the kernel reads it. The encoding is shaders/shared.h's, the GPU's.
struct BlockEntry {
    int64_t index = 0;
    bool partial = false;   // per-element bitmask test (the entry's second word indexes `bits`)
    bool gathered = false;  // columns are the keys of gather block `index`
    bool operator==(const BlockEntry&) const = default;
};
constexpr BlockEntry decode_entry(uint32_t w0) {
    return {int64_t(w0 & gpu::kIndexMask), (w0 & gpu::kPartialBit) != 0, (w0 & gpu::kGatherBit) != 0};
}

// What a block mask costs, counted from its entries (views, the GUI's Stats, benchmarks).
struct BlockStats {
    int64_t listed_blocks = 0;  // entries over every head and query block
    int64_t full_blocks = 0;
    int64_t partial_blocks = 0;
    int64_t gathered_blocks = 0;  // listed entries that are gathered (counted in full/partial too)
    int64_t skipped_blocks = 0;   // heads * num_blocks^2 - listed: never visited
    // Token pairs inside the listed blocks: what the kernel computes scores for. An entry covers
    // the rows of its query block (cut at n) times its key block's columns (cut at n), or `block`
    // columns when gathered (unused slots are visited too). visited_pairs / kept_pairs is the
    // work the block structure adds over a token-exact kernel.
    int64_t visited_pairs = 0;
    int64_t kept_pairs = 0;  // over all heads (the compiler's count)
    int64_t empty_rows = 0;
    int64_t keys_min = 0, keys_max = 0;  // kept keys per query row
    double keys_mean = 0.0;
    double density = 0.0;         // kept_pairs / (heads * n^2)
    int64_t stored_bitmasks = 0;  // partial-block bitmasks in `bits` (entries may share one)
    int64_t bytes = 0;            // the structure as uploaded (BlockMask::bytes)
    int64_t csr_bytes = 0;        // the same mask as a token CSR per head (int64 row_ptr, int32 cols)
    int64_t dense_bytes = 0;      // ... as a dense uint8 mask per head
};
BlockStats block_stats(const BlockMask& mask);

// Compiles all heads of one layer. `block` must be 32, 64 or 128. Uses up to `threads`
// CPU threads (0: hardware concurrency).
//
// gather = true packs sparse key blocks: per query block, the key blocks whose union of kept
// columns is at most half a block are merged into gathered blocks of `block` arbitrary keys
// when that lowers the number of blocks the kernel visits (a strided layout with one summary
// column per 128 keys goes from n/64 blocks per query block to a few). Only the attention
// kernels read gathered entries; views, exports and the density kernel take gather = false.
BlockMask compile_block_mask(const std::vector<HeadMask>& heads, int block = 64, int threads = 0,
                             bool gather = false);
// The same from explicit token CSRs (tests, imported masks). Rows must be sorted and unique.
BlockMask compile_block_mask(const std::vector<Csr>& heads, int block = 64, int threads = 0,
                             bool gather = false);

// The gathered form of a mask compiled with gather = false, from its block lists alone (no row
// walk): equal to compiling with gather = true. For callers that need both (the GUI: views on
// the plain mask, timing on the gathered one).
BlockMask gather_blocks(const BlockMask& plain);

// A block mask with every block full (dense attention), for timing and the dense kernel.
BlockMask dense_block_mask(int64_t n, int heads, int block = 64, bool causal = false);

}  // namespace salab
