#include "attention.h"

#include "attention_cm2.h"

#include "density_shared.h"
#include "gpu_buffer.h"
#include "gpu_timer.h"
#include "half.h"
#include "pipeline.h"
#include "shared.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <tuple>

namespace salab {

namespace {

constexpr uint32_t kBindings = gpu::kAttnBindings;
static_assert(kMaxHeads == int(gpu::kMaxItemHeads), "split-k work items must address every head");

// Shader writes become visible to a mapped read or a copy into a staging buffer.
void record_host_read_barrier(VkCommandBuffer cb) {
    VkMemoryBarrier h{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    h.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
    h.dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT;
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &h, 0, nullptr, 0, nullptr);
}

double median(std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

struct AttentionEngine::Impl {
    VulkanContext& ctx;
    ProblemShape shape;
    DType uploaded_dtype = DType::f32;
    std::vector<float> host_q, host_k, host_v;  // kept to re-upload in another dtype
    double v_max_abs = 0.0;                     // bounds an fp16 O (cm2_p_shift)
    GpuBuffer q, k, v, o;
    GpuBuffer dummy;
    PipelineCache pipelines;
    GpuTimer timer;

    explicit Impl(VulkanContext& c) : ctx(c), dummy(c, 16), pipelines(c, kBindings, sizeof(gpu::AttnPush)), timer(c) {}

    void ensure_dtype(DType dtype) {
        if (dtype == uploaded_dtype) return;
        if (dtype == DType::f16 && !ctx.fp16_enabled())
            throw InputError(ctx.info().name + " lacks fp16 storage/arithmetic: use --dtype f32");
        uploaded_dtype = dtype;
        upload_buffers();
    }

    void upload_buffers() {
        const size_t count = size_t(shape.heads) * size_t(shape.n) * size_t(shape.d);
        const size_t elem = uploaded_dtype == DType::f16 ? 2 : 4;
        // The tensor-core path loads whole 16x16 tiles: rows past n of the last head must be
        // readable and finite, so fp16 buffers carry one zeroed block of rows at the end.
        const size_t pad = uploaded_dtype == DType::f16 ? size_t(gpu::kBlock) * size_t(shape.d) : 0;
        q = GpuBuffer(ctx, (count + pad) * elem);
        k = GpuBuffer(ctx, (count + pad) * elem);
        v = GpuBuffer(ctx, (count + pad) * elem);
        o = GpuBuffer(ctx, count * elem);
        auto put = [&](GpuBuffer& b, const std::vector<float>& src) {
            if (uploaded_dtype == DType::f16) {
                std::vector<uint16_t> h(src.size() + pad, 0);
                for (size_t i = 0; i < src.size(); ++i) h[i] = float_to_half(src[i]);
                b.write(ctx, h.data(), h.size() * 2);
            } else {
                b.write(ctx, src.data(), src.size() * 4);
            }
        };
        put(q, host_q);
        put(k, host_k);
        put(v, host_v);
    }

    struct MaskBuffers {
        GpuBuffer row_ptr, entries, bits, gather;
        // Split-k (kModeSparseItems), when the plan splits some query block.
        uint32_t num_items = 0, num_merges = 0;
        uint32_t head_copies = 1, slot_stride = 0;  // SplitPlan::head_copies, slots per copy
        int64_t longest_entries = 0;  // the longest entry range one workgroup visits
        bool gathered = false, partial = false;  // does the mask list gathered / partial blocks
        GpuBuffer items, part_o, part_ml, merges;
    };
    // Softmax weights on a viewport (AttentionEngine::probabilities); pair 1/2: also dense (causal)
    // attention's, after the mask's (shaders/probabilities.comp).
    std::vector<float> probabilities(const BlockMask* mask, const Viewport& view, uint32_t pair);
    MaskBuffers upload_mask(const BlockMask& m) {
        MaskBuffers b;
        b.row_ptr = GpuBuffer(ctx, m.row_ptr.size() * 4);
        b.row_ptr.write(ctx, m.row_ptr.data(), m.row_ptr.size() * 4);
        b.entries = GpuBuffer(ctx, m.entries.size() * 4);
        b.entries.write(ctx, m.entries.data(), m.entries.size() * 4);
        b.bits = GpuBuffer(ctx, m.bits.size() * 4);
        b.bits.write(ctx, m.bits.data(), m.bits.size() * 4);
        b.gather = GpuBuffer(ctx, m.gather.size() * 4);
        if (!m.gather.empty()) b.gather.write(ctx, m.gather.data(), m.gather.size() * 4);
        b.gathered = m.gathered_blocks > 0;
        b.partial = m.partial_blocks > 0;
        for (size_t r = 0; r + 1 < m.row_ptr.size(); ++r)
            b.longest_entries = std::max<int64_t>(b.longest_entries, int64_t(m.row_ptr[r + 1]) - int64_t(m.row_ptr[r]));
        return b;
    }

    // Uploads the split-k work of `plan` into mb (nothing when it splits no query block).
    void upload_split(const SplitPlan& plan, MaskBuffers& mb) {
        if (plan.merges.empty()) return;
        mb.num_items = uint32_t(plan.items.size() / 4);
        mb.num_merges = uint32_t(plan.merges.size() / 4);
        mb.longest_entries = 0;  // items are (tag, first, last, slot)
        for (size_t i = 0; i + 3 < plan.items.size(); i += 4)
            mb.longest_entries =
                std::max<int64_t>(mb.longest_entries, int64_t(plan.items[i + 2]) - int64_t(plan.items[i + 1]));
        mb.items = GpuBuffer(ctx, plan.items.size() * 4);
        mb.items.write(ctx, plan.items.data(), plan.items.size() * 4);
        mb.merges = GpuBuffer(ctx, plan.merges.size() * 4);
        mb.merges.write(ctx, plan.merges.data(), plan.merges.size() * 4);
        mb.head_copies = uint32_t(plan.head_copies);
        mb.slot_stride = uint32_t(plan.slots);
        const uint64_t rows = uint64_t(plan.total_slots()) * gpu::kBlock;
        mb.part_o = GpuBuffer(ctx, rows * 4u * d4_for(shape.d) * 4u);
        mb.part_ml = GpuBuffer(ctx, rows * 8u);
    }

    // The uploaded buffers of the last block mask run, kept while the caller keeps the mask
    // (the GUI times one plan several times; re-uploading large bitmasks costs seconds on a CPU).
    std::weak_ptr<const BlockMask> cached_mask;
    const BlockMask* cached_mask_ptr = nullptr;
    std::optional<MaskBuffers> cached_buffers;
    SplitPlan cached_split;  // the split the buffers hold

    MaskBuffers& buffers_for(const KernelPlan& plan) {
        if (!cached_buffers || cached_mask_ptr != plan.blocks.get() || cached_mask.expired() ||
            cached_split != plan.split) {
            cached_buffers.reset();
            cached_buffers = upload_mask(*plan.blocks);
            upload_split(plan.split, *cached_buffers);
            cached_mask = plan.blocks;
            cached_mask_ptr = plan.blocks.get();
            cached_split = plan.split;
        }
        return *cached_buffers;
    }

    // The kernel family's shader for this dtype and d.
    // The coopmat2 variant for this run: an fp16-O one only when a p_shift keeps O finite.
    Cm2Kernel cm2_kernel(std::optional<float> p_shift) const {
        const Cm2Kernel cm2 = choose_cm2_kernel(ctx.info(), shape.d, p_shift.has_value());
        if (!cm2) throw InputError("nv-coopmat2: " + cm2.why_not);
        return cm2;
    }

    // The kernel family's shader for this dtype and d, its pipeline built for `mode` (one per
    // mode a run uses; gpu::kAnyMode: one that reads the mode from the push constants) and, for
    // coopmat2, for the kinds of entries the block mask has.
    const Pipeline& attention_pipeline(KernelPath path, DType dtype, uint32_t mode, const Cm2Kernel* cm2,
                                       const TiledShape* tiled, const MaskBuffers* mb) {
        const std::string d = std::to_string(shape.d);
        if (path == KernelPath::nv_coopmat) return pipelines.get("attention_nv_d" + d, {mode});
        if (path == KernelPath::khr_coopmat)  // 32-lane subgroups (required where the default differs)
            return pipelines.get("attention_khr_d" + d, {mode}, 32);
        if (path == KernelPath::nv_coopmat2) {
            uint32_t entries = gpu::kSpecGathered | gpu::kSpecPartial;
            if (mb && mode != gpu::kAnyMode)
                entries = (mb->gathered ? gpu::kSpecGathered : 0u) | (mb->partial ? gpu::kSpecPartial : 0u);
            return pipelines.get(cm2->shader, {mode, entries});
        }
        const bool f16 = dtype == DType::f16;
        if (path == KernelPath::tiled) {
            const std::string name =
                std::string(tiled->subgroup ? "attention_tiled_sg_" : "attention_tiled_") + (f16 ? "f16" : "f32");
            return pipelines.get(name, {tiled->d4, tiled->tpr, tiled->kc, tiled->ds, tiled->workgroup(),
                                        tiled->bcast ? 1u : 0u, tiled->rows, tiled->chunk, mode});
        }
        return pipelines.get(f16 ? "attention_f16" : "attention_f32", {d4_for(shape.d), mode});
    }

    // Build the attention pipeline for the run's mode (see attention_pipeline)? On GPUs by default:
    // the H200's coopmat2 kernel ran dense attention 1.55x faster so (docs/benchmarks.md). Not on
    // CPU devices, where every pipeline compiles for seconds (lavapipe). SALAB_FIX_MODE=0/1 and
    // RunOptions::fix_mode override it.
    bool fix_mode(const RunOptions& opt) const {
        if (opt.fix_mode) return *opt.fix_mode;
        if (const char* env = std::getenv("SALAB_FIX_MODE"); env && *env) return std::strcmp(env, "0") != 0;
        return ctx.info().device_type != VK_PHYSICAL_DEVICE_TYPE_CPU;
    }

    static std::string variant_name(KernelPath path, DType dtype) {
        return std::string(path_name(path)) + (dtype == DType::f16 ? "-f16" : "-f32");
    }

    RunResult dispatch(const KernelPlan& plan, const RunOptions& opt) {
        KernelPath path = choose_path(ctx.info(), opt.dtype, shape.d, opt.path);
        ensure_dtype(opt.dtype);
        const MaskBuffers* mb = plan.kind == KernelPlan::Kind::blocks ? &buffers_for(plan) : nullptr;
        if (path == KernelPath::tiled && ctx.info().device_type == VK_PHYSICAL_DEVICE_TYPE_CPU) {
            // lavapipe's loop budget: the most key blocks one workgroup visits, times the
            // tiled kernel's counted steps per block, must stay below 65535 (else its loops end
            // early, silently). Automatic: the rowwise kernel (fewer steps per block) takes over.
            const int64_t all = (shape.n + gpu::kBlock - 1) / gpu::kBlock;
            int64_t blocks = all;
            if (mb) blocks = mb->longest_entries;
            if (plan.kind == KernelPlan::Kind::band)
                blocks = std::min(all, (plan.band.left + plan.band.right + 1) / int64_t(gpu::kBlock) + 2);
            const TiledShape t = choose_tiled_shape(ctx.info(), shape.d, opt.tiled);
            const uint64_t steps = t.loop_steps(uint64_t(blocks));
            if (t && steps > kCpuLoopBudget) {
                if (opt.path == KernelPath::tiled)
                    throw InputError("--path tiled: " + std::to_string(blocks) +
                                     " key blocks per query block at d = " + std::to_string(shape.d) + " take " +
                                     std::to_string(steps) + " loop steps, past " + ctx.info().name +
                                     "'s 65535: use --path rowwise, a smaller n or a sparser pattern");
                path = KernelPath::rowwise;
            }
        }
        const bool split = mb && mb->num_items > 0;
        uint32_t mode = gpu::kModeSparse;
        if (plan.kind == KernelPlan::Kind::dense) mode = plan.causal ? gpu::kModeDenseCausal : gpu::kModeDense;
        if (plan.kind == KernelPlan::Kind::band) mode = gpu::kModeBand;
        if (split) mode = gpu::kModeSparseItems;
        const bool mask_shared = mb && plan.blocks->heads == 1;
        const Band band = plan.band;
        // coopmat2: the longest key list one workgroup sums (a band's row spans at most
        // left + right + 1 keys, over one more block at each end) bounds an fp16 O.
        std::optional<Cm2Kernel> cm2;
        std::optional<float> p_shift;
        if (path == KernelPath::nv_coopmat2) {
            const int64_t all = (shape.n + gpu::kBlock - 1) / gpu::kBlock * gpu::kBlock;
            int64_t longest = all;
            if (mb) longest = mb->longest_entries * int64_t(gpu::kBlock);
            if (plan.kind == KernelPlan::Kind::band)
                longest = std::min(all, plan.band.left + plan.band.right + 1 + 2 * int64_t(gpu::kBlock));
            p_shift = cm2_p_shift(longest, v_max_abs);
            cm2 = cm2_kernel(p_shift);
        }
        std::optional<TiledShape> tiled;
        if (path == KernelPath::tiled) {
            tiled = choose_tiled_shape(ctx.info(), shape.d, opt.tiled);
            if (!*tiled) throw InputError("tiled: " + tiled->why_not);
        }
        const Pipeline& pipe = attention_pipeline(path, opt.dtype, fix_mode(opt) ? mode : gpu::kAnyMode,
                                                  cm2 ? &*cm2 : nullptr, tiled ? &*tiled : nullptr, mb);

        std::array<VkBuffer, kBindings> bufs{q.handle(),
                                             k.handle(),
                                             v.handle(),
                                             o.handle(),
                                             mb ? mb->row_ptr.handle() : dummy.handle(),
                                             mb ? mb->entries.handle() : dummy.handle(),
                                             mb ? mb->bits.handle() : dummy.handle(),
                                             mb ? mb->gather.handle() : dummy.handle(),
                                             split ? mb->items.handle() : dummy.handle(),
                                             split ? mb->part_o.handle() : dummy.handle(),
                                             split ? mb->part_ml.handle() : dummy.handle(),
                                             split ? mb->merges.handle() : dummy.handle()};
        VkDescriptorSet set = pipelines.bind_buffers(bufs);
        const Pipeline* merge =
            split ? &pipelines.get(opt.dtype == DType::f16 ? "split_merge_f16" : "split_merge_f32", {d4_for(shape.d)})
                  : nullptr;

        gpu::AttnPush pc{};
        pc.n = uint32_t(shape.n);
        pc.d = uint32_t(shape.d);
        pc.num_blocks = uint32_t((shape.n + gpu::kBlock - 1) / gpu::kBlock);
        pc.mode = mode;
        pc.mask_shared = mask_shared ? 1u : 0u;
        pc.scale_log2 = float(1.4426950408889634 / std::sqrt(double(shape.d)));
        pc.band_left = uint32_t(band.left);
        pc.band_right = uint32_t(band.right);
        pc.p_shift = cm2 && cm2->o16 ? *p_shift : 0.0f;

        const int repeats = std::max(1, opt.repeats);
        // One untimed run more the first time a pipeline runs (its compile may land in it), unless
        // the warm-up by time below runs it first anyway. Without it a live view's single first
        // run read 5.81 s for a BigBird kernel bench times at 0.43 s (lavapipe, n = 2,048).
        const bool first_use = !pipe.dispatched || (merge && !merge->dispatched);
        const int total = repeats + std::max({0, opt.warmup, first_use && opt.warmup_ms <= 0 ? 1 : 0});
        // Heads beyond the device's workgroup-count limit go in several dispatches.
        const uint32_t max_y = 65535;
        // One full run: the attention dispatch(es), then a barrier so runs never overlap.
        // `count` workgroups folded into a grid of kGridRow-wide rows (the shaders unfold it).
        // z: the head copies of a split shared by every head (SplitPlan::head_copies).
        auto dispatch_items = [&](VkCommandBuffer cb, uint32_t count) {
            pc.num_items = count;
            pc.slot_stride = mb->slot_stride;
            vkCmdPushConstants(cb, pipelines.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(pc), &pc);
            vkCmdDispatch(cb, std::min(gpu::kGridRow, count), (count + gpu::kGridRow - 1) / gpu::kGridRow,
                          mb->head_copies);
        };
        auto record_run = [&](VkCommandBuffer cb) {
            vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipe.pipeline);
            vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipelines.layout(), 0, 1, &set, 0, nullptr);
            if (split) {
                // Work items (every head in one grid), then the merges of the split blocks.
                dispatch_items(cb, mb->num_items);
                VkMemoryBarrier wb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
                wb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
                wb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
                vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0,
                                     1, &wb, 0, nullptr, 0, nullptr);
                vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, merge->pipeline);
                dispatch_items(cb, mb->num_merges);
                return;
            }
            for (uint32_t h0 = 0; h0 < uint32_t(shape.heads); h0 += max_y) {
                pc.head_offset = h0;
                vkCmdPushConstants(cb, pipelines.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(pc), &pc);
                vkCmdDispatch(cb, pc.num_blocks, std::min(max_y, uint32_t(shape.heads) - h0), 1);
            }
        };
        auto record_serialise = [&](VkCommandBuffer cb) {
            VkMemoryBarrier mb2{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
            mb2.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
            mb2.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT;
            vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                                 VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb2, 0,
                                 nullptr, 0, nullptr);
        };
        // Warm-up by time: a GPU that idled while the host prepared data runs at its idle clock
        // for a while (seen on an H200: 345 MHz idle vs 1980 MHz boost), so short kernels
        // timed right after an idle gap read several times too slow.
        if (opt.warmup_ms > 0) {
            const auto t0 = std::chrono::steady_clock::now();
            int batch = 1;
            while (std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() <
                   opt.warmup_ms) {
                ctx.submit_and_wait([&](VkCommandBuffer cb) {
                    for (int i = 0; i < batch; ++i) {
                        record_run(cb);
                        record_serialise(cb);
                    }
                });
                batch = std::min(batch * 2, 256);
            }
        }
        ctx.submit_and_wait([&](VkCommandBuffer cb) {
            timer.start(cb, uint32_t(total));
            for (int r = 0; r < total; ++r) {
                {
                    const GpuTimer::Scope run(timer, cb);
                    record_run(cb);
                }
                // Serialise repeats so each section measures one full run.
                record_serialise(cb);
            }
        });

        pipe.dispatched = true;
        if (merge) merge->dispatched = true;
        RunResult res;
        res.kernel = path;
        res.path = variant_name(path, opt.dtype);
        if (cm2 && cm2->variant != cm2_kernels(ctx.info(), shape.d).front().variant)
            res.path += "-" + cm2->variant;  // the default variant goes unnamed
        res.registers = pipe.statistic("Register Count");
        if (tiled && tiled->tpr > 1) res.path += "-t" + std::to_string(tiled->tpr);
        if (tiled && tiled->rows > 1) res.path += "-r" + std::to_string(tiled->rows);
        if (tiled && tiled->bcast) res.path += "-bcast";
        if (tiled && tiled->chunk < tiled->d4) res.path += "-c" + std::to_string(4 * tiled->chunk);
        if (split) res.path += "+split";
        if (plan.kind == KernelPlan::Kind::band) res.path += "+band";
        if (std::vector<double> ms = timer.read_ms(); !ms.empty()) {  // empty: no timestamps here
            ms.erase(ms.begin(), ms.begin() + (total - repeats));     // the warm-up runs
            res.gpu_ms = median(ms);
            res.min_ms = *std::min_element(ms.begin(), ms.end());
            res.max_ms = *std::max_element(ms.begin(), ms.end());
            res.runs = int(ms.size());
        }
        if (opt.read_back) read_output(res.out);
        if (cached_mask.expired()) cached_buffers.reset();  // a mask the caller did not keep
        return res;
    }

    void read_output(std::vector<float>& out) {
        const size_t count = size_t(shape.heads) * size_t(shape.n) * size_t(shape.d);
        out.resize(count);
        if (uploaded_dtype == DType::f16) {
            std::vector<uint16_t> h(count);
            o.read(ctx, h.data(), count * 2);
            for (size_t i = 0; i < count; ++i) out[i] = half_to_float(h[i]);
        } else {
            o.read(ctx, out.data(), count * 4);
        }
    }
};

AttentionEngine::AttentionEngine(VulkanContext& ctx) : impl_(std::make_unique<Impl>(ctx)) {}
AttentionEngine::~AttentionEngine() = default;

const DeviceInfo& AttentionEngine::device() const { return impl_->ctx.info(); }

std::vector<KernelStatistics> AttentionEngine::kernel_statistics(int64_t d) {
    struct Entry {
        std::string label, shader;
        std::vector<uint32_t> spec;
        uint32_t subgroup = 0;
    };
    std::vector<Entry> shaders;
    // coopmat2 kernels: the pipeline of each mode a run builds, and the one that reads the mode.
    const std::pair<const char*, uint32_t> modes[] = {{"dense", gpu::kModeDense},
                                                      {"band", gpu::kModeBand},
                                                      {"sparse", gpu::kModeSparse},
                                                      {"split", gpu::kModeSparseItems},
                                                      {"any mode", gpu::kAnyMode}};
    for (const auto& k : cm2_kernels(impl_->ctx.info(), d))
        for (const auto& [label, mode] : modes)
            shaders.push_back(
                {k.shader + " (" + label + ")", k.shader, {mode, gpu::kSpecGathered | gpu::kSpecPartial}});
    if (path_unsupported(impl_->ctx.info(), DType::f16, d, KernelPath::nv_coopmat).empty()) {
        const std::string name = "attention_nv_d" + std::to_string(d);
        shaders.push_back({name, name, {gpu::kAnyMode}});
    }
    if (path_unsupported(impl_->ctx.info(), DType::f16, d, KernelPath::khr_coopmat).empty()) {
        const std::string name = "attention_khr_d" + std::to_string(d);
        shaders.push_back({name, name, {gpu::kAnyMode}, 32u});
    }
    std::vector<KernelStatistics> out;
    for (const auto& e : shaders) {
        const Pipeline& p = impl_->pipelines.get(e.shader, e.spec, e.subgroup);
        KernelStatistics k{e.label, p.statistic("Register Count"), {}};
        for (const auto& st : p.statistics) k.values.emplace_back(st.name, st.value);
        out.push_back(std::move(k));
    }
    return out;
}
const ProblemShape& AttentionEngine::shape() const { return impl_->shape; }

std::string AttentionEngine::check_fits(const ProblemShape& s, int64_t mask_bytes) const {
    const auto& info = impl_->ctx.info();
    if (s.heads < 1 || s.heads > kMaxHeads)
        return "heads must be in [1, " + std::to_string(kMaxHeads) + "], got " + std::to_string(s.heads);
    if (s.n < 1) return "n must be >= 1, got " + std::to_string(s.n);
    if (s.d < 1 || s.d > kMaxHeadDim)
        return "d must be in [1, " + std::to_string(kMaxHeadDim) + "], got " + std::to_string(s.d);
    if (s.n > max_tokens) return "n must be <= " + std::to_string(max_tokens) + ", got " + std::to_string(s.n);
    const uint64_t elems = uint64_t(s.heads) * uint64_t(s.n) * uint64_t(s.d);
    if (elems >= (uint64_t(1) << 32))
        return "heads * n * d = " + std::to_string(elems) + " exceeds 2^32 elements: use fewer heads or a smaller n";
    const uint64_t bytes = elems * 4;
    if (info.max_storage_buffer_range && bytes > info.max_storage_buffer_range)
        return "Q/K/V of " + std::to_string(bytes >> 20) + " MiB each exceed " + info.name +
               "'s storage buffer range (" + std::to_string(info.max_storage_buffer_range >> 20) +
               " MiB): use fewer heads or a smaller n or d";
    const uint64_t total = 4 * bytes + uint64_t(std::max<int64_t>(0, mask_bytes));
    if (info.device_local_bytes && total > info.device_local_bytes / 10 * 9)
        return "needs " + std::to_string(total >> 20) + " MiB but " + info.name + " has " +
               std::to_string(info.device_local_bytes >> 20) + " MiB: use fewer heads or a smaller n or d";
    return {};
}

void AttentionEngine::upload(std::span<const float> q, std::span<const float> k, std::span<const float> v,
                             const ProblemShape& s) {
    if (auto why = check_fits(s); !why.empty()) throw InputError(why);
    const size_t count = size_t(s.heads) * size_t(s.n) * size_t(s.d);
    if (q.size() != count || k.size() != count || v.size() != count)
        throw InputError("Q/K/V must each hold heads * n * d = " + std::to_string(count) + " floats");
    impl_->shape = s;
    impl_->host_q.assign(q.begin(), q.end());
    impl_->host_k.assign(k.begin(), k.end());
    impl_->host_v.assign(v.begin(), v.end());
    impl_->v_max_abs = 0.0;
    for (float x : v) impl_->v_max_abs = std::max(impl_->v_max_abs, double(std::fabs(x)));
    impl_->uploaded_dtype = DType::f32;
    impl_->cached_buffers.reset();  // split buffers are sized for the old shape
    impl_->upload_buffers();
}

RunResult AttentionEngine::run(const KernelPlan& plan, const RunOptions& options) {
    const auto& s = impl_->shape;
    if (s.n == 0) throw InputError("no Q/K/V uploaded");
    if (plan.heads != s.heads)
        throw InputError("kernel plan for " + std::to_string(plan.heads) + " heads, problem has " +
                         std::to_string(s.heads));
    switch (plan.kind) {
    case KernelPlan::Kind::dense: break;
    case KernelPlan::Kind::band:
        if (plan.band.left < 0 || plan.band.right < 0)
            throw InputError("band ends must be >= 0, got left " + std::to_string(plan.band.left) + " and right " +
                             std::to_string(plan.band.right));
        if (plan.band.left > s.n || plan.band.right > s.n) {
            // Radii past n keep every key anyway; clamping keeps the shader's sums in 32 bits.
            KernelPlan clamped = plan;
            clamped.band = {std::min(plan.band.left, s.n), std::min(plan.band.right, s.n)};
            return impl_->dispatch(clamped, options);
        }
        break;
    case KernelPlan::Kind::blocks: {
        const BlockMask* m = plan.blocks.get();
        if (!m || m->n != s.n || (m->heads != s.heads && m->heads != 1) || m->block != int(gpu::kBlock))
            throw InputError(m ? "block mask (n=" + std::to_string(m->n) + ", heads=" + std::to_string(m->heads) +
                                     ", block=" + std::to_string(m->block) + ") does not match the problem (n=" +
                                     std::to_string(s.n) + ", heads=" + std::to_string(s.heads) + ", block 64)"
                               : std::string("kernel plan of a block mask without one"));
        // The coopmat2 kernel runs one 64-row query block per workgroup: a problem with too
        // few query blocks x heads to fill the GPU is split along its block lists
        // (cm2_split_chunk), unless the plan already splits it.
        if (plan.split.empty() &&
            choose_path(impl_->ctx.info(), options.dtype, s.d, options.path) == KernelPath::nv_coopmat2)
            if (const int chunk = cm2_split_chunk(*m, s.heads); chunk > 0) {
                KernelPlan split = plan;
                split.split = plan_split(*m, s.heads, chunk);
                if (!split.split.empty()) return impl_->dispatch(split, options);
            }
        break;
    }
    }
    return impl_->dispatch(plan, options);
}

RunResult AttentionEngine::run(const BlockMask& mask, const RunOptions& options) {
    // Not owned: the plan lives only for this call.
    return run(plan_blocks(std::shared_ptr<const BlockMask>(std::shared_ptr<void>(), &mask), impl_->shape.heads),
               options);
}

RunResult AttentionEngine::run_dense(bool causal, const RunOptions& options) {
    return run(plan_dense(impl_->shape.heads, causal), options);
}

RunResult AttentionEngine::run_band(int64_t left, int64_t right, const RunOptions& options) {
    return run(plan_band(impl_->shape.heads, Band{left, right}), options);
}

std::vector<float> AttentionEngine::probabilities(const BlockMask* mask, const Viewport& view) {
    return impl_->probabilities(mask, view, 0);
}

AttentionEngine::WeightPair AttentionEngine::probabilities_pair(const BlockMask& mask, bool dense_causal,
                                                                const Viewport& view) {
    std::vector<float> both = impl_->probabilities(&mask, view, dense_causal ? 2u : 1u);
    const auto cells = std::ptrdiff_t(both.size() / 2);
    WeightPair w;
    w.dense.assign(both.begin() + cells, both.end());
    both.resize(size_t(cells));
    w.sparse = std::move(both);
    return w;
}

std::vector<float> AttentionEngine::Impl::probabilities(const BlockMask* mask, const Viewport& view, uint32_t pair) {
    auto& im = *this;
    const auto& s = im.shape;
    if (s.n == 0) throw InputError("no Q/K/V uploaded");
    if (view.head < 0 || view.head >= s.heads) throw InputError("viewport head out of range");
    if (view.rows < 1 || view.cols < 1 || view.stride < 1 || view.row0 < 0 || view.col0 < 0 || view.row0 >= s.n ||
        view.col0 >= s.n)
        throw InputError("viewport is empty or outside the matrix");
    if (mask && (mask->n != s.n || (mask->heads != s.heads && mask->heads != 1)))
        throw InputError("block mask does not match the uploaded problem");
    if (mask && mask->gathered_blocks > 0)
        throw InputError("probabilities needs a block mask compiled without gathering");
    im.ensure_dtype(DType::f32);
    const size_t cells = size_t(view.rows) * size_t(view.cols) * (pair > 0 ? 2u : 1u);
    GpuBuffer out(im.ctx, cells * 4);
    std::optional<Impl::MaskBuffers> mb;
    if (mask) mb = im.upload_mask(*mask);
    const Pipeline& pipe = im.pipelines.get("probabilities", {d4_for(s.d), pair});
    std::array<VkBuffer, kBindings> bufs;
    bufs.fill(im.dummy.handle());
    bufs[gpu::kBindQ] = im.q.handle();
    bufs[gpu::kBindK] = im.k.handle();
    bufs[gpu::kBindV] = im.v.handle();
    bufs[gpu::kBindO] = out.handle();
    if (mb) {
        bufs[gpu::kBindRowPtr] = mb->row_ptr.handle();
        bufs[gpu::kBindEntries] = mb->entries.handle();
        bufs[gpu::kBindBits] = mb->bits.handle();
    }
    VkDescriptorSet set = im.pipelines.bind_buffers(bufs);
    gpu::AttnPush pc{};
    pc.n = uint32_t(s.n);
    pc.d = uint32_t(s.d);
    pc.num_blocks = uint32_t((s.n + gpu::kBlock - 1) / gpu::kBlock);
    pc.mode = mask ? gpu::kModeSparse : gpu::kModeDense;
    pc.mask_shared = mask && mask->heads == 1 ? 1u : 0u;
    pc.scale_log2 = float(1.4426950408889634 / std::sqrt(double(s.d)));
    pc.row0 = uint32_t(view.row0);
    pc.col0 = uint32_t(view.col0);
    pc.rows = uint32_t(view.rows);
    pc.cols = uint32_t(view.cols);
    pc.stride = uint32_t(view.stride);
    pc.head = uint32_t(view.head);
    im.ctx.submit_and_wait([&](VkCommandBuffer cb) {
        vkCmdFillBuffer(cb, out.handle(), 0, VK_WHOLE_SIZE, 0);
        VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
        b.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
        b.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
        vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &b, 0,
                             nullptr, 0, nullptr);
        vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipe.pipeline);
        vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, im.pipelines.layout(), 0, 1, &set, 0, nullptr);
        vkCmdPushConstants(cb, im.pipelines.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(pc), &pc);
        vkCmdDispatch(cb, uint32_t((view.rows + 63) / 64), 1, 1);
        record_host_read_barrier(cb);
    });
    std::vector<float> result(cells);
    out.read(im.ctx, result.data(), cells * 4);
    return result;
}

int64_t AttentionEngine::mask_density_sample_rows(int64_t stride) {
    // Per sampled row the kernel takes <= 17 binary-search steps and one step per listed key
    // block overlapping the cell (<= ceil(stride / 64) + 1); keep the product below 32768.
    const int64_t span = (std::max<int64_t>(stride, 1) + gpu::kBlock - 1) / gpu::kBlock + 1;
    return std::clamp<int64_t>(32768 / (span + 18), 1, 64);
}

int64_t AttentionEngine::density_rows(const DensityGrid& grid) {
    const int64_t widest = grid.cells_x > 0 ? (grid.cols + grid.cells_x - 1) / grid.cells_x : 1;  // keys
    const int64_t rows = mask_density_sample_rows(widest);
    return grid.max_rows > 0 ? std::min(rows, grid.max_rows) : rows;
}

std::vector<float> AttentionEngine::mask_density(const BlockMask& mask, const Viewport& view) {
    if (view.rows < 1 || view.cols < 1 || view.stride < 1 || view.row0 < 0 || view.col0 < 0)
        throw InputError("viewport is empty or has negative offsets");
    const int64_t limit = int64_t(1) << 32;
    if (view.rows >= limit || view.cols >= limit || view.stride >= limit ||
        view.row0 + (view.rows + 1) * view.stride >= limit || view.col0 + (view.cols + 1) * view.stride >= limit)
        throw InputError("viewport exceeds 2^32 tokens");
    // Square stride x stride cells: the grid spanning rows * stride rows and cols * stride keys.
    return mask_density(mask, DensityGrid{view.head, view.row0, view.col0, view.rows * view.stride,
                                          view.cols * view.stride, view.rows, view.cols});
}

struct AttentionEngine::DeviceMask {
    Impl::MaskBuffers buffers;
    int64_t n = 0;
    int heads = 0;
    int64_t num_blocks = 0;
};

std::shared_ptr<const AttentionEngine::DeviceMask> AttentionEngine::upload_for_density(const BlockMask& mask) {
    if (mask.n < 1 || mask.heads < 1 || mask.block != int(gpu::kBlock) || mask.n > max_tokens)
        throw InputError("mask_density needs a compiled block mask with block 64 and n in [1, " +
                         std::to_string(max_tokens) + "]");
    if (mask.row_ptr.size() != size_t(mask.heads) * size_t(mask.num_blocks) + 1)
        throw InputError("block mask row_ptr does not match its heads and blocks");
    if (mask.gathered_blocks > 0) throw InputError("mask_density needs a block mask compiled without gathering");
    auto dm = std::make_shared<DeviceMask>();
    dm->buffers = impl_->upload_mask(mask);
    dm->n = mask.n;
    dm->heads = mask.heads;
    dm->num_blocks = mask.num_blocks;
    return dm;
}

std::vector<float> AttentionEngine::mask_density(const BlockMask& mask, const DensityGrid& grid) {
    return mask_density(*upload_for_density(mask), grid);
}

std::vector<float> AttentionEngine::mask_density(const DeviceMask& mask, const DensityGrid& grid) {
    auto& im = *impl_;
    if (grid.head < 0 || (mask.heads != 1 && grid.head >= mask.heads))
        throw InputError("density grid head out of range");
    if (grid.cells_y < 1 || grid.cells_x < 1 || grid.rows < grid.cells_y || grid.cols < grid.cells_x || grid.row0 < 0 ||
        grid.col0 < 0)
        throw InputError("density grid is empty, has negative offsets or more cells than tokens");
    const int64_t limit = int64_t(1) << 32;
    if (grid.row0 + grid.rows >= limit || grid.col0 + grid.cols >= limit)
        throw InputError("density grid exceeds 2^32 tokens");
    // The shader's floor(i * len / cells) needs i * (len % cells) < 2^32.
    if ((grid.rows % grid.cells_y != 0 && grid.cells_y >= 65536) ||
        (grid.cols % grid.cells_x != 0 && grid.cells_x >= 65536))
        throw InputError("density grid: at most 65,535 unequal cells per side");
    const uint64_t groups_x = (uint64_t(grid.cells_x) + 7) / 8, groups_y = (uint64_t(grid.cells_y) + 7) / 8;
    if (groups_x > 65535 || groups_y > 65535) throw InputError("density grid exceeds 524,280 cells per side");
    const size_t cells = size_t(grid.cells_y) * size_t(grid.cells_x);
    GpuBuffer out(im.ctx, cells * 4);
    const Impl::MaskBuffers& mb = mask.buffers;
    const Pipeline& pipe = im.pipelines.get("mask_density", {});
    std::array<VkBuffer, kBindings> bufs;
    bufs.fill(im.dummy.handle());
    bufs[gpu::kBindO] = out.handle();
    bufs[gpu::kBindRowPtr] = mb.row_ptr.handle();
    bufs[gpu::kBindEntries] = mb.entries.handle();
    bufs[gpu::kBindBits] = mb.bits.handle();
    VkDescriptorSet set = im.pipelines.bind_buffers(bufs);
    gpu::DensityPush pc{};
    pc.n = uint32_t(mask.n);
    pc.num_blocks = uint32_t(mask.num_blocks);
    pc.mask_head = mask.heads == 1 ? 0u : uint32_t(grid.head);
    pc.sample_rows = uint32_t(density_rows(grid));
    pc.row0 = uint32_t(grid.row0);
    pc.col0 = uint32_t(grid.col0);
    pc.row_len = uint32_t(grid.rows);
    pc.col_len = uint32_t(grid.cols);
    pc.cells_y = uint32_t(grid.cells_y);
    pc.cells_x = uint32_t(grid.cells_x);
    im.ctx.submit_and_wait([&](VkCommandBuffer cb) {
        vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipe.pipeline);
        vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, im.pipelines.layout(), 0, 1, &set, 0, nullptr);
        vkCmdPushConstants(cb, im.pipelines.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(pc), &pc);
        vkCmdDispatch(cb, uint32_t(groups_x), uint32_t(groups_y), 1);
        record_host_read_barrier(cb);
    });
    std::vector<float> result(cells);
    out.read(im.ctx, result.data(), cells * 4);
    return result;
}

}  // namespace salab
