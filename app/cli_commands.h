// The salab-cli commands, one function each; flags arrive parsed in CliArgs.
#pragma once

#include "synthetic.h"

#include "attention.h"
#include "kernel_plan.h"

#include <cstdint>
#include <string>
#include <vector>

namespace salab {

struct CliArgs {
    std::string pattern;
    int64_t n = -1;  // -1: not given (the pattern's n)
    std::vector<int64_t> n_list, d_list;
    int64_t d = 64;
    int heads = 0;
    int layer = 0;
    int head = 0;
    int device = -1;
    bool json = false;
    bool probe = false;  // devices --probe: time the coopmat2 GEMM ceiling
    std::string q, k, v, out;
    std::string mask_out, blocks_out, flex_out;
    int block_size = 128;
    std::string dtype = "f32";
    std::string advise_dtype;  // advise: empty = the advisor's default for the device
    uint64_t seed = 0;
    bool check = false;
    int repeats = 5;
    std::string suite;
    std::string anchors;  // bench --suite anchors: reference figures (default: the shipped file)
    bool no_dense = false;
    bool no_gather = false;  // bench/run: contiguous key blocks only (no gathered blocks)
    bool no_band = false;    // bench/run: windows through the block mask, not the band kernel
    std::string path = "auto";  // bench/run: kernel family (compute/kernel_plan.h)
    int layers = 0;
    int sources = 256;
    int64_t exact_threshold = 4096;
    std::string view;
    int size = 768;
    // advise
    std::string family;
    double budget_mass = 0.95;
    std::string source = "synthetic";  // advise, compare, render: synthetic_source(source)
    std::string cost = "measured";
    bool exhaustive = false;
    int64_t sample_rows = 1024;
    bool size_given = false;  // render: --size was on the command line
    std::string a_pattern, b_pattern;  // compare --a / --b
    std::string model_dir;             // render --model: a Q/K/V stack (compute/model_qkv.h)
    int model_layer = 0;
    bool no_time = false;               // compare: statistics only
};

// What bench and run hand to the engine, from the same flags.
struct KernelChoice {
    PlanOptions plan;
    RunOptions run;
};
KernelChoice kernel_choice(const CliArgs& a);
// --source NAME of the generated Q/K/V (synthetic.h names; npy is refused: give --q/--k/--v).
QkvSource synthetic_source(const std::string& name);

int cmd_devices(const CliArgs& a);
int cmd_export(const CliArgs& a);
int cmd_run(const CliArgs& a);
int cmd_bench(const CliArgs& a);
int cmd_hops(const CliArgs& a);
int cmd_render(const CliArgs& a);
int cmd_advise(const CliArgs& a);
int cmd_compare(const CliArgs& a);

}  // namespace salab
