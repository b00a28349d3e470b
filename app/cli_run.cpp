// salab-cli run / bench.
#include "attention.h"
#include "cli_commands.h"
#include "npy.h"
#include "problem.h"
#include "reference.h"
#include "size_limits.h"
#include "vk_context.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

namespace salab {

namespace {

using nlohmann::json;

std::unique_ptr<VulkanContext> open_context(int device) {
    ContextOptions o;
    o.device_index = device;
    auto r = VulkanContext::create(o);
    if (!r.context) throw VulkanError(r.error);
    return std::move(r.context);
}

void print_line(const json& j, bool as_json, const std::string& text) {
    std::puts(as_json ? j.dump().c_str() : text.c_str());
    std::fflush(stdout);
}

}  // namespace

KernelChoice kernel_choice(const CliArgs& a) {
    KernelChoice c;
    c.plan.band = !a.no_band;
    c.plan.gather = !a.no_gather;
    c.run.dtype = a.dtype == "f16" ? DType::f16 : DType::f32;
    const std::optional<KernelPath> path = parse_kernel_path(a.path);
    if (!path) throw InputError("--path " + a.path + " is not a kernel path: use one of " + kernel_path_names());
    c.run.path = *path;
    return c;
}

int cmd_run(const CliArgs& a) {
    Pattern pattern = load_pattern(a.pattern);
    if (a.n != -1) pattern = with_n(pattern, a.n);
    ProblemOptions po;
    po.d = a.d;
    po.heads = a.heads;
    po.layer = a.layer;
    po.seed = a.seed;
    po.q_path = a.q;
    po.k_path = a.k;
    po.v_path = a.v;
    const KernelChoice kc = kernel_choice(a);
    auto ctx = open_context(a.device);
    AttentionEngine engine(*ctx);
    const ProblemShape shape = problem_shape(pattern, po);
    if (auto why = engine.check_fits(shape); !why.empty()) throw InputError(why);
    // A forced path that cannot run here fails before the problem is built.
    choose_path(ctx->info(), kc.run.dtype, po.d, kc.run.path);
    // Block mask size and kernel time (4 dispatches) refused up front (size_limits.h).
    check_attention_problem(pattern, a.layer, shape.heads, shape.d, 4, 0, ctx->info().type, ctx->info().name, "run");
    Problem p = prepare_problem(pattern, po);
    check_kernel_time(4.0 * double(p.block_mask->listed_blocks()) * double(p.heads / p.block_mask->heads), p.d,
                      ctx->info().type, ctx->info().name, "run");

    engine.upload(p.qkv.q, p.qkv.k, p.qkv.v, {p.heads, p.n, p.d});
    const KernelPlan plan = plan_kernel(p.masks, p.block_mask, p.heads, kc.plan);
    RunOptions ro = kc.run;
    ro.warmup = 1;  // the first dispatch of a pipeline may include the driver's compile
    ro.repeats = 3;
    ro.read_back = a.check || !a.out.empty();
    RunResult r = engine.run(plan, ro);
    // A band needs no block mask: its build time is not part of the kernel's cost.
    const double build_ms = plan.kind != KernelPlan::Kind::blocks ? 0.0 : p.mask_build_ms + plan.build_ms;

    json j = {{"pattern", p.pattern.name}, {"n", p.n}, {"d", p.d}, {"heads", p.heads}, {"layer", p.layer},
              {"dtype", a.dtype}, {"density", p.density()}, {"kept_pairs", p.kept_pairs()},
              {"sparse_ms", r.gpu_ms}, {"mask_build_ms", build_ms}, {"path", r.path}, {"plan", plan.describe()},
              {"device", ctx->info().name}};
    if (!a.out.empty()) write_npy(a.out, {p.heads, p.n, p.d}, r.out.data());
    int rc = 0;
    if (a.check) {
        const size_t per = size_t(p.n) * size_t(p.d);
        std::vector<float> want(per * size_t(p.heads));
        for (int h = 0; h < p.heads; ++h) {
            const std::span<const float> qs(p.qkv.q), ks(p.qkv.k), vs(p.qkv.v);
            reference_attention(p.mask(h), qs.subspan(size_t(h) * per, per), ks.subspan(size_t(h) * per, per),
                                vs.subspan(size_t(h) * per, per), p.d, std::span<float>(want).subspan(size_t(h) * per, per));
        }
        const double err = relative_error(r.out, want);
        const double tol = ro.dtype == DType::f16 ? 2e-2 : 1e-4;
        j["max_rel_error"] = err;
        j["tolerance"] = tol;
        j["check"] = err <= tol ? "ok" : "FAILED";
        if (err > tol) rc = 1;
    }
    char text[512];
    std::snprintf(text, sizeof text, "%s: n=%lld d=%lld heads=%d density=%.5f sparse %.3f ms (%s), mask build %.2f ms%s",
                  p.pattern.name.c_str(), (long long)p.n, (long long)p.d, p.heads, p.density(), r.gpu_ms,
                  r.path.c_str(), j["mask_build_ms"].get<double>(),
                  a.check ? (std::string(", max rel error ") + std::to_string(j["max_rel_error"].get<double>()) +
                             (rc ? " FAILED" : " ok")).c_str()
                          : "");
    print_line(j, a.json, text);
    if (rc) std::fprintf(stderr, "salab-cli: check failed: max relative error %.3g above %.0e\n",
                         j["max_rel_error"].get<double>(), j["tolerance"].get<double>());
    return rc;
}

}  // namespace salab
