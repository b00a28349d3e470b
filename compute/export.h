// Exports of a pattern's mask for use outside the lab (`salab-cli export`):
//   --mask   a uint8 .npy: [n, n] for a flat pattern, [layers, heads, n, n] for a stack
//   --blocks FlexAttention-style block lists (JSON), computed from rows (nothing n x n)
//   --flex   a Python file whose mask_mod reproduces the mask exactly, for PyTorch FlexAttention
//            (create_block_mask) or NumPy
//
// Content components (lsh, topk) depend on Q and K. When none are given, every layer uses
// make_qkv(heads of the layer, n, export_qk_dim = 64, seed 0, QkvSource::gaussian) (synthetic.h),
// so exports are deterministic; the exported selections describe that input only.
//
// All functions throw InputError with a one-line reason on bad input.
#pragma once

#include "mask.h"
#include "pattern.h"
#include "synthetic.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace salab {

// Head dimension of the synthetic Q/K used for content components when none are given.
inline constexpr int64_t export_qk_dim = 64;
// Largest n that --mask writes: one n x n uint8 matrix per head is n^2 bytes (1 GiB at 32768).
inline constexpr int64_t max_npy_tokens = 32768;
// Largest total size of the index tables embedded in a --flex file (entries): keeps the file
// a few hundred MiB at most and importable in reasonable time.
inline constexpr int64_t max_flex_table_entries = int64_t(1) << 25;

// masks[layer][head].
using StackMasks = std::vector<std::vector<HeadMask>>;

// The masks of every head of one layer. qkv, when given, is [heads of the layer, n, d] row-major
// (as make_qkv returns); when null and the layer needs Q/K, the synthetic rule above applies.
// Throws InputError when qkv has the wrong size or layer is out of range.
std::vector<HeadMask> build_head_masks(const Pattern& p, int layer, const QKV* qkv = nullptr,
                                       int64_t d = export_qk_dim);
// All layers; the same qkv (if any) for every layer.
StackMasks build_stack_masks(const Pattern& p, const QKV* qkv = nullptr, int64_t d = export_qk_dim);

// Writes the mask as uint8 0/1, streamed row by row through an AtomicWriter (file_io.h): a
// failed or interrupted export leaves the old file or none. Refuses, before writing anything,
// n > max_npy_tokens, more than max_mask_export_bytes (size_limits.h) in all, and more than the
// target's free space / file-size limit. `progress` gets the fraction of rows written.
void export_mask_npy(const Pattern& p, const StackMasks& masks, const std::string& path,
                     const std::function<void(double)>& progress = {});
void export_mask_npy(const Pattern& p, const std::string& path);
// Bytes of the array (layers * heads * n^2; from the pattern when masks is empty), saturated.
uint64_t mask_npy_bytes(const Pattern& p, const StackMasks& masks);
// The checks export_mask_npy makes before writing; throws InputError.
void check_mask_npy_size(const Pattern& p, uint64_t bytes, const std::string& path);

// FlexAttention BlockMask terms, for every layer and head:
//   {"format": "salab.flex_block_mask.v1", "name", "n", "block_size", "num_q_blocks",
//    "num_kv_blocks", "layers": [{"heads": [{"kv_num_blocks": [..], "kv_indices": [[..], ..],
//    "full_kv_num_blocks": [..], "full_kv_indices": [[..], ..], "kept_pairs": N}, ..]}, ..]}
// As in FlexAttention, kv_* lists the partial blocks (some pairs masked, mask_mod needed) and
// full_kv_* the full blocks (every pair with q, kv < n kept); blocks with no kept pair are not
// listed. Index lists are ascending and ragged (FlexAttention pads them to num_kv_blocks
// columns). A flat pattern is one layer with one head. block_size >= 1.
std::string export_blocks_json(const Pattern& p, const StackMasks& masks, int block_size = 128);
std::string export_blocks_json(const Pattern& p, int block_size = 128);

// A self-contained Python file. Flat pattern: mask_mod(b, h, q_idx, kv_idx) (h ignored).
// Stack: mask_mod_layer0, mask_mod_layer1, ... selecting heads by h, and MASK_MODS = [...].
// Also defines N, LAYERS and HEADS (heads per layer). mask_mod uses only arithmetic,
// comparisons, &, |, ~ and indexing into embedded integer tables (seeded draws, LSH buckets,
// top-k selections), so it broadcasts over torch tensors and numpy arrays alike; tables become
// arrays of q_idx's kind (torch on q_idx's device, else numpy) on first use.
// Throws InputError when the tables would exceed max_flex_table_entries.
std::string export_flex_python(const Pattern& p, const StackMasks& masks);
std::string export_flex_python(const Pattern& p);

// export_flex_python(p) written to `path` through the atomic writer, its size checked against
// the free space first (`salab-cli export --flex` and the GUI advisor's "export mask_mod").
// Throws InputError with one line on any failure; the old file is kept then.
void write_flex_file(const Pattern& p, const std::string& path);

}  // namespace salab
