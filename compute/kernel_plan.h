// What one attention run executes, decided in one place for every caller (salab-cli run and
// bench, the GUI's live timing and its scaling sweep):
//
//   plan_kernel(masks, plain_block_mask, heads, options)  ->  KernelPlan
//   choose_path(device, dtype, d, forced)                 ->  KernelPath
//
// The plan says *what* is visited (a band from two integers, a block mask — plain or with
// scattered key blocks gathered — with its long lists split, or every block); the path says
// *which kernel family* visits it (portable, NVIDIA cooperative matrices, ...). A plan never
// changes what is computed, only how: every plan of a mask gives the same output.
//
// Usage:
//   KernelPlan plan = plan_kernel(problem.masks, block_mask, problem.heads);
//   RunResult r = engine.run(plan, {.dtype = DType::f16});
#pragma once

#include "block_mask.h"
#include "mask.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace salab {

struct DeviceInfo;

enum class DType { f32, f16 };

// Kernel families. `automatic` picks the fastest the device supports for the dtype and d.
enum class KernelPath {
    automatic,
    tiled,        // portable: key blocks staged in shared memory, 64 query rows x TPR invocations
                  // per workgroup (choose_tiled_shape); f32 or f16 storage; runs everywhere
    rowwise,      // portable: one invocation per query row, K/V read from global memory; the
                  // fallback where the tiled kernel's shared memory does not fit
    nv_coopmat,   // VK_NV_cooperative_matrix, 16x16x16 fp16 tiles staged in shared memory
    nv_coopmat2,  // VK_NV_cooperative_matrix2, workgroup-scope tiles in registers
    khr_coopmat,  // VK_KHR_cooperative_matrix, subgroup-scope 16x16x16 tiles, O in registers
                  // (AMD, Intel, NVIDIA); forced only (--path) until checked on hardware
};
// "auto", "tiled", "rowwise", "nv-coopmat", "nv-coopmat2", "khr-coopmat"; parse_kernel_path also
// takes "portable", the name scripts used before there were two portable kernels, for tiled.
std::string_view path_name(KernelPath path);
std::optional<KernelPath> parse_kernel_path(std::string_view name);
// Every name parse_kernel_path accepts, comma separated (for help and error texts).
std::string kernel_path_names();

// The kernel family that runs `dtype` at head dimension `d` on `device`: `forced` when the device
// supports it there, the fastest supported one when `forced` is automatic. Throws InputError
// naming what is missing ("nv-coopmat needs --dtype f16", "... lacks VK_NV_cooperative_matrix")
// when a forced path cannot run. SALAB_PATH=<name> in the environment replaces `automatic` with
// that path wherever it can run (else the automatic choice stands): how scripts/device_paths.sh
// runs the whole gpu test suite on one kernel family.
KernelPath choose_path(const DeviceInfo& device, DType dtype, int64_t d, KernelPath forced = KernelPath::automatic);
// Why `path` cannot run dtype/d on device, or "" when it can. automatic always can.
std::string path_unsupported(const DeviceInfo& device, DType dtype, int64_t d, KernelPath path);
// The portable kernel for dtype/d here: tiled where its shared memory fits, else rowwise.
KernelPath portable_path(const DeviceInfo& device, DType dtype, int64_t d);

// Every path, in the order a picker lists them.
inline constexpr KernelPath kKernelPaths[] = {KernelPath::automatic,  KernelPath::tiled,       KernelPath::rowwise,
                                              KernelPath::nv_coopmat, KernelPath::nv_coopmat2, KernelPath::khr_coopmat};
// The storage a path is timed in when a front end (the GUI) picks only the path: f16 for the
// cooperative-matrix paths (they run nothing else), f32 for auto and the portable kernels.
DType path_dtype(KernelPath path);
// One entry of a kernel-path picker: the path, its path_dtype, and why it cannot run at d on the
// device (path_unsupported for that dtype; "" when it can).
struct PathChoice {
    KernelPath path = KernelPath::automatic;
    DType dtype = DType::f32;
    std::string unsupported;
    bool operator==(const PathChoice&) const = default;
};
std::vector<PathChoice> path_choices(const DeviceInfo& device, int64_t d);
// The choice of `path` in `choices`, or null when it is not listed.
const PathChoice* find_choice(const std::vector<PathChoice>& choices, KernelPath path);

// Sizes of the tiled kernel (shaders/attention_tiled_body.glsl), specialization constants picked
// from the device's limits, no recompiles:
//   tpr   invocations per query row. 1 on CPU devices and where subgroup shuffles are missing
//         (the fallback: nothing to merge); 4 on GPUs with subgroup shuffles of >= 4 lanes (the
//         row's lanes split its keys and merge their softmax states by shuffles at the end; 256
//         invocations fill a multiprocessor's warps with 64 rows of registers each).
//   bcast the lane-broadcast inner loop (each lane loads a different key and subgroupBroadcast
//         hands it to the others; needs subgroup broadcasts of >= 8 lanes): only when requested.
//         It was the default on CPU devices until 2026-12-04, when on lavapipe (quiet machine,
//         same build, one head unless named) it measured 1.6-2.0x slower than the plain loop:
//         dense n = 4,096, d = 64: 908 vs 445 ms (f16 storage 829 vs 452); d = 128: 1,746 vs
//         1,074; n = 1,000, 2 heads: 104-106 vs 54-55; Longformer n = 4,096: 155 vs 78; BigBird
//         155 vs 91 (d = 16: equal).
//   rows  query rows per invocation (register blocking; tpr = 1): 8 on CPU devices (each loaded
//         key serves eight rows; lavapipe, dense n = 4,096, d = 64: 8 rows 445 ms, 4 rows 574),
//         1 elsewhere. Workgroup: 64 * tpr / rows.
//   kc    keys staged per step, the largest of 64, 32, 16, 8 (and >= 8 * tpr) whose K and V tiles,
//         2 * kc * ds * 16 bytes + kc key ids, fit the device's shared memory (at most 48 KiB, so
//         that several workgroups share a multiprocessor). lavapipe (32 KiB): kc = 32 at d = 64.
//   ds    vec4s per staged row: d4 (ceil(d / 4) to a power of two), + 1 when tpr > 1 so that the
//         tpr keys read at once fall in different shared-memory banks.
//   chunk vec4s of the head dimension per unrolled chunk: the loops over d are unrolled within a
//         chunk and loop over the d4 / chunk chunks. d4 (fully unrolled) on GPUs and for d <= 64;
//         CPU devices take kCpuChunk for wider heads: lavapipe's compile time grows with the
//         unrolled code (rows x chunk x 8 keys), minutes for d = 128 fully unrolled, and indexing
//         Q and O by the chunk counter costs it little.
// A TiledRequest field left at its default picks as above; another value forces it (tests,
// measurements), reduced until it fits. SALAB_TILED_TPR / _BCAST / _ROWS / _KC / _CHUNK set the defaults
// (measurements without a rebuild).
// The chunk of wide heads on CPU devices (see `chunk` above).
inline constexpr uint32_t kCpuChunk = 4;
struct TiledRequest {
    uint32_t tpr = 0;    // 0: pick
    int bcast = -1;      // -1: pick
    uint32_t rows = 0;   // 0: pick
    uint32_t kc = 0;     // 0: pick (the largest that fits); else at most this
    uint32_t chunk = 0;  // 0: pick; else vec4s per unrolled head-dimension chunk (a power of two)
    bool operator==(const TiledRequest&) const = default;
};
struct TiledShape {
    uint32_t tpr = 1, kc = 32, ds = 16, d4 = 16, rows = 1;
    uint32_t chunk = 16;  // vec4s of the head dimension per unrolled chunk (<= d4; d4: one chunk)
    bool bcast = false;
    bool subgroup = false;  // the _sg shader (tpr > 1 or bcast)
    std::string why_not;    // set when the kernel cannot run here (kc = 8 does not fit)
    uint32_t workgroup() const { return 64u * tpr / rows; }
    uint32_t shared_bytes() const { return 2u * kc * ds * 16u + kc * 4u; }
    // Counted loop steps per visited key block (lavapipe's 65535 budget, see the shader).
    // A step of 8 keys loops over the chunks twice (scores, then V) when there are several.
    uint32_t chunks() const { return d4 > chunk ? d4 / chunk : 1u; }
    uint32_t loop_steps_per_block() const {
        return 1u + (64u / kc) * (1u + std::max(1u, kc / (8u * tpr)) * (1u + (chunks() > 1 ? 2u * chunks() : 0u)));
    }
    // Counted steps of one invocation that visits `blocks` key blocks, loading Q and storing O
    // included; lavapipe leaves its loops silently past 65535 (kCpuLoopBudget).
    uint64_t loop_steps(uint64_t blocks) const {
        return blocks * loop_steps_per_block() + (chunks() > 1 ? (1u + rows) * chunks() : 0u) + 1u;
    }
    explicit operator bool() const { return why_not.empty(); }
};
// lavapipe's (Mesa 22.3) limit on the counted loop steps of one invocation (attention_body.glsl).
inline constexpr uint64_t kCpuLoopBudget = 65535;
TiledShape choose_tiled_shape(const DeviceInfo& device, int64_t d, TiledRequest request = {});

// How a block mask's work is spread over workgroups when some query blocks have far longer block
// lists than others: work items (4 words: query block | head << 20, first entry, end entry,
// partial slot or 0xffffffff for a direct write) and merges (query block | head << 20, first
// slot, slot count, 0). Empty when nothing is split.
// A mask shared by every head (mask.heads == 1) is split once: items and merges name head 0,
// and the kernels run them `head_copies` times (dispatch z = head copy c: head c, slots
// + c * slots), so planning costs the same for 1 head as for 16.
struct SplitPlan {
    std::vector<uint32_t> items, merges;
    int64_t slots = 0;  // partial slots of one head copy
    int64_t chunk = 0;
    int head_copies = 1;  // times the items and merges run, one head each
    bool empty() const { return merges.empty(); }
    int64_t total_slots() const { return slots * head_copies; }
    bool operator==(const SplitPlan&) const = default;
};
// chunk: 0 = automatic (split only lists far longer than the mean), < 0 = never, > 0 = split
// every list longer than chunk entries into pieces of about chunk.
SplitPlan plan_split(const BlockMask& mask, int heads, int chunk = 0);

struct PlanOptions {
    bool band = true;        // heads that are one band run from two integers, no block mask
    bool gather = true;      // pack scattered key blocks into gathered blocks when that visits fewer
    int split_chunk = 0;     // see plan_split
    bool dense = true;       // heads that keep every pair (a dense component) run without a block mask
    bool structural = true;  // build the mask from the components' geometry (block_mask_struct.h) when
                             // they allow it, instead of deriving it from `plain`
};

struct KernelPlan {
    enum class Kind { dense, band, blocks };
    Kind kind = Kind::blocks;
    int heads = 1;        // heads of the problem (a mask with one head serves all of them)
    bool causal = false;  // dense: j <= i only
    Band band{};          // band: row i keeps keys [i - left, i + right]
    // blocks: what the kernel visits (the plain mask, or its gathered form), and the split of
    // its long lists (empty: one workgroup per query block and head).
    std::shared_ptr<const BlockMask> blocks;
    SplitPlan split;
    double build_ms = 0;  // CPU time of planning (gathering, splitting), not of the plain mask
    double split_ms = 0;  // the split-k part of build_ms (plan_split)
    // The mask was built from the components (build_ms is then its whole build: the kernel's
    // cost needs nothing of the plain mask).
    bool structural = false;

    // "dense", "dense causal", "band (256, 0)", "block mask", "block mask, 12 gathered, split 16".
    std::string describe() const;
    bool operator==(const KernelPlan& o) const;  // same work (block masks compared by content)
};

// The plan for a layer's masks. `plain` is their block mask compiled without gathering (shared
// with the views, which need the plain form); it may be null when the heads are one band and
// options.band is on, when they are dense (options.dense), or when the structural builder can
// build them (options.structural; no random, lsh or topk component). `heads` is the problem's head count (masks.size()
// may be 1 for a flat pattern shared by every head).
KernelPlan plan_kernel(const std::vector<HeadMask>& masks, std::shared_ptr<const BlockMask> plain, int heads,
                       const PlanOptions& options = {});
// A plan that visits one given block mask as it is (tests, imported masks).
KernelPlan plan_blocks(std::shared_ptr<const BlockMask> mask, int heads, int split_chunk = 0);
KernelPlan plan_dense(int heads, bool causal);
KernelPlan plan_band(int heads, Band band);

}  // namespace salab
