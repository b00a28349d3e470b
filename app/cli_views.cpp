// salab-cli hops / render / export.
#include "cli_commands.h"
#include "export.h"
#include "hops.h"
#include "problem.h"
#include "figure.h"
#include "render.h"
#include "vk_context.h"

#include <nlohmann/json.hpp>

#include "file_io.h"
#include "npy.h"
#include "size_limits.h"
#include "model_qkv.h"
#include "synthetic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>

#include <unistd.h>

namespace salab {

namespace {

// Progress on stderr for long work, only when someone watches it (a terminal).
std::function<void(double)> progress_line(const char* what) {
    if (!isatty(2)) return {};
    return [what, last = -1](double f) mutable {
        const int pct = int(f * 100);
        if (pct == last) return;
        last = pct;
        std::fprintf(stderr, "\r%s: %3d%%%s", what, pct, pct >= 100 ? "\n" : "");
        std::fflush(stderr);
    };
}

// Q/K/V of one layer for lsh/topk heads, as prepare_problem makes them (gaussian, `seed`);
// checked against the memory budget first.
QKV layer_qkv(const Pattern& p, int layer, int64_t d, uint64_t seed, QkvSource source) {
    const int heads = p.num_heads(layer);
    check_host_memory(12.0 * heads * double(p.n) * double(d), "Q/K/V of n = " + std::to_string(p.n) + ", d = " +
                      std::to_string(d) + ", heads = " + std::to_string(heads), "use a smaller --n or --d");
    return make_qkv(heads, p.n, d, seed, source);
}

// The masks of every layer (Q/K generated with `seed` for lsh/topk heads).
std::vector<std::vector<HeadMask>> stack_masks(const Pattern& p, int64_t d, uint64_t seed) {
    std::vector<std::vector<HeadMask>> all;
    for (int l = 0; l < p.num_layers(); ++l) {
        const Layer& layer = p.layers[size_t(l)];
        bool qk = false;
        for (const HeadPattern& hp : layer.heads)
            for (const Component& c : hp.components) qk = qk || needs_qk(c);
        // Content heads are hashed / scored once per layer; HeadMask refuses them when too costly.
        for (const HeadPattern& hp : layer.heads) check_content_build(hp, p.n, d);
        QKV qkv = qk ? layer_qkv(p, l, d, seed, QkvSource::gaussian) : QKV{};
        std::vector<HeadMask> heads;
        for (size_t h = 0; h < layer.heads.size(); ++h)
            heads.emplace_back(layer.heads[h], p.n, qk ? head_qk(qkv, int(h), p.n, d) : HeadQK{});
        all.push_back(std::move(heads));
    }
    return all;
}

std::vector<std::vector<HeadCost>> costs_of(const std::vector<std::vector<HeadMask>>& masks) {
    std::vector<std::vector<HeadCost>> out;
    for (const auto& layer : masks) {
        out.emplace_back();
        for (const HeadMask& m : layer) out.back().push_back(head_cost(m));
    }
    return out;
}

// Every layer as token CSRs, refused up front when they would not fit in memory.
HopsStack csr_stack(const Pattern& p, int64_t d, uint64_t seed) {
    const auto masks = stack_masks(p, d, seed);
    check_hops(costs_of(masks), p.n);
    HopsStack stack;
    for (const auto& layer : masks) {
        std::vector<Csr> heads;
        for (const HeadMask& m : layer) heads.push_back(build_csr(m));
        stack.push_back(std::move(heads));
    }
    return stack;
}

void write_text(const std::string& path, const std::string& text, const char* what) {
    check_output_space(path, text.size(), what, "write elsewhere or free some space");
    write_file_atomic(path, text, what);
}

}  // namespace

int cmd_hops(const CliArgs& a) {
    Pattern p = load_pattern(a.pattern);
    if (a.n != -1) p = with_n(p, a.n);
    if (a.layers < 0) throw InputError("--layers must be >= 0, got " + std::to_string(a.layers));
    if (a.sources < 1) throw InputError("--sources must be >= 1, got " + std::to_string(a.sources));
    if (a.exact_threshold < 1) throw InputError("--exact-threshold must be >= 1");
    HopsStack stack = csr_stack(p, a.d, a.seed);
    HopsOptions o;
    o.max_layers = a.layers;
    o.sample_sources = a.sources;
    o.exact_threshold = a.exact_threshold;
    o.progress = progress_line("hops");
    HopsReport r = analyze_hops(stack, hops_causal_pairs(p), o);
    if (a.json) {
        auto j = nlohmann::json::parse(to_json(r));
        j["pattern"] = p.name;
        std::puts(j.dump().c_str());
        return 0;
    }
    std::printf("%s: n=%lld, %s (%lld sources)\n", p.name.c_str(), (long long)r.n,
                r.exact ? "exact" : "ESTIMATE from sampled sources", (long long)r.sources);
    if (r.diameter)
        std::printf("  diameter %d hops, mean %.3f hops\n", *r.diameter, r.mean_hops);
    else
        std::printf("  diameter: unreachable (%lld of %lld required pairs never reached%s), mean %.3f hops over reached\n",
                    (long long)r.unreachable_pairs, (long long)r.required_pairs, r.capped ? " within the cap" : "",
                    r.mean_hops);
    std::printf("  reached after 1..%zu layers:", r.reach_after_layers.size());
    for (size_t k = 0; k < r.reach_after_layers.size() && k < 16; ++k) std::printf(" %.3f", r.reach_after_layers[k]);
    if (r.reach_after_layers.size() > 16) std::printf(" ...");
    std::printf("\n  %.1f ms\n", r.ms);
    return 0;
}

int cmd_render(const CliArgs& a) {
    Pattern p = load_pattern(a.pattern);
    if (a.size < 16 || a.size > 8192) throw InputError("--size must be in [16, 8192], got " + std::to_string(a.size));
    if (a.n != -1) p = with_n(p, a.n);
    if (a.layer < 0 || a.layer >= p.num_layers())
        throw InputError("--layer " + std::to_string(a.layer) + " is out of range: the pattern has " +
                         std::to_string(p.num_layers()) + " layer(s)");
    if (a.out.empty()) throw InputError("render needs --out F.png or --out F.svg");
    const bool figure = a.view == "figure";
    // A page of four views gets smaller plots unless --size says otherwise.
    const int cells = figure && !a.size_given ? 400 : a.size;
    FigureSpec spec;
    spec.plot_size = cells;
    ProblemOptions po;
    po.d = a.d;
    po.layer = a.layer;
    po.source = synthetic_source(a.source);
    std::vector<std::string> tokens;
    if (!a.model_dir.empty()) {
        const ModelQkv m = load_model_qkv(a.model_dir);
        if (a.model_layer >= m.layers)
            throw InputError("--model-layer " + std::to_string(a.model_layer) + " is out of range: the model has " +
                             std::to_string(m.layers) + " layers");
        if (a.n != -1 && a.n != m.n)
            throw InputError("--n " + std::to_string(a.n) + " differs from the model's n = " + std::to_string(m.n));
        p = with_n(p, m.n);
        po.source = QkvSource::npy;
        po.q_path = m.files[size_t(a.model_layer)].q;
        po.k_path = m.files[size_t(a.model_layer)].k;
        po.v_path = m.files[size_t(a.model_layer)].v;
        po.d = m.d;
        if (p.is_flat()) po.heads = m.heads;
        for (const std::string& t : m.tokens) tokens.push_back(token_label_text(t));
    }
    // A model's tokens label the axes (figure.h: up to kMaxTokenTicks tokens per axis).
    auto labelled = [&](PanelData panel) {
        if (int64_t(tokens.size()) == p.n) panel.tokens = tokens;
        return panel;
    };
    if (a.view == "hops") {
        spec.panels.push_back(hops_panel(p.name, csr_stack(p, a.d, a.seed), cells));
        write_figure(a.out, make_figure(spec));
        return 0;
    }
    const ProblemShape shape = problem_shape(p, po);
    if (a.head < 0 || a.head >= shape.heads)
        throw InputError("--head " + std::to_string(a.head) + " is out of range: layer " + std::to_string(a.layer) +
                         " has " + std::to_string(shape.heads) + " head(s)");
    // Estimates from the pattern (lsh counts as dense until hashed), checked before any mask.
    const Layer& layer = p.layers[size_t(a.layer)];
    std::vector<HeadCost> costs;
    for (int h = 0; h < (layer.heads.size() == 1 ? 1 : shape.heads); ++h)
        costs.push_back(head_cost(layer.heads[layer.heads.size() == 1 ? 0 : size_t(h)], p.n));
    const std::string at = "render --view " + a.view + " at n = " + std::to_string(p.n);
    if (a.view == "mask" && !p.needs_qk()) {
        // No Q/K/V and no block mask: the head's rows, by runs.
        check_row_walk(costs[size_t(a.head) % costs.size()], at, "use a smaller --n");
        spec.panels.push_back(labelled(
            mask_panel(p.name, HeadMask(layer.heads[layer.heads.size() == 1 ? 0 : size_t(a.head)], p.n), cells, a.head)));
        write_figure(a.out, make_figure(spec));
        return 0;
    }
    if (!p.needs_qk()) check_block_mask(costs, p.n, at);
    std::unique_ptr<VulkanContext> ctx;
    if (a.view == "heatmap" || figure) {
        ContextOptions o;
        o.device_index = a.device;
        auto r = VulkanContext::create(o);
        if (!r.context) throw VulkanError(r.error);
        ctx = std::move(r.context);
        // The viewport's rows visit their query blocks' key blocks: refuse what would take too long.
        const double nb = std::ceil(double(p.n) / 64.0);
        const double rows = std::min(nb, double(std::min<int64_t>(p.n, cells)));
        check_kernel_time(listed_blocks_bound(costs, p.n) / double(costs.size()) * rows / nb, a.d,
                          ctx->info().type, ctx->info().name, at);
    }
    Problem prob = prepare_problem(p, po);
    auto heatmap = [&] {
        AttentionEngine engine(*ctx);
        engine.upload(prob.qkv.q, prob.qkv.k, prob.qkv.v, {prob.heads, prob.n, prob.d});
        PanelData hp = labelled(heatmap_panel(p.name, engine, *prob.block_mask, a.head, cells));
        if (!a.model_dir.empty()) {
            const size_t where = hp.caption.find("(synthetic Q/K)");
            if (where != std::string::npos) hp.caption.replace(where, 15, "(the model's Q/K, layer " + std::to_string(a.model_layer) + ")");
        }
        return hp;
    };
    if (a.view == "mask") {
        spec.panels.push_back(labelled(mask_panel(p.name, prob.mask(a.head), cells, a.head)));
    } else if (a.view == "blocks") {
        spec.panels.push_back(blocks_panel(p.name, *prob.block_mask, a.head, cells));
    } else if (a.view == "heatmap") {
        spec.panels.push_back(heatmap());
    } else {
        // The page: mask, kernel blocks, weights, hops (hops left out, with a note, when too large).
        spec.title = p.name + " at n = " + std::to_string(p.n) + ": what it keeps, what the kernel visits, the weights, the hops";
        spec.panels.push_back(mask_panel(p.name, prob.mask(a.head), cells, a.head));
        spec.panels.push_back(blocks_panel(p.name, *prob.block_mask, a.head, cells));
        spec.panels.push_back(heatmap());
        spec.panels.push_back(hops_panel(p.name, csr_stack(p, a.d, a.seed), cells));
    }
    write_figure(a.out, make_figure(spec));
    return 0;
}

int cmd_export(const CliArgs& a) {
    Pattern p = load_pattern(a.pattern);
    if (a.n != -1) p = with_n(p, a.n);
    if (a.mask_out.empty() && a.blocks_out.empty() && a.flex_out.empty())
        throw InputError("export needs at least one of --mask, --blocks, --flex");
    if (a.block_size < 1 || a.block_size > 4096)
        throw InputError("--block-size must be in [1, 4096], got " + std::to_string(a.block_size));
    // Sizes checked from the pattern before any mask is built (lsh counts as dense until hashed).
    if (!a.mask_out.empty()) check_mask_npy_size(p, mask_npy_bytes(p, {}), a.mask_out);
    std::vector<std::vector<HeadCost>> costs;
    for (const Layer& l : p.layers) {
        costs.emplace_back();
        for (const HeadPattern& hp : l.heads) {
            bool lsh = false;
            for (const Component& c : hp.components) lsh = lsh || c.type == ComponentType::lsh;
            costs.back().push_back(lsh ? HeadCost{} : head_cost(hp, p.n));
        }
    }
    if (!a.blocks_out.empty()) check_blocks_export(costs, p.n, a.block_size);
    std::optional<QKV> qkv;
    if (!a.q.empty() || !a.k.empty()) {
        if (a.q.empty() || a.k.empty()) throw InputError("give both --q and --k, or neither");
        int heads = 0;
        for (auto& l : p.layers) heads = std::max(heads, int(l.heads.size()));
        qkv = QKV{read_qkv(a.q, heads, p.n, a.d), read_qkv(a.k, heads, p.n, a.d), {}};
    }
    StackMasks masks = build_stack_masks(p, qkv ? &*qkv : nullptr, a.d);
    if (!a.blocks_out.empty() && p.needs_qk()) check_blocks_export(costs_of(masks), p.n, a.block_size);
    if (!a.mask_out.empty()) export_mask_npy(p, masks, a.mask_out, progress_line("export --mask"));
    if (!a.blocks_out.empty())
        write_text(a.blocks_out, export_blocks_json(p, masks, a.block_size), "export --blocks");
    if (!a.flex_out.empty()) write_text(a.flex_out, export_flex_python(p, masks), "export --flex");
    return 0;
}

}  // namespace salab
