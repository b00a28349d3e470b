#include "size_limits.h"

#include "file_io.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace salab {

void check_json_depth(std::string_view text, std::string_view what, int max_depth) {
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                throw InputError(std::string(what) + ": JSON nested deeper than " + std::to_string(max_depth) +
                                 " levels at byte " + std::to_string(i + 1) +
                                 "; patterns and sessions need at most 6");
        } else if (c == ']' || c == '}') {
            depth = std::max(0, depth - 1);
        }
    }
}

namespace {

// Per component: an upper bound on the keys of one row, on the runs of one row, and on pairs
// kept by whole rows (global rows, global blocks) on top of that.
// Also, in 64 x 64 blocks: an upper bound on the key blocks one query block lists, and on the
// blocks listed on top of that by query blocks holding whole rows.
struct CompCost {
    double row_keys = 0, row_runs = 0, extra_pairs = 0;
    double qblock_blocks = 0, extra_blocks = 0;
};
constexpr double kB = 64;  // the block of the bound (check_block_mask's)
// Key blocks touched by keys spanning `span` consecutive positions.
double span_blocks(double span) { return std::ceil(span / kB) + 1; }

CompCost component_cost(const Component& c, int64_t n64) {
    const double n = double(n64);
    CompCost k;
    switch (c.type) {
    case ComponentType::window: {
        const double d = double(std::max<int64_t>(1, c.dilation));
        const double reach = std::min(double(c.radius), std::floor((n - 1) / d));
        k.row_keys = std::min(n, 2 * reach + 1);
        k.row_runs = c.dilation == 1 ? 1 : k.row_keys;
        k.qblock_blocks = span_blocks(2 * reach * d + kB);
        break;
    }
    case ComponentType::global: {
        const double every = c.every > 0 ? std::floor((n - 1) / double(c.every)) + 1 : 0;
        const double g = std::min(n, std::min(double(c.first), n) + every + double(c.tokens.size()));
        k.row_keys = g;
        k.row_runs = 1 + every + double(c.tokens.size());
        k.extra_pairs = g * n;  // rows in G keep everything
        // Column blocks: those of the first ones, one per every-th and per listed token; as many
        // query blocks hold global rows, and list every key block.
        k.qblock_blocks = span_blocks(std::min(double(c.first), n)) + every + double(c.tokens.size());
        k.extra_blocks = k.qblock_blocks * std::ceil(n / kB);
        break;
    }
    case ComponentType::random:
        k.row_keys = k.row_runs = std::min(double(c.per_query), n);
        k.qblock_blocks = kB * k.row_keys;
        break;
    case ComponentType::strided: {
        const double l = std::min(double(c.stride), n + 1);
        k.row_keys = std::min(n, 2 * l - 1 + n / l + 1);
        k.row_runs = std::min(n, n / l + 2);
        // The band |i - j| < l, and per multiple of l the 64 rows' keys shifted by it (2 blocks).
        k.qblock_blocks = span_blocks(2 * l + kB) + (l >= kB ? 2 * (std::floor(n / l) + 1) : n);
        break;
    }
    case ComponentType::fixed: {
        const double l = double(c.block), nb = std::floor((n - 1) / l) + 1;
        k.row_keys = std::min(n, l + nb * double(c.summary));
        k.row_runs = nb + 2;
        // The query block's own groups, and each group's summary columns.
        k.qblock_blocks = span_blocks(2 * l + kB) + nb * span_blocks(double(c.summary));
        break;
    }
    case ComponentType::block: {
        const double b = std::min(double(c.block), n), nb = std::floor((n - 1) / double(c.block)) + 1;
        const double wb = std::min(double(c.window_blocks), nb), gb = std::min(double(c.global_blocks), nb),
                     rb = std::min(double(c.random_blocks), nb);
        const double blocks = std::min(nb, 2 * wb + 1 + gb + rb);
        k.row_keys = std::min(n, blocks * b);
        k.row_runs = blocks + 1;
        k.extra_pairs = std::min(n, gb * b) * n;
        // A query block meets at most ceil(64 / b) + 1 block rows; each block spans
        // ceil(b / 64) + 1 key blocks. The global block rows list everything.
        k.qblock_blocks = (std::ceil(kB / b) + 1) * blocks * span_blocks(b);
        k.extra_blocks = span_blocks(std::min(n, gb * b)) * std::ceil(n / kB);
        break;
    }
    case ComponentType::lsh:
        k.row_keys = k.row_runs = n;  // unknown until hashed
        k.qblock_blocks = n;
        break;
    case ComponentType::topk:
        k.row_keys = k.row_runs = std::min(double(c.k), n);
        k.qblock_blocks = kB * k.row_keys;
        break;
    case ComponentType::dense:
        k.row_keys = n;
        k.row_runs = 1;
        k.qblock_blocks = n;
        break;
    }
    return k;
}

HeadCost finish(double pairs, double runs, double qblock_blocks, double extra_blocks, int64_t n64, bool causal) {
    const double n = double(n64), nb = std::ceil(n / kB);
    const double all = causal ? n * (n + 1) / 2 : n * n;
    const double blocks = nb * std::min(nb, qblock_blocks) + extra_blocks;
    return {std::min(pairs, all), std::min(runs, std::max(n, all)), std::min(blocks, nb * nb)};
}

}  // namespace

HeadCost head_cost(const HeadPattern& head, int64_t n) {
    double pairs = 0, runs = 0, qblocks = 0, extra = 0;
    for (const Component& c : head.components) {
        const CompCost k = component_cost(c, n);
        pairs += k.row_keys * double(n) + k.extra_pairs;
        runs += k.row_runs * double(n);
        qblocks += k.qblock_blocks;
        extra += k.extra_blocks;
    }
    return finish(pairs, runs, qblocks, extra, n, head.causal);
}

HeadCost head_cost(const HeadMask& mask) {
    const int64_t n = mask.n();
    const HeadPattern& head = mask.pattern();
    double pairs = 0, runs = 0, qblocks = 0, extra = 0;
    for (size_t ci = 0; ci < head.components.size(); ++ci) {
        const Component& c = head.components[ci];
        const CompCost k = component_cost(c, n);
        qblocks += k.qblock_blocks;
        extra += k.extra_blocks;
        if (c.type != ComponentType::lsh) {
            pairs += k.row_keys * double(n) + k.extra_pairs;
            runs += k.row_runs * double(n);
            continue;
        }
        // Pairs of round r: sum over buckets of (queries in it) * (keys in it).
        const auto qb = mask.lsh_buckets(ci, false), kb = mask.lsh_buckets(ci, true);
        std::vector<double> cq(size_t(c.buckets), 0), ck(size_t(c.buckets), 0);
        double lsh = 0;
        for (int64_t r = 0; r < c.rounds; ++r) {
            std::fill(cq.begin(), cq.end(), 0);
            std::fill(ck.begin(), ck.end(), 0);
            for (int64_t t = 0; t < n; ++t) {
                cq[size_t(qb[size_t(r * n + t)])] += 1;
                ck[size_t(kb[size_t(r * n + t)])] += 1;
            }
            for (size_t b = 0; b < cq.size(); ++b) lsh += cq[b] * ck[b];
        }
        pairs += lsh;
        runs += lsh;
    }
    return finish(pairs, runs, qblocks, extra, n, head.causal);
}

void check_content_build(const HeadPattern& head, int64_t n, int64_t d) {
    const double nn = double(n), dd = double(std::max<int64_t>(d, 1));
    const uint64_t budget = host_memory_budget();
    for (const Component& c : head.components) {
        if (c.type == ComponentType::topk) {
            const double work = nn * nn * dd * (head.causal ? 0.5 : 1.0);
            if (work > max_topk_cpu_work)
                throw InputError("topk at n = " + std::to_string(n) + ", d = " + std::to_string(d) + " scores " +
                                 format_count(work) + " multiply-adds on the CPU (limit " +
                                 format_count(max_topk_cpu_work) + ", minutes of work): use a smaller n or d");
            const double bytes = 4.0 * nn * std::min(double(c.k), nn) + 8.0 * nn;
            if (bytes > double(budget))
                throw InputError("topk with k = " + std::to_string(c.k) + " at n = " + std::to_string(n) + " keeps " +
                                 format_bytes(bytes) + " of key lists, more than the " + format_bytes(double(budget)) +
                                 " memory budget: use a smaller k or n");
        } else if (c.type == ComponentType::lsh) {
            const double work = 2.0 * nn * dd * double(c.buckets / 2) * double(c.rounds);
            if (work > max_lsh_cpu_work)
                throw InputError("lsh at n = " + std::to_string(n) + ", d = " + std::to_string(d) + ", buckets = " +
                                 std::to_string(c.buckets) + ", rounds = " + std::to_string(c.rounds) + " needs " +
                                 format_count(work) + " multiply-adds to hash (limit " +
                                 format_count(max_lsh_cpu_work) + "): use fewer buckets or rounds, or a smaller n");
            const double bytes = 12.0 * nn * double(c.rounds) + 8.0 * double(c.rounds) * double(c.buckets + 1);
            if (bytes > double(budget))
                throw InputError("lsh at n = " + std::to_string(n) + " with " + std::to_string(c.rounds) +
                                 " rounds needs " + format_bytes(bytes) + ", more than the " +
                                 format_bytes(double(budget)) + " memory budget: use fewer rounds or a smaller n");
        }
    }
}

void check_host_memory(double bytes, std::string_view what, std::string_view what_to_change) {
    const uint64_t budget = host_memory_budget();
    if (bytes > double(budget))
        throw InputError(std::string(what) + " needs " + format_bytes(bytes) + ", more than the " +
                         format_bytes(double(budget)) +
                         " this machine allows (half its memory; SALAB_MEMORY_LIMIT_MIB overrides): " +
                         std::string(what_to_change));
}

double hops_bytes(const std::vector<std::vector<HeadCost>>& layers, int64_t n) {
    double bytes = 0;
    for (const auto& layer : layers) {
        double united = 0;
        for (const HeadCost& h : layer) {
            bytes += 4.0 * h.pairs + 8.0 * double(n + 1);  // the head's Csr
            united += h.pairs;
        }
        united = std::min(united, double(n) * double(n));
        bytes += 8.0 * united + 16.0 * double(n + 1);  // in and out adjacency
    }
    return bytes;
}

void check_hops(const std::vector<std::vector<HeadCost>>& layers, int64_t n) {
    double pairs = 0;
    for (const auto& layer : layers)
        for (const HeadCost& h : layer) pairs += h.pairs;
    check_host_memory(hops_bytes(layers, n),
                      "hops at n = " + std::to_string(n) + " (up to " + format_count(pairs) + " kept pairs)",
                      "use a smaller --n or a sparser pattern");
}

void check_row_walk(const HeadCost& cost, std::string_view what, std::string_view what_to_change) {
    if (cost.runs > max_row_runs)
        throw InputError(std::string(what) + " walks up to " + format_count(cost.runs) + " key runs (limit " +
                         format_count(max_row_runs) + "): " + std::string(what_to_change));
}

double listed_blocks_bound(const std::vector<HeadCost>& heads, int64_t n, int block) {
    const double nb = std::ceil(double(n) / double(block));
    double total = 0;
    // HeadCost::blocks counts 64 x 64 blocks: it bounds any larger block too.
    for (const HeadCost& h : heads) total += std::min({nb * nb, h.pairs, block >= 64 ? h.blocks : nb * nb});
    return total;
}

double block_mask_bytes_bound(const std::vector<HeadCost>& heads, int64_t n, int block) {
    const double nb = std::ceil(double(n) / double(block));
    return 8.0 * listed_blocks_bound(heads, n, block) + 4.0 * (nb + 1) * double(heads.size());
}

void check_block_mask(const std::vector<HeadCost>& heads, int64_t n, std::string_view what) {
    const double listed = listed_blocks_bound(heads, n);
    if (listed > max_listed_blocks)
        throw InputError(std::string(what) + ": the block mask would list up to " + format_count(listed) +
                         " blocks of 64 x 64 (limit " + format_count(max_listed_blocks) +
                         "): use a smaller n, fewer heads or a sparser pattern");
    check_host_memory(block_mask_bytes_bound(heads, n), std::string(what) + ": the block mask",
                      "use a smaller n, fewer heads or a sparser pattern");
}

void check_blocks_export(const std::vector<std::vector<HeadCost>>& layers, int64_t n, int block_size) {
    const double nb = std::ceil(double(n) / double(block_size));
    double listed = 0, work = 0;
    for (const auto& layer : layers)
        for (const HeadCost& h : layer) {
            listed += std::min(nb * nb, h.pairs);
            // Each run of a row adds to the blocks it spans: at most min(keys, blocks) + runs.
            work += std::min(h.pairs, double(n) * nb) + h.runs;
        }
    // ~8 characters per listed block index, plus two counts per query block and head.
    double heads = 0;
    for (const auto& layer : layers) heads += double(layer.size());
    const double bytes = 8.0 * listed + 16.0 * nb * heads + 256.0;
    const std::string at = "export --blocks at n = " + std::to_string(n) + ", --block-size " + std::to_string(block_size);
    if (bytes > max_blocks_export_bytes)
        throw InputError(at + " would write up to " + format_bytes(bytes) + " of JSON (limit " +
                         format_bytes(max_blocks_export_bytes) + "): use a larger --block-size or a smaller --n");
    if (work > max_blocks_export_work)
        throw InputError(at + " walks up to " + format_count(work) + " row-block steps (limit " +
                         format_count(max_blocks_export_work) + "): use a larger --block-size or a smaller --n");
    check_host_memory(2.0 * bytes, at, "use a larger --block-size or a smaller --n");
}

double estimate_kernel_seconds(double blocks, int64_t d, const std::string& device_type) {
    const double flops = blocks * 64.0 * 64.0 * (4.0 * double(d) + 8.0);
    double rate = 5e12;  // discrete
    if (device_type == "cpu") rate = 1e9;  // lavapipe on 2-16 cores: 0.1-2 GFLOP/s measured
    else if (device_type == "integrated") rate = 5e11;
    else if (device_type == "virtual" || device_type == "other") rate = 1e11;
    return flops / rate;
}

double check_kernel_time(double blocks, int64_t d, const std::string& device_type, const std::string& device_name,
                         std::string_view what) {
    const double s = estimate_kernel_seconds(blocks, d, device_type);
    if (s > max_kernel_seconds) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.0f", s);
        throw InputError(std::string(what) + " would run about " + buf + " s on " + device_name + " (" +
                         format_count(blocks) + " visits of 64 x 64 blocks at d = " + std::to_string(d) +
                         "; limit " + std::to_string(int(max_kernel_seconds)) +
                         " s): use a smaller n or d, fewer heads or repeats, or a faster device");
    }
    return s;
}

}  // namespace salab

namespace salab {

void check_attention_problem(const Pattern& p, int layer, int heads, int64_t d, int runs, int dense_runs,
                             const std::string& device_type, const std::string& device_name,
                             std::string_view what) {
    if (layer < 0 || layer >= p.num_layers()) return;  // prepare_problem says why
    const Layer& l = p.layers[size_t(layer)];
    std::vector<HeadCost> costs;
    bool lsh = false;
    for (const HeadPattern& hp : l.heads) {
        for (const Component& c : hp.components) lsh = lsh || c.type == ComponentType::lsh;
        costs.push_back(head_cost(hp, p.n));
    }
    const std::string at = std::string(what) + " at n = " + std::to_string(p.n);
    const double nb = std::ceil(double(p.n) / 64.0);
    double blocks = 0;
    if (!lsh) {
        // A flat pattern without Q/K parts compiles one mask shared by every head.
        const bool shared = l.heads.size() == 1 && !p.needs_qk();
        std::vector<HeadCost> built = shared ? costs : std::vector<HeadCost>{};
        if (!shared)
            for (int h = 0; h < heads; ++h) built.push_back(costs[l.heads.size() == 1 ? 0 : size_t(h) % costs.size()]);
        check_block_mask(built, p.n, at);
        blocks = listed_blocks_bound(built, p.n) * (shared ? double(heads) : 1.0);
    }
    blocks = blocks * double(std::max(runs, 0)) + nb * nb * double(heads) * double(std::max(dense_runs, 0));
    if (blocks > 0) check_kernel_time(blocks, d, device_type, device_name, at);
}

}  // namespace salab
