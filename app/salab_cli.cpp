// salab-cli: the headless front end (DESIGN.md "Command line"). Wiring only: every command
// parses flags, calls the engine in compute/, prints text or one JSON object per line.
// Exit codes: 0 ok, 1 check failed, 2 bad input, 3 Vulkan/device failure.
#include "attention.h"
#include "cli_commands.h"
#include "pattern.h"
#include "vk_context.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <new>
#include <iostream>

int main(int argc, char** argv) {
    using namespace salab;
    CLI::App app{"Sparse Attention Lab, headless: patterns, masks, sparse attention on Vulkan, hops"};
    app.require_subcommand(1);
    app.set_help_all_flag("--help-all", "Show help for every command");
    CliArgs a;

    auto add_pattern = [&](CLI::App* c) {
        c->add_option("--pattern", a.pattern, "Pattern JSON file (assets/presets/*.json)")->required();
        c->add_option("--n", a.n, "Override the pattern's token count n");
        c->add_flag("--json", a.json, "Print one JSON object per line");
    };
    auto add_device = [&](CLI::App* c) {
        c->add_option("--device", a.device, "Vulkan device index (see `salab-cli devices`); default: best");
    };

    auto* devices = app.add_subcommand("devices", "List Vulkan devices and their features");
    devices->add_flag("--json", a.json, "Print one JSON object");

    auto* exp = app.add_subcommand("export", "Write the mask (.npy), FlexAttention blocks (JSON) or mask_mod (.py)");
    add_pattern(exp);
    exp->add_option("--mask", a.mask_out, "uint8 [n, n] .npy ([layers, heads, n, n] for a stack)");
    exp->add_option("--blocks", a.blocks_out, "FlexAttention BlockMask tables as JSON");
    exp->add_option("--flex", a.flex_out, "Python file defining mask_mod(b, h, q_idx, kv_idx)");
    exp->add_option("--block-size", a.block_size, "Block size of --blocks (default 128)");
    exp->add_option("--d", a.d, "Head dimension of the generated Q/K for lsh/topk (default 64)");
    exp->add_option("--q", a.q, "Q .npy for lsh/topk");
    exp->add_option("--k", a.k, "K .npy for lsh/topk");

    auto* run = app.add_subcommand("run", "Run sparse attention on the GPU (optionally check against the CPU oracle)");
    add_pattern(run);
    add_device(run);
    run->add_option("--d", a.d, "Head dimension, 1..256 (default 64)");
    run->add_option("--heads", a.heads, "Heads (a flat pattern is replicated; a stack uses its own)");
    run->add_option("--layer", a.layer, "Layer of a stack to run (default 0)");
    run->add_option("--q", a.q, "Q as float32 .npy [heads, n, d] or [n, d]");
    run->add_option("--k", a.k, "K as float32 .npy");
    run->add_option("--v", a.v, "V as float32 .npy");
    run->add_option("--out", a.out, "Write O as float32 .npy [heads, n, d]");
    run->add_option("--dtype", a.dtype, "f32 or f16 storage")->check(CLI::IsMember({"f32", "f16"}));
    run->add_option("--seed", a.seed, "Seed of generated Q/K/V (default 0)");
    run->add_flag("--check", a.check, "Compare with the CPU oracle; exit 1 above tolerance");
    run->add_flag("--no-gather", a.no_gather, "Visit contiguous key blocks only (no gathered blocks of scattered keys)");
    run->add_flag("--no-band", a.no_band, "Run window patterns through the block mask instead of the in-shader band");
    run->add_option("--path", a.path, "Kernel family: " + kernel_path_names() + " (default auto: the fastest here)");

    auto* bench = app.add_subcommand("bench", "Time sparse vs dense attention over sizes");
    bench->add_option("--pattern", a.pattern, "Pattern JSON file");
    bench->add_option("--n", a.n_list, "Token counts, comma separated")->delimiter(',');
    bench->add_option("--d", a.d_list, "Head dimensions, comma separated")->delimiter(',');
    bench->add_option("--heads", a.heads, "Heads (default 1; anchors suite: 16)");
    bench->add_option("--dtype", a.dtype, "f32 or f16 storage")->check(CLI::IsMember({"f32", "f16"}));
    bench->add_option("--repeats", a.repeats, "Timed repeats per kernel (median reported)");
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
    hops->add_option("--layers", a.layers, "Steps to analyse (default: until full reach, capped)");
    hops->add_option("--sources", a.sources, "Sampled sources when n is above the exact threshold");
    hops->add_option("--exact-threshold", a.exact_threshold, "Largest n analysed exactly (default 4096)");
    hops->add_option("--d", a.d, "Head dimension of the generated Q/K for lsh/topk (default 64)");
    hops->add_option("--seed", a.seed, "Seed of the generated Q/K for lsh/topk");

    auto* render = app.add_subcommand("render", "Render a view to PNG");
    add_pattern(render);
    add_device(render);
    render->add_option("--view", a.view, "mask, heatmap, hops or blocks")
        ->required()
        ->check(CLI::IsMember({"mask", "heatmap", "hops", "blocks"}));
    render->add_option("--out", a.out, "PNG file")->required();
    render->add_option("--size", a.size, "Image size in pixels (default 768)");
    render->add_option("--d", a.d, "Head dimension for the heatmap (default 64)");
    render->add_option("--head", a.head, "Head of the layer (default 0)");
    render->add_option("--layer", a.layer, "Layer of a stack (default 0)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    try {
        if (*devices) return cmd_devices(a);
        if (*exp) return cmd_export(a);
        if (*run) return cmd_run(a);
        if (*bench) return cmd_bench(a);
        if (*hops) return cmd_hops(a);
        if (*render) return cmd_render(a);
    } catch (const InputError& e) {
        std::fprintf(stderr, "salab-cli: error: %s\n", e.what());
        return 2;
    } catch (const VulkanError& e) {
        std::fprintf(stderr, "salab-cli: Vulkan error: %s\n", e.what());
        return 3;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "salab-cli: error: out of host memory: use a smaller n, d or heads\n");
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "salab-cli: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
