#include "block_mask_struct.h"

#include "errors.h"
#include "file_io.h"
#include "threads.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <condition_variable>
#include <functional>
#include <exception>
#include <limits>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace salab {

namespace {

constexpr int kMaxWpr = 4;  // block 128: 4 words per row
using Words = std::array<uint32_t, kMaxWpr>;
constexpr int64_t kNoDelta = std::numeric_limits<int64_t>::min();

// Set bits of a word without a library call (the x86-64 baseline has no POPCNT).
int popcount32(uint32_t x) {
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    return int((((x + (x >> 4)) & 0x0f0f0f0fu) * 0x01010101u) >> 24);
}
uint32_t low_bits(int64_t k) { return k <= 0 ? 0u : (k >= 32 ? ~0u : ((1u << k) - 1u)); }
// Sets bits [a, b) of a row, clipped to [0, limit).
void set_bits(uint32_t* row, int64_t a, int64_t b, int64_t limit) {
    a = std::max<int64_t>(a, 0);
    b = std::min(b, limit);
    while (a < b) {
        const int64_t w = a / 32, wend = std::min<int64_t>(b, (w + 1) * 32);
        row[w] |= low_bits(wend - a) << (a % 32);
        a = wend;
    }
}
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t pos_mod(int64_t a, int64_t b) { return ((a % b) + b) % b; }

// A key block's state in one query block, from the events of the components touching it.
enum : uint8_t {
    kAll = 1,    // some component keeps every in-range pair (before the causal cut)
    kDelta = 2,  // some component keeps an offset-dependent pattern (window, strided, fixed own block)
};

// What a partial/evaluated bitmask depends on: equal keys give equal bitmasks within one head.
struct Key {
    int64_t delta = kNoDelta;  // k0 - q0 when an offset-dependent component or the causal cut applies
    int64_t phase = 0;         // q0 mod (the fixed layouts' period) with delta
    int32_t rows = 0, cols = 0;
    uint32_t flags = 0;
    Words rowmask{}, colmask{};
    bool operator==(const Key&) const = default;
};
struct KeyHash {
    size_t operator()(const Key& k) const {
        uint64_t h = uint64_t(k.delta) * 0x9e3779b97f4a7c15ull ^ uint64_t(k.phase) * 0xc2b2ae3d27d4eb4full;
        h ^= (uint64_t(uint32_t(k.rows)) << 32 | uint32_t(k.cols)) + 0x165667b19e3779f9ull + (h << 6) + (h >> 2);
        h ^= k.flags + (h << 6) + (h >> 2);
        for (int w = 0; w < kMaxWpr; ++w) {
            h ^= (uint64_t(k.rowmask[size_t(w)]) << 32 | k.colmask[size_t(w)]) + 0x9e3779b97f4a7c15ull + (h << 6) +
                 (h >> 2);
        }
        return size_t(h ^ (h >> 29));
    }
};

// One evaluated bitmask.
struct Memo {
    uint32_t at = 0;                     // its words in Worker::mbits
    uint32_t stored = gpu::kNoKey;       // its index in the piece's bits once written
    uint32_t counts = 0;                 // its per-row counts in Worker::mcounts
    int64_t total = 0;
    int32_t ucount = 0;                  // columns kept by some row
    Words uni{};
    bool full = false;
};

struct Glob {
    int64_t first = 0, every = 0;
    std::vector<int64_t> tokens;  // sorted, unique
};

// Sets the bits of global tokens in [a, b) (relative to a).
void global_bits(const Glob& g, int64_t a, int64_t b, uint32_t* out) {
    if (g.first > a) set_bits(out, 0, std::min(b, g.first) - a, b - a);
    if (g.every > 0)
        for (int64_t t = (a + g.every - 1) / g.every * g.every; t < b; t += g.every) out[(t - a) / 32] |= 1u << ((t - a) % 32);
    for (auto it = std::lower_bound(g.tokens.begin(), g.tokens.end(), a); it != g.tokens.end() && *it < b; ++it)
        out[(*it - a) / 32] |= 1u << ((*it - a) % 32);
}

// A head's components in block terms.
struct HeadGeo {
    bool causal = false;
    bool dense = false;
    struct Win {
        int64_t reach, dil;  // keeps x = i - j with |x| <= reach and x % dil == 0
    };
    std::vector<Win> windows;
    std::vector<int64_t> strides;  // strided l
    std::vector<int64_t> fixeds;   // fixed layouts' l (own block; the summaries are columns)
    int64_t period = 0;            // lcm of the fixed l (0: none, -1: too large, use q0 itself)
    std::vector<Glob> globs;
    std::vector<const Component*> bigbirds;  // block % mask block == 0
    // Key blocks with row-invariant columns (global columns, fixed summaries), ascending.
    std::vector<uint32_t> col_j;
    std::vector<Words> col_mask;
    // Per column block: kept columns; prefix sums over [0, i) of kept columns (all), of gather
    // candidates (kept columns at most half a block) and of their columns; the candidates' keys
    // in order (slot keys of runs of column blocks); the non-candidates' indices.
    std::vector<int32_t> col_count;
    std::vector<int64_t> pre_all, pre_cand, pre_cols;
    std::vector<uint32_t> cand_keys;
    std::vector<uint32_t> non_cand;
};

HeadGeo head_geometry(const HeadMask& m, int B) {
    HeadGeo g;
    const HeadPattern& hp = m.pattern();
    const int64_t n = m.n(), nb = (n + B - 1) / B;
    g.causal = hp.causal;
    struct Summ {
        int64_t l, c;
    };
    std::vector<Summ> summs;
    for (const Component& c : hp.components) {
        switch (c.type) {
            case ComponentType::dense:
                g.dense = true;
                break;
            // Parameters past n are cut to equivalent ones within n (no overflow below):
            // a radius >= n or a dilation >= n reaches no further than n.
            case ComponentType::window: {
                const int64_t dil = std::min(c.dilation, n);
                g.windows.push_back({std::min(c.radius, n) * dil, dil});
                break;
            }
            case ComponentType::strided:  // stride > n: |i - j| < n and only i == j by the modulus
                g.strides.push_back(std::min(c.stride, n + 1));
                break;
            case ComponentType::fixed: {
                // block > n: one group; summaries j >= block - summary, i.e. the last
                // summary - (block - n) keys of a block of n.
                int64_t l = c.block, sc = c.summary;
                if (l > n) {
                    sc = sc - (l - n);
                    l = n;
                }
                g.fixeds.push_back(l);
                if (sc >= 1) summs.push_back({l, sc});
                if (g.period >= 0) {
                    const int64_t p = g.period == 0 ? l : std::lcm(g.period, l);
                    g.period = p > (int64_t(1) << 30) ? -1 : p;
                }
                break;
            }
            case ComponentType::global: {
                Glob gl{std::min(c.first, n), c.every > n ? n : c.every, c.tokens};
                std::sort(gl.tokens.begin(), gl.tokens.end());
                gl.tokens.erase(std::unique(gl.tokens.begin(), gl.tokens.end()), gl.tokens.end());
                g.globs.push_back(std::move(gl));
                break;
            }
            case ComponentType::block:
                g.bigbirds.push_back(&c);
                break;
            default:
                throw std::logic_error("structural block mask: unsupported component");
        }
    }
    // Candidate key blocks of the column components, then their masks.
    std::vector<uint32_t> cand;
    auto all_blocks = [&] {
        cand.resize(size_t(nb));
        for (int64_t J = 0; J < nb; ++J) cand[size_t(J)] = uint32_t(J);
    };
    bool all = false;
    for (const Glob& gl : g.globs) {
        if (gl.every > 0 && gl.every <= B) all = true;
        for (int64_t J = 0; J * B < std::min(gl.first, n); ++J) cand.push_back(uint32_t(J));
        if (gl.every > B)
            for (int64_t t = 0; t < n; t += gl.every) cand.push_back(uint32_t(t / B));
        for (int64_t t : gl.tokens)
            if (t >= 0 && t < n) cand.push_back(uint32_t(t / B));
    }
    for (const Summ& s : summs) {
        if (s.l <= B) {
            all = true;
            continue;
        }
        for (int64_t base = 0; base < n; base += s.l)
            for (int64_t J = (base + s.l - s.c) / B; J * B < std::min(n, base + s.l); ++J) cand.push_back(uint32_t(J));
    }
    if (all) all_blocks();
    std::sort(cand.begin(), cand.end());
    cand.erase(std::unique(cand.begin(), cand.end()), cand.end());
    for (uint32_t J : cand) {
        const int64_t k0 = int64_t(J) * B, kend = std::min(n, k0 + B);
        Words w{};
        for (const Glob& gl : g.globs) global_bits(gl, k0, kend, w.data());
        for (const Summ& s : summs)
            for (int64_t grp = k0 / s.l; grp * s.l < kend; ++grp)
                set_bits(w.data(), grp * s.l + s.l - s.c - k0, grp * s.l + s.l - k0, kend - k0);
        if (w == Words{}) continue;
        g.col_j.push_back(J);
        g.col_mask.push_back(w);
    }
    const size_t nc = g.col_j.size();
    g.col_count.resize(nc);
    g.pre_all.assign(nc + 1, 0);
    g.pre_cand.assign(nc + 1, 0);
    g.pre_cols.assign(nc + 1, 0);
    for (size_t i = 0; i < nc; ++i) {
        int c = 0;
        for (int w = 0; w < B / 32; ++w) c += popcount32(g.col_mask[i][size_t(w)]);
        g.col_count[i] = c;
        const bool packable = 2 * c <= B;
        g.pre_all[i + 1] = g.pre_all[i] + c;
        g.pre_cand[i + 1] = g.pre_cand[i] + (packable ? 1 : 0);
        g.pre_cols[i + 1] = g.pre_cols[i] + (packable ? c : 0);
        if (!packable) {
            g.non_cand.push_back(uint32_t(i));
            continue;
        }
        for (int w = 0; w < B / 32; ++w)
            for (uint32_t x = g.col_mask[i][size_t(w)]; x != 0; x &= x - 1)
                g.cand_keys.push_back(g.col_j[i] * uint32_t(B) + uint32_t(w * 32 + std::countr_zero(x)));
    }
    return g;
}

// Threads kept between builds: a structural mask takes well under a millisecond, about what
// starting 8 threads costs, so they are started once and woken per build.
class WorkerPool {
public:
    static WorkerPool& get() {
        static WorkerPool pool;
        return pool;
    }
    // Runs f(w) for w in [0, t): w = 0 on the calling thread, the rest on the pool; returns when
    // all are done. f must not throw. One run at a time.
    template <class F>
    void run(int t, F& f) {
        std::lock_guard one(run_mutex_);
        std::function<void(int)> job = [&f](int w) { f(w); };
        {
            std::unique_lock lock(m_);
            while (int(threads_.size()) < t - 1) {
                const int id = int(threads_.size()) + 1;
                threads_.emplace_back([this, id] { loop(id); });
            }
            job_ = &job;
            job_t_ = t;
            remaining_ = t - 1;
            ++gen_;
        }
        wake_.notify_all();
        f(0);
        std::unique_lock lock(m_);
        done_.wait(lock, [&] { return remaining_ == 0; });
        job_ = nullptr;
    }
    ~WorkerPool() {
        {
            std::lock_guard lock(m_);
            quit_ = true;
        }
        wake_.notify_all();
        threads_.clear();  // joins
    }

private:
    void loop(int id) {
        uint64_t seen = 0;
        std::unique_lock lock(m_);
        {
            seen = gen_;  // started during a run: take part in it if it includes this id
            if (job_ && id < job_t_) seen = gen_ - 1;
        }
        while (true) {
            wake_.wait(lock, [&] { return quit_ || gen_ != seen; });
            if (quit_) return;
            seen = gen_;
            if (id >= job_t_ || !job_) continue;
            const std::function<void(int)>* job = job_;
            lock.unlock();
            (*job)(id);
            lock.lock();
            if (--remaining_ == 0) done_.notify_all();
        }
    }
    std::mutex run_mutex_, m_;
    std::condition_variable wake_, done_;
    std::vector<std::jthread> threads_;
    const std::function<void(int)>* job_ = nullptr;
    int job_t_ = 0, remaining_ = 0;
    uint64_t gen_ = 0;
    bool quit_ = false;
};

// Entry words of a piece, written through a raw cursor: a query block makes sure of room for
// every entry it can list (at most one per key block) once, then each entry is two stores
// (std::vector::push_back's growth check and call per word cost a third of the build).
struct EntryBuf {
    std::vector<uint32_t> v;
    size_t n = 0;
    void room(size_t words) {
        if (n + words > v.size()) v.resize(std::max(v.size() * 2, n + words));
    }
    void put(uint32_t w0, uint32_t w1) {
        v[n] = w0;
        v[n + 1] = w1;
        n += 2;
    }
    size_t size() const { return n; }
    std::vector<uint32_t> take() {
        v.resize(n);
        return std::move(v);
    }
};

struct Piece {
    std::vector<uint32_t> counts, bits, gather;
    EntryBuf entries;
    int64_t kept = 0, full = 0, partial = 0, empty_rows = 0, gathered = 0;
    int64_t min_keys = std::numeric_limits<int64_t>::max(), max_keys = 0;
};

// A listed-block candidate of one query block.
struct Blk {
    uint32_t J;
    uint8_t kind;   // 0 full, 1 row-invariant columns, 2 evaluated bitmask, 3 run of column blocks
    int32_t ucount;
    Words cols;     // kind 1
    uint32_t memo;  // kind 2; kind 3: column blocks [J, memo) of HeadGeo::col_j
};

struct Worker {
    int B = 64, wpr = 2;
    int64_t n = 0, nb = 0;
    bool gather = false;
    const HeadGeo* g = nullptr;
    std::unordered_map<Key, uint32_t, KeyHash> index;
    std::vector<Memo> memos;
    std::vector<uint32_t> mbits;
    std::vector<uint16_t> mcounts;
    // per query block
    std::vector<uint32_t> stamp;
    std::vector<uint8_t> flags;
    std::vector<uint32_t> touched;
    uint32_t cur = 0;
    std::vector<Blk> blks;
    std::vector<int64_t> row_keys;
    std::vector<uint32_t> gkeys, gbits;
    std::vector<std::vector<int64_t>> bb_random;  // per bigbird component: the last block-row's draws
    std::vector<int64_t> bb_row;
    std::vector<uint32_t> col_memo;  // per column block: its memo for a full query block
    Key last_key;
    std::vector<uint32_t> combo, last_combo;  // partial bitmasks listed in a query block
    int64_t last_rows = -1, last_min = 0, last_max = 0, last_zero = 0;
    // Gather blocks filled from one run alone, by (first key's offset in cand_keys, slots used).
    std::unordered_map<uint64_t, uint32_t> run_chunks;
    int64_t chunk_from = -2;  // the current gather block's source: offset (one run), -1 mixed, -2 empty
    uint32_t last_memo = gpu::kNoKey;
    int64_t words() const { return int64_t(B) * wpr; }

    void set_head(const HeadGeo* geo) {
        g = geo;
        index.clear();
        memos.clear();
        mbits.clear();
        mcounts.clear();
        bb_random.assign(geo->bigbirds.size(), {});
        bb_row.assign(geo->bigbirds.size(), -1);
        col_memo.assign(geo->col_j.size(), gpu::kNoKey);
        last_memo = gpu::kNoKey;
        run_chunks.clear();
        last_combo.clear();
        last_rows = -1;
    }

    void mark(int64_t J, uint8_t f, int64_t lim) {
        if (J < 0 || J >= lim) return;
        if (stamp[size_t(J)] != cur) {
            stamp[size_t(J)] = cur;
            flags[size_t(J)] = 0;
            touched.push_back(uint32_t(J));
        }
        flags[size_t(J)] |= f;
    }
    // A band |i - j| <= reach of the rows [q0, q1): interior blocks full (dil 1), edges offset-dependent.
    void mark_band(int64_t q0, int64_t q1, int64_t reach, bool contiguous, int64_t lim) {
        const int64_t jlo = std::max<int64_t>(0, q0 - reach) / B, jhi = std::min(n - 1, q1 - 1 + reach) / B;
        for (int64_t J = jlo; J <= jhi && J < lim; ++J) {
            const int64_t k0 = J * B, kend = std::min(n, k0 + B);
            const bool full = contiguous && k0 >= q1 - 1 - reach && kend - 1 <= q0 + reach;
            mark(J, full ? kAll : kDelta, lim);
        }
    }

    // Evaluates (or finds) the bitmask of a key.
    uint32_t memo_of(const Key& k) {
        if (last_memo != gpu::kNoKey && k == last_key) return last_memo;  // runs of equal blocks
        last_key = k;
        auto [it, inserted] = index.try_emplace(k, uint32_t(memos.size()));
        last_memo = it->second;
        if (!inserted) return it->second;
        Memo m;
        m.at = uint32_t(mbits.size());
        m.counts = uint32_t(mcounts.size());
        mbits.resize(mbits.size() + size_t(words()), 0u);
        mcounts.resize(mcounts.size() + size_t(B), 0);
        uint32_t* bits = &mbits[m.at];
        const bool delta = k.delta != kNoDelta;
        for (int64_t r = 0; r < k.rows; ++r) {
            uint32_t* row = bits + r * wpr;
            if ((k.flags & kAll) || ((k.rowmask[size_t(r / 32)] >> (r % 32)) & 1u)) {
                set_bits(row, 0, k.cols, k.cols);
            } else {
                for (int w = 0; w < wpr; ++w) row[w] = k.colmask[size_t(w)];
                if (delta) {
                    const int64_t x0 = r - k.delta;  // i - j at column c is x0 - c
                    for (const HeadGeo::Win& win : g->windows) {
                        if (win.dil == 1) {
                            set_bits(row, x0 - win.reach, x0 + win.reach + 1, k.cols);
                        } else {
                            const int64_t hi = std::min<int64_t>(k.cols - 1, x0 + win.reach);
                            for (int64_t c = std::max<int64_t>(0, x0 - win.reach); c <= hi; ++c)
                                if (pos_mod(x0 - c, win.dil) == 0) row[c / 32] |= 1u << (c % 32);
                        }
                    }
                    for (int64_t l : g->strides) {
                        set_bits(row, x0 - l + 1, x0 + l, k.cols);
                        for (int64_t c = pos_mod(x0, l); c < k.cols; c += l) row[c / 32] |= 1u << (c % 32);
                    }
                    for (int64_t l : g->fixeds) {
                        const int64_t grp = floor_div(k.phase + r, l);
                        // floor((phase + delta + c) / l) == grp  <=>  c in [grp*l - phase - delta, +l)
                        const int64_t a = grp * l - k.phase - k.delta;
                        set_bits(row, a, a + l, k.cols);
                    }
                }
            }
            for (int w = 0; w < wpr; ++w) row[w] &= low_bits(k.cols - w * 32);
            if (g->causal && delta)
                for (int w = 0; w < wpr; ++w) row[w] &= low_bits(x0_plus_one(r, k.delta) - w * 32);
            int cnt = 0;
            for (int w = 0; w < wpr; ++w) {
                cnt += popcount32(row[w]);
                m.uni[size_t(w)] |= row[w];
            }
            mcounts[m.counts + size_t(r)] = uint16_t(cnt);
            m.total += cnt;
        }
        for (int w = 0; w < wpr; ++w) m.ucount += popcount32(m.uni[size_t(w)]);
        m.full = m.total == int64_t(k.rows) * k.cols;
        memos.push_back(m);
        return it->second;
    }
    static int64_t x0_plus_one(int64_t r, int64_t delta) { return r - delta + 1; }  // keys j <= i

    uint32_t store(Piece& out, uint32_t memo) {
        Memo& m = memos[memo];
        if (m.stored == gpu::kNoKey) {
            m.stored = uint32_t(out.bits.size() / size_t(words()));
            out.bits.insert(out.bits.end(), mbits.begin() + m.at, mbits.begin() + m.at + words());
        }
        return m.stored;
    }

    void query_block(int64_t I, Piece& out) {
        const HeadGeo& geo = *g;
        const int64_t q0 = I * B, q1 = std::min(n, q0 + B), rows = q1 - q0;
        const int64_t lim = geo.causal ? I + 1 : nb;
        ++cur;
        if (cur == 0) {  // stamps wrapped: start over
            std::fill(stamp.begin(), stamp.end(), 0u);
            cur = 1;
        }
        touched.clear();
        if (geo.dense)
            for (int64_t J = 0; J < lim; ++J) mark(J, kAll, lim);
        for (const HeadGeo::Win& w : geo.windows) mark_band(q0, q1, w.reach, w.dil == 1, lim);
        for (int64_t l : geo.strides) {
            mark_band(q0, q1, l - 1, true, lim);
            if (l <= B) {
                for (int64_t J = 0; J < lim; ++J) mark(J, kDelta, lim);
            } else {
                for (int64_t t = (q1 - 1) / l; t >= floor_div(q0 - (n - 1), l); --t) {
                    const int64_t lo = std::max<int64_t>(0, q0 - t * l), hi = std::min(n - 1, q1 - 1 - t * l);
                    for (int64_t J = lo / B; lo <= hi && J <= hi / B; ++J) mark(J, kDelta, lim);
                }
            }
        }
        for (int64_t l : geo.fixeds) {
            const int64_t g0 = q0 / l, g1 = (q1 - 1) / l;
            for (int64_t J = g0 * l / B; J * B < std::min(n, (g1 + 1) * l); ++J) {
                const int64_t k0 = J * B, kend = std::min(n, k0 + B);
                const bool full = g0 == g1 && k0 >= g0 * l && kend <= g0 * l + l;
                mark(J, full ? kAll : kDelta, lim);
            }
        }
        for (size_t b = 0; b < geo.bigbirds.size(); ++b) {
            const Component& c = *geo.bigbirds[b];
            const int64_t cb = c.block, per = cb / B, Ib = q0 / cb, nbb = (n - 1) / cb + 1;
            const int64_t wb = std::min(c.window_blocks, nbb), gb = std::min(c.global_blocks, nbb);
            auto mark_jb = [&](int64_t Jb) {
                for (int64_t J = Jb * per; J < std::min(nb, (Jb + 1) * per); ++J) mark(J, kAll, lim);
            };
            if (Ib < gb) {
                for (int64_t Jb = 0; Jb < nbb; ++Jb) mark_jb(Jb);
                continue;
            }
            for (int64_t Jb = std::max<int64_t>(0, Ib - wb); Jb <= std::min(nbb - 1, Ib + wb); ++Jb) mark_jb(Jb);
            for (int64_t Jb = 0; Jb < gb; ++Jb) mark_jb(Jb);
            if (c.random_blocks > 0) {
                if (bb_row[b] != Ib) {
                    bb_random[b] = block_component_random_blocks(c, Ib, n, geo.causal);
                    bb_row[b] = Ib;
                }
                for (int64_t Jb : bb_random[b]) mark_jb(Jb);
            }
        }
        if (!std::is_sorted(touched.begin(), touched.end())) std::sort(touched.begin(), touched.end());

        Words rowmask{};
        for (const Glob& gl : geo.globs) global_bits(gl, q0, q1, rowmask.data());
        const bool rows_all = rowmask != Words{};
        const int64_t phase = geo.period > 0 ? q0 % geo.period : (geo.period < 0 ? q0 : 0);

        // Walk the key blocks in order: the touched ones merged with the column blocks (every
        // block up to lim when some row of the query block is a global row).
        blks.clear();
        size_t ti = 0, ci = 0;
        const size_t nc = geo.col_j.size();
        auto visit = [&](int64_t J, uint8_t f, const Words* cm) {
            const int64_t cols = std::min<int64_t>(B, n - J * B);
            const bool diag = geo.causal && J == I;
            Blk b{uint32_t(J), 0, int32_t(cols), {}, 0};
            if ((f & kAll) && !diag) {
                blks.push_back(b);
                return;
            }
            if (!(f & kDelta) && !rows_all && !diag) {
                b.cols = cm ? *cm : Words{};
                int c = 0;
                for (int w = 0; w < wpr; ++w) c += popcount32(b.cols[size_t(w)]);
                if (c == 0) return;
                b.ucount = c;
                b.kind = c == cols ? 0 : 1;
                blks.push_back(b);
                return;
            }
            Key k;
            if ((f & kDelta) || diag) {
                k.delta = J * B - q0;
                k.phase = phase;
            }
            k.rows = int32_t(rows);
            k.cols = int32_t(cols);
            k.flags = f & kAll;
            if (rows_all) k.rowmask = rowmask;
            if (cm) k.colmask = *cm;
            const uint32_t mi = memo_of(k);
            const Memo& m = memos[mi];
            if (m.total == 0) return;
            b.ucount = m.ucount;
            b.kind = m.full ? 0 : 2;
            b.memo = mi;
            blks.push_back(b);
        };
        if (rows_all) {
            for (int64_t J = 0; J < lim; ++J) {
                while (ci < nc && geo.col_j[ci] < J) ++ci;
                const Words* cm = ci < nc && geo.col_j[ci] == J ? &geo.col_mask[ci] : nullptr;
                const uint8_t f = stamp[size_t(J)] == cur ? flags[size_t(J)] : uint8_t(0);
                visit(J, f, cm);
            }
        } else {
            while (true) {
                const int64_t tj = ti < touched.size() ? int64_t(touched[ti]) : lim;
                // Column blocks before the next touched one (and before the causal diagonal,
                // which is cut) are kept the same by every row: one run item.
                const int64_t stop_at = geo.causal ? std::min(tj, I) : tj;
                const size_t ce = size_t(std::lower_bound(geo.col_j.begin() + std::ptrdiff_t(ci), geo.col_j.end(),
                                                          uint32_t(std::min<int64_t>(stop_at, lim))) -
                                         geo.col_j.begin());
                if (ce > ci) {
                    blks.push_back(Blk{uint32_t(ci), 3, 0, {}, uint32_t(ce)});
                    ci = ce;
                }
                const int64_t cj = ci < nc ? int64_t(geo.col_j[ci]) : lim;
                const int64_t J = std::min(tj, cj);
                if (J >= lim) break;
                const Words* cm = cj == J ? &geo.col_mask[ci] : nullptr;
                visit(J, tj == J ? flags[size_t(J)] : uint8_t(0), cm);
                if (tj == J) ++ti;
                if (cj == J) ++ci;
            }
        }
        emit(out, rows);
    }

    // One column block (HeadGeo index ci) outside the gathered blocks: full or row-invariant.
    void emit_column_block(Piece& out, size_t ci, int64_t rows) {
        const HeadGeo& geo = *g;
        const int64_t J = geo.col_j[ci], cols = std::min<int64_t>(B, n - J * B);
        if (geo.col_count[ci] == cols) {
            out.entries.put(uint32_t(J), 0u);
            ++out.full;
            return;
        }
        uint32_t mi;
        if (rows == B && col_memo[ci] != gpu::kNoKey) {
            mi = col_memo[ci];
        } else {
            Key k;
            k.rows = int32_t(rows);
            k.cols = int32_t(cols);
            k.colmask = geo.col_mask[ci];
            mi = memo_of(k);
            if (rows == B) col_memo[ci] = mi;
        }
        out.entries.put(uint32_t(J) | gpu::kPartialBit, store(out, mi));
        ++out.partial;
    }

    void emit(Piece& out, int64_t rows) {
        const HeadGeo& geo = *g;
        out.entries.room(2 * size_t(nb));  // at most one entry per key block
        bool varies = false;  // gathered blocks with row-dependent counts (in row_keys)
        if (row_keys.size() < size_t(B)) row_keys.resize(size_t(B));
        std::fill(row_keys.begin(), row_keys.begin() + rows, 0);
        combo.clear();
        int64_t combo_total = 0;
        int64_t common = 0;
        uint32_t listed = 0;
        // Gathering: blocks whose kept columns fill at most half a block, packed when that
        // lowers the number of entries (compile_block_mask's rule).
        bool pack = false;
        if (gather) {
            int64_t cand = 0, cols = 0;
            for (const Blk& b : blks) {
                if (b.kind == 3) {
                    cand += geo.pre_cand[b.memo] - geo.pre_cand[b.J];
                    cols += geo.pre_cols[b.memo] - geo.pre_cols[b.J];
                } else if (2 * b.ucount <= B) {
                    ++cand;
                    cols += b.ucount;
                }
            }
            pack = (cols + B - 1) / B < cand;
        }
        auto packed = [&](const Blk& b) { return pack && 2 * b.ucount <= B; };
        for (const Blk& b : blks) {
            if (b.kind == 3) {
                // Every row keeps the run's columns; packed ones are counted with their gathered block.
                common += geo.pre_all[b.memo] - geo.pre_all[b.J];
                if (pack) common -= geo.pre_cols[b.memo] - geo.pre_cols[b.J];
                if (pack) {
                    auto lo = std::lower_bound(geo.non_cand.begin(), geo.non_cand.end(), b.J);
                    for (; lo != geo.non_cand.end() && *lo < b.memo; ++lo, ++listed) emit_column_block(out, *lo, rows);
                } else {
                    for (uint32_t ci = b.J; ci < b.memo; ++ci, ++listed) emit_column_block(out, ci, rows);
                }
                continue;
            }
            if (packed(b)) continue;
            ++listed;
            if (b.kind == 0) {
                out.entries.put(b.J, 0u);
                ++out.full;
                common += b.ucount;
                continue;
            }
            uint32_t mi = b.memo;
            if (b.kind == 1) {
                Key k;
                k.rows = int32_t(rows);
                k.cols = int32_t(std::min<int64_t>(B, n - int64_t(b.J) * B));
                k.colmask = b.cols;
                mi = memo_of(k);
                common += b.ucount;
            } else {
                combo.push_back(mi);  // its row counts are added below
                combo_total += memos[mi].total;
            }
            out.entries.put(b.J | gpu::kPartialBit, store(out, mi));
            ++out.partial;
        }
        if (pack) {
            gkeys.clear();
            chunk_from = -2;
            gbits.assign(size_t(words()), 0u);
            Words gcols{};
            bool vary = false;
            auto flush = [&] {
                if (gkeys.empty()) return;
                const int64_t used = int64_t(gkeys.size());
                gkeys.resize(size_t(B), gpu::kNoKey);
                // A gather block filled from one run of column blocks alone is the same keys
                // wherever that stretch of the run recurs (a fixed layout's summary columns in
                // every query block): stored once.
                uint32_t gi;
                const uint64_t tag = chunk_from >= 0 ? uint64_t(chunk_from) * uint64_t(B + 1) + uint64_t(used) : 0;
                auto known = chunk_from >= 0 ? run_chunks.find(tag) : run_chunks.end();
                if (known != run_chunks.end()) {
                    gi = known->second;
                } else {
                    gi = uint32_t(out.gather.size() / size_t(B));
                    out.gather.insert(out.gather.end(), gkeys.begin(), gkeys.end());
                    if (chunk_from >= 0) run_chunks.emplace(tag, gi);
                }
                chunk_from = -2;
                bool full = true;
                if (vary) {
                    varies = true;
                    for (int64_t r = 0; r < rows; ++r) {
                        int cnt = 0;
                        for (int w = 0; w < wpr; ++w) {
                            uint32_t& x = gbits[size_t(r * wpr + w)];
                            x |= gcols[size_t(w)];
                            cnt += popcount32(x);
                        }
                        row_keys[size_t(r)] += cnt;
                        full = full && cnt == used;
                    }
                } else {
                    common += used;
                }
                if (full) {
                    out.entries.put(gpu::kGatherBit | gi, 0u);
                    ++out.full;
                } else {
                    out.entries.put(gpu::kGatherBit | gpu::kPartialBit | gi,
                                    uint32_t(out.bits.size() / size_t(words())));
                    out.bits.insert(out.bits.end(), gbits.begin(), gbits.end());
                    ++out.partial;
                }
                ++out.gathered;
                ++listed;
                gkeys.clear();
                if (vary) std::fill(gbits.begin(), gbits.end(), 0u);
                gcols = {};
                vary = false;
            };
            for (const Blk& b : blks) {
                if (b.kind == 3) {
                    // The run's candidate columns, kept by every row: copied in bulk. Their
                    // row counts were added with the run (common) above.
                    const uint32_t* src = geo.cand_keys.data();
                    int64_t from = geo.pre_cols[b.J];
                    const int64_t to = geo.pre_cols[b.memo];
                    while (from < to) {
                        const int64_t slot = int64_t(gkeys.size());
                        const int64_t take = std::min<int64_t>(B - slot, to - from);
                        if (slot == 0 && take == B) {
                            // A whole gather block from this run: full for every row, shared.
                            const uint64_t tag = uint64_t(from) * uint64_t(B + 1) + uint64_t(B);
                            auto [it, fresh] = run_chunks.try_emplace(tag, uint32_t(out.gather.size() / size_t(B)));
                            if (fresh) out.gather.insert(out.gather.end(), src + from, src + from + B);
                            out.entries.put(gpu::kGatherBit | it->second, 0u);
                            ++out.full;
                            ++out.gathered;
                            ++listed;
                            common += B;
                            from += B;
                            continue;
                        }
                        chunk_from = slot == 0 ? from : -1;
                        gkeys.insert(gkeys.end(), src + from, src + from + take);
                        set_bits(gcols.data(), slot, slot + take, B);
                        from += take;
                        if (int64_t(gkeys.size()) == B) flush();
                    }
                    continue;
                }
                if (!packed(b)) continue;
                const int64_t k0 = int64_t(b.J) * B;
                Words u{};
                if (b.kind == 0) {
                    for (int w = 0; w < wpr; ++w) u[size_t(w)] = low_bits(std::min<int64_t>(B, n - k0) - w * 32);
                } else if (b.kind == 1) {
                    u = b.cols;
                } else {
                    u = memos[b.memo].uni;
                }
                const uint32_t* mb = b.kind == 2 ? &mbits[memos[b.memo].at] : nullptr;
                for (int w = 0; w < wpr; ++w)
                    for (uint32_t x = u[size_t(w)]; x != 0; x &= x - 1) {
                        const int64_t jj = w * 32 + std::countr_zero(x);
                        const int64_t slot = int64_t(gkeys.size());
                        chunk_from = -1;
                        gkeys.push_back(uint32_t(k0 + jj));
                        if (!mb) {
                            gcols[size_t(slot / 32)] |= 1u << (slot % 32);
                        } else {
                            vary = true;
                            for (int64_t r = 0; r < rows; ++r)
                                if ((mb[r * wpr + w] >> (jj % 32)) & 1u)
                                    gbits[size_t(r * wpr + slot / 32)] |= 1u << (slot % 32);
                        }
                        if (int64_t(gkeys.size()) == B) flush();
                    }
            }
            flush();
        }
        out.counts.push_back(listed);
        if (!varies) {
            // Row counts: `common` plus the listed partial bitmasks' (combo); the extremes of
            // the latter are kept for the last combination (window edges repeat in every query
            // block).
            if (combo != last_combo || rows != last_rows) {
                std::fill(row_keys.begin(), row_keys.begin() + rows, 0);
                for (uint32_t mi : combo) {
                    const uint16_t* c = &mcounts[memos[mi].counts];
                    for (int64_t r = 0; r < rows; ++r) row_keys[size_t(r)] += c[r];
                }
                last_min = rows > 0 ? *std::min_element(row_keys.begin(), row_keys.begin() + rows) : 0;
                last_max = rows > 0 ? *std::max_element(row_keys.begin(), row_keys.begin() + rows) : 0;
                last_zero = std::count(row_keys.begin(), row_keys.begin() + rows, 0);
                last_combo = combo;
                last_rows = rows;
            }
            out.kept += rows * common + combo_total;
            out.min_keys = std::min(out.min_keys, common + last_min);
            out.max_keys = std::max(out.max_keys, common + last_max);
            if (common == 0) out.empty_rows += last_zero;
            return;
        }
        for (uint32_t mi : combo) {
            const uint16_t* c = &mcounts[memos[mi].counts];
            for (int64_t r = 0; r < rows; ++r) row_keys[size_t(r)] += c[r];
        }
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t kc = common + row_keys[size_t(r)];
            out.kept += kc;
            out.min_keys = std::min(out.min_keys, kc);
            out.max_keys = std::max(out.max_keys, kc);
            if (kc == 0) ++out.empty_rows;
        }
    }
};

// Where each piece's entries, bitmasks and gather blocks start in the assembled mask (one more
// than there are pieces: the last is the total). Throws when the total outgrows the encoding.
struct PieceBase {
    size_t entries = 0, bits = 0, gather = 0;
};
std::vector<PieceBase> piece_bases(const std::vector<Piece>& pieces, const BlockMask& bm) {
    std::vector<PieceBase> base(pieces.size() + 1);
    for (size_t i = 0; i < pieces.size(); ++i)
        base[i + 1] = {base[i].entries + pieces[i].entries.size(), base[i].bits + pieces[i].bits.size(),
                       base[i].gather + pieces[i].gather.size()};
    const PieceBase& total = base.back();
    if (total.entries / 2 >= (size_t(1) << 31))
        throw std::length_error("block mask has too many entries for 32-bit offsets");
    if (total.gather / size_t(bm.block) > gpu::kIndexMask ||
        total.bits / size_t(bm.words_per_partial()) >= (size_t(1) << 32))
        throw std::length_error("block mask has too many gathered or partial blocks for 32-bit indices");
    return base;
}

// Copies a piece into its place in bm (sized for all pieces), rebasing its bitmask and gather
// indices.
void copy_piece(const Piece& p, const PieceBase& b, BlockMask& bm) {
    const uint32_t bit_base = uint32_t(b.bits / size_t(bm.words_per_partial()));
    const uint32_t gather_base = uint32_t(b.gather / size_t(bm.block));
    const uint32_t* src = p.entries.v.data();
    uint32_t* dst = bm.entries.data() + b.entries;
    for (size_t e = 0; e < p.entries.size(); e += 2) {
        const BlockEntry be = decode_entry(src[e]);
        dst[e] = be.gathered ? src[e] + gather_base : src[e];
        dst[e + 1] = be.partial ? src[e + 1] + bit_base : 0u;
    }
    std::copy(p.bits.begin(), p.bits.end(), bm.bits.begin() + std::ptrdiff_t(b.bits));
    std::copy(p.gather.begin(), p.gather.end(), bm.gather.begin() + std::ptrdiff_t(b.gather));
}

// Row pointers and statistics of bm from its pieces, in row order.
void finish_from_pieces(const std::vector<Piece>& pieces, int64_t rows, BlockMask& bm) {
    bm.row_ptr.resize(size_t(rows) + 1);
    bm.row_ptr[0] = 0;
    size_t r = 0;
    for (const Piece& p : pieces)
        for (uint32_t c : p.counts) {
            bm.row_ptr[r + 1] = bm.row_ptr[r] + c;
            ++r;
        }
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
}

}  // namespace

std::string structural_block_mask_unsupported(const std::vector<HeadMask>& heads, int block) {
    for (size_t h = 0; h < heads.size(); ++h)
        for (const Component& c : heads[h].pattern().components) {
            const std::string at = "head " + std::to_string(h) + ": ";
            switch (c.type) {
                case ComponentType::random:
                case ComponentType::lsh:
                case ComponentType::topk:
                    return at + std::string(to_string(c.type)) + " keeps per-row keys";
                case ComponentType::block:
                    if (c.block % block != 0)
                        return at + "block layout of block " + std::to_string(c.block) + " is not a multiple of " +
                               std::to_string(block);
                    break;
                default:
                    break;
            }
        }
    return {};
}

bool heads_are_dense(const std::vector<HeadMask>& heads, bool& causal) {
    if (heads.empty()) return false;
    causal = heads.front().pattern().causal;
    for (const HeadMask& m : heads) {
        if (m.pattern().causal != causal) return false;
        const auto& cs = m.pattern().components;
        if (std::none_of(cs.begin(), cs.end(), [](const Component& c) { return c.type == ComponentType::dense; }))
            return false;
    }
    return true;
}

std::optional<BlockMask> build_block_mask_structural(const std::vector<HeadMask>& heads, int block, int threads,
                                                     bool gather) {
    if (block != 32 && block != 64 && block != 128)
        throw std::invalid_argument("block mask block size must be 32, 64 or 128");
    if (heads.empty()) throw std::invalid_argument("build_block_mask_structural needs at least one head");
    if (!structural_block_mask_unsupported(heads, block).empty()) return std::nullopt;
    BlockMask bm;
    bm.n = heads.front().n();
    bm.block = block;
    bm.heads = int(heads.size());
    bm.num_blocks = (bm.n + block - 1) / block;
    for (const HeadMask& m : heads)
        if (m.n() != bm.n) throw std::invalid_argument("all heads of a block mask must have the same n");
    if (bm.num_blocks > int64_t(gpu::kIndexMask))
        throw std::length_error("block mask has too many key blocks for its entry encoding");

    std::vector<HeadGeo> geo;
    geo.reserve(heads.size());
    for (const HeadMask& m : heads) geo.push_back(head_geometry(m, block));

    const int64_t rows = bm.num_blocks * bm.heads;
    int t = threads > 0 ? threads : available_cpus();
    // 64 query blocks per thread at least: on a 16-core GPU host (the H200's), n = 65,536 with one
    // mask shared by all heads built in 0.13-0.20 ms on 16 threads against 0.14-0.23 on 8 and
    // 0.30-0.44 on one (Longformer, BigBird, strided anchors; steady state).
    t = int(std::clamp<int64_t>(rows / 64, 1, t));
    std::vector<Piece> pieces(static_cast<size_t>(t));
    std::atomic<int64_t> used{0};  // bytes of every piece and memo so far
    const int64_t limit = int64_t(std::min<uint64_t>(host_memory_budget() / 2, uint64_t(1) << 62));
    std::exception_ptr failed;
    std::mutex failed_mutex;
    std::atomic<bool> stop{false};
    // Called in a catch block: keeps the first failure and stops the other workers.
    auto record_failure = [&] {
        std::lock_guard lock(failed_mutex);
        if (!failed) failed = std::current_exception();
        stop = true;
    };

    auto build = [&](int w) {
        try {
            Worker wk;
            wk.B = block;
            wk.wpr = block / 32;
            wk.n = bm.n;
            wk.nb = bm.num_blocks;
            wk.gather = gather;
            wk.stamp.assign(size_t(bm.num_blocks), 0u);
            wk.flags.assign(size_t(bm.num_blocks), 0);
            const int64_t begin = rows * w / t, end = rows * (w + 1) / t;
            Piece& p = pieces[size_t(w)];
            // Most structural masks list about ten blocks per query block: room for that up
            // front (capped; the room is zero-filled, so not more) instead of regrowing.
            p.counts.reserve(size_t(end - begin));
            p.entries.room(size_t(std::min<int64_t>((end - begin) * 24, int64_t(1) << 22)));
            int64_t head = -1;
            int64_t last = 0;
            for (int64_t row = begin; row < end && !stop; ++row) {
                const int64_t h = row / bm.num_blocks;
                if (h != head) {
                    wk.set_head(&geo[size_t(h)]);
                    head = h;
                }
                wk.query_block(row % bm.num_blocks, p);
                // Signed: the memo shrinks when the head changes.
                const int64_t now = 4 * int64_t(p.counts.size() + p.entries.size() + p.bits.size() + p.gather.size() +
                                                  wk.mbits.size());
                if ((used += now - last) > limit)
                    throw InputError("the block mask of n = " + std::to_string(bm.n) + ", " + std::to_string(bm.heads) +
                                     " head(s) grows past " + format_bytes(double(limit)) +
                                     " (half of this machine's memory budget): use a smaller n, fewer heads or a sparser pattern");
                last = now;
            }
        } catch (...) {
            record_failure();
        }
    };
    // Assembly in row order. With several pieces, each worker copies its own once all are built
    // and the offsets are known (a barrier, not a second wake-up of the pool): the copy and the
    // first touch of the output's pages cost as much as building when one thread does them.
    std::vector<PieceBase> base;
    auto prepare = [&]() noexcept {
        if (stop) return;
        try {
            base = piece_bases(pieces, bm);
            if (pieces.size() > 1) {
                bm.entries.resize(base.back().entries);
                bm.bits.resize(base.back().bits);
                bm.gather.resize(base.back().gather);
            }
        } catch (...) {
            record_failure();
        }
    };
    if (t == 1) {
        build(0);
        prepare();
        if (!failed) {  // indices are already global: no copy
            bm.entries = pieces[0].entries.take();
            bm.bits = std::move(pieces[0].bits);
            bm.gather = std::move(pieces[0].gather);
        }
    } else {
        // The last worker to finish its piece prepares the output; the others wait for it.
        // (A mutex and condition variable: libstdc++ 12's std::barrier waits by sleeping in
        // steps of milliseconds.)
        std::mutex sync_mutex;
        std::condition_variable synced;
        int arrived = 0;
        auto work = [&](int w) {
            build(w);
            {
                std::unique_lock lock(sync_mutex);
                if (++arrived == t) {
                    prepare();
                    synced.notify_all();
                } else {
                    synced.wait(lock, [&] { return arrived == t; });
                }
            }
            if (!stop) copy_piece(pieces[size_t(w)], base[size_t(w)], bm);
        };
        WorkerPool::get().run(t, work);
    }
    if (failed) std::rethrow_exception(failed);
    finish_from_pieces(pieces, rows, bm);
    return bm;
}

}  // namespace salab
