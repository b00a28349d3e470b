// salab-cli: the headless front end (DESIGN.md "Command line"). Wiring only: every command
// parses flags, calls the engine in compute/, prints text or one JSON object per line.
// Exit codes: 0 ok, 1 check failed, 2 bad input (parse, range, file and size errors: one line on
// stderr), 3 Vulkan/device failure, 70 internal error (a bug), 128 + signal when interrupted.
#include "attention.h"
#include "cli_commands.h"
#include "pattern.h"
#include "vk_context.h"

#include <CLI/CLI.hpp>

#include "file_io.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <new>
#include <iostream>

int main(int argc, char** argv) {
    using namespace salab;
    CLI::App app{"Sparse Attention Lab, headless: patterns, masks, sparse attention on Vulkan, hops"};
    app.require_subcommand(1);
    app.set_help_all_flag("--help-all", "Show help for every command");
    CliArgs a;

    // Ranges are checked while parsing (a bad value is a parse error: one line, exit 2), with
    // the engine's wording: "--d: d must be in [1, 256], got 300".
    auto range = [](std::string name, int64_t lo, int64_t hi) {
        return CLI::Validator(
            [name, lo, hi](std::string& text) -> std::string {
                const std::string want = name + " must be an integer in [" + std::to_string(lo) + ", " +
                                         std::to_string(hi) + "], got \"" + text.substr(0, 40) + "\"";
                int64_t v = 0;
                const char* b = text.data();
                const char* e = text.data() + text.size();
                auto [end, ec] = std::from_chars(b, e, v);
                if (ec != std::errc() || end != e) return want;
                if (v < lo || v > hi)
                    return name + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + text;
                return {};
            },
            "INT in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    };
    const auto seed_check = CLI::Validator(
        [](std::string& text) -> std::string {
            uint64_t v = 0;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec != std::errc() || end != text.data() + text.size())
                return "seed must be an integer in [0, 2^64 - 1], got \"" + text.substr(0, 40) + "\"";
            return {};
        },
        "UINT64");
    const auto n_range = range("n", 1, max_tokens);
    const auto d_range = range("d", 1, 256);
    auto add_pattern = [&](CLI::App* c) {
        c->add_option("--pattern", a.pattern, "Pattern JSON file (assets/presets/*.json)")->required();
        c->add_option("--n", a.n, "Override the pattern's token count n")->check(n_range);
        c->add_flag("--json", a.json, "Print one JSON object per line");
    };
    auto add_device = [&](CLI::App* c) {
        c->add_option("--device", a.device, "Vulkan device index (see `salab-cli devices`); default: best")
            ->check(range("device", 0, 1023));
    };

    auto* devices = app.add_subcommand("devices", "List Vulkan devices and their features");
    devices->add_flag("--json", a.json, "Print one JSON object");
    devices->add_flag("--probe", a.probe,
                      "Also time a 4096^3 fp16 GEMM through VK_NV_cooperative_matrix2 (the matrix units' ceiling "
                      "for the coopmat2 kernels on this driver)");

    auto* exp = app.add_subcommand("export", "Write the mask (.npy), FlexAttention blocks (JSON) or mask_mod (.py)");
    add_pattern(exp);
    exp->add_option("--mask", a.mask_out, "uint8 [n, n] .npy ([layers, heads, n, n] for a stack)");
    exp->add_option("--blocks", a.blocks_out, "FlexAttention BlockMask tables as JSON");
    exp->add_option("--flex", a.flex_out, "Python file defining mask_mod(b, h, q_idx, kv_idx)");
    exp->add_option("--block-size", a.block_size, "Block size of --blocks (default 128)")->check(range("block size", 1, 4096));
    exp->add_option("--d", a.d, "Head dimension of the generated Q/K for lsh/topk (default 64)")->check(d_range);
    exp->add_option("--q", a.q, "Q .npy for lsh/topk");
    exp->add_option("--k", a.k, "K .npy for lsh/topk");

    auto* run = app.add_subcommand("run", "Run sparse attention on the GPU (optionally check against the CPU oracle)");
    add_pattern(run);
    add_device(run);
    run->add_option("--d", a.d, "Head dimension, 1..256 (default 64)")->check(d_range);
    run->add_option("--heads", a.heads, "Heads (a flat pattern is replicated; a stack uses its own)")
        ->check(range("heads", 1, 4096));
    run->add_option("--layer", a.layer, "Layer of a stack to run (default 0)")->check(range("layer", 0, 1 << 20));
    run->add_option("--q", a.q, "Q as float32 .npy [heads, n, d] or [n, d]");
    run->add_option("--k", a.k, "K as float32 .npy");
    run->add_option("--v", a.v, "V as float32 .npy");
    run->add_option("--out", a.out, "Write O as float32 .npy [heads, n, d]");
    run->add_option("--dtype", a.dtype, "f32 or f16 storage")->check(CLI::IsMember({"f32", "f16"}));
    run->add_option("--seed", a.seed, "Seed of generated Q/K/V (default 0)")->check(seed_check);
    run->add_flag("--check", a.check, "Compare with the CPU oracle; exit 1 above tolerance");
    run->add_flag("--no-gather", a.no_gather, "Visit contiguous key blocks only (no gathered blocks of scattered keys)");
    run->add_flag("--no-band", a.no_band, "Run window patterns through the block mask instead of the in-shader band");
    run->add_option("--path", a.path, "Kernel family: " + kernel_path_names() + " (default auto: the fastest here)");

    auto* bench = app.add_subcommand("bench", "Time sparse vs dense attention over sizes");
    bench->add_option("--pattern", a.pattern, "Pattern JSON file");
    bench->add_option("--n", a.n_list, "Token counts, comma separated")->delimiter(',')->check(n_range);
    bench->add_option("--d", a.d_list, "Head dimensions, comma separated")->delimiter(',')->check(d_range);
    bench->add_option("--heads", a.heads, "Heads (default 1; anchors suite: 16)")->check(range("heads", 1, 4096));
    bench->add_option("--dtype", a.dtype, "f32 or f16 storage")->check(CLI::IsMember({"f32", "f16"}));
    bench->add_option("--repeats", a.repeats, "Timed repeats per kernel (median reported)")
        ->check(range("repeats", 1, 10000));
    bench->add_option("--anchors", a.anchors, "Reference figures for --suite anchors (default assets/anchors/h200_2026-12-02.jsonl)");
    bench->add_option("--suite", a.suite, "Built-in suite: anchors (H200 FlexAttention/SDPA/llama.cpp figures) or laptop")
        ->check(CLI::IsMember({"anchors", "laptop"}));
    bench->add_flag("--no-dense", a.no_dense, "Skip the dense kernel");
    bench->add_flag("--no-gather", a.no_gather, "Visit contiguous key blocks only (no gathered blocks of scattered keys)");
    bench->add_flag("--no-band", a.no_band, "Run window patterns through the block mask instead of the in-shader band");
    bench->add_option("--path", a.path, "Kernel family: " + kernel_path_names() + " (default auto: the fastest here)");
    bench->add_flag("--json", a.json, "Print one JSON object per line");
    add_device(bench);

    auto* hops = app.add_subcommand("hops", "Hop connectivity: diameter, mean hops, reach per layer");
    add_pattern(hops);
    hops->add_option("--layers", a.layers, "Steps to analyse (default: until full reach, capped)")
        ->check(range("layers", 0, 1 << 30));
    hops->add_option("--sources", a.sources, "Sampled sources when n is above the exact threshold")
        ->check(range("sources", 1, 1 << 20));
    hops->add_option("--exact-threshold", a.exact_threshold, "Largest n analysed exactly (default 4096)")
        ->check(n_range);
    hops->add_option("--d", a.d, "Head dimension of the generated Q/K for lsh/topk (default 64)")->check(d_range);
    hops->add_option("--seed", a.seed, "Seed of the generated Q/K for lsh/topk")->check(seed_check);

    auto* render = app.add_subcommand("render", "Render a view (or a page of views) to PNG or SVG, with title, axes and legend");
    add_pattern(render);
    add_device(render);
    render->add_option("--view", a.view, "mask, heatmap, hops, blocks or figure (all four on one page)")
        ->required()
        ->check(CLI::IsMember({"mask", "heatmap", "hops", "blocks", "figure"}));
    render->add_option("--out", a.out, "Output file: .svg writes SVG, anything else PNG")->required();
    auto* size_opt = render->add_option("--size", a.size, "Plot side in pixels (default 768; 400 per view for --view figure)")
                         ->check(range("size", 16, 8192));
    render->add_option("--d", a.d, "Head dimension for the heatmap (default 64)")->check(d_range);
    render->add_option("--head", a.head, "Head of the layer (default 0)")->check(range("head", 0, 4095));
    render->add_option("--layer", a.layer, "Layer of a stack (default 0)")->check(range("layer", 0, 1 << 20));
    render->add_option("--model", a.model_dir, "Q/K/V of a real model (directory from scripts/qkv_from_hf.py): its n, d, heads and tokens");
    render->add_option("--model-layer", a.model_layer, "Layer of --model (default 0)")->check(range("model layer", 0, 4095));
    render->add_option("--source", a.source, "Synthetic Q/K/V of the heatmap: synthetic (mixed heads, default), local, sink, broad or gaussian");

    auto* advise = app.add_subcommand("advise", "Cheapest patterns of a family that keep the attention mass (docs/advisor.md)");
    advise->add_option("--family", a.family, "Family JSON: base pattern + parameter ranges")->required();
    advise->add_option("--n", a.n, "Tokens (default: the base pattern's n)")->check(n_range);
    advise->add_option("--d", a.d, "Head dimension, 1..256 (default 64)")->check(d_range);
    advise->add_option("--q", a.q, "Q as float32 .npy [n, d] (or [1, n, d])");
    advise->add_option("--k", a.k, "K as float32 .npy");
    advise->add_option("--v", a.v, "V as float32 .npy (default: K)");
    advise->add_option("--source", a.source, "Generated Q/K/V without --q: synthetic (mixed heads, default), local, sink, broad or gaussian");
    advise->add_option("--seed", a.seed, "Seed of generated Q/K/V (default 0)")->check(seed_check);
    advise->add_option("--budget-mass", a.budget_mass, "Kept attention mass the recommendation must reach (default 0.95)");
    advise->add_option("--cost", a.cost, "Cost axis: measured (kernel ms, default), density or blocks");
    advise->add_option("--layers", a.layers, "Hop cap L for diameter / mean hops (default 8)")->check(range("layers", 0, 1 << 20));
    advise->add_option("--exact-threshold", a.exact_threshold, "Largest n whose mass is exact (default 4096)")->check(n_range);
    advise->add_option("--sample-rows", a.sample_rows, "Rows sampled above the exact threshold (default 1024)")
        ->check(range("sample rows", 1, 1 << 20));
    advise->add_option("--out", a.out, "Write the recommended pattern JSON here (for export --flex)");
    advise->add_option("--dtype", a.advise_dtype, "Storage of the timed runs: f32 or f16 (default: f16 on GPUs with fp16, f32 on CPU devices)")
        ->check(CLI::IsMember({"f32", "f16"}));
    advise->add_flag("--exhaustive", a.exhaustive, "Evaluate every grid point instead of coarse grid + refinement");
    advise->add_flag("--json", a.json, "Front points as JSON lines, then one summary object");
    add_device(advise);
    auto* compare = app.add_subcommand("compare", "Two patterns side by side: stats, ratio B/A and their overlap");
    compare->add_option("--a", a.a_pattern, "Pattern A (JSON)")->required()->check(CLI::ExistingFile);
    compare->add_option("--b", a.b_pattern, "Pattern B (JSON)")->required()->check(CLI::ExistingFile);
    compare->add_option("--n", a.n, "Sequence length for both (default: A's n; B must match)")->check(n_range);
    compare->add_option("--d", a.d, "Head dimension of the synthetic Q/K/V (default 64)")->check(d_range);
    compare->add_option("--seed", a.seed, "Seed of the synthetic Q/K/V")->check(seed_check);
    compare->add_option("--source", a.source, "Synthetic Q/K/V: synthetic (mixed heads, default), local, sink, broad or gaussian");
    compare->add_flag("--no-time", a.no_time, "Skip the GPU timing (statistics only)");
    compare->add_option("--out", a.out, "Also write the figure of A, B and their overlap (A only / B only / both): .svg or .png");
    auto* compare_size = compare->add_option("--size", a.size, "Plot side of each --out panel in pixels (default 384)")
                             ->check(range("size", 16, 8192));
    add_device(compare);
    compare->add_flag("--json", a.json, "One JSON object on stdout");

    auto one_line = [](std::string s) {
        for (char& c : s)
            if (c == '\n' || c == '\r') c = ' ';
        return s;
    };
    auto run_command = [&]() -> int {
        try {
            if (*devices) return cmd_devices(a);
            if (*exp) return cmd_export(a);
            if (*run) return cmd_run(a);
            if (*bench) return cmd_bench(a);
            if (*hops) return cmd_hops(a);
            if (*render) {
                a.size_given = size_opt->count() > 0;
                return cmd_render(a);
            }
            if (*compare) {
                a.size_given = compare_size->count() > 0;
                return cmd_compare(a);
            }
            if (*advise) return cmd_advise(a);
        } catch (const InputError& e) {
            std::fprintf(stderr, "salab-cli: error: %s\n", one_line(e.what()).c_str());
            return 2;
        } catch (const VulkanError& e) {
            std::fprintf(stderr, "salab-cli: Vulkan error: %s\n", one_line(e.what()).c_str());
            return 3;
        } catch (const std::bad_alloc&) {
            std::fprintf(stderr, "salab-cli: error: out of host memory: use a smaller n, d or heads\n");
            return 2;
        } catch (const std::logic_error& e) {  // invalid_argument, out_of_range, length_error
            std::fprintf(stderr, "salab-cli: error: %s\n", one_line(e.what()).c_str());
            return 2;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "salab-cli: internal error: %s\n", one_line(e.what()).c_str());
            return 70;
        }
        return 0;
    };

    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& e) {
        return app.exit(e);  // --help, --help-all: the help text, exit 0
    } catch (const CLI::ParseError& e) {
        // Every other parse error (unknown flag, missing or malformed value, out of range, no
        // command): one line, exit 2, as for any other bad input.
        std::string what = e.what();
        for (char& c : what)
            if (c == '\n' || c == '\r') c = ' ';
        while (!what.empty() && what.back() == ' ') what.pop_back();
        std::fprintf(stderr, "salab-cli: error: %s (see salab-cli --help)\n", what.c_str());
        return 2;
    }
    // Ctrl+C / SIGTERM remove a half-written output file; a file-size limit fails the write.
    install_interrupt_cleanup();
    const int rc = run_command();
    // Output that never reached stdout (a full disk, a closed pipe) is not a success.
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
        std::fprintf(stderr, "salab-cli: error: writing to standard output failed: %s\n", std::strerror(errno));
        return rc == 0 ? 2 : rc;
    }
    return rc;
}

