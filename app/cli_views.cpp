// salab-cli hops / render / export.
#include "cli_commands.h"
#include "export.h"
#include "hops.h"
#include "problem.h"
#include "render.h"
#include "vk_context.h"

#include <nlohmann/json.hpp>

#include "npy.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>

namespace salab {

namespace {

// Every layer of the pattern as token CSRs (Q/K generated with `seed` for lsh/topk heads).
HopsStack csr_stack(const Pattern& p, int64_t d, uint64_t seed) {
    HopsStack stack;
    for (int l = 0; l < p.num_layers(); ++l) {
        ProblemOptions po;
        po.d = d;
        po.layer = l;
        po.seed = seed;
        const bool qk = p.needs_qk();
        std::vector<Csr> heads;
        if (qk) {
            Problem prob = prepare_problem(p, po);
            for (auto& m : prob.masks) heads.push_back(build_csr(m));
        } else {
            for (auto& hp : p.layers[size_t(l)].heads) heads.push_back(build_csr(HeadMask(hp, p.n)));
        }
        stack.push_back(std::move(heads));
    }
    return stack;
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
    ProblemOptions po;
    po.d = a.d;
    po.layer = a.layer;
    po.source = QkvSource::structured;
    if (a.view == "hops") {
        write_png(a.out, render_hops(csr_stack(p, a.d, a.seed), a.size));
        return 0;
    }
    Problem prob = prepare_problem(p, po);
    if (a.head < 0 || a.head >= prob.heads)
        throw InputError("--head " + std::to_string(a.head) + " is out of range: layer " + std::to_string(prob.layer) +
                         " has " + std::to_string(prob.heads) + " head(s)");
    Image img;
    if (a.view == "mask") {
        img = render_mask(prob.mask(a.head), a.size);
    } else if (a.view == "blocks") {
        img = render_blocks(*prob.block_mask, a.head, a.size);
    } else {
        ContextOptions o;
        o.device_index = a.device;
        auto r = VulkanContext::create(o);
        if (!r.context) throw VulkanError(r.error);
        AttentionEngine engine(*r.context);
        engine.upload(prob.qkv.q, prob.qkv.k, prob.qkv.v, {prob.heads, prob.n, prob.d});
        img = render_heatmap(engine, *prob.block_mask, a.head, a.size);
    }
    write_png(a.out, img);
    return 0;
}

int cmd_export(const CliArgs& a) {
    Pattern p = load_pattern(a.pattern);
    if (a.n != -1) p = with_n(p, a.n);
    if (a.mask_out.empty() && a.blocks_out.empty() && a.flex_out.empty())
        throw InputError("export needs at least one of --mask, --blocks, --flex");
    if (a.block_size < 1 || a.block_size > 4096)
        throw InputError("--block-size must be in [1, 4096], got " + std::to_string(a.block_size));
    std::optional<QKV> qkv;
    if (!a.q.empty() || !a.k.empty()) {
        if (a.q.empty() || a.k.empty()) throw InputError("give both --q and --k, or neither");
        int heads = 0;
        for (auto& l : p.layers) heads = std::max(heads, int(l.heads.size()));
        qkv = QKV{read_qkv(a.q, heads, p.n, a.d), read_qkv(a.k, heads, p.n, a.d), {}};
    }
    StackMasks masks = build_stack_masks(p, qkv ? &*qkv : nullptr, a.d);
    auto write_text = [](const std::string& path, const std::string& text) {
        std::ofstream f(path);
        if (!(f << text)) throw InputError(path + ": cannot write");
    };
    if (!a.mask_out.empty()) export_mask_npy(p, masks, a.mask_out);
    if (!a.blocks_out.empty()) write_text(a.blocks_out, export_blocks_json(p, masks, a.block_size));
    if (!a.flex_out.empty()) write_text(a.flex_out, export_flex_python(p, masks));
    return 0;
}

}  // namespace salab
