// salab-cli advise: the pattern advisor (compute/advisor.h) from the command line.
#include "advisor.h"
#include "attention.h"
#include "cli_commands.h"
#include "file_io.h"
#include "live_types.h"
#include "vk_context.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace salab {

int cmd_advise(const CliArgs& a) {
    Family f = load_family(a.family);
    const int64_t n = a.n != -1 ? a.n : f.base.n;
    if (a.budget_mass <= 0 || a.budget_mass > 1) throw InputError("--budget-mass must be in (0, 1], e.g. 0.95");
    const std::optional<CostModel> cost = parse_cost_model(a.cost);
    if (!cost) throw InputError("--cost " + a.cost + " is not a cost model: use measured, density or blocks");
    if (a.q.empty() != a.k.empty()) throw InputError("give --q and --k together (and --v, or V = K)");
    LiveParams lp;
    lp.pattern = with_n(f.base, n);
    lp.d = a.d;
    lp.data_seed = a.seed;
    std::string id;
    if (!a.q.empty()) {
        lp.source = QkvSource::npy;
        lp.q_path = a.q;
        lp.k_path = a.k;
        lp.v_path = a.v;
        id = "npy:" + a.q + "," + a.k + "," + a.v;
    } else {
        lp.source = synthetic_source(a.source);
        id = std::string(lp.source == QkvSource::structured ? "structured" : to_string(lp.source)) + ":seed" + std::to_string(a.seed);
    }
    AdvisorSource src = make_advisor_source(make_qkv(lp, 1), n, a.d, id, a.exact_threshold, a.sample_rows);

    std::unique_ptr<VulkanContext> ctx;
    std::unique_ptr<AttentionEngine> engine;
    if (*cost == CostModel::measured) {
        ContextOptions co;
        co.device_index = a.device;
        auto r = VulkanContext::create(co);
        if (!r.context) throw VulkanError(r.error);
        ctx = std::move(r.context);
        engine = std::make_unique<AttentionEngine>(*ctx);
        if (auto why = engine->check_fits({1, n, a.d}); !why.empty()) throw InputError(why);
    }
    AdvisorOptions o;
    o.cost = *cost;
    o.engine = engine.get();
    o.layers = a.layers > 0 ? a.layers : 8;
    o.refine = !a.exhaustive;
    if (!a.advise_dtype.empty()) o.dtype = a.advise_dtype == "f16" ? DType::f16 : DType::f32;
    AdvisorCache cache;
    const bool tty_progress = !a.json;
    AdvisorResult r = run_advisor(f, src, cache, o, nullptr, [&](int64_t done, int64_t planned) {
        if (tty_progress) std::fprintf(stderr, "\radvise: %lld/%lld points", (long long)done, (long long)planned);
    });
    if (tty_progress) std::fprintf(stderr, "\n");
    const std::optional<size_t> best = recommend(r, a.budget_mass);

    using nlohmann::json;
    if (a.json) {
        for (size_t i : r.front) {
            json j = json::parse(point_json(r.points[i]));
            j["front"] = true;
            std::puts(j.dump().c_str());
        }
    } else {
        std::printf("front (%zu of %zu points; cost = %s):\n", r.front.size(), r.points.size(), a.cost.c_str());
        for (size_t i : r.front) {
            const PointMetrics& p = r.points[i];
            std::printf("  %-40s mass %6.2f%%  density %6.2f%%  err %.3g  %s  %s %.4g\n", p.pattern.name.c_str(),
                        100 * p.kept_mass, 100 * p.density, p.output_error,
                        p.diameter ? ("diam " + std::to_string(*p.diameter)).c_str() : "diam >L",
                        o.cost == CostModel::measured ? "ms" : "cost", p.cost);
        }
    }
    json summary = {{"n", n}, {"d", a.d}, {"source", id}, {"family", f.name}, {"cost_model", a.cost},
                    {"points", r.points.size()}, {"coarse_points", r.coarse_points},
                    {"refined_points", r.refined_points}, {"grid_points", r.grid_points}, {"seconds", r.seconds},
                    {"dense_ms", r.dense_ms}, {"budget_mass", a.budget_mass}, {"device", r.device}, {"path", r.path},
                    {"exact_mass", src.exact()}, {"sample_rows", src.rows.size()},
                    {"mass_bound", src.mass_bound()}, {"confidence", src.confidence}};
    if (best) {
        summary["recommended"] = json::parse(to_json(r.points[*best].pattern, -1));
        summary["explanation"] = explain(r, *best);
        if (!a.out.empty()) write_file_atomic(a.out, to_json(r.points[*best].pattern) + "\n", "advise --out");
    } else {
        summary["recommended"] = nullptr;
    }
    if (a.json) {
        std::puts(summary.dump().c_str());
    } else if (best) {
        std::printf("%s\n", explain(r, *best).c_str());
        if (!a.out.empty()) std::printf("wrote %s (salab-cli export --pattern %s --flex mask_mod.py)\n", a.out.c_str(), a.out.c_str());
    } else {
        std::printf("no pattern of the family keeps %.1f%% of the mass: widen the ranges or lower --budget-mass\n",
                    100 * a.budget_mass);
    }
    return best ? 0 : 1;
}

}  // namespace salab
