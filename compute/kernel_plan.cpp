#include "kernel_plan.h"

#include "attention_cm2.h"
#include "block_mask_struct.h"

#include "pattern.h"
#include "pipeline.h"
#include "shared.h"
#include "vk_context.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <utility>

namespace salab {

namespace {

// The v1 tensor-core kernel's shape: 16x16x16 fp16 x fp16 -> fp32 on 32-lane subgroups.
bool has_nv_16x16x16(const DeviceInfo& i) {
    for (const auto& s : i.coopmat_shapes)
        if (s.m == 16 && s.n == 16 && s.k == 16 && s.a_type == VK_COMPONENT_TYPE_FLOAT16_NV &&
            s.b_type == VK_COMPONENT_TYPE_FLOAT16_NV && s.c_type == VK_COMPONENT_TYPE_FLOAT32_NV)
            return true;
    return false;
}

// VkComponentTypeKHR: 0 = fp16, 1 = fp32; VkScopeKHR 3 = subgroup.
bool has_khr_16x16x16(const DeviceInfo& i) {
    for (const auto& s : i.khr_coopmat_shapes)
        if (s.m == 16 && s.n == 16 && s.k == 16 && s.a_type == 0 && s.b_type == 0 && s.c_type == 1 &&
            s.result_type == 1 && s.scope == 3)
            return true;
    return false;
}

// Shared memory of shaders/cm2/attention_khr_body.glsl (through coopmat_tile.glsl): the fp16
// K/V tile (64 x (d + 8)), 64 key ids, 4 x 16 x 68 fp32 and 4 x 16 x 72 fp16.
uint32_t khr_shared_bytes(int64_t d) {
    return uint32_t(64 * (d + 8) * 2 + 64 * 4 + 4 * 16 * 68 * 4 + 4 * 16 * 72 * 2);
}

bool same_mask(const BlockMask* a, const BlockMask* b) {
    if (a == b) return true;
    if (!a || !b) return false;
    return a->n == b->n && a->block == b->block && a->heads == b->heads && a->row_ptr == b->row_ptr &&
           a->entries == b->entries && a->bits == b->bits && a->gather == b->gather;
}

}  // namespace

std::string path_unsupported(const DeviceInfo& i, DType dtype, int64_t d, KernelPath path) {
    const std::string name(path_name(path));
    switch (path) {
        case KernelPath::automatic:
            return {};
        case KernelPath::rowwise:
            if (dtype == DType::f16 && !(i.fp16_arithmetic && i.storage16))
                return i.name + " lacks fp16 storage/arithmetic: use --dtype f32";
            return {};
        case KernelPath::tiled: {
            if (dtype == DType::f16 && !(i.fp16_arithmetic && i.storage16))
                return i.name + " lacks fp16 storage/arithmetic: use --dtype f32";
            const TiledShape t = choose_tiled_shape(i, d);
            return t ? std::string() : i.name + ": " + t.why_not;
        }
        case KernelPath::nv_coopmat:
            if (dtype != DType::f16) return name + " runs fp16 storage only: use --dtype f16";
            if (!i.nv_coopmat) return i.name + " lacks VK_NV_cooperative_matrix (with the Vulkan memory model)";
            if (i.subgroup_size != 32) return name + " needs 32-lane subgroups; " + i.name + " has " +
                                              std::to_string(i.subgroup_size);
            if (!has_nv_16x16x16(i)) return i.name + " reports no 16x16x16 fp16 x fp16 -> fp32 cooperative matrix";
            if (d != 64 && d != 128) return name + " is built for d = 64 and 128, got d = " + std::to_string(d);
            return {};
        case KernelPath::nv_coopmat2: {
            // The kernels and the device checks live in attention_cm2.h.
            if (dtype != DType::f16) return name + " runs fp16 storage only: use --dtype f16";
            const Cm2Kernel k = choose_cm2_kernel(i, d);
            return k ? std::string() : i.name + ": " + k.why_not;
        }
        case KernelPath::khr_coopmat: {
            if (!cm2_shaders_built())
                return "the " + name + " kernel is not part of this build (it needs a glslc that knows "
                       "GL_KHR_cooperative_matrix at build time: run scripts/install-deps.sh and reconfigure)";
            if (dtype != DType::f16) return name + " runs fp16 storage only: use --dtype f16";
            if (!i.khr_coopmat) return i.name + " lacks VK_KHR_cooperative_matrix";
            if (!i.vulkan_memory_model) return i.name + " lacks the Vulkan memory model (vulkanMemoryModel)";
            if (!(i.fp16_arithmetic && i.storage16)) return i.name + " lacks fp16 storage/arithmetic";
            if (!i.can_run_subgroup_size(32))
                return name + " needs 32-lane subgroups; " + i.name + " has " + std::to_string(i.subgroup_size) +
                       (i.required_subgroup_size ? " (required sizes " + std::to_string(i.min_subgroup_size) + "-" +
                                                       std::to_string(i.max_subgroup_size) + ")"
                                                 : " and no subgroup size control");
            if (!has_khr_16x16x16(i))
                return i.name + " reports no subgroup-scope 16x16x16 fp16 x fp16 -> fp32 cooperative matrix";
            if (d != 64 && d != 128) return name + " is built for d = 64 and 128, got d = " + std::to_string(d);
            const uint32_t shared = khr_shared_bytes(d);
            if (i.max_shared_memory < shared)
                return name + " needs " + std::to_string(shared) + " bytes of shared memory per workgroup; " + i.name +
                       " has " + std::to_string(i.max_shared_memory);
            return {};
        }
    }
    return "unknown kernel path";
}

KernelPath choose_path(const DeviceInfo& device, DType dtype, int64_t d, KernelPath forced) {
    if (forced != KernelPath::automatic) {
        if (std::string why = path_unsupported(device, dtype, d, forced); !why.empty())
            throw InputError("--path " + std::string(path_name(forced)) + ": " + why);
        return forced;
    }
    if (const char* env = std::getenv("SALAB_PATH"); env && *env)
        if (const std::optional<KernelPath> p = parse_kernel_path(env); p && *p != KernelPath::automatic)
            if (path_unsupported(device, dtype, d, *p).empty()) return *p;
    // Fastest first. f32 storage has no tensor-core kernel. khr-coopmat is the one AMD and Intel
    // matrix units have; NVIDIA without coopmat2 keeps the v1 kernel (on an H200 khr-coopmat
    // ran 0.77-0.81x of v1's speed at d = 64, 1.04-1.95x at d = 128; docs/benchmarks.md).
    for (KernelPath p : {KernelPath::nv_coopmat2, KernelPath::nv_coopmat, KernelPath::khr_coopmat})
        if (path_unsupported(device, dtype, d, p).empty()) return p;
    return portable_path(device, dtype, d);
}

DType path_dtype(KernelPath path) {
    switch (path) {
        case KernelPath::nv_coopmat:
        case KernelPath::nv_coopmat2:
        case KernelPath::khr_coopmat: return DType::f16;
        case KernelPath::automatic:
        case KernelPath::tiled:
        case KernelPath::rowwise: break;
    }
    return DType::f32;
}

std::vector<PathChoice> path_choices(const DeviceInfo& device, int64_t d) {
    std::vector<PathChoice> out;
    for (KernelPath p : kKernelPaths) out.push_back({p, path_dtype(p), path_unsupported(device, path_dtype(p), d, p)});
    return out;
}

const PathChoice* find_choice(const std::vector<PathChoice>& choices, KernelPath path) {
    for (const PathChoice& c : choices)
        if (c.path == path) return &c;
    return nullptr;
}

KernelPath portable_path(const DeviceInfo& device, DType dtype, int64_t d) {
    // Every d: on CPU devices wide heads run the head dimension in chunks (TiledShape::chunk), so
    // their code is no bigger than d = 64's. (The engine still takes rowwise where a workgroup's
    // key blocks would run past lavapipe's loop budget, see AttentionEngine's dispatch.)
    return path_unsupported(device, dtype, d, KernelPath::tiled).empty() ? KernelPath::tiled : KernelPath::rowwise;
}

TiledShape choose_tiled_shape(const DeviceInfo& i, int64_t d, TiledRequest want) {
    auto env = [](const char* name, auto fallback) {
        const char* v = std::getenv(name);
        return v && *v ? decltype(fallback)(std::atoi(v)) : fallback;
    };
    if (want.tpr == 0) want.tpr = env("SALAB_TILED_TPR", 0u);
    if (want.bcast < 0) want.bcast = env("SALAB_TILED_BCAST", -1);
    if (want.rows == 0) want.rows = env("SALAB_TILED_ROWS", 0u);
    if (want.kc == 0) want.kc = env("SALAB_TILED_KC", 0u);
    if (want.chunk == 0) want.chunk = env("SALAB_TILED_CHUNK", 0u);
    auto pow2_floor = [](uint32_t x) {
        uint32_t p = 1;
        while (p * 2 <= x) p *= 2;
        return p;
    };
    TiledShape t;
    t.d4 = d4_for(std::clamp<int64_t>(d, 1, 256));
    const bool cpu = i.device_type == VK_PHYSICAL_DEVICE_TYPE_CPU;
    const bool shuffles = i.subgroup_shuffle && i.subgroup_size >= 2;
    uint32_t tpr = want.tpr > 0 ? pow2_floor(want.tpr) : (!cpu && shuffles && i.subgroup_size >= 4 ? 4u : 1u);
    if (!shuffles) tpr = 1;
    tpr = std::min(tpr, std::max<uint32_t>(1, i.subgroup_size));
    while (tpr > 1 && i.max_workgroup_invocations && 64u * tpr > i.max_workgroup_invocations) tpr /= 2;
    // The lane-broadcast loop only when asked for: on lavapipe it now costs 1.6-2x (see kernel_plan.h).
    t.bcast = shuffles && i.subgroup_size >= 8 && want.bcast > 0;
    if (t.bcast) tpr = 1;
    t.rows = tpr > 1 ? 1u : std::min(8u, pow2_floor(want.rows > 0 ? want.rows : (cpu ? 8u : 1u)));
    // Registers: Q and O hold rows x d4 vec4s; beyond 128 of them wider heads take fewer rows.
    while (t.rows > 1 && t.rows * t.d4 > 128) t.rows /= 2;
    // BCAST reads keys by subgroup lane: the workgroup must be whole subgroups of >= 8 lanes.
    while (t.bcast && t.rows > 1 && 64u / t.rows < i.subgroup_size) t.rows /= 2;
    t.chunk = std::min(t.d4, want.chunk > 0 ? pow2_floor(want.chunk) : (cpu && t.d4 > 16 ? kCpuChunk : t.d4));
    // Shared memory: at most 48 KiB so that a multiprocessor holds several workgroups.
    const uint32_t budget = std::min<uint32_t>(i.max_shared_memory ? i.max_shared_memory : 16384u, 48u * 1024u);
    for (;; tpr /= 2) {
        t.tpr = tpr;
        t.subgroup = tpr > 1 || t.bcast;
        t.ds = t.d4 + (tpr > 1 ? 1u : 0u);
        for (uint32_t kc : {64u, 32u, 16u, 8u}) {
            if (want.kc > 0 && kc > want.kc) continue;
            t.kc = kc;
            if (kc >= 8u * tpr && t.shared_bytes() <= budget) return t;
        }
        if (tpr == 1) break;
    }
    t.why_not = "the tiled kernel's K/V tiles at d = " + std::to_string(d) + " (" + std::to_string(t.shared_bytes()) +
                " B) exceed the " + std::to_string(budget) + " B of shared memory: use --path rowwise";
    return t;
}

SplitPlan plan_split(const BlockMask& mask, int heads, int chunk) {
    SplitPlan plan;
    const int64_t rows = int64_t(mask.heads) * mask.num_blocks;
    if (chunk < 0 || rows == 0 || heads < 1 || uint32_t(heads) > gpu::kMaxItemHeads ||
        mask.num_blocks > int64_t(gpu::kItemBlockMask) + 1)
        return plan;
    int64_t longest = 0;
    for (int64_t r = 0; r < rows; ++r)
        longest = std::max<int64_t>(longest, mask.row_ptr[size_t(r) + 1] - mask.row_ptr[size_t(r)]);
    const int64_t mean = (int64_t(mask.row_ptr.back()) + rows - 1) / rows;
    int64_t t = chunk;
    if (t == 0) {
        // Auto: split only when some block list is far longer than the typical one (rows of
        // global tokens); chunks of twice the mean then finish with the other workgroups.
        if (longest <= 32 || longest <= 4 * mean) return plan;
        t = std::max<int64_t>(16, 2 * mean);
    }
    if (longest <= t) return plan;
    plan.chunk = t;
    // A mask shared by every head is planned for head 0 and run once per head (head_copies).
    // SALAB_SPLIT_HEAD_COPIES=0 lists every head instead (measurements: the same work).
    const char* copies_env = std::getenv("SALAB_SPLIT_HEAD_COPIES");
    const bool copies = mask.heads == 1 && !(copies_env && std::string_view(copies_env) == "0");
    const int listed = copies ? 1 : heads;
    plan.head_copies = copies ? heads : 1;
    // One item per (head, query block) plus the pieces of split lists: sized once (16 heads of
    // 1024 query blocks regrew this for longer than the structural mask takes to build).
    plan.items.reserve(size_t(listed) * size_t(mask.num_blocks) * 4 +
                       size_t(listed) * size_t(mask.row_ptr.back() / uint32_t(t) + 1) * 4);
    for (int h = 0; h < listed; ++h) {
        const int64_t mh = mask.heads == 1 ? 0 : h;
        for (int64_t qb = 0; qb < mask.num_blocks; ++qb) {
            const uint32_t tag = uint32_t(qb) | (uint32_t(h) << gpu::kItemHeadShift);
            const uint32_t f = mask.row_ptr[size_t(mh * mask.num_blocks + qb)];
            const uint32_t l = mask.row_ptr[size_t(mh * mask.num_blocks + qb) + 1];
            const int64_t count = int64_t(l) - int64_t(f);
            if (count <= t) {
                plan.items.insert(plan.items.end(), {tag, f, l, gpu::kNoKey});
                continue;
            }
            const int64_t pieces = (count + t - 1) / t;
            plan.merges.insert(plan.merges.end(), {tag, uint32_t(plan.slots), uint32_t(pieces), 0u});
            for (int64_t s = 0; s < pieces; ++s)
                plan.items.insert(plan.items.end(), {tag, uint32_t(f + count * s / pieces),
                                                     uint32_t(f + count * (s + 1) / pieces), uint32_t(plan.slots++)});
        }
    }
    return plan;
}

std::string KernelPlan::describe() const {
    switch (kind) {
    case Kind::dense: return causal ? "dense causal" : "dense";
    case Kind::band: return "band (" + std::to_string(band.left) + ", " + std::to_string(band.right) + ")";
    case Kind::blocks: {
        std::string s = "block mask";
        if (blocks && blocks->gathered_blocks > 0) s += ", " + std::to_string(blocks->gathered_blocks) + " gathered";
        if (!split.empty()) s += ", split " + std::to_string(split.chunk);
        return s;
    }
    }
    return "?";
}

bool KernelPlan::operator==(const KernelPlan& o) const {
    if (kind != o.kind || heads != o.heads) return false;
    switch (kind) {
    case Kind::dense: return causal == o.causal;
    case Kind::band: return band == o.band;
    case Kind::blocks: return same_mask(blocks.get(), o.blocks.get()) && split == o.split;
    }
    return false;
}

KernelPlan plan_blocks(std::shared_ptr<const BlockMask> mask, int heads, int split_chunk) {
    if (!mask) throw std::invalid_argument("plan_blocks needs a block mask");
    const auto t0 = std::chrono::steady_clock::now();
    KernelPlan plan;
    plan.kind = KernelPlan::Kind::blocks;
    plan.heads = heads;
    plan.split = plan_split(*mask, heads, split_chunk);
    plan.blocks = std::move(mask);
    plan.build_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    plan.split_ms = plan.build_ms;
    return plan;
}

KernelPlan plan_dense(int heads, bool causal) {
    KernelPlan plan;
    plan.kind = KernelPlan::Kind::dense;
    plan.heads = heads;
    plan.causal = causal;
    return plan;
}

KernelPlan plan_band(int heads, Band band) {
    KernelPlan plan;
    plan.kind = KernelPlan::Kind::band;
    plan.heads = heads;
    plan.band = band;
    return plan;
}

KernelPlan plan_kernel(const std::vector<HeadMask>& masks, std::shared_ptr<const BlockMask> plain, int heads,
                       const PlanOptions& options) {
    if (options.band)
        if (std::optional<Band> band = band_of(masks)) {
            // A band over every key is dense attention (causal when it has no right side).
            const int64_t n = masks.front().n();
            if (band->left >= n - 1 && (band->right >= n - 1 || band->right == 0))
                return plan_dense(heads, band->right == 0 && n > 1);
            return plan_band(heads, *band);
        }
    const auto t0 = std::chrono::steady_clock::now();
    bool causal = false;
    if (options.dense && heads_are_dense(masks, causal)) return plan_dense(heads, causal);
    // Structural components: the kernel's mask (gathered when that packs) straight from the
    // components' block geometry (compute/block_mask_struct.h), timed as a whole.
    if (options.structural && !masks.empty())
        if (std::optional<BlockMask> built =
                build_block_mask_structural(masks, plain ? plain->block : 64, 0, options.gather)) {
            KernelPlan plan =
                plan_blocks(std::make_shared<const BlockMask>(std::move(*built)), heads, options.split_chunk);
            plan.structural = true;
            plan.build_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            return plan;
        }
    if (!plain) throw std::invalid_argument("plan_kernel needs the block mask of heads that are not one band");
    std::shared_ptr<const BlockMask> run = plain;
    if (options.gather && plain->gathered_blocks == 0) {
        // Gathering only pays when it packs something (scattered keys); else keep the plain mask.
        auto gathered = std::make_shared<const BlockMask>(gather_blocks(*plain));
        if (gathered->gathered_blocks > 0) run = std::move(gathered);
    }
    KernelPlan plan = plan_blocks(std::move(run), heads, options.split_chunk);
    plan.build_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return plan;
}

}  // namespace salab
