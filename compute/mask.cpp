// Pattern -> rows of kept keys, exactly as DESIGN.md ("Patterns: exact semantics") says.
//
// Every component has two faces that must agree: a row generator (the sorted keys j < lim of
// query i, where lim is i + 1 for causal heads and n otherwise) and a pair test
// (components_keeping). Seeded draws are recomputed on demand from (seed, row), so only the
// content components (lsh, topk) hold per-token state.
#include "mask.h"
#include "threads.h"
#include "size_limits.h"

#include "synthetic.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_set>

namespace salab {

namespace {

constexpr uint64_t tag_random = 0x72616e646f6dull;  // "random"
constexpr uint64_t tag_block = 0x626c6f636bull;     // "block"
constexpr uint64_t tag_lsh = 0x6c7368ull;           // "lsh"

// The stream for one row's draw; see mask.h.
SplitMix64 row_stream(uint64_t tag, uint64_t seed, int64_t row, int64_t count, bool causal) {
    uint64_t s = mix64(mix64(stream_key(seed) ^ tag) + uint64_t(row));
    s = mix64(s + 2 * uint64_t(count) + (causal ? 1 : 0));
    return SplitMix64{s};
}

// Floyd's algorithm: min(r, m) distinct values of [0, m), appended to out unsorted.
void draw_distinct(SplitMix64 rng, int64_t r, int64_t m, std::vector<int64_t>& out) {
    const size_t base = out.size();
    if (r >= m) {
        for (int64_t t = 0; t < m; ++t)
            out.push_back(t);
        return;
    }
    for (int64_t t = m - r; t < m; ++t) {
        const int64_t x = int64_t(rng.below(uint64_t(t) + 1));
        const bool seen = std::find(out.begin() + std::ptrdiff_t(base), out.end(), x) != out.end();
        out.push_back(seen ? t : x);
    }
}

// Sorted draw; linear-time membership checks above are fine for the small r of real patterns,
// larger r switch to a sorted set.
std::vector<int64_t> draw_sorted(SplitMix64 rng, int64_t r, int64_t m) {
    std::vector<int64_t> out;
    if (r <= 0 || m <= 0)
        return out;
    if (r >= m || r <= 64) {
        out.reserve(size_t(std::min(r, m)));
        draw_distinct(rng, r, m, out);
        std::sort(out.begin(), out.end());
        return out;
    }
    // Same sequence of draws as draw_distinct, with a hash set for membership (a sorted
    // vector's inserts would be O(r^2) per row).
    out.reserve(size_t(r));
    std::unordered_set<int64_t> seen;
    seen.reserve(size_t(r) * 2);
    for (int64_t t = m - r; t < m; ++t) {
        const int64_t x = int64_t(rng.below(uint64_t(t) + 1));
        const int64_t v = seen.count(x) ? t : x;
        seen.insert(v);
        out.push_back(v);
    }
    std::sort(out.begin(), out.end());
    return out;
}

struct Comp {
    Component c;
    // global: sorted unique extra tokens
    std::vector<int64_t> tokens;
    // lsh: buckets of queries [round * n + i]; keys grouped by bucket per round:
    // keys of (round r, bucket b) are key_list[r * n + key_ptr[r * (B + 1) + b] ..) ascending.
    std::vector<int32_t> q_bucket, k_bucket;
    std::vector<int64_t> key_ptr;
    std::vector<int32_t> key_list;
    // topk: keys of row i (ascending) are topk_keys[topk_ptr[i] .. topk_ptr[i + 1])
    std::vector<int64_t> topk_ptr;
    std::vector<int32_t> topk_keys;
};

bool in_global(const Comp& g, int64_t x) {
    return x < g.c.first || (g.c.every > 0 && x % g.c.every == 0) ||
           std::binary_search(g.tokens.begin(), g.tokens.end(), x);
}

// Blocks kept by the random rule of a block component for block-row I (ascending).
std::vector<int64_t> block_randoms(const Component& c, int64_t I, int64_t nb, bool causal) {
    const int64_t wb = std::min(c.window_blocks, nb), gb = std::min(c.global_blocks, nb);
    const int64_t rb = std::min(c.random_blocks, nb);
    if (rb == 0 || I < gb)
        return {};  // I < gb: the whole row is kept already
    const int64_t lim = causal ? I + 1 : nb;
    const int64_t below = std::max<int64_t>(0, I - wb - gb);         // [gb, I - wb - 1]
    const int64_t above = std::max<int64_t>(0, lim - (I + wb + 1));  // [I + wb + 1, lim - 1]
    std::vector<int64_t> idx =
        draw_sorted(row_stream(tag_block, c.seed, I, nb, causal), rb, below + above);
    for (auto& x : idx)
        x = x < below ? gb + x : I + wb + 1 + (x - below);
    return idx;
}

std::vector<int64_t> random_keys(const Component& c, int64_t i, int64_t n, bool causal) {
    const int64_t m = causal ? i + 1 : n;
    return draw_sorted(row_stream(tag_random, c.seed, i, n, causal), c.per_query, m);
}

// Where a row goes: sorted keys (KeySink) or key ranges (RunSink). range(lo, hi) adds the keys
// of [lo, hi) below lim; key(j) one key; sections whose keys may come out of order or twice
// are closed by close(section).
struct KeySink {
    std::vector<int32_t>& out;
    int64_t lim;
    void range(int64_t lo, int64_t hi) {
        for (int64_t j = std::max<int64_t>(lo, 0); j < std::min(hi, lim); ++j) out.push_back(int32_t(j));
    }
    void key(int64_t j) { out.push_back(int32_t(j)); }
    size_t open() const { return out.size(); }
    void close(size_t base) {
        std::sort(out.begin() + std::ptrdiff_t(base), out.end());
        out.erase(std::unique(out.begin() + std::ptrdiff_t(base), out.end()), out.end());
    }
};

struct RunSink {
    std::vector<KeyRun>& out;
    int64_t lim;
    void range(int64_t lo, int64_t hi) {
        lo = std::max<int64_t>(lo, 0);
        hi = std::min(hi, lim);
        if (lo < hi) out.push_back({int32_t(lo), int32_t(hi)});
    }
    void key(int64_t j) { out.push_back({int32_t(j), int32_t(j + 1)}); }
    size_t open() const { return 0; }
    void close(size_t) {}  // HeadMask::row_runs sorts and merges all runs at the end
};

// The global tokens of component p below lim, as keys every row keeps (unsorted: first, every,
// then tokens).
template <class Sink>
void emit_global_columns(const Comp& p, int64_t lim, Sink& out) {
    out.range(0, p.c.first);
    if (p.c.every > 0)
        for (int64_t j = 0; j < lim; j += p.c.every)
            out.key(j);
    for (int64_t t : p.tokens)
        if (t < lim)
            out.key(t);
}

// Emits the keys j < lim of row i kept by component p (ascending and unique into a KeySink).
template <class Sink>
void emit_row(const Comp& p, int64_t i, int64_t n, int64_t lim, bool causal, Sink& out) {
    const Component& c = p.c;
    auto push_range = [&](int64_t lo, int64_t hi) { out.range(lo, hi); };  // [lo, hi)
    switch (c.type) {
    case ComponentType::window: {
        const int64_t d = c.dilation;
        const int64_t tmin = std::min(c.radius, i / d),
                      tmax = std::min(c.radius, (lim - 1 - i) / d);
        if (d == 1) {
            push_range(i - tmin, i + tmax + 1);
            break;
        }
        for (int64_t t = -tmin; t <= tmax; ++t)
            out.key(i + t * d);
        break;
    }
    case ComponentType::global: {
        if (in_global(p, i)) {
            push_range(0, lim);
            break;
        }
        const size_t base = out.open();
        emit_global_columns(p, lim, out);
        out.close(base);
        break;
    }
    case ComponentType::random:
        for (int64_t j : random_keys(c, i, n, causal))
            out.key(j);
        break;
    case ComponentType::strided: {
        const int64_t l = std::min(c.stride, n + 1);  // l > n behaves as n + 1: every |i-j| < l
        const int64_t lo = std::max<int64_t>(0, i - l + 1),
                      hi = std::min(lim, i + l);  // local [lo, hi)
        for (int64_t j = i % l; j < lo; j += l)
            out.key(j);
        push_range(lo, hi);
        for (int64_t j = i + l; j < lim; j += l)
            out.key(j);
        break;
    }
    case ComponentType::fixed: {
        const int64_t l = c.block, s = c.summary, I = i / l;
        for (int64_t B = 0; B * l < lim && B <= (n - 1) / l; ++B) {
            if (B == I)
                push_range(I * l, std::min(n, I * l + l));
            else
                push_range(B * l + l - s, std::min(n, B * l + l));
        }
        break;
    }
    case ComponentType::block: {
        const int64_t b = c.block, nb = (n - 1) / b + 1, I = i / b;
        const int64_t wb = std::min(c.window_blocks, nb), gb = std::min(c.global_blocks, nb);
        if (I < gb) {
            push_range(0, lim);
            break;
        }
        std::vector<int64_t> blocks = block_randoms(c, I, nb, causal);
        for (int64_t J = 0; J < gb; ++J)
            blocks.push_back(J);
        for (int64_t J = std::max<int64_t>(0, I - wb); J <= std::min(nb - 1, I + wb); ++J)
            blocks.push_back(J);
        std::sort(blocks.begin(), blocks.end());
        blocks.erase(std::unique(blocks.begin(), blocks.end()), blocks.end());
        for (int64_t J : blocks) {
            if (J * b >= lim)
                break;
            push_range(J * b, J * b + b);
        }
        break;
    }
    case ComponentType::lsh: {
        const int64_t B = c.buckets;
        const size_t base = out.open();
        for (int64_t r = 0; r < c.rounds; ++r) {
            const int64_t bucket = p.q_bucket[size_t(r * n + i)];
            const int64_t* ptr = &p.key_ptr[size_t(r * (B + 1) + bucket)];
            const int32_t* keys = &p.key_list[size_t(r * n)];
            for (int64_t t = ptr[0]; t < ptr[1] && keys[t] < lim; ++t)
                out.key(keys[t]);
        }
        if (c.rounds > 1)
            out.close(base);
        break;
    }
    case ComponentType::topk:
        for (int64_t t = p.topk_ptr[size_t(i)]; t < p.topk_ptr[size_t(i) + 1]; ++t)
            out.key(p.topk_keys[size_t(t)]);
        break;
    case ComponentType::dense:
        push_range(0, lim);
        break;
    }
}

bool keeps(const Comp& p, int64_t i, int64_t j, int64_t n, bool causal) {
    const Component& c = p.c;
    switch (c.type) {
    case ComponentType::window: {
        const int64_t diff = i > j ? i - j : j - i;
        return diff % c.dilation == 0 && diff / c.dilation <= c.radius;
    }
    case ComponentType::global:
        return in_global(p, i) || in_global(p, j);
    case ComponentType::random: {
        const auto keys = random_keys(c, i, n, causal);
        return std::binary_search(keys.begin(), keys.end(), j);
    }
    case ComponentType::strided: {
        const int64_t diff = i > j ? i - j : j - i;
        return diff < c.stride || diff % c.stride == 0;
    }
    case ComponentType::fixed:
        return i / c.block == j / c.block || j % c.block >= c.block - c.summary;
    case ComponentType::block: {
        const int64_t b = c.block, nb = (n - 1) / b + 1, I = i / b, J = j / b;
        if ((I > J ? I - J : J - I) <= c.window_blocks || I < c.global_blocks ||
            J < c.global_blocks)
            return true;
        const auto r = block_randoms(c, I, nb, causal);
        return std::binary_search(r.begin(), r.end(), J);
    }
    case ComponentType::lsh:
        for (int64_t r = 0; r < c.rounds; ++r)
            if (p.q_bucket[size_t(r * n + i)] == p.k_bucket[size_t(r * n + j)])
                return true;
        return false;
    case ComponentType::topk: {
        auto b = p.topk_keys.begin() + std::ptrdiff_t(p.topk_ptr[size_t(i)]);
        auto e = p.topk_keys.begin() + std::ptrdiff_t(p.topk_ptr[size_t(i) + 1]);
        return std::binary_search(b, e, int32_t(j));
    }
    case ComponentType::dense:
        return true;
    }
    return false;
}

// Runs f(begin, end) over [0, count) on up to available_cpus() threads when work is large.
template <class F> void parallel_rows(int64_t count, double work_per_row, F f) {
    const unsigned hw = unsigned(available_cpus());
    const int64_t threads =
        std::min<int64_t>(hw, std::max<int64_t>(1, int64_t(double(count) * work_per_row / 4e6)));
    if (threads <= 1) {
        f(int64_t(0), count);
        return;
    }
    std::vector<std::thread> pool;
    for (int64_t t = 0; t < threads; ++t)
        pool.emplace_back([&, t] { f(count * t / threads, count * (t + 1) / threads); });
    for (auto& th : pool)
        th.join();
}

void hash_tokens(std::span<const float> x, int64_t n, int64_t d, const std::vector<double>& w,
                 int64_t half, int32_t* bucket_out) {
    std::vector<double> proj(static_cast<size_t>(half));
    for (int64_t i = 0; i < n; ++i) {
        std::fill(proj.begin(), proj.end(), 0.0);
        for (int64_t a = 0; a < d; ++a) {
            const double xa = double(x[size_t(i * d + a)]);
            const double* wr = &w[size_t(a * half)];
            for (int64_t c = 0; c < half; ++c)
                proj[size_t(c)] += xa * wr[c];
        }
        // argmax over [proj, -proj], first index on ties; NaN never wins.
        int64_t best = 0;
        double best_v = -std::numeric_limits<double>::infinity();
        for (int64_t c = 0; c < 2 * half; ++c) {
            const double v = c < half ? proj[size_t(c)] : -proj[size_t(c - half)];
            if (v > best_v)
                best_v = v, best = c;
        }
        bucket_out[i] = int32_t(best);
    }
}

void build_lsh(Comp& p, int64_t n, const HeadQK& qk) {
    const int64_t B = p.c.buckets, half = B / 2, d = qk.d, R = p.c.rounds;
    p.q_bucket.resize(size_t(R * n));
    p.k_bucket.resize(size_t(R * n));
    p.key_ptr.assign(size_t(R * (B + 1)), 0);
    p.key_list.resize(size_t(R * n));
    for (int64_t r = 0; r < R; ++r) {
        const std::vector<double> w = lsh_projection(p.c, d, r);
        hash_tokens(qk.q, n, d, w, half, &p.q_bucket[size_t(r * n)]);
        hash_tokens(qk.k, n, d, w, half, &p.k_bucket[size_t(r * n)]);
        // Counting sort of keys by bucket; stable, so each bucket lists keys ascending.
        int64_t* ptr = &p.key_ptr[size_t(r * (B + 1))];
        const int32_t* kb = &p.k_bucket[size_t(r * n)];
        for (int64_t j = 0; j < n; ++j)
            ++ptr[kb[j] + 1];
        for (int64_t b = 0; b < B; ++b)
            ptr[b + 1] += ptr[b];
        std::vector<int64_t> fill(ptr, ptr + B);
        for (int64_t j = 0; j < n; ++j)
            p.key_list[size_t(r * n + fill[size_t(kb[j])]++)] = int32_t(j);
    }
}

void build_topk(Comp& p, int64_t n, bool causal, const HeadQK& qk) {
    const int64_t d = qk.d, k = p.c.k;
    p.topk_ptr.assign(size_t(n + 1), 0);
    for (int64_t i = 0; i < n; ++i)
        p.topk_ptr[size_t(i + 1)] = p.topk_ptr[size_t(i)] + std::min(k, causal ? i + 1 : n);
    p.topk_keys.resize(size_t(p.topk_ptr.back()));
    parallel_rows(n, double(n) * double(d), [&](int64_t begin, int64_t end) {
        std::vector<double> score(static_cast<size_t>(n));
        std::vector<int32_t> idx(static_cast<size_t>(n));
        for (int64_t i = begin; i < end; ++i) {
            const int64_t lim = causal ? i + 1 : n;
            const float* q = &qk.q[size_t(i * d)];
            for (int64_t j = 0; j < lim; ++j) {
                const float* kj = &qk.k[size_t(j * d)];
                double s = 0.0;
                for (int64_t a = 0; a < d; ++a)
                    s += double(q[a]) * double(kj[a]);
                score[size_t(j)] = std::isnan(s) ? -std::numeric_limits<double>::infinity() : s;
                idx[size_t(j)] = int32_t(j);
            }
            const int64_t kk = std::min(k, lim);
            auto better = [&](int32_t a, int32_t b) {
                return score[size_t(a)] > score[size_t(b)] ||
                       (score[size_t(a)] == score[size_t(b)] && a < b);
            };
            if (kk < lim)
                std::nth_element(idx.begin(), idx.begin() + std::ptrdiff_t(kk - 1),
                                 idx.begin() + std::ptrdiff_t(lim), better);
            std::sort(idx.begin(), idx.begin() + std::ptrdiff_t(kk));
            std::copy(idx.begin(), idx.begin() + std::ptrdiff_t(kk),
                      p.topk_keys.begin() + std::ptrdiff_t(p.topk_ptr[size_t(i)]));
        }
    });
}

}  // namespace

struct HeadMask::Impl {
    std::vector<Comp> comps;
};

HeadMask::HeadMask(const HeadPattern& head, int64_t n, const HeadQK& qk) : head_(head), n_(n) {
    validate(Pattern{"", "", n, {Layer{{head}}}});
    check_content_build(head, n, qk.d);  // top-k's n^2 d scores, lsh's hashing: refused up front
    auto impl = std::make_shared<Impl>();
    for (size_t ci = 0; ci < head.components.size(); ++ci) {
        const Component& c = head.components[ci];
        Comp p;
        p.c = c;
        if (c.type == ComponentType::global) {
            p.tokens = c.tokens;
            std::sort(p.tokens.begin(), p.tokens.end());
            p.tokens.erase(std::unique(p.tokens.begin(), p.tokens.end()), p.tokens.end());
        }
        if (needs_qk(c)) {
            const std::string what = "mask: components[" + std::to_string(ci) + "] (" +
                                     std::string(to_string(c.type)) + ")";
            if (qk.q.empty() || qk.k.empty())
                throw InputError(
                    what + " needs Q and K; give them (--q/--k) or let the engine synthesize them");
            if (qk.d < 1 || int64_t(qk.q.size()) != n * qk.d || int64_t(qk.k.size()) != n * qk.d)
                throw InputError(what + " needs Q and K of shape [n, d] = [" + std::to_string(n) +
                                 ", " + std::to_string(qk.d) + "] (" +
                                 std::to_string(n * std::max<int64_t>(qk.d, 0)) + " floats), got " +
                                 std::to_string(qk.q.size()) + " and " +
                                 std::to_string(qk.k.size()));
            if (c.type == ComponentType::lsh)
                build_lsh(p, n, qk);
            else
                build_topk(p, n, head.causal, qk);
        }
        impl->comps.push_back(std::move(p));
    }
    impl_ = std::move(impl);
}

void HeadMask::row(int64_t i, std::vector<int32_t>& out) const {
    if (i < 0 || i >= n_)
        throw std::out_of_range("HeadMask::row: query out of range");
    out.clear();
    const int64_t lim = head_.causal ? i + 1 : n_;
    int contributing = 0;
    for (const Comp& p : impl_->comps) {
        const size_t before = out.size();
        KeySink sink{out, lim};
        emit_row(p, i, n_, lim, head_.causal, sink);
        contributing += out.size() > before;
    }
    if (contributing > 1) {
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
    }
}

namespace {

bool by_lo(const KeyRun& a, const KeyRun& b) { return a.lo < b.lo; }

// Sorts out[from ..] and merges overlapping or touching runs.
void sort_merge(std::vector<KeyRun>& out, size_t from) {
    auto first = out.begin() + std::ptrdiff_t(from);
    if (!std::is_sorted(first, out.end(), by_lo))
        std::sort(first, out.end(), by_lo);
    size_t w = from;
    for (size_t r = from; r < out.size(); ++r) {
        if (w > from && out[r].lo <= out[w - 1].hi)
            out[w - 1].hi = std::max(out[w - 1].hi, out[r].hi);
        else
            out[w++] = out[r];
    }
    out.resize(w);
}

}  // namespace

void HeadMask::row_runs(int64_t i, std::vector<KeyRun>& out) const {
    if (i < 0 || i >= n_)
        throw std::out_of_range("HeadMask::row_runs: query out of range");
    out.clear();
    const int64_t lim = head_.causal ? i + 1 : n_;
    RunSink sink{out, lim};
    for (const Comp& p : impl_->comps)
        emit_row(p, i, n_, lim, head_.causal, sink);
    sort_merge(out, 0);
}

void HeadMask::query_block_runs(int64_t q0, int64_t q1, QueryBlockRuns& out) const {
    if (q0 < 0 || q1 > n_ || q0 >= q1)
        throw std::out_of_range("HeadMask::query_block_runs: rows out of range");
    const bool causal = head_.causal;
    std::vector<KeyRun>& common = out.common;
    std::vector<KeyRun>& runs = out.runs;
    std::vector<int32_t>& ptr = out.ptr;
    common.clear();
    runs.clear();
    ptr.assign(1, 0);
    out.band_left = out.band_right = -1;
    RunSink all{common, n_};  // the causal cut is the compiler's, per row
    // Per component: -1 everything per row, 0 all in `common`, 1 columns in `common` and the
    // global rows / own fixed block per row.
    std::vector<int8_t> per_row(impl_->comps.size(), -1);
    for (size_t ci = 0; ci < impl_->comps.size(); ++ci) {
        const Comp& p = impl_->comps[ci];
        const Component& c = p.c;
        const size_t section = common.size();  // this component's runs, merged in below
        switch (c.type) {
        case ComponentType::window:
            if (c.dilation == 1) {
                // Radii past n keep every key: clamped, so that i + radius cannot overflow.
                const int64_t r = std::min(c.radius, n_);
                out.band_left = std::max(out.band_left, r);
                out.band_right = causal ? 0 : std::max(out.band_right, r);
                per_row[ci] = 0;
            }
            break;
        case ComponentType::dense:
            all.range(0, n_);
            per_row[ci] = 0;
            break;
        case ComponentType::global: {
            bool any = false, every_row = true;
            for (int64_t i = q0; i < q1; ++i) {
                const bool g = in_global(p, i);
                any = any || g;
                every_row = every_row && g;
            }
            if (every_row) {
                all.range(0, n_);
                per_row[ci] = 0;
                break;
            }
            emit_global_columns(p, n_, all);
            per_row[ci] = any ? 1 : 0;
            break;
        }
        case ComponentType::fixed: {
            const int64_t l = c.block, s = c.summary;
            // Summaries in key order; the own block instead of its summary when it holds the range.
            const int64_t own = q0 / l == (q1 - 1) / l ? q0 / l : -1;
            for (int64_t B = 0; B <= (n_ - 1) / l; ++B)
                all.range(B == own ? B * l : B * l + l - s, std::min(n_, B * l + l));
            per_row[ci] = own >= 0 ? 0 : 1;
            break;
        }
        case ComponentType::block:
            // One block-row of the layout: the same key blocks for every row (emitted uncut).
            if (q0 / c.block == (q1 - 1) / c.block) {
                emit_row(p, q0, n_, n_, causal, all);
                per_row[ci] = 0;
            }
            break;
        default:
            break;
        }
        if (!std::is_sorted(common.begin() + std::ptrdiff_t(section), common.end(), by_lo))
            std::sort(common.begin() + std::ptrdiff_t(section), common.end(), by_lo);
        std::inplace_merge(common.begin(), common.begin() + std::ptrdiff_t(section), common.end(), by_lo);
    }
    sort_merge(common, 0);  // sorted already: merges overlapping runs
    if (std::all_of(per_row.begin(), per_row.end(), [](int8_t v) { return v == 0; })) {
        ptr.assign(size_t(q1 - q0 + 1), 0);  // nothing per row
        return;
    }
    for (int64_t i = q0; i < q1; ++i) {
        const size_t from = runs.size();
        const int64_t lim = causal ? i + 1 : n_;
        RunSink sink{runs, lim};
        for (size_t ci = 0; ci < impl_->comps.size(); ++ci) {
            const Comp& p = impl_->comps[ci];
            if (per_row[ci] < 0) {
                emit_row(p, i, n_, lim, causal, sink);
            } else if (per_row[ci] == 1) {
                if (p.c.type == ComponentType::global && in_global(p, i)) {
                    sink.range(0, lim);
                } else if (p.c.type == ComponentType::fixed) {
                    const int64_t l = p.c.block, I = i / l;
                    sink.range(I * l, std::min(n_, I * l + l));
                }
            }
        }
        sort_merge(runs, from);
        ptr.push_back(int32_t(runs.size()));
    }
}

uint32_t HeadMask::components_keeping(int64_t i, int64_t j) const {
    if (i < 0 || j < 0 || i >= n_ || j >= n_ || (head_.causal && j > i))
        return 0;
    uint32_t bits = 0;
    for (size_t c = 0; c < impl_->comps.size(); ++c)
        if (keeps(impl_->comps[c], i, j, n_, head_.causal))
            bits |= uint32_t(1) << c;
    return bits;
}

void HeadMask::component_row(size_t c, int64_t i, std::vector<int32_t>& out) const {
    if (i < 0 || i >= n_)
        throw std::out_of_range("HeadMask::component_row: query out of range");
    out.clear();
    const int64_t lim = head_.causal ? i + 1 : n_;
    KeySink sink{out, lim};
    emit_row(impl_->comps.at(c), i, n_, lim, head_.causal, sink);
}

std::span<const int32_t> HeadMask::lsh_buckets(size_t c, bool keys) const {
    const Comp& p = impl_->comps.at(c);
    return keys ? std::span<const int32_t>(p.k_bucket) : std::span<const int32_t>(p.q_bucket);
}

std::vector<int64_t> random_component_keys(const Component& c, int64_t i, int64_t n, bool causal) {
    return random_keys(c, i, n, causal);
}

std::vector<int64_t> block_component_random_blocks(const Component& c, int64_t I, int64_t n,
                                                   bool causal) {
    return block_randoms(c, I, (n - 1) / c.block + 1, causal);
}

std::optional<Band> band_of(const HeadPattern& head) {
    if (head.components.empty())
        return std::nullopt;
    Band b;
    for (const Component& c : head.components) {
        if (c.type == ComponentType::dense) {  // every key (cut to n by the caller that knows n)
            b.left = kDenseRadius;
            continue;
        }
        if (c.type != ComponentType::window || c.dilation != 1)
            return std::nullopt;
        b.left = std::max(b.left, c.radius);
    }
    b.right = head.causal ? 0 : b.left;
    return b;
}

std::optional<Band> band_of(const std::vector<HeadMask>& heads) {
    if (heads.empty())
        return std::nullopt;
    std::optional<Band> band = band_of(heads[0].pattern());
    for (const HeadMask& h : heads)
        if (band_of(h.pattern()) != band)
            return std::nullopt;
    if (band) {  // radii past n keep every key anyway
        band->left = std::min(band->left, heads[0].n());
        band->right = std::min(band->right, heads[0].n());
    }
    return band;
}

Csr build_csr(const HeadMask& m) {
    Csr csr;
    csr.n = m.n();
    csr.row_ptr.assign(size_t(m.n() + 1), 0);
    std::vector<int32_t> row;
    for (int64_t i = 0; i < m.n(); ++i) {
        m.row(i, row);
        csr.cols.insert(csr.cols.end(), row.begin(), row.end());
        csr.row_ptr[size_t(i + 1)] = int64_t(csr.cols.size());
    }
    return csr;
}

std::vector<double> lsh_projection(const Component& c, int64_t d, int64_t round) {
    const int64_t half = c.buckets / 2;
    const uint64_t key = mix64(mix64(stream_key(c.seed) ^ tag_lsh) + uint64_t(round));
    std::vector<double> w(static_cast<size_t>(d * half));
    for (size_t e = 0; e < w.size(); ++e)
        w[e] = gaussian_at(key, e);
    return w;
}

}  // namespace salab
