#include "hops.h"
#include "threads.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <exception>
#include <functional>
#include <mutex>
#include <set>
#include <span>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <type_traits>

namespace salab {

// --- graph --------------------------------------------------------------------------------

namespace {

void check_csr(const Csr& c, int64_t n, size_t layer, size_t head) {
    const std::string where =
        "hops: layers[" + std::to_string(layer) + "].heads[" + std::to_string(head) + "]: ";
    if (c.n != n)
        throw std::invalid_argument(where + "n is " + std::to_string(c.n) + ", expected " +
                                    std::to_string(n));
    if (c.row_ptr.size() != static_cast<size_t>(n + 1) || c.row_ptr[0] != 0)
        throw std::invalid_argument(where + "row_ptr must have n + 1 entries starting at 0");
    for (int64_t i = 0; i < n; ++i)
        if (c.row_ptr[i + 1] < c.row_ptr[i])
            throw std::invalid_argument(where + "row_ptr decreases at row " + std::to_string(i));
    if (c.row_ptr.back() != static_cast<int64_t>(c.cols.size()))
        throw std::invalid_argument(where + "row_ptr[n] != cols.size()");
    for (int32_t j : c.cols)
        if (j < 0 || j >= n)
            throw std::invalid_argument(where + "col " + std::to_string(j) + " outside [0, n)");
}

HopsGraph::Adjacency unite_heads(const std::vector<Csr>& heads, int64_t n) {
    HopsGraph::Adjacency a;
    a.in_ptr.assign(static_cast<size_t>(n + 1), 0);
    std::vector<int32_t> row;
    for (int64_t i = 0; i < n; ++i) {
        row.clear();
        for (const Csr& h : heads)
            row.insert(row.end(), h.cols.begin() + h.row_ptr[i], h.cols.begin() + h.row_ptr[i + 1]);
        if (std::adjacent_find(row.begin(), row.end(), std::greater_equal<>()) != row.end()) {
            std::sort(row.begin(), row.end());
            row.erase(std::unique(row.begin(), row.end()), row.end());
        }
        // Self edges add nothing: the residual already keeps a token's own information.
        row.erase(std::remove(row.begin(), row.end(), static_cast<int32_t>(i)), row.end());
        a.in.insert(a.in.end(), row.begin(), row.end());
        a.in_ptr[i + 1] = static_cast<int64_t>(a.in.size());
    }
    a.out_ptr.assign(static_cast<size_t>(n + 1), 0);
    for (int32_t j : a.in)
        ++a.out_ptr[j + 1];
    for (int64_t j = 0; j < n; ++j)
        a.out_ptr[j + 1] += a.out_ptr[j];
    a.out.resize(a.in.size());
    std::vector<int64_t> fill(a.out_ptr.begin(), a.out_ptr.end() - 1);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t k = a.in_ptr[i]; k < a.in_ptr[i + 1]; ++k)
            a.out[fill[a.in[k]]++] = static_cast<int32_t>(i);
    return a;
}

} // namespace

HopsGraph::HopsGraph(const HopsStack& stack) {
    if (stack.empty())
        throw std::invalid_argument("hops: the stack has no layers");
    if (stack[0].empty())
        throw std::invalid_argument("hops: layers[0] has no heads");
    n_ = stack[0][0].n;
    for (size_t l = 0; l < stack.size(); ++l) {
        if (stack[l].empty())
            throw std::invalid_argument("hops: layers[" + std::to_string(l) + "] has no heads");
        for (size_t h = 0; h < stack[l].size(); ++h)
            check_csr(stack[l][h], n_, l, h);
    }
    stack_layers_ = static_cast<int>(stack.size());
    std::vector<Adjacency> united;
    for (const auto& heads : stack)
        united.push_back(unite_heads(heads, n_));
    // Keep one period of the layer sequence: a 12-layer stack of equal layers is one graph,
    // which lets token_hops use a plain reverse BFS and the dirty lists stay few.
    size_t period = united.size();
    for (size_t p = 1; p < united.size(); ++p) {
        if (united.size() % p != 0)
            continue;
        bool periodic = true;
        for (size_t l = p; l < united.size() && periodic; ++l)
            periodic = united[l] == united[l % p];
        if (periodic) {
            period = p;
            break;
        }
    }
    united.resize(period);
    layers_ = std::move(united);
}

// --- bit-parallel expansion ---------------------------------------------------------------

namespace {

// Per-worker buffers, reused across batches.
struct Scratch {
    std::vector<uint64_t> cur;               // n * W: bit b of token i: source b reached i
    std::vector<std::vector<int32_t>> dirty; // per layer of the period: tokens to recompute
    std::vector<std::vector<uint8_t>> flag;  // per layer: token is in dirty
    std::vector<int32_t> pend_idx;           // tokens changed this step, and their new words
    std::vector<uint64_t> pend_words;
    std::vector<int32_t> req; // per token: its first req[i] batch bits are required pairs
};

enum class BatchEnd { complete, fixpoint, capped, cancelled };

struct BatchResult {
    BatchEnd end = BatchEnd::complete;
    int64_t steps = 0; // steps run
};

inline uint64_t prefix_mask(int64_t bits_before, int w) {
    const int64_t b = bits_before - 64 * int64_t{w};
    return b >= 64 ? ~uint64_t{0} : b <= 0 ? 0 : (uint64_t{1} << b) - 1;
}

// Expands one batch of sources (bit b = src[b], src.size() <= 64 * W) until every required
// bit (s.req) is reached, a fixpoint, the cap, or a stop request. on_gain(i, gained, count,
// step) sees the required bits token i gained at `step`.
//
// Synchronous update (new values parked in pend_* until the step ends) so that one step moves
// information exactly one hop. A token is recomputed for layer p only when one of its keys in
// p changed since p was last applied; a token holding every batch bit is never recomputed.
template <int W, class OnGain>
BatchResult run_batch(const HopsGraph& g, std::span<const int32_t> src, int64_t cap,
                      const std::stop_token& stop, Scratch& s, OnGain&& on_gain) {
    const int64_t n = g.n();
    const int period = g.period();
    const auto nz = static_cast<size_t>(n);
    s.cur.assign(nz * W, 0);
    s.dirty.resize(static_cast<size_t>(period));
    s.flag.resize(static_cast<size_t>(period));
    for (int p = 0; p < period; ++p) {
        s.dirty[p].clear();
        s.flag[p].assign(nz, 0);
    }
    std::array<uint64_t, W> full{};
    for (size_t b = 0; b < src.size(); ++b)
        full[b / 64] |= uint64_t{1} << (b % 64);

    int64_t left = 0; // required pairs not reached yet
    for (int64_t i = 0; i < n; ++i)
        left += s.req[i];
    int64_t dirty_total = 0;
    auto missing = [&](const uint64_t* c) { // nonzero unless c holds every batch bit
        uint64_t m = 0;
        for (int w = 0; w < W; ++w)
            m |= full[w] & ~c[w];
        return m;
    };
    auto is_full = [&](int32_t i) { return missing(&s.cur[static_cast<size_t>(i) * W]) == 0; };
    auto touch_readers = [&](int32_t j) {
        for (int p = 0; p < period; ++p) {
            const auto& a = g.layer(p);
            auto& flag = s.flag[p];
            for (int64_t k = a.out_ptr[j]; k < a.out_ptr[j + 1]; ++k) {
                const int32_t o = a.out[k];
                if (!flag[o] && !is_full(o)) {
                    flag[o] = 1;
                    s.dirty[p].push_back(o);
                    ++dirty_total;
                }
            }
        }
    };
    for (size_t b = 0; b < src.size(); ++b) {
        s.cur[static_cast<size_t>(src[b]) * W + b / 64] |= uint64_t{1} << (b % 64);
        if (static_cast<int64_t>(b) < s.req[src[b]])
            --left; // self pair: 0 hops, not counted
    }
    for (int32_t t : src)
        touch_readers(t);

    for (int64_t step = 1;; ++step) {
        if (left == 0)
            return {BatchEnd::complete, step - 1};
        if (dirty_total == 0)
            return {BatchEnd::fixpoint, step - 1};
        if (step > cap)
            return {BatchEnd::capped, cap};
        if (stop.stop_requested())
            return {BatchEnd::cancelled, step - 1};

        const int p = static_cast<int>((step - 1) % period);
        const auto& a = g.layer(p);
        auto& list = s.dirty[p];
        auto& flag = s.flag[p];
        dirty_total -= static_cast<int64_t>(list.size());
        s.pend_idx.clear();
        s.pend_words.clear();
        for (int32_t i : list) {
            flag[i] = 0;
            const uint64_t* ci = &s.cur[static_cast<size_t>(i) * W];
            std::array<uint64_t, W> acc;
            for (int w = 0; w < W; ++w)
                acc[w] = ci[w];
            // Chunks, so that a long row (a global token, dense) stops once it holds every bit.
            for (int64_t k = a.in_ptr[i], end = a.in_ptr[i + 1];
                 k < end && missing(acc.data()) != 0;) {
                for (const int64_t chunk = std::min(end, k + 32); k < chunk; ++k) {
                    const uint64_t* cj = &s.cur[static_cast<size_t>(a.in[k]) * W];
                    for (int w = 0; w < W; ++w)
                        acc[w] |= cj[w];
                }
            }
            uint64_t changed = 0;
            for (int w = 0; w < W; ++w)
                changed |= acc[w] ^ ci[w];
            if (changed != 0) {
                s.pend_idx.push_back(i);
                s.pend_words.insert(s.pend_words.end(), acc.begin(), acc.end());
            }
        }
        list.clear();

        for (size_t q = 0; q < s.pend_idx.size(); ++q) {
            const int32_t i = s.pend_idx[q];
            uint64_t* ci = &s.cur[static_cast<size_t>(i) * W];
            const uint64_t* nw = &s.pend_words[q * W];
            std::array<uint64_t, W> gained;
            int count = 0;
            for (int w = 0; w < W; ++w) {
                gained[w] = nw[w] & ~ci[w] & prefix_mask(s.req[i], w);
                count += std::popcount(gained[w]);
                ci[w] = nw[w];
            }
            if (count > 0) {
                left -= count;
                on_gain(i, gained, count, step);
            }
        }
        if (left == 0)
            return {BatchEnd::complete, step};
        for (int32_t i : s.pend_idx)
            touch_readers(i);
    }
}

// Runs fn(worker, batch) for every batch in [0, batches) on `threads` workers, the calling
// thread being worker 0. Stops handing out batches on a stop request or an exception (which
// is rethrown here after all workers joined).
template <class Fn>
void for_each_batch(int64_t batches, int threads, const HopsOptions& opts, Fn&& fn) {
    std::atomic<int64_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mutex; // guards done, error and the progress callback
    int64_t done = 0;
    std::exception_ptr error;
    auto work = [&](int worker) {
        try {
            for (;;) {
                if (failed || opts.stop.stop_requested())
                    return;
                const int64_t b = next++;
                if (b >= batches)
                    return;
                fn(worker, b);
                std::lock_guard lock(mutex);
                ++done;
                if (opts.progress && !opts.stop.stop_requested())
                    opts.progress(static_cast<double>(done) / static_cast<double>(batches));
            }
        } catch (...) {
            std::lock_guard lock(mutex);
            if (!error)
                error = std::current_exception();
            failed = true;
        }
    };
    std::vector<std::thread> pool;
    for (int w = 1; w < threads; ++w) {
        try {
            pool.emplace_back(work, w);
        } catch (const std::system_error&) {
            break; // fewer threads than asked for is still correct
        }
    }
    work(0);
    for (auto& t : pool)
        t.join();
    if (error)
        std::rethrow_exception(error);
}

int resolve_threads(int requested, int64_t batches) {
    int t = requested > 0 ? requested : available_cpus();
    t = std::max(t, 1);
    return static_cast<int>(std::clamp<int64_t>(batches, 1, t));
}

// Words per token. Wider batches share the index loads of the key lists among more sources
// (dense, global, random patterns gain), but a batch of contiguous sources has a wavefront as
// wide as the batch on local patterns, so windows lose; 2 words measured best overall (n = 4096,
// 4 words: window r=4 1.6x slower, dense 1.3x faster). There must be a batch for every thread.
int pick_words(int64_t sources, int threads) {
    const int64_t words = (sources + 63) / 64;
    return (words + 1) / 2 >= threads ? 2 : 1;
}

// Calls f(std::integral_constant<int, W>{}) with W = words as a compile-time constant.
template <class F> void with_words(int words, F&& f) {
    switch (words) {
    case 2:
        f(std::integral_constant<int, 2>{});
        break;
    default:
        f(std::integral_constant<int, 1>{});
        break;
    }
}

int64_t resolve_cap(const HopsGraph& g, const HopsOptions& opts) {
    if (opts.max_layers < 0)
        throw std::invalid_argument("hops: max_layers must be >= 0");
    if (opts.max_layers > 0)
        return opts.max_layers;
    return std::max<int64_t>(4, g.period()) * std::max<int64_t>(g.n(), 1);
}

uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// k distinct tokens of [0, n), ascending; Floyd's algorithm, so the cost is O(k log k).
std::vector<int32_t> sample_tokens(int64_t n, int64_t k, uint64_t seed) {
    uint64_t state = seed ^ (static_cast<uint64_t>(n) * 0xd1b54a32d192ed03ULL);
    std::set<int64_t> chosen;
    for (int64_t j = n - k; j < n; ++j) {
        const auto t = static_cast<int64_t>(splitmix64(state) % static_cast<uint64_t>(j + 1));
        chosen.insert(chosen.count(t) ? j : t);
    }
    return {chosen.begin(), chosen.end()};
}

struct Stats {
    std::vector<int64_t> gained_at_step; // required pairs first reached at step s
    std::vector<int64_t> token_got;      // per token: required sources that reached it
    std::vector<int32_t> token_last;     // per token: last step it gained one
    int64_t sum_hops = 0;
    int64_t steps = 0;
    bool capped = false;
    bool cancelled = false;
};

} // namespace

HopsReport analyze_hops(const HopsGraph& g, bool causal_pairs, const HopsOptions& opts) {
    if (opts.exact_threshold < 0)
        throw std::invalid_argument("hops: exact_threshold must be >= 0");
    if (opts.sample_sources < 1)
        throw std::invalid_argument("hops: sample_sources must be >= 1");
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t n = g.n();
    const auto nz = static_cast<size_t>(n);

    HopsReport r;
    r.n = n;
    r.causal_pairs = causal_pairs;
    r.stack_layers = g.stack_layers();
    r.layers_cap = resolve_cap(g, opts);

    std::vector<int32_t> sources;
    if (n <= opts.exact_threshold || opts.sample_sources >= n) {
        sources.resize(nz);
        for (int64_t i = 0; i < n; ++i)
            sources[static_cast<size_t>(i)] = static_cast<int32_t>(i);
    } else {
        sources = sample_tokens(n, opts.sample_sources, opts.seed);
        r.exact = false;
        r.source_tokens = sources;
    }
    const auto num_sources = static_cast<int64_t>(sources.size());
    r.sources = num_sources;

    // le[i]: sources <= i, which under causal_pairs are the ones whose pairs (s, i) count.
    std::vector<int64_t> le(nz, 0);
    std::vector<uint8_t> is_source(nz, 0);
    for (int32_t s : sources)
        is_source[s] = 1;
    for (int64_t i = 0, c = 0; i < n; ++i)
        le[i] = (c += is_source[i]);
    std::vector<int64_t> token_required(nz);
    for (int64_t i = 0; i < n; ++i) {
        token_required[i] = (causal_pairs ? le[i] : num_sources) - is_source[i];
        r.required_pairs += token_required[i];
    }

    const int threads0 = resolve_threads(opts.threads, (num_sources + 63) / 64);
    const int words = pick_words(num_sources, threads0);
    const int64_t batch = 64 * int64_t{words};
    const int64_t batches = (num_sources + batch - 1) / batch;
    const int threads = resolve_threads(opts.threads, batches);

    std::vector<Scratch> scratch(static_cast<size_t>(threads));
    std::vector<Stats> stats(static_cast<size_t>(threads));
    for (Stats& st : stats) {
        st.token_got.assign(nz, 0);
        st.token_last.assign(nz, 0);
    }
    for_each_batch(batches, threads, opts, [&](int worker, int64_t b) {
        Scratch& s = scratch[static_cast<size_t>(worker)];
        Stats& st = stats[static_cast<size_t>(worker)];
        const int64_t b0 = b * batch;
        const int64_t size = std::min(batch, num_sources - b0);
        const std::span<const int32_t> src(sources.data() + b0, static_cast<size_t>(size));
        s.req.resize(nz);
        for (int64_t i = 0; i < n; ++i)
            s.req[i] = static_cast<int32_t>(causal_pairs ? std::clamp(le[i] - b0, int64_t{0}, size)
                                                         : size);
        with_words(words, [&](auto w) {
            constexpr int W = decltype(w)::value;
            auto on_gain = [&](int32_t i, const std::array<uint64_t, W>&, int count, int64_t step) {
                if (st.gained_at_step.size() <= static_cast<size_t>(step))
                    st.gained_at_step.resize(static_cast<size_t>(step) + 1, 0);
                st.gained_at_step[step] += count;
                st.sum_hops += count * step;
                st.token_got[i] += count;
                st.token_last[i] = std::max(st.token_last[i], static_cast<int32_t>(step));
            };
            const BatchResult res = run_batch<W>(g, src, r.layers_cap, opts.stop, s, on_gain);
            st.steps = std::max(st.steps, res.steps);
            st.capped |= res.end == BatchEnd::capped;
            st.cancelled |= res.end == BatchEnd::cancelled;
        });
    });

    std::vector<int64_t> gained;
    std::vector<int64_t> token_got(nz, 0);
    std::vector<int32_t> token_last(nz, 0);
    int64_t sum_hops = 0;
    for (const Stats& st : stats) {
        if (gained.size() < st.gained_at_step.size())
            gained.resize(st.gained_at_step.size(), 0);
        for (size_t s = 0; s < st.gained_at_step.size(); ++s)
            gained[s] += st.gained_at_step[s];
        for (size_t i = 0; i < nz; ++i) {
            token_got[i] += st.token_got[i];
            token_last[i] = std::max(token_last[i], st.token_last[i]);
        }
        sum_hops += st.sum_hops;
        r.steps = std::max(r.steps, st.steps);
        r.capped |= st.capped;
        r.cancelled |= st.cancelled;
    }
    r.cancelled |= opts.stop.stop_requested();

    int64_t last = 0; // last step that reached a new pair
    int64_t reached = 0;
    for (size_t s = 0; s < gained.size(); ++s) {
        reached += gained[s];
        if (gained[s] > 0)
            last = static_cast<int64_t>(s);
    }
    r.unreachable_pairs = r.required_pairs - reached;
    if (r.unreachable_pairs == 0)
        r.diameter = static_cast<int>(last);
    r.mean_hops = reached > 0 ? static_cast<double>(sum_hops) / static_cast<double>(reached) : 0.0;
    const int64_t curve = r.capped ? r.layers_cap : std::max<int64_t>(1, last);
    r.reach_after_layers.reserve(static_cast<size_t>(curve));
    for (int64_t k = 1, cum = 0; k <= curve; ++k) {
        if (static_cast<size_t>(k) < gained.size())
            cum += gained[k];
        r.reach_after_layers.push_back(
            r.required_pairs > 0 ? static_cast<double>(cum) / static_cast<double>(r.required_pairs)
                                 : 1.0);
    }
    r.eccentricity.resize(nz);
    for (size_t i = 0; i < nz; ++i)
        r.eccentricity[i] = token_got[i] == token_required[i] ? token_last[i] : -1;

    r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

HopsReport analyze_hops(const HopsStack& stack, bool causal_pairs, const HopsOptions& opts) {
    return analyze_hops(HopsGraph(stack), causal_pairs, opts);
}

TokenHops token_hops(const HopsGraph& g, int64_t t, const HopsOptions& opts) {
    const int64_t n = g.n();
    if (t < 0 || t >= n)
        throw std::out_of_range("hops: token " + std::to_string(t) + " outside [0, " +
                                std::to_string(n) + ")");
    const int64_t cap = resolve_cap(g, opts);
    const auto nz = static_cast<size_t>(n);
    TokenHops out;
    out.from.assign(nz, -1);
    out.to.assign(nz, -1);
    out.from[t] = 0;
    out.to[t] = 0;

    { // from: one source, one bit
        Scratch s;
        s.req.assign(nz, 1);
        const int32_t src[1] = {static_cast<int32_t>(t)};
        auto on_gain = [&](int32_t i, const std::array<uint64_t, 1>&, int, int64_t step) {
            out.from[i] = static_cast<int>(step);
        };
        const BatchResult res = run_batch<1>(g, src, cap, opts.stop, s, on_gain);
        out.capped |= res.end == BatchEnd::capped;
        out.cancelled |= res.end == BatchEnd::cancelled;
    }
    if (out.cancelled)
        return out;

    if (g.period() == 1) {
        // One graph for every step: hops(j -> t) is the plain shortest path, a reverse BFS.
        const auto& a = g.layer(0);
        std::vector<int32_t> queue{static_cast<int32_t>(t)};
        for (size_t q = 0; q < queue.size(); ++q) {
            const int32_t u = queue[q];
            for (int64_t k = a.in_ptr[u]; k < a.in_ptr[u + 1]; ++k) {
                const int32_t j = a.in[k];
                if (out.to[j] >= 0 || j == t)
                    continue;
                if (out.to[u] >= cap) {
                    out.capped = true;
                    continue;
                }
                out.to[j] = out.to[u] + 1;
                queue.push_back(j);
            }
        }
        return out;
    }

    // Stacks of differing layers: paths are time-dependent, so run every source forward and
    // watch only token t (its bits are the only required ones).
    std::vector<int32_t> sources(nz);
    for (int64_t i = 0; i < n; ++i)
        sources[i] = static_cast<int32_t>(i);
    const int threads0 = resolve_threads(opts.threads, (n + 63) / 64);
    const int words = pick_words(n, threads0);
    const int64_t batch = 64 * int64_t{words};
    const int64_t batches = (n + batch - 1) / batch;
    const int threads = resolve_threads(opts.threads, batches);
    std::vector<Scratch> scratch(static_cast<size_t>(threads));
    std::atomic<bool> capped{false}, cancelled{false};
    HopsOptions quiet = opts;
    quiet.progress = nullptr;
    for_each_batch(batches, threads, quiet, [&](int worker, int64_t b) {
        Scratch& s = scratch[static_cast<size_t>(worker)];
        const int64_t b0 = b * batch;
        const int64_t size = std::min(batch, n - b0);
        s.req.assign(nz, 0);
        s.req[t] = static_cast<int32_t>(size);
        with_words(words, [&](auto w) {
            constexpr int W = decltype(w)::value;
            auto on_gain = [&](int32_t, const std::array<uint64_t, W>& gained, int, int64_t step) {
                for (int x = 0; x < W; ++x)
                    for (uint64_t bits = gained[x]; bits; bits &= bits - 1)
                        out.to[b0 + 64 * x + std::countr_zero(bits)] = static_cast<int>(step);
            };
            const std::span<const int32_t> src(sources.data() + b0, static_cast<size_t>(size));
            const BatchResult res = run_batch<W>(g, src, cap, opts.stop, s, on_gain);
            if (res.end == BatchEnd::capped)
                capped = true;
            if (res.end == BatchEnd::cancelled)
                cancelled = true;
        });
    });
    out.capped |= capped;
    out.cancelled |= cancelled || opts.stop.stop_requested();
    return out;
}

std::optional<int64_t> theory_diameter_window(int64_t n, int64_t radius) {
    if (n <= 1)
        return 0;
    if (radius <= 0)
        return std::nullopt;
    return (n - 1 + radius - 1) / radius;
}

std::string to_json(const HopsReport& r, bool full_eccentricity) {
    using nlohmann::ordered_json;
    ordered_json j;
    j["n"] = r.n;
    j["exact"] = r.exact;
    j["sources"] = r.sources;
    j["causal_pairs"] = r.causal_pairs;
    j["stack_layers"] = r.stack_layers;
    j["layers_cap"] = r.layers_cap;
    j["steps"] = r.steps;
    j["capped"] = r.capped;
    j["cancelled"] = r.cancelled;
    j["required_pairs"] = r.required_pairs;
    j["unreachable_pairs"] = r.unreachable_pairs;
    j["diameter"] = r.diameter ? ordered_json(*r.diameter) : ordered_json(nullptr);
    j["mean_hops"] = r.mean_hops;
    j["reach_after_layers"] = r.reach_after_layers;

    ordered_json ecc;
    int lo = 0, hi = 0;
    int64_t defined = 0, sum = 0;
    for (int e : r.eccentricity) {
        if (e < 0)
            continue;
        lo = defined == 0 ? e : std::min(lo, e);
        hi = defined == 0 ? e : std::max(hi, e);
        sum += e;
        ++defined;
    }
    ecc["min"] = defined ? ordered_json(lo) : ordered_json(nullptr);
    ecc["mean"] = defined ? ordered_json(static_cast<double>(sum) / static_cast<double>(defined))
                          : ordered_json(nullptr);
    ecc["max"] = defined ? ordered_json(hi) : ordered_json(nullptr);
    ecc["unreachable_tokens"] = static_cast<int64_t>(r.eccentricity.size()) - defined;
    if (full_eccentricity)
        ecc["values"] = r.eccentricity;
    j["eccentricity"] = std::move(ecc);
    j["ms"] = r.ms;
    return j.dump();
}

} // namespace salab
