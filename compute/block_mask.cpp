#include "block_mask.h"
#include "threads.h"
#include "file_io.h"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <exception>
#include <mutex>
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
    std::vector<uint32_t> recent;   // bitmasks stored since the last share-span start, newest last
};

// Identical partial bitmasks are stored once per span of this many (head, query block) rows:
// a window's edge blocks repeat in every query block, a global-token column block in every
// one. The span starts at multiples of it, and work is split only at span starts, so the
// result does not depend on the thread count.
constexpr int64_t kShareSpan = 16;
constexpr size_t kShareRecent = 8;  // bitmasks a new one is compared with

// A touched key block of one query block: its index and what it keeps. bits: `block` rows of
// block/32 words (rows past the query block zero); else cols: one row of block/32 words that
// every row of the query block keeps; neither: every in-range pair (a full block).
struct Touched {
    int64_t kb;
    const uint32_t* bits;
    const uint32_t* cols = nullptr;
};

// Set bits of a word. std::popcount becomes a library call on the x86-64 baseline (no POPCNT
// instruction), which dominated compiling a window mask; this stays inline.
int popcount32(uint32_t x) {
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    return int((((x + (x >> 4)) & 0x0f0f0f0fu) * 0x01010101u) >> 24);
}

// Mask of the low k bits of a word (k in [0, 32]).
uint32_t low_bits(int64_t k) { return k <= 0 ? 0u : (k >= 32 ? ~0u : ((1u << k) - 1u)); }

// Full when every in-range (row, column) pair is set (rows < rows_here, columns < cols_here);
// a row-invariant column mask is one row.
bool is_full(const uint32_t* b, int64_t rows_here, int64_t cols_here, int64_t wpr) {
    if (!b) return true;
    for (int64_t r = 0; r < rows_here; ++r)
        for (int64_t w = 0; w < wpr; ++w) {
            const uint32_t want = low_bits(cols_here - w * 32);
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
        uint32_t index = uint32_t(out.bits.size() / size_t(words));
        bool stored = false;
        for (auto it = out.recent.rbegin(); it != out.recent.rend() && !stored; ++it)
            if (std::equal(b, b + words, out.bits.begin() + std::ptrdiff_t(size_t(*it) * size_t(words)))) {
                index = *it;
                stored = true;
            }
        if (!stored) {
            out.bits.insert(out.bits.end(), b, b + words);
            if (out.recent.size() == kShareRecent) out.recent.erase(out.recent.begin());
            out.recent.push_back(index);
        }
        out.entries.push_back(first | gpu::kPartialBit);
        out.entries.push_back(index);
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
    // Scratch kept per thread: this runs once per query block, thousands of times per mask.
    thread_local std::vector<uint32_t> expanded, uni, gbits, gcols, gkeys;
    thread_local std::vector<char> packed;
    expanded.resize(size_t(words));
    // Bitmask of `rows_here` rows that each keep `cols`.
    auto expand = [&](const uint32_t* cols) {
        std::fill(expanded.begin(), expanded.end(), 0u);  // rows past rows_here stay 0
        for (int64_t r = 0; r < rows_here; ++r) std::copy(cols, cols + wpr, &expanded[size_t(r * wpr)]);
        return expanded.data();
    };
    // Union of each block's rows, one word per 32 columns (full blocks: every in-range column).
    packed.assign(blocks.size(), 0);
    if (gather) {
        uni.assign(blocks.size() * size_t(wpr), 0u);
        int64_t cand = 0, cols = 0;
        for (size_t o = 0; o < blocks.size(); ++o) {
            int64_t c = 0;
            for (int64_t w = 0; w < wpr; ++w) {
                uint32_t u = 0;
                if (blocks[o].bits)
                    for (int64_t r = 0; r < rows_here; ++r) u |= blocks[o].bits[r * wpr + w];
                else if (blocks[o].cols)
                    u = blocks[o].cols[w];
                else
                    u = low_bits(keys_in(blocks[o].kb) - w * 32);
                uni[o * size_t(wpr) + size_t(w)] = u;
                c += popcount32(u);
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
        if (t.cols) {
            const bool full = is_full(t.cols, 1, keys_in(t.kb), wpr);
            emit(out, uint32_t(t.kb), full ? nullptr : expand(t.cols), full, words);
        } else {
            emit(out, uint32_t(t.kb), t.bits, is_full(t.bits, rows_here, keys_in(t.kb), wpr), words);
        }
        ++listed;
    }

    // Gathered blocks: the union's columns in key order, `block` slots per gathered block.
    // Slots every row keeps (from full or row-invariant blocks) are collected once in gcols.
    gkeys.clear();
    if (gather) {
        gbits.assign(size_t(words), 0u);
        gcols.assign(size_t(wpr), 0u);
    }
    auto flush = [&] {
        if (gkeys.empty()) return;
        const int64_t used = int64_t(gkeys.size());
        gkeys.resize(size_t(block), gpu::kNoKey);
        const uint32_t index = uint32_t(out.gather.size() / size_t(block));
        out.gather.insert(out.gather.end(), gkeys.begin(), gkeys.end());
        for (int64_t r = 0; r < rows_here; ++r)
            for (int64_t w = 0; w < wpr; ++w) gbits[size_t(r * wpr + w)] |= gcols[size_t(w)];
        emit(out, gpu::kGatherBit | index, gbits.data(), is_full(gbits.data(), rows_here, used, wpr), words);
        ++out.gathered;
        ++listed;
        gkeys.clear();
        std::fill(gbits.begin(), gbits.end(), 0u);
        std::fill(gcols.begin(), gcols.end(), 0u);
    };
    for (size_t o = 0; o < blocks.size(); ++o) {
        if (!packed[o]) continue;
        const Touched& t = blocks[o];
        for (int64_t w = 0; w < wpr; ++w)
            for (uint32_t u = uni[o * size_t(wpr) + size_t(w)]; u != 0; u &= u - 1) {
                const int64_t jj = w * 32 + std::countr_zero(u);
                const int64_t slot = int64_t(gkeys.size());
                gkeys.push_back(uint32_t(t.kb * block + jj));
                if (!t.bits) {
                    gcols[size_t(slot / 32)] |= 1u << (slot % 32);
                } else {
                    for (int64_t r = 0; r < rows_here; ++r)
                        if ((t.bits[r * wpr + w] >> (jj % 32)) & 1u)
                            gbits[size_t(r * wpr + slot / 32)] |= 1u << (slot % 32);
                }
                if (int64_t(gkeys.size()) == block) flush();
            }
    }
    flush();
    return listed;
}

// Sets bits [a, b) (0 <= a <= b <= words * 32) of a row of words.
void set_bits(uint32_t* row, int64_t a, int64_t b) {
    while (a < b) {
        const int64_t w = a / 32, wend = std::min<int64_t>(b, (w + 1) * 32);
        row[w] |= low_bits(wend - a) << (a % 32);
        a = wend;
    }
}

// Per-worker scratch of compile_range, reused across query blocks.
struct Scratch {
    QueryBlockRuns q;
    std::vector<int32_t> cursor;
    std::vector<int64_t> run_rows;      // rows of the query block with per-row runs
    std::vector<int32_t> touch, cover;  // difference arrays over the per-row runs' key blocks
    std::vector<int64_t> ckb;           // key blocks of `common`, ascending
    std::vector<uint32_t> cmask;        // their column masks, wpr words each
    std::vector<uint32_t> local;        // bitmasks of the blocks that need per-row bits
    std::vector<int64_t> row_keys;      // per-row key counts from those bitmasks
    std::vector<Touched> blocks;
    struct Pending {
        int64_t kb;
        int kind;   // 0 full, 1 row-invariant (at: index into ckb), 2 per-row bits (at: offset in local)
        size_t at;
    };
    std::vector<Pending> pending;
};

// Compiles one query block from s.q: the common runs become per-block column masks once, the
// band's touched and fully covered key blocks follow from its two ends, the per-row runs are
// counted per key block (touched / fully covered), and only blocks that no single part decides
// for every row get per-row bitmasks. Appends the entries and statistics to `out`.
void compile_query_block(Scratch& s, int64_t qb, int64_t rows_here, int64_t n, int block, bool causal,
                         bool gather, Piece& out) {
    const int64_t wpr = block / 32, words = int64_t(block) * wpr;
    const int sh = std::countr_zero(unsigned(block));  // x / block for x >= 0
    const int64_t nb = (n + block - 1) >> sh;
    const int64_t q0 = qb * block, q1 = q0 + rows_here;
    const QueryBlockRuns& q = s.q;
    auto keys_in = [&](int64_t kb) { return std::min<int64_t>(block, n - kb * block); };

    // Column masks of the common runs (causal heads: no key block past the query block).
    s.ckb.clear();
    s.cmask.clear();
    for (const KeyRun& run : q.common) {
        for (int64_t kb = run.lo >> sh; kb <= (run.hi - 1) >> sh; ++kb) {
            if (causal && kb > qb) break;
            if (s.ckb.empty() || s.ckb.back() != kb) {
                s.ckb.push_back(kb);
                s.cmask.resize(s.cmask.size() + size_t(wpr), 0u);
            }
            set_bits(&s.cmask[s.cmask.size() - size_t(wpr)], std::max<int64_t>(run.lo, kb * block) - kb * block,
                     std::min<int64_t>(run.hi, kb * block + block) - kb * block);
        }
    }

    // The band: row i keeps [max(0, i - L), min(n, i + R + 1)). It touches the key blocks of
    // [q0 - L, q1 - 1 + R] and covers block J for every row when the last row's start and the
    // first row's end enclose it.
    const bool band = q.band_left >= 0;
    const int64_t band_lo = band ? std::max<int64_t>(0, q0 - q.band_left) >> sh : nb;
    const int64_t band_hi = band ? std::min<int64_t>(n - 1, q1 - 1 + q.band_right) >> sh : -1;
    const int64_t cover_start = std::max<int64_t>(0, q1 - 1 - q.band_left);
    const int64_t cover_end = std::min<int64_t>(n, q0 + q.band_right + 1);

    // Per-row runs: which key blocks they touch and how many rows cover each block entirely
    // (runs of a row are disjoint, so a row covers a block at most once).
    int64_t vmin = nb, vmax = -1;
    for (const KeyRun& run : q.runs) {
        vmin = std::min<int64_t>(vmin, run.lo >> sh);
        vmax = std::max<int64_t>(vmax, (run.hi - 1) >> sh);
    }
    const int64_t span = vmax >= vmin ? vmax - vmin + 1 : 0;
    s.touch.assign(size_t(span + 1), 0);
    s.cover.assign(size_t(span + 1), 0);
    for (const KeyRun& run : q.runs) {
        ++s.touch[size_t((run.lo >> sh) - vmin)];
        --s.touch[size_t(((run.hi - 1) >> sh) + 1 - vmin)];
        const int64_t fa = (run.lo + block - 1) >> sh, fb = run.hi >= n ? nb : run.hi >> sh;
        if (fa < fb) {
            ++s.cover[size_t(fa - vmin)];
            --s.cover[size_t(fb - vmin)];
        }
    }
    for (int64_t k = 1; k <= span; ++k) {
        s.touch[size_t(k)] += s.touch[size_t(k - 1)];
        s.cover[size_t(k)] += s.cover[size_t(k - 1)];
    }

    // Walk the union of the three block sets in key order.
    s.local.clear();
    s.pending.clear();
    s.row_keys.assign(size_t(rows_here), 0);
    s.cursor.assign(q.ptr.begin(), q.ptr.end() - 1);
    s.run_rows.clear();
    for (int64_t r = 0; r < rows_here; ++r)
        if (q.ptr[size_t(r) + 1] > q.ptr[size_t(r)]) s.run_rows.push_back(r);
    int64_t common_keys = 0;  // keys every row keeps from full and row-invariant blocks
    size_t ci = 0;
    int64_t vk = 0, bk = band_lo;
    for (;;) {
        while (vk < span && s.touch[size_t(vk)] == 0) ++vk;
        const int64_t kv = vk < span ? vmin + vk : nb, kc = ci < s.ckb.size() ? s.ckb[ci] : nb;
        const int64_t kbd = bk <= band_hi ? bk : nb;
        const int64_t kb = std::min({kv, kc, kbd});
        if (kb >= nb) break;
        const bool in_v = kv == kb, in_c = kc == kb, in_b = kbd == kb;
        const uint32_t* cm = in_c ? &s.cmask[ci * size_t(wpr)] : nullptr;
        const bool diagonal = causal && kb == qb;
        const bool full = (in_v && s.cover[size_t(kb - vmin)] == rows_here) ||
                          (in_b && cover_start <= kb * block && kb * block + keys_in(kb) <= cover_end) ||
                          (in_c && !diagonal && is_full(cm, 1, keys_in(kb), wpr));
        if (full) {
            s.pending.push_back({kb, 0, 0});
            common_keys += keys_in(kb);
        } else if (!in_v && !in_b && !diagonal) {
            s.pending.push_back({kb, 1, ci});
            for (int64_t w = 0; w < wpr; ++w) common_keys += popcount32(cm[w]);
        } else {
            // Per-row bits: the common columns (cut on the diagonal of a causal head), the band
            // and the row's own runs, walked with a per-row cursor (blocks come in key order).
            const size_t at = s.local.size();
            s.local.resize(at + size_t(words), 0u);
            const int64_t k0 = kb * block, k1 = k0 + block;
            // Row r's band keys in this block: [lo, hi), empty when lo >= hi.
            auto band_keys = [&](int64_t r) {
                return std::pair{std::max<int64_t>({0, q0 + r - q.band_left, k0}),
                                 std::min<int64_t>({n, q0 + r + q.band_right + 1, k1})};
            };
            uint32_t any = 0;
            if (!cm && !in_v) {  // the band alone (a window's edge block): counts from its ends
                for (int64_t r = 0; r < rows_here; ++r) {
                    const auto [lo, hi] = band_keys(r);
                    if (lo >= hi) continue;
                    set_bits(&s.local[at + size_t(r * wpr)], lo - k0, hi - k0);
                    s.row_keys[size_t(r)] += hi - lo;
                    any = 1;
                }
            }
            // Without common columns or the band, only rows with runs of their own can keep
            // anything here (a query block with a few global rows touches every key block).
            const bool sparse_rows = !cm && !in_b;
            const size_t row_count = sparse_rows ? s.run_rows.size() : size_t(rows_here);
            for (size_t k = 0; k < row_count && (cm || in_v); ++k) {
                const int64_t r = sparse_rows ? s.run_rows[k] : int64_t(k);
                uint32_t* row = &s.local[at + size_t(r * wpr)];
                if (cm) {
                    for (int64_t w = 0; w < wpr; ++w) row[w] = cm[w];
                    if (diagonal)
                        for (int64_t w = 0; w < wpr; ++w) row[w] &= low_bits(r + 1 - w * 32);
                }
                if (in_b) {
                    const auto [lo, hi] = band_keys(r);
                    if (lo < hi) set_bits(row, lo - k0, hi - k0);
                }
                if (in_v) {
                    int32_t& t = s.cursor[size_t(r)];
                    const int32_t end = q.ptr[size_t(r) + 1];
                    while (t < end && q.runs[size_t(t)].hi <= k0) ++t;
                    for (int32_t u = t; u < end && q.runs[size_t(u)].lo < k1; ++u)
                        set_bits(row, std::max<int64_t>(q.runs[size_t(u)].lo, k0) - k0,
                                 std::min<int64_t>(q.runs[size_t(u)].hi, k1) - k0);
                }
                int64_t c = 0;
                for (int64_t w = 0; w < wpr; ++w) {
                    c += popcount32(row[w]);
                    any |= row[w];
                }
                s.row_keys[size_t(r)] += c;
            }
            if (any) s.pending.push_back({kb, 2, at});
            else s.local.resize(at);  // the causal cut removed every pair
        }
        if (in_v) ++vk;
        if (in_c) ++ci;
        if (in_b) ++bk;
    }
    s.blocks.clear();
    for (const Scratch::Pending& p : s.pending)
        s.blocks.push_back({p.kb, p.kind == 2 ? &s.local[p.at] : nullptr,
                            p.kind == 1 ? &s.cmask[p.at * size_t(wpr)] : nullptr});

    for (int64_t r = 0; r < rows_here; ++r) {
        const int64_t kc = common_keys + s.row_keys[size_t(r)];
        out.kept += kc;
        out.min_keys = std::min(out.min_keys, kc);
        out.max_keys = std::max(out.max_keys, kc);
        if (kc == 0) ++out.empty_rows;
    }
    out.counts.push_back(emit_query_block(out, s.blocks, rows_here, n, block, gather));
}

// RowSource: n(), causal(h) and query_block(h, q0, q1, QueryBlockRuns&) as
// HeadMask::query_block_runs gives them.
// Bytes the pieces of one compile may hold (they are copied into the mask once, so the mask
// costs about twice this at its peak): the compile stops with an InputError past it instead of
// growing until the machine runs out of memory.
struct Budget {
    std::atomic<uint64_t> used{0};
    uint64_t limit = host_memory_budget() / 2;
};

uint64_t piece_bytes(const Piece& p) {
    return 4 * uint64_t(p.counts.size() + p.entries.size() + p.bits.size() + p.gather.size());
}

template <class RowSource>
void compile_range(const RowSource& heads, int block, int64_t num_blocks, int64_t begin, int64_t end,
                   bool gather, Scratch& s, Piece& out, Budget& budget) {
    const int64_t n = heads.n();
    for (int64_t row = begin; row < end; ++row) {
        if (row % kShareSpan == 0) out.recent.clear();
        const int64_t h = row / num_blocks, qb = row % num_blocks;
        const int64_t rows_here = std::min<int64_t>(block, n - qb * block);
        heads.query_block(h, qb * block, qb * block + rows_here, s.q);
        const uint64_t before = piece_bytes(out);
        compile_query_block(s, qb, rows_here, n, block, heads.causal(h), gather, out);
        const uint64_t now = budget.used += piece_bytes(out) - before;
        if (now > budget.limit)
            throw InputError("the block mask of n = " + std::to_string(n) + ", " + std::to_string(heads.size()) +
                             " head(s) grows past " + format_bytes(double(budget.limit)) +
                             " (half of this machine's memory budget): use a smaller n, fewer heads or a sparser pattern");
    }
}

struct MaskRows {
    const std::vector<HeadMask>& heads;
    int64_t n() const { return heads.front().n(); }
    size_t size() const { return heads.size(); }
    int64_t head_n(size_t h) const { return heads[h].n(); }
    bool causal(int64_t h) const { return heads[size_t(h)].pattern().causal; }
    void query_block(int64_t h, int64_t q0, int64_t q1, QueryBlockRuns& out) const {
        heads[size_t(h)].query_block_runs(q0, q1, out);
    }
};

// Token CSRs: every key per row (no common part), consecutive keys merged into runs.
struct CsrRows {
    const std::vector<Csr>& heads;
    int64_t n() const { return heads.front().n; }
    size_t size() const { return heads.size(); }
    int64_t head_n(size_t h) const { return heads[h].n; }
    bool causal(int64_t) const { return false; }
    void query_block(int64_t h, int64_t q0, int64_t q1, QueryBlockRuns& out) const {
        const Csr& c = heads[size_t(h)];
        out.common.clear();
        out.band_left = out.band_right = -1;
        std::vector<KeyRun>& runs = out.runs;
        runs.clear();
        out.ptr.assign(1, 0);
        for (int64_t i = q0; i < q1; ++i) {
            const size_t from = runs.size();
            for (int64_t t = c.row_ptr[size_t(i)]; t < c.row_ptr[size_t(i) + 1]; ++t) {
                const int32_t j = c.cols[size_t(t)];
                if (runs.size() > from && runs.back().hi == j) ++runs.back().hi;
                else runs.push_back({j, j + 1});
            }
            out.ptr.push_back(int32_t(runs.size()));
        }
    }
};


// Where a piece's rows, entries, bitmasks and gather blocks go in the assembled mask.
struct PieceAt {
    size_t rows = 0, entries = 0, bits = 0, gather = 0;  // rows in row_ptr, the rest in words
};

// Offsets of each piece (in order) and, last, the totals; sizes bm's arrays to match.
std::vector<PieceAt> place_pieces(BlockMask& bm, const std::vector<Piece>& pieces) {
    std::vector<PieceAt> at(pieces.size() + 1);
    for (size_t w = 0; w < pieces.size(); ++w) {
        const Piece& p = pieces[w];
        at[w + 1] = {at[w].rows + p.counts.size(), at[w].entries + p.entries.size(), at[w].bits + p.bits.size(),
                     at[w].gather + p.gather.size()};
    }
    const PieceAt& total = at.back();
    if (total.entries / 2 >= (size_t(1) << 31))
        throw std::length_error("block mask has too many entries for 32-bit offsets");
    if (total.gather / size_t(bm.block) > gpu::kIndexMask || total.bits >= (size_t(1) << 32))
        throw std::length_error("block mask has too many gathered or partial blocks for 32-bit indices");
    bm.row_ptr.resize(total.rows + 1);
    bm.row_ptr[0] = 0;
    bm.entries.resize(total.entries);
    bm.bits.resize(total.bits);
    bm.gather.resize(total.gather);
    bm.min_keys_per_query = std::numeric_limits<int64_t>::max();
    for (const Piece& p : pieces) {
        bm.kept_pairs += p.kept;
        bm.empty_rows += p.empty_rows;
        bm.full_blocks += p.full;
        bm.partial_blocks += p.partial;
        bm.gathered_blocks += p.gathered;
        bm.min_keys_per_query = std::min(bm.min_keys_per_query, p.min_keys);
        bm.max_keys_per_query = std::max(bm.max_keys_per_query, p.max_keys);
    }
    if (bm.min_keys_per_query == std::numeric_limits<int64_t>::max()) bm.min_keys_per_query = 0;
    return at;
}

// Copies one piece to its place, rebasing its row offsets, bitmask and gather indices (pieces
// touch disjoint ranges, so workers may do this concurrently).
void write_piece(BlockMask& bm, const Piece& p, const PieceAt& at) {
    uint32_t row = uint32_t(at.entries / 2);
    for (size_t r = 0; r < p.counts.size(); ++r) {
        row += p.counts[r];
        bm.row_ptr[at.rows + r + 1] = row;
    }
    const uint32_t bit_base = uint32_t(at.bits / size_t(bm.words_per_partial()));
    const uint32_t gather_base = uint32_t(at.gather / size_t(bm.block));
    for (size_t e = 0; e < p.entries.size(); e += 2) {
        const uint32_t w0 = p.entries[e];
        const BlockEntry entry = decode_entry(w0);
        bm.entries[at.entries + e] = entry.gathered ? w0 + gather_base : w0;
        bm.entries[at.entries + e + 1] = entry.partial ? p.entries[e + 1] + bit_base : 0u;
    }
    std::copy(p.bits.begin(), p.bits.end(), bm.bits.begin() + std::ptrdiff_t(at.bits));
    std::copy(p.gather.begin(), p.gather.end(), bm.gather.begin() + std::ptrdiff_t(at.gather));
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
    int t = threads > 0 ? threads : available_cpus();
    t = int(std::min<int64_t>(t, std::max<int64_t>(1, rows / 4)));
    // Rows go out in chunks, several per worker, taken in turn from a counter (a query block
    // of global rows costs as much as hundreds of window blocks, so fixed ranges would leave
    // one worker with the tail). Each chunk compiles into its own piece; once all are done one
    // worker places the pieces in row order, then the workers copy them into the mask.
    const int64_t chunk = (std::max<int64_t>(1, rows / (int64_t(t) * 8)) + kShareSpan - 1) / kShareSpan * kShareSpan;
    const int64_t num_chunks = (rows + chunk - 1) / chunk;
    std::vector<Piece> pieces(static_cast<size_t>(num_chunks));
    std::vector<PieceAt> at;
    std::atomic<int64_t> next{0};
    std::atomic<bool> stop_early{false};
    Budget budget;
    std::exception_ptr failed;
    std::mutex failed_mutex;
    std::barrier sync(t, [&]() noexcept {
        if (failed) return;
        try {
            at = place_pieces(bm, pieces);
        } catch (...) {
            failed = std::current_exception();
        }
    });
    auto work = [&](int w) {
        try {
            Scratch s;
            for (int64_t c = next++; c < num_chunks && !stop_early; c = next++)
                compile_range(heads, block, bm.num_blocks, c * chunk, std::min(rows, (c + 1) * chunk), gather, s,
                              pieces[size_t(c)], budget);
        } catch (...) {
            std::lock_guard lock(failed_mutex);
            if (!failed) failed = std::current_exception();
            stop_early = true;
        }
        sync.arrive_and_wait();
        if (!failed)
            for (int64_t c = w; c < num_chunks; c += t) write_piece(bm, pieces[size_t(c)], at[size_t(c)]);
    };
    {
        std::vector<std::jthread> pool;
        for (int w = 1; w < t; ++w) pool.emplace_back(work, w);
        work(0);
    }
    if (failed) std::rethrow_exception(failed);
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
    Piece p;
    std::vector<Touched> blocks;
    const int64_t words = plain.words_per_partial();
    for (int64_t row = 0; row + 1 < int64_t(plain.row_ptr.size()); ++row) {
        if (row % kShareSpan == 0) p.recent.clear();
        blocks.clear();
        for (uint32_t e = plain.row_ptr[size_t(row)]; e < plain.row_ptr[size_t(row) + 1]; ++e) {
            const uint32_t w0 = plain.entries[2 * size_t(e)], w1 = plain.entries[2 * size_t(e) + 1];
            const BlockEntry entry = decode_entry(w0);
            blocks.push_back({entry.index, entry.partial ? &plain.bits[size_t(w1) * size_t(words)] : nullptr});
        }
        const int64_t qb = row % plain.num_blocks;
        const int64_t rows_here = std::min<int64_t>(plain.block, plain.n - qb * plain.block);
        p.counts.push_back(emit_query_block(p, blocks, rows_here, plain.n, plain.block, true));
    }
    const std::vector<Piece> one{std::move(p)};
    const std::vector<PieceAt> at = place_pieces(bm, one);
    write_piece(bm, one[0], at[0]);
    bm.kept_pairs = plain.kept_pairs;  // the rows are the plain mask's
    bm.min_keys_per_query = plain.min_keys_per_query;
    bm.max_keys_per_query = plain.max_keys_per_query;
    bm.empty_rows = plain.empty_rows;
    return bm;
}

BlockStats block_stats(const BlockMask& m) {
    BlockStats st;
    const int64_t rows_total = int64_t(m.heads) * m.num_blocks;
    for (int64_t row = 0; row < rows_total && size_t(row) + 1 < m.row_ptr.size(); ++row) {
        const int64_t I = row % m.num_blocks;
        const int64_t rows_here = std::min<int64_t>(m.block, m.n - I * m.block);
        for (uint32_t e = m.row_ptr[size_t(row)]; e < m.row_ptr[size_t(row) + 1]; ++e) {
            const BlockEntry entry = decode_entry(m.entries[2 * size_t(e)]);
            ++st.listed_blocks;
            ++(entry.partial ? st.partial_blocks : st.full_blocks);
            if (entry.gathered) ++st.gathered_blocks;
            const int64_t cols = entry.gathered ? m.block : std::min<int64_t>(m.block, m.n - entry.index * m.block);
            st.visited_pairs += rows_here * cols;
        }
    }
    st.skipped_blocks = rows_total * m.num_blocks - st.listed_blocks;
    st.kept_pairs = m.kept_pairs;
    st.empty_rows = m.empty_rows;
    st.keys_min = m.min_keys_per_query;
    st.keys_max = m.max_keys_per_query;
    st.keys_mean = double(m.kept_pairs) / double(std::max<int64_t>(1, m.n * m.heads));
    st.density = m.density();
    st.stored_bitmasks = m.words_per_partial() > 0 ? int64_t(m.bits.size()) / m.words_per_partial() : 0;
    st.bytes = m.bytes();
    st.csr_bytes = int64_t(m.heads) * 8 * (m.n + 1) + 4 * m.kept_pairs;
    st.dense_bytes = int64_t(m.heads) * m.n * m.n;
    return st;
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
