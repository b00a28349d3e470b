// salab-cli compare: two patterns side by side (compute/compare.h) plus each one's GPU time.
#include "cli_commands.h"
#include "compare.h"
#include "errors.h"
#include "figure.h"
#include "kernel_plan.h"
#include "problem.h"
#include "size_limits.h"
#include "source_stats.h"
#include "vk_context.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace salab {

QkvSource synthetic_source(const std::string& name) {
    QkvSource s{};
    if (!parse_qkv_source(name, s) || s == QkvSource::npy)
        throw InputError("--source " + name + " is not a generated source: use synthetic, local, sink, broad or gaussian"
                         " (your own Q/K/V: --q/--k/--v where the command has them)");
    return s;
}

int cmd_compare(const CliArgs& a) {
    Pattern pa = load_pattern(a.a_pattern), pb = load_pattern(a.b_pattern);
    const int64_t n = a.n != -1 ? a.n : pa.n;
    if (a.n == -1 && pb.n != pa.n)
        throw InputError("A has n = " + std::to_string(pa.n) + " and B has n = " + std::to_string(pb.n) +
                         ": give --n to compare them at one n");
    pa = with_n(pa, n);
    pb = with_n(pb, n);
    ProblemOptions po;
    po.d = a.d;
    po.seed = a.seed;
    po.source = synthetic_source(a.source);
    // One row walk per pattern and a block mask each: refused up front when too large.
    for (const Pattern* p : {&pa, &pb}) {
        const ProblemShape shape = problem_shape(*p, po);
        std::vector<HeadCost> costs;
        for (const HeadPattern& hp : p->layers[0].heads) costs.push_back(head_cost(hp, n));
        for (const HeadCost& c : costs) check_row_walk(c, "compare at n = " + std::to_string(n), "use a smaller --n");
        if (!p->needs_qk()) check_block_mask(costs, n, "compare at n = " + std::to_string(n));
        check_host_memory(12.0 * shape.heads * double(n) * double(shape.d), "Q/K/V of " + p->name, "use a smaller --n or --d");
    }
    const Problem A = prepare_problem(pa, po), B = prepare_problem(pb, po);
    CompareReport r = compare_problems(A, B);

    if (a.no_time) {
        r.a.time_missing = r.b.time_missing = "skipped (--no-time)";
    } else {
        ContextOptions o;
        o.device_index = a.device;
        auto cr = VulkanContext::create(o);
        if (!cr.context) {
            r.a.time_missing = r.b.time_missing = "no Vulkan device: " + cr.error;
        } else {
            AttentionEngine engine(*cr.context);
            for (auto [prob, stats] : {std::pair{&A, &r.a}, std::pair{&B, &r.b}}) {
                try {
                    if (auto why = engine.check_fits(problem_shape(prob->pattern, po)); !why.empty()) throw InputError(why);
                    check_kernel_time(4.0 * double(prob->block_mask->listed_blocks()) *
                                          double(prob->heads / prob->block_mask->heads),
                                      prob->d, cr.context->info().type, cr.context->info().name, "compare");
                    engine.upload(prob->qkv.q, prob->qkv.k, prob->qkv.v, {prob->heads, prob->n, prob->d});
                    const KernelPlan plan = plan_kernel(prob->masks, prob->block_mask, prob->heads, {});
                    RunOptions ro;
                    ro.warmup = 1;
                    ro.repeats = 3;
                    const RunResult rr = engine.run(plan, ro);
                    if (rr.runs > 0) {
                        stats->sparse_ms = rr.gpu_ms;
                        stats->path = rr.path + " on " + cr.context->info().name;
                    } else {
                        stats->time_missing = "the device has no timestamps";
                    }
                } catch (const InputError& e) {
                    stats->time_missing = e.what();
                }
            }
        }
    }
    if (!a.out.empty()) {
        write_figure(a.out, make_figure(compare_figure(pa.name, pb.name, A.mask(0), B.mask(0), a.size_given ? a.size : 384)));
    }
    // What the quality numbers were measured on: head 0 of the source (source_stats.h).
    QKV head0;
    const size_t per = size_t(n) * size_t(A.d);
    head0.q.assign(A.qkv.q.begin(), A.qkv.q.begin() + ptrdiff_t(per));
    head0.k.assign(A.qkv.k.begin(), A.qkv.k.begin() + ptrdiff_t(per));
    const SourceStats st = measure_source(head0, 1, n, A.d, {.causal = true, .window = 16, .rows = 32});
    const HeadStats& h0 = st.heads[0];
    const std::string kind = is_structured(po.source) ? std::string(to_string(head_type(po.source, 0))) + " head" : "Gaussian";
    if (a.json) {
        nlohmann::json j = nlohmann::json::parse(to_json(r));
        j["source"] = {{"name", to_string(po.source)}, {"head0_type", kind},      {"sink_mass", h0.sink_mass},
                       {"local_mass", h0.local_mass}, {"window", 16},          {"entropy_nats", h0.entropy},
                       {"entropy_norm", h0.entropy_norm}};
        std::puts(j.dump().c_str());
    } else {
        std::fputs(to_text(r).c_str(), stdout);
        std::printf("source: %s, head 0 (%s): %s\n", to_string(po.source), kind.c_str(), describe(h0, 16).c_str());
    }
    return 0;
}

}  // namespace salab
