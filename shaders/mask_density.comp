#version 450
// Density image of a block mask (the GUI's mask view at any n without n x n host work): one
// invocation per output cell. The cells partition
// a token rectangle per axis (density_shared.h): cell (r, c) covers query rows
// [row0 + floor(r*row_len/cells_y), row0 + floor((r+1)*row_len/cells_y)) and keys likewise,
// both cut at n, and receives kept pairs / pairs of the cell (0 when the cell lies past n).
// Square stride x stride cells are the case row_len = cells_y * stride.
//
// Loop bounds (lavapipe counts the steps of loops it does not unroll against a 65535 budget per
// invocation and silently leaves loops past it): at most `sample_rows` query rows per cell
// (every row when the cell has no more; otherwise rows rbeg + floor(s * rows / sample_rows),
// so the value is an estimate), per row a binary search of the row's block list (<= 17 steps
// for 2^16 blocks) and one step per listed key block overlapping the cell's keys. Keys are
// counted with arithmetic (full blocks) or bitCount over 32-bit words (partial blocks), never
// one by one. The host picks sample_rows so rows * (search + blocks) stays far below the budget.
//
// Reads plain block masks only (compile_block_mask with gather = false).
#extension GL_GOOGLE_include_directive : require
#include "density_shared.h"

layout(local_size_x = 8, local_size_y = 8) in;

layout(std430, binding = kBindO) writeonly buffer DensityBuf { float density_out[]; };
layout(std430, binding = kBindRowPtr) readonly buffer RowPtr { uint row_ptr[]; };
layout(std430, binding = kBindEntries) readonly buffer Entries { uint entries[]; };
layout(std430, binding = kBindBits) readonly buffer Bits { uint bits[]; };

// floor(i * len / cells) without 64-bit arithmetic; the host guarantees i * (len % cells)
// fits 32 bits (len % cells == 0, or cells < 65536).
uint cell_edge(uint i, uint len, uint cells) { return i * (len / cells) + (i * (len % cells)) / cells; }

// Keys of [kbeg, kend) kept by entry (w0, w1) for query `row`; the entry's block overlaps it.
uint entry_count(uint w0, uint w1, uint row, uint kbeg, uint kend) {
    const uint base = (w0 & kIndexMask) * kBlock;
    const uint lo = max(kbeg, base), hi = min(kend, base + kBlock);
    if (hi <= lo) return 0u;
    if ((w0 & kPartialBit) == 0u) return hi - lo;  // full block: every in-range key (kend <= n)
    const uint wpr = kBlock / 32u;
    const uint row_base = w1 * kBlock * wpr + (row % kBlock) * wpr;
    uint count = 0u;
    for (uint w = 0u; w < wpr; ++w) {  // constant trip count: unrolled
        const uint wb = base + 32u * w;
        const uint a = clamp(lo, wb, wb + 32u) - wb, b = clamp(hi, wb, wb + 32u) - wb;
        if (b > a) {
            const uint upper = b >= 32u ? 0xffffffffu : ((1u << b) - 1u);
            const uint lower = (1u << a) - 1u;  // a < 32 here
            count += uint(bitCount(bits[row_base + w] & upper & ~lower));
        }
    }
    return count;
}

void main() {
    const uint c = gl_GlobalInvocationID.x, r = gl_GlobalInvocationID.y;
    if (c >= pc.cells_x || r >= pc.cells_y) return;
    const uint n = pc.n;
    const uint out_index = r * pc.cells_x + c;
    const uint rbeg = pc.row0 + cell_edge(r, pc.row_len, pc.cells_y);
    const uint kbeg = pc.col0 + cell_edge(c, pc.col_len, pc.cells_x);
    if (rbeg >= n || kbeg >= n) {
        density_out[out_index] = 0.0;
        return;
    }
    const uint rend = min(n, pc.row0 + cell_edge(r + 1u, pc.row_len, pc.cells_y));
    const uint kend = min(n, pc.col0 + cell_edge(c + 1u, pc.col_len, pc.cells_x));
    if (rend <= rbeg || kend <= kbeg) {  // (not with len >= cells; defensive)
        density_out[out_index] = 0.0;
        return;
    }
    const uint row_count = rend - rbeg, key_count = kend - kbeg;
    const uint sample_rows = max(1u, pc.sample_rows);
    const uint used = min(row_count, sample_rows);
    const uint kb0 = kbeg / kBlock, kb1 = (kend - 1u) / kBlock;
    const uint head_rows = pc.mask_head * pc.num_blocks;

    uint kept_lo = 0u, kept_hi = 0u;  // 64-bit count: 64 rows of up to 2^28 keys
    for (uint s = 0u; s < used; ++s) {
        // Every row when used == row_count; else evenly spaced rows (floor(s * count / used)).
        // floor(s * row_count / used) without 64-bit arithmetic (row_count % used < 64).
        const uint row = rbeg + s * (row_count / used) + (s * (row_count % used)) / used;
        const uint first = row_ptr[head_rows + row / kBlock];
        const uint last = row_ptr[head_rows + row / kBlock + 1u];
        // First entry whose key block is >= kb0 (entries are sorted by key block).
        uint lo = first, hi = last;
        while (lo < hi) {
            const uint mid = (lo + hi) / 2u;
            if ((entries[2u * mid] & kIndexMask) < kb0) lo = mid + 1u;
            else hi = mid;
        }
        for (uint e = lo; e < last; ++e) {
            const uint w0 = entries[2u * e], w1 = entries[2u * e + 1u];
            if ((w0 & kIndexMask) > kb1) break;
            uint carry;
            kept_lo = uaddCarry(kept_lo, entry_count(w0, w1, row, kbeg, kend), carry);
            kept_hi += carry;
        }
    }
    const float kept = float(kept_hi) * 4294967296.0 + float(kept_lo);
    density_out[out_index] = min(1.0, kept / (float(used) * float(key_count)));
}
