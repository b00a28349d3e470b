#include "block_mask.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <stdexcept>
#include <thread>

namespace salab {

namespace {

// What one worker compiles: a contiguous range of (head, query block) rows.
struct Piece {
    std::vector<uint32_t> counts;   // entries per row of the range
    std::vector<uint32_t> entries;  // pairs; bitmask index local to this piece
    std::vector<uint32_t> bits;
    std::vector<uint32_t> gather;   // gather blocks, index local to this piece
    int64_t kept = 0, full = 0, partial = 0, empty_rows = 0, gathered = 0;
    int64_t min_keys = std::numeric_limits<int64_t>::max(), max_keys = 0;
};

// A touched key block of one query block: its index and its bitmask (`block` rows of block/32
// words), or nullptr for a block known to be full.
struct Touched {
    int64_t kb;
    const uint32_t* bits;
};

// Full when every in-range (row, column) pair is set (rows < rows_here, columns < cols_here).
bool is_full(const uint32_t* b, int64_t rows_here, int64_t cols_here, int64_t wpr) {
    if (!b) return true;
    for (int64_t r = 0; r < rows_here; ++r)
        for (int64_t w = 0; w < wpr; ++w) {
            const int64_t lo = w * 32, hi = std::min<int64_t>(cols_here, lo + 32);
            const uint32_t want = hi <= lo ? 0u : (hi - lo == 32 ? ~0u : ((1u << (hi - lo)) - 1u));
            if ((b[r * wpr + w] & want) != want) return false;
        }
    return true;
}

// Appends one entry: word 0 = `first` (key block or gathered index), bitmask copied if partial.
void emit(Piece& out, uint32_t first, const uint32_t* b, bool full, int64_t words) {
    if (full) {
        out.entries.push_back(first);
        out.entries.push_back(0u);
        ++out.full;
    } else {
        out.entries.push_back(first | kEntryPartial);
        out.entries.push_back(uint32_t(out.bits.size() / size_t(words)));
        out.bits.insert(out.bits.end(), b, b + words);
        ++out.partial;
    }
}

// Emits the entries of one query block (rows_here rows) from its touched key blocks in
// ascending order; returns how many. With `gather`, key blocks whose kept columns (union over
// the rows) fill at most half a block are packed, in key order, into gathered blocks of `block`
// keys when that lowers the number of entries.
uint32_t emit_query_block(Piece& out, const std::vector<Touched>& blocks, int64_t rows_here, int64_t n,
                          int block, bool gather) {
    const int64_t wpr = block / 32, words = int64_t(block) * wpr;
    auto keys_in = [&](int64_t kb) { return std::min<int64_t>(block, n - kb * block); };
    // Union of each block's rows, one word per 32 columns (full blocks: every in-range column).
    std::vector<uint32_t> uni;
    std::vector<char> packed(blocks.size(), 0);
    if (gather) {
        uni.assign(blocks.size() * size_t(wpr), 0u);
        int64_t cand = 0, cols = 0;
        for (size_t o = 0; o < blocks.size(); ++o) {
            int64_t c = 0;
            for (int64_t w = 0; w < wpr; ++w) {
                uint32_t u = 0;
                if (blocks[o].bits)
                    for (int64_t r = 0; r < rows_here; ++r) u |= blocks[o].bits[r * wpr + w];
                else if (const int64_t k = keys_in(blocks[o].kb) - w * 32; k > 0)
                    u = k >= 32 ? ~0u : ((1u << k) - 1u);
                uni[o * size_t(wpr) + size_t(w)] = u;
                c += std::popcount(u);
            }
            if (c * 2 <= block) {
                packed[o] = 1;
                ++cand;
                cols += c;
            }
        }
        if ((cols + block - 1) / block >= cand) std::fill(packed.begin(), packed.end(), 0);
    }

    uint32_t listed = 0;
    for (size_t o = 0; o < blocks.size(); ++o) {
        if (packed[o]) continue;
        const Touched& t = blocks[o];
        emit(out, uint32_t(t.kb), t.bits, is_full(t.bits, rows_here, keys_in(t.kb), wpr), words);
        ++listed;
    }

    // Gathered blocks: the union's columns in key order, `block` slots per gathered block.
    std::vector<uint32_t> gbits(size_t(words), 0u);
    std::vector<uint32_t> gkeys;
    auto flush = [&] {
        if (gkeys.empty()) return;
        const int64_t used = int64_t(gkeys.size());
        gkeys.resize(size_t(block), kNoKey);
        const uint32_t index = uint32_t(out.gather.size() / size_t(block));
        out.gather.insert(out.gather.end(), gkeys.begin(), gkeys.end());
        emit(out, kEntryGathered | index, gbits.data(), is_full(gbits.data(), rows_here, used, wpr), words);
        ++out.gathered;
        ++listed;
        gkeys.clear();
        std::fill(gbits.begin(), gbits.end(), 0u);
    };
    for (size_t o = 0; o < blocks.size(); ++o) {
        if (!packed[o]) continue;
        const Touched& t = blocks[o];
        for (int64_t w = 0; w < wpr; ++w)
            for (uint32_t u = uni[o * size_t(wpr) + size_t(w)]; u != 0; u &= u - 1) {
                const int64_t jj = w * 32 + std::countr_zero(u);
                const int64_t slot = int64_t(gkeys.size());
                gkeys.push_back(uint32_t(t.kb * block + jj));
                for (int64_t r = 0; r < rows_here; ++r)
                    if (!t.bits || ((t.bits[r * wpr + w] >> (jj % 32)) & 1u))
                        gbits[size_t(r * wpr + slot / 32)] |= 1u << (slot % 32);
                if (int64_t(gkeys.size()) == block) flush();
            }
    }
    flush();
    return listed;
}

// RowSource: n() and row_runs(h, i, runs) giving the sorted, disjoint key ranges of query i
// of head h.
template <class RowSource>
void compile_range(const RowSource& heads, int block, int64_t num_blocks, int64_t begin, int64_t end,
                   bool gather, Piece& out) {
    const int64_t n = heads.n();
    const int64_t wpr = block / 32;
    const int64_t words = int64_t(block) * wpr;
    std::vector<int32_t> slot_of(size_t(num_blocks), -1);
    std::vector<int64_t> touched;
    std::vector<uint32_t> local;  // slot-major bitmasks
    std::vector<KeyRun> runs;
    for (int64_t row = begin; row < end; ++row) {
        const int64_t h = row / num_blocks, qb = row % num_blocks;
        touched.clear();
        local.clear();
        const int64_t rows_here = std::min<int64_t>(block, n - qb * block);
        for (int64_t r = 0; r < rows_here; ++r) {
            const int64_t i = qb * block + r;
            heads.row_runs(h, i, runs);
            int64_t kc = 0;
            // Each run sets its bits block by block, word by word (a window row is one run).
            for (const KeyRun& run : runs) {
                kc += run.hi - run.lo;
                for (int64_t lo = run.lo; lo < run.hi;) {
                    const int64_t kb = lo / block, stop = std::min<int64_t>(run.hi, (kb + 1) * block);
                    int32_t& slot = slot_of[size_t(kb)];
                    if (slot < 0) {
                        slot = int32_t(touched.size());
                        touched.push_back(kb);
                        local.resize(local.size() + size_t(words), 0u);
                    }
                    uint32_t* row_words = &local[size_t(slot * words + r * wpr)];
                    for (int64_t a = lo - kb * block, b = stop - kb * block; a < b;) {
                        const int64_t w = a / 32, wend = std::min<int64_t>(b, (w + 1) * 32);
                        const int64_t len = wend - a;
                        row_words[w] |= (len == 32 ? ~0u : ((1u << len) - 1u)) << (a % 32);
                        a = wend;
                    }
                    lo = stop;
                }
            }
            out.kept += kc;
            out.min_keys = std::min(out.min_keys, kc);
            out.max_keys = std::max(out.max_keys, kc);
            if (kc == 0) ++out.empty_rows;
        }
        std::vector<std::pair<int64_t, int32_t>> order;
        order.reserve(touched.size());
        for (int64_t kb : touched) order.emplace_back(kb, slot_of[size_t(kb)]);
        std::sort(order.begin(), order.end());
        std::vector<Touched> blocks;
        blocks.reserve(order.size());
        for (auto [kb, slot] : order) {
            slot_of[size_t(kb)] = -1;
            blocks.push_back({kb, &local[size_t(slot * words)]});
        }
        const uint32_t listed = emit_query_block(out, blocks, rows_here, n, block, gather);
        out.counts.push_back(listed);
    }
}

struct MaskRows {
    const std::vector<HeadMask>& heads;
    int64_t n() const { return heads.front().n(); }
    size_t size() const { return heads.size(); }
    int64_t head_n(size_t h) const { return heads[h].n(); }
    void row_runs(int64_t h, int64_t i, std::vector<KeyRun>& runs) const { heads[size_t(h)].row_runs(i, runs); }
};

struct CsrRows {
    const std::vector<Csr>& heads;
    int64_t n() const { return heads.front().n; }
    size_t size() const { return heads.size(); }
    int64_t head_n(size_t h) const { return heads[h].n; }
    void row_runs(int64_t h, int64_t i, std::vector<KeyRun>& runs) const {
        const Csr& c = heads[size_t(h)];
        runs.clear();
        for (int64_t t = c.row_ptr[size_t(i)]; t < c.row_ptr[size_t(i) + 1]; ++t) {
            const int32_t j = c.cols[size_t(t)];
            if (!runs.empty() && runs.back().hi == j) ++runs.back().hi;
            else runs.push_back({j, j + 1});
        }
    }
};

// Appends a piece's rows, entries, bitmasks and gather blocks to bm (indices rebased).
void append_piece(BlockMask& bm, const Piece& p) {
    const uint32_t bit_base = uint32_t(bm.bits.size() / size_t(bm.words_per_partial()));
    for (uint32_t c : p.counts) bm.row_ptr.push_back(bm.row_ptr.back() + c);
    const uint32_t gather_base = uint32_t(bm.gather.size() / size_t(bm.block));
    for (size_t e = 0; e < p.entries.size(); e += 2) {
        const uint32_t w0 = p.entries[e];
        bm.entries.push_back((w0 & kEntryGathered) ? w0 + gather_base : w0);
        bm.entries.push_back((w0 & kEntryPartial) ? p.entries[e + 1] + bit_base : 0u);
    }
    bm.bits.insert(bm.bits.end(), p.bits.begin(), p.bits.end());
    bm.gather.insert(bm.gather.end(), p.gather.begin(), p.gather.end());
    bm.gathered_blocks += p.gathered;
    bm.full_blocks += p.full;
    bm.partial_blocks += p.partial;
}

template <class RowSource>
BlockMask compile(const RowSource& heads, int block, int threads, bool gather) {
    if (block != 32 && block != 64 && block != 128)
        throw std::invalid_argument("block mask block size must be 32, 64 or 128");
    if (heads.size() == 0) throw std::invalid_argument("compile_block_mask needs at least one head");
    BlockMask bm;
    bm.n = heads.n();
    bm.block = block;
    bm.heads = int(heads.size());
    bm.num_blocks = (bm.n + block - 1) / block;
    for (size_t h = 0; h < heads.size(); ++h)
        if (heads.head_n(h) != bm.n) throw std::invalid_argument("all heads of a block mask must have the same n");

    const int64_t rows = bm.num_blocks * bm.heads;
    int t = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
    t = int(std::min<int64_t>(t, std::max<int64_t>(1, rows / 4)));
    std::vector<Piece> pieces(static_cast<size_t>(t));
    {
        std::vector<std::jthread> pool;
        for (int w = 0; w < t; ++w) {
            const int64_t b = rows * w / t, e = rows * (w + 1) / t;
            pool.emplace_back([&, w, b, e] { compile_range(heads, block, bm.num_blocks, b, e, gather, pieces[size_t(w)]); });
        }
    }

    bm.row_ptr.reserve(size_t(rows) + 1);
    bm.row_ptr.push_back(0);
    bm.min_keys_per_query = std::numeric_limits<int64_t>::max();
    for (auto& p : pieces) {
        append_piece(bm, p);
        bm.kept_pairs += p.kept;
        bm.empty_rows += p.empty_rows;
        bm.min_keys_per_query = std::min(bm.min_keys_per_query, p.min_keys);
        bm.max_keys_per_query = std::max(bm.max_keys_per_query, p.max_keys);
    }
    if (bm.min_keys_per_query == std::numeric_limits<int64_t>::max()) bm.min_keys_per_query = 0;
    if (bm.entries.size() / 2 >= (size_t(1) << 31))
        throw std::length_error("block mask has too many entries for 32-bit offsets");
    if (bm.gather.size() / size_t(block) > kEntryIndex || bm.bits.size() >= (size_t(1) << 32))
        throw std::length_error("block mask has too many gathered or partial blocks for 32-bit indices");
    return bm;
}

}  // namespace

BlockMask compile_block_mask(const std::vector<HeadMask>& heads, int block, int threads, bool gather) {
    return compile(MaskRows{heads}, block, threads, gather);
}

BlockMask compile_block_mask(const std::vector<Csr>& heads, int block, int threads, bool gather) {
    return compile(CsrRows{heads}, block, threads, gather);
}

BlockMask gather_blocks(const BlockMask& plain) {
    if (plain.gathered_blocks > 0) throw std::invalid_argument("gather_blocks needs a mask without gathered blocks");
    BlockMask bm;
    bm.n = plain.n;
    bm.block = plain.block;
    bm.heads = plain.heads;
    bm.num_blocks = plain.num_blocks;
    bm.kept_pairs = plain.kept_pairs;
    bm.min_keys_per_query = plain.min_keys_per_query;
    bm.max_keys_per_query = plain.max_keys_per_query;
    bm.empty_rows = plain.empty_rows;
    Piece p;
    std::vector<Touched> blocks;
    const int64_t words = plain.words_per_partial();
    for (int64_t row = 0; row + 1 < int64_t(plain.row_ptr.size()); ++row) {
        blocks.clear();
        for (uint32_t e = plain.row_ptr[size_t(row)]; e < plain.row_ptr[size_t(row) + 1]; ++e) {
            const uint32_t w0 = plain.entries[2 * size_t(e)], w1 = plain.entries[2 * size_t(e) + 1];
            blocks.push_back({int64_t(w0 & kEntryIndex),
                              (w0 & kEntryPartial) ? &plain.bits[size_t(w1) * size_t(words)] : nullptr});
        }
        const int64_t qb = row % plain.num_blocks;
        const int64_t rows_here = std::min<int64_t>(plain.block, plain.n - qb * plain.block);
        p.counts.push_back(emit_query_block(p, blocks, rows_here, plain.n, plain.block, true));
    }
    bm.row_ptr.reserve(plain.row_ptr.size());
    bm.row_ptr.push_back(0);
    append_piece(bm, p);
    return bm;
}

BlockMask dense_block_mask(int64_t n, int heads, int block, bool causal) {
    HeadPattern hp;
    hp.causal = causal;
    hp.components.push_back(Component{.type = ComponentType::dense});
    std::vector<HeadMask> masks;
    for (int h = 0; h < heads; ++h) masks.emplace_back(hp, n);
    return compile_block_mask(masks, block);
}

}  // namespace salab
