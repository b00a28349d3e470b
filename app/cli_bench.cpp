// salab-cli bench: sparse vs dense kernel time, and the built-in suites (anchors, laptop).
#include "attention.h"
#include "cli_commands.h"
#include "content_kernels.h"
#include "problem.h"
#include "size_limits.h"
#include "vk_context.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

namespace salab {

namespace {

using nlohmann::json;

// The patterns of the anchor figures (assets/anchors/), in this project's JSON terms.
struct AnchorPattern {
    const char* name;
    const char* json;
};
const AnchorPattern kAnchorPatterns[] = {
    {"dense", R"({"name":"dense","n":1024,"components":[{"type":"dense"}]})"},
    {"window", R"({"name":"window","n":1024,"components":[{"type":"window","radius":256}]})"},
    {"longformer",
     R"({"name":"longformer","n":1024,"components":[{"type":"window","radius":256},{"type":"global","first":16}]})"},
    {"bigbird",
     R"({"name":"bigbird","n":1024,"components":[{"type":"block","block":64,"window_blocks":1,"global_blocks":2,"random_blocks":3,"seed":0}]})"},
    {"strided", R"({"name":"strided","n":1024,"components":[{"type":"fixed","block":128,"summary":1}]})"},
    {"causal_window",
     R"({"name":"causal_window","n":1024,"causal":true,"components":[{"type":"window","radius":256}]})"},
};

// Reference figures of other tools on the same work, read from a data file the project ships
// (assets/anchors/*.jsonl: one JSON object per line, each with its source): "flex" and
// "sdpa_dense" (PyTorch), "llama.cpp-vulkan" rows keyed by (pattern, n, d) for 16 heads, and one
// "device" row with the tensor-core peak the share is quoted against.
struct Anchors {
    std::string file;
    std::string device;
    double peak_tflops = 0;
    std::vector<json> rows;

    const json* find(const std::string& impl, const std::string& pattern, int64_t n, int64_t d, int heads) const {
        for (const json& r : rows)
            if (r.value("impl", "") == impl && r.value("pattern", "") == pattern && r.value("n", int64_t(0)) == n &&
                r.value("d", int64_t(0)) == d && r.value("heads", 0) == heads)
                return &r;
        return nullptr;
    }
};

std::string default_anchors_file() {
    namespace fs = std::filesystem;
    std::vector<fs::path> roots;
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) roots.insert(roots.end(), {exe.parent_path() / "..", exe.parent_path() / "../..", exe.parent_path()});
#ifdef SALAB_SOURCE_DIR
    roots.emplace_back(SALAB_SOURCE_DIR);
#endif
    for (const fs::path& r : roots) {
        const fs::path f = r / "assets/anchors/h200_2026-12-02.jsonl";
        if (fs::is_regular_file(f, ec)) return f.lexically_normal().string();
    }
    return {};
}

Anchors load_anchors(const std::string& path) {
    Anchors a;
    a.file = path.empty() ? default_anchors_file() : path;
    if (a.file.empty())
        throw InputError("no reference figures found (assets/anchors/h200_2026-12-02.jsonl): give them with --anchors F.jsonl");
    std::ifstream in(a.file);
    if (!in) throw InputError(a.file + ": cannot read the reference figures");
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        json j = json::parse(line, nullptr, false);
        if (!j.is_object() || !j.contains("impl"))
            throw InputError(a.file + ":" + std::to_string(number) + ": not a reference figure (one JSON object with \"impl\" per line)");
        if (j["impl"] == "device") {
            a.device = j.value("device", "");
            a.peak_tflops = j.value("fp16_tensor_tflops", 0.0);
        } else if (j.value("ms", 0.0) > 0) {
            a.rows.push_back(std::move(j));
        }
    }
    return a;
}

struct BenchCase {
    Pattern pattern;
    int64_t n, d;
    int heads;
};

void bench_one(VulkanContext& ctx, AttentionEngine& engine, const BenchCase& c, const CliArgs& a,
               const Anchors* anchors) {
    const bool is_dense_pattern = c.pattern.is_flat() && c.pattern.layers[0].heads[0].components.size() == 1 &&
                                  c.pattern.layers[0].heads[0].components[0].type == ComponentType::dense;
    for (int layer = 0; layer < c.pattern.num_layers(); ++layer) {
        ProblemOptions po;
        po.n = c.n;
        po.d = c.d;
        po.heads = c.pattern.num_heads(layer) == 1 ? c.heads : 0;
        po.layer = layer;
        const KernelChoice kc = kernel_choice(a);
        const ProblemShape shape = problem_shape(with_n(c.pattern, c.n), po);
        if (auto why = engine.check_fits(shape); !why.empty())
            throw InputError(why);
        choose_path(ctx.info(), kc.run.dtype, c.d, kc.run.path);
        const int runs = 1 + a.repeats;  // the warm-up may run longer (warmup_ms): not counted
        check_attention_problem(with_n(c.pattern, c.n), layer, shape.heads, shape.d, runs, a.no_dense ? 0 : runs,
                                ctx.info().type, ctx.info().name, "bench");
        Problem p = prepare_problem(c.pattern, po);
        engine.upload(p.qkv.q, p.qkv.k, p.qkv.v, {p.heads, p.n, p.d});
        const KernelPlan plan = plan_kernel(p.masks, p.block_mask, p.heads, kc.plan);
        RunOptions ro = kc.run;
        ro.repeats = a.repeats;
        ro.warmup = 1;
        ro.warmup_ms = 300;  // lift the GPU out of its idle clock after the host-side setup
        RunResult sparse = engine.run(plan, ro);
        // A band or dense plan needs no block mask (the CPU one is still built, for the statistics
        // below, but the kernel never sees it), so its build is not part of the kernel's cost; a
        // structural plan builds the kernel's mask itself (plan.build_ms is all of it).
        const bool use_band = plan.kind == KernelPlan::Kind::band;
        const bool no_mask = plan.kind != KernelPlan::Kind::blocks;
        const double mask_build_ms = no_mask ? 0.0 : plan.structural ? plan.build_ms : p.mask_build_ms + plan.build_ms;
        const char* mask_builder = no_mask ? "none" : plan.structural ? "structural" : "compiler";
        std::optional<RunResult> dense;
        if (!a.no_dense) dense = engine.run(plan_dense(p.heads, p.causal), ro);
        // lsh/topk: the GPU content pass (hashing / the top-k indexer), timed on its own.
        std::optional<double> indexer_ms;
        if (p.pattern.needs_qk()) {
            ContentKernels kernels(ctx);
            const Layer& l = p.pattern.layers[size_t(layer)];
            double total = 0.0;
            for (int h = 0; h < p.heads; ++h) {
                ContentStats st;
                build_head_csr(kernels, l.heads.size() == 1 ? l.heads[0] : l.heads[size_t(h)], p.n, p.head_qk(h), &st);
                total += st.gpu_ms;
            }
            indexer_ms = total;
        }
        // Block counts of what the kernel visits (the gathered form when gathering packed keys).
        const BlockMask& run_blocks = plan.blocks ? *plan.blocks : *p.block_mask;
        const int64_t dense_pairs = p.causal ? p.n * (p.n + 1) / 2 * p.heads : p.n * p.n * p.heads;
        const double density = p.density();
        json j = {{"pattern", p.pattern.name}, {"layer", layer}, {"n", p.n}, {"d", p.d}, {"heads", p.heads},
                  {"dtype", a.dtype}, {"density", density}, {"kept_pairs", p.kept_pairs()},
                  {"sparse_ms", sparse.gpu_ms}, {"mask_build_ms", mask_build_ms},
                  {"mask_builder", mask_builder}, {"plain_mask_ms", p.mask_build_ms},
                  {"mask_build_share", sparse.gpu_ms > 0 ? mask_build_ms / sparse.gpu_ms : 0.0},
                  {"eff_gflops", attention_gflops(double(p.kept_pairs()), p.d, sparse.gpu_ms)},
                  {"blocks_full", run_blocks.full_blocks}, {"blocks_partial", run_blocks.partial_blocks},
                  {"blocks_gathered", run_blocks.gathered_blocks},
                  {"path", sparse.path}, {"plan", plan.describe()}, {"device", engine.device().name}};
        if (!no_mask) j["split_plan_ms"] = plan.split_ms;  // the split-k part of mask_build_ms
        if (indexer_ms) j["indexer_ms"] = *indexer_ms;
        if (use_band) j["band"] = {plan.band.left, plan.band.right};  // row i keeps keys [i - left, i + right]
        if (dense) {
            j["dense_ms"] = dense->gpu_ms;
            j["dense_gflops"] = attention_gflops(double(dense_pairs), p.d, dense->gpu_ms);
            j["speedup"] = sparse.gpu_ms > 0 ? dense->gpu_ms / sparse.gpu_ms : 0.0;
            j["ideal_speedup"] = density > 0 ? double(dense_pairs) / double(p.kept_pairs()) : 0.0;
        }
        if (anchors) {
            const std::string name = is_dense_pattern ? "dense" : p.pattern.name;
            const double tflops = attention_gflops(double(p.kept_pairs()), p.d, sparse.gpu_ms) / 1000.0;
            if (anchors->peak_tflops > 0) j["peak_share"] = tflops / anchors->peak_tflops;
            // > 1: we are faster. Dense rows compare with SDPA, sparse ones with FlexAttention.
            const char* torch = is_dense_pattern ? "sdpa_dense" : "flex";
            if (const json* f = anchors->find(torch, name, p.n, p.d, p.heads)) {
                j["ref_torch"] = torch;
                j["ref_torch_ms"] = (*f)["ms"];
                j["vs_torch"] = sparse.gpu_ms > 0 ? (*f)["ms"].get<double>() / sparse.gpu_ms : 0.0;
                if (f->contains("mask_build_ms")) j["ref_torch_mask_build_ms"] = (*f)["mask_build_ms"];
            }
            if (const json* f = anchors->find("llama.cpp-vulkan", name, p.n, p.d, p.heads)) {
                j["ref_llamacpp_ms"] = (*f)["ms"];
                j["vs_llamacpp"] = sparse.gpu_ms > 0 ? (*f)["ms"].get<double>() / sparse.gpu_ms : 0.0;
            }
        }
        if (a.json) {
            std::puts(j.dump().c_str());
        } else {
            std::printf("%-16s L%d n=%-7lld d=%-3lld h=%-2d density %.4f  sparse %9.3f ms  %s  build %8.2f ms  %8.1f GFLOP/s",
                        p.pattern.name.c_str(), layer, (long long)p.n, (long long)p.d, p.heads, density, sparse.gpu_ms,
                        dense ? ("dense " + std::to_string(dense->gpu_ms) + " ms").c_str() : "", mask_build_ms,
                        j["eff_gflops"].get<double>());
            if (dense) std::printf("  speedup %.2fx (ideal %.1fx)", j["speedup"].get<double>(), j["ideal_speedup"].get<double>());
            if (indexer_ms) std::printf("  indexer %.3f ms", *indexer_ms);
            if (j.contains("vs_torch"))
                std::printf("  vs %s %.2fx", j["ref_torch"].get<std::string>().c_str(), j["vs_torch"].get<double>());
            if (j.contains("vs_llamacpp")) std::printf("  vs llama.cpp %.2fx", j["vs_llamacpp"].get<double>());
            std::printf("\n");
        }
        std::fflush(stdout);
    }
}

}  // namespace

int cmd_bench(const CliArgs& a) {
    ContextOptions o;
    o.device_index = a.device;
    auto r = VulkanContext::create(o);
    if (!r.context) throw VulkanError(r.error);
    AttentionEngine engine(*r.context);

    std::vector<BenchCase> cases;
    if (!a.suite.empty()) {
        const bool anchors = a.suite == "anchors";
        std::vector<int64_t> ns = anchors ? std::vector<int64_t>{16384, 65536} : std::vector<int64_t>{4096, 16384};
        std::vector<int64_t> ds = anchors ? std::vector<int64_t>{64, 128} : std::vector<int64_t>{64};
        if (!a.n_list.empty()) ns = a.n_list;
        if (!a.d_list.empty()) ds = a.d_list;
        const int heads = a.heads > 0 ? a.heads : (anchors ? 16 : 1);
        for (int64_t d : ds)
            for (int64_t n : ns)
                for (auto& ap : kAnchorPatterns) cases.push_back({parse_pattern(ap.json), n, d, heads});
        std::optional<Anchors> refs;
        if (anchors) refs = load_anchors(a.anchors);
        for (auto& c : cases) bench_one(*r.context, engine, c, a, refs ? &*refs : nullptr);
        return 0;
    }
    if (a.pattern.empty()) throw InputError("bench needs --pattern P.json or --suite anchors|laptop");
    Pattern pat = load_pattern(a.pattern);
    std::vector<int64_t> ns = a.n_list.empty() ? std::vector<int64_t>{pat.n} : a.n_list;
    for (int64_t n : ns) with_n(pat, n);  // validates every n before any work
    std::vector<int64_t> ds = a.d_list.empty() ? std::vector<int64_t>{64} : a.d_list;
    for (int64_t d : ds)
        for (int64_t n : ns) bench_one(*r.context, engine, {pat, n, d, a.heads > 0 ? a.heads : 1}, a, nullptr);
    return 0;
}

}  // namespace salab
