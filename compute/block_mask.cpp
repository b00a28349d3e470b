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

// Kept columns of a block's bitmask (union over its rows).
int64_t union_columns(const uint32_t* b, int64_t rows, int64_t wpr) {
    int64_t c = 0;
    for (int64_t w = 0; w < wpr; ++w) {
        uint32_t u = 0;
        for (int64_t r = 0; r < rows; ++r) u |= b[r * wpr + w];
        c += std::popcount(u);
    }
    return c;
}

// Full when every in-range (row, column) pair is set (rows < rows_here, columns < cols_here).
bool is_full(const uint32_t* b, int64_t rows_here, int64_t cols_here, int64_t wpr) {
    for (int64_t r = 0; r < rows_here; ++r)
        for (int64_t w = 0; w < wpr; ++w) {
            const int64_t lo = w * 32, hi = std::min<int64_t>(cols_here, lo + 32);
            const uint32_t want = hi <= lo ? 0u : (hi - lo == 32 ? ~0u : ((1u << (hi - lo)) - 1u));
            if ((b[r * wpr + w] & want) != want) return false;
        }
    return true;
}

// RowSource: n() and row_runs(h, i, runs) giving the sorted, disjoint key ranges of query i
// of head h.
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
        for (auto& o : order) slot_of[size_t(o.first)] = -1;

        // Gathering: key blocks whose kept columns (union over the query block's rows) fill at
        // most half a block are candidates; they are packed when that saves visited blocks.
        std::vector<char> gathered(order.size(), 0);
        if (gather) {
            int64_t cand = 0, cols = 0;
            for (size_t o = 0; o < order.size(); ++o) {
                const int64_t c = union_columns(&local[size_t(order[o].second * words)], rows_here, wpr);
                if (c * 2 <= block) {
                    gathered[o] = 1;
                    ++cand;
                    cols += c;
                }
            }
            if ((cols + block - 1) / block >= cand) std::fill(gathered.begin(), gathered.end(), 0);
        }

        uint32_t listed = 0;
        for (size_t o = 0; o < order.size(); ++o) {
            if (gathered[o]) continue;
            const auto [kb, slot] = order[o];
            const uint32_t* b = &local[size_t(slot * words)];
            const int64_t keys_here = std::min<int64_t>(block, n - kb * block);
            emit(out, uint32_t(kb), b, is_full(b, rows_here, keys_here, wpr), words);
            ++listed;
        }

        // Gathered blocks: columns in key order, `block` slots per gathered block.
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
        for (size_t o = 0; o < order.size(); ++o) {
            if (!gathered[o]) continue;
            const auto [kb, slot] = order[o];
            const uint32_t* b = &local[size_t(slot * words)];
            for (int64_t jj = 0; jj < block; ++jj) {
                uint32_t any = 0;
                for (int64_t r = 0; r < rows_here; ++r) any |= (b[r * wpr + jj / 32] >> (jj % 32)) & 1u;
                if (!any) continue;
                const int64_t s2 = int64_t(gkeys.size());
                gkeys.push_back(uint32_t(kb * block + jj));
                for (int64_t r = 0; r < rows_here; ++r)
                    if ((b[r * wpr + jj / 32] >> (jj % 32)) & 1u) gbits[size_t(r * wpr + s2 / 32)] |= 1u << (s2 % 32);
                if (int64_t(gkeys.size()) == block) flush();
            }
        }
        flush();
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
        const uint32_t bit_base = uint32_t(bm.bits.size() / size_t(bm.words_per_partial()));
        for (uint32_t c : p.counts) bm.row_ptr.push_back(bm.row_ptr.back() + c);
        const uint32_t gather_base = uint32_t(bm.gather.size() / size_t(block));
        for (size_t e = 0; e < p.entries.size(); e += 2) {
            const uint32_t w0 = p.entries[e];
            bm.entries.push_back((w0 & kEntryGathered) ? w0 + gather_base : w0);
            bm.entries.push_back((w0 & kEntryPartial) ? p.entries[e + 1] + bit_base : 0u);
        }
        bm.bits.insert(bm.bits.end(), p.bits.begin(), p.bits.end());
        bm.gather.insert(bm.gather.end(), p.gather.begin(), p.gather.end());
        bm.gathered_blocks += p.gathered;
        bm.kept_pairs += p.kept;
        bm.full_blocks += p.full;
        bm.partial_blocks += p.partial;
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

BlockMask dense_block_mask(int64_t n, int heads, int block, bool causal) {
    HeadPattern hp;
    hp.causal = causal;
    hp.components.push_back(Component{.type = ComponentType::dense});
    std::vector<HeadMask> masks;
    for (int h = 0; h < heads; ++h) masks.emplace_back(hp, n);
    return compile_block_mask(masks, block);
}

}  // namespace salab
