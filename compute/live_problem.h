// The live pipeline as data: what a front end (the GUI's worker thread, a test) runs to turn the
// latest LiveParams + LiveView into results, one stage at a time, so a newer request can cut in
// between stages. The stage order is one function, next_stage(), which both drives the loop and
// answers "is there anything left?" (idle).
//
// Usage (one thread):
//   LiveProblem live;
//   live.set_device(ctx);                       // may be null: masks and statistics only
//   for (LiveStage s; (s = live.next_stage(req)) != LiveStage::idle;) {
//       LiveUpdate out;
//       live.run_stage(s, req, stale, out);     // stale(): a newer request arrived
//       publish(out);
//   }
// Results carry req.gen. Failures of a stage come back in LiveUpdate::compute_error and stop
// the generation (next_stage turns idle) instead of retrying in a loop.
#pragma once

#include "attention.h"
#include "kernel_plan.h"
#include "live_types.h"

#include <functional>
#include <memory>
#include <stop_token>
#include <string_view>

namespace salab {

class VulkanContext;

enum class LiveStage {
    model,          // validate, build the heads' masks (Q/K first when the pattern needs them)
    mask_image,     // the mask view's image (GPU density from the block mask, or CPU rows)
    block_mask,     // compile the block mask, plan the kernel, mask statistics
    upload,         // generate Q/K/V, upload to the device
    sparse_timing,  // one timed run of the plan (quick first number)
    heatmap,        // softmax weights on the heatmap's viewport, sparse and dense
    row_weights,    // the inspected query's whole row of weights, sparse and dense
    kept_mass,      // dense weight on kept pairs (exact or sampled stripes of rows)
    hops,           // hop analysis of every layer
    token_hops,     // hops of the selected token
    sparse_refine,  // the median of repeated sparse runs replaces the first one
    dense_timing,   // the dense kernel (cached across patterns), output error
    idle,
};
std::string_view stage_name(LiveStage s);

struct LiveRequest {
    uint64_t gen = 0;
    LiveParams params;
    LiveView view;
};

// Longest dense kernel the live view runs (estimated from the sparse time); beyond it the
// scaling sweep is the place to time dense attention.
inline constexpr double kLiveDenseBudgetMs = 12000;

// The dense kernel's time estimated from a sparse run: the kernels' cost follows the token pairs
// of the blocks they visit, so dense costs ~dense pairs / visited pairs as much.
double estimate_dense_ms(double sparse_ms, double dense_pairs, double visited_pairs);

// Timed repeats of a kernel whose one run takes one_run_ms, within budget_ms: 3..15, else 2 while
// one run fits the budget (a spread), 1 when one run is over it.
int repeats_within(double one_run_ms, double budget_ms);
// The n of a calibrating dense run: what takes ~target_ms when n takes estimate_ms (pairs scale
// as n^2), a multiple of 64 in [min(n, 256), n / 2].
int64_t calibration_n(int64_t n, double estimate_ms, double target_ms);

// Dense time at n from two measured runs (n_lo, ms_lo) < (n_hi, ms_hi), fitted as a fixed cost
// plus a cost per pair, t = a + b n^2; pure n^2 scaling of the larger run when the two disagree
// (the smaller slower: noise).
double extrapolate_dense_ms(int64_t n_lo, double ms_lo, int64_t n_hi, double ms_hi, int64_t n);

// The heads' masks of the selected layer (one per head), as the live view and the sweep build them.
std::vector<HeadMask> build_head_masks(const LiveParams& p, const QKV& qkv);
// The kernel plan of those masks (band, gathered or plain block mask, split): what the live
// timing and the sweep run, and what bench and run would run for the same masks.
KernelPlan live_plan(const std::vector<HeadMask>& masks, std::shared_ptr<const BlockMask> blocks);

// Mask statistics of a layer's block mask (and what its plan visits).
MaskStats mask_stats(const std::vector<HeadMask>& masks, const BlockMask& blocks, const KernelPlan& plan);

class LiveProblem {
public:
    LiveProblem();
    ~LiveProblem();
    LiveProblem(const LiveProblem&) = delete;
    LiveProblem& operator=(const LiveProblem&) = delete;

    // The device the kernels run on (owned by the caller; may be null). Resets every result.
    void set_device(VulkanContext* ctx);

    // What has to run next for `req`, or idle when every result of it is current.
    LiveStage next_stage(const LiveRequest& req) const;
    // Runs one stage for `req` and adds what it produced to `out`. `stale` is polled inside the
    // long stages; a stale stage returns without marking itself done. `hop_stop` cancels hop
    // analysis (requested when the generation changes).
    void run_stage(LiveStage stage, const LiveRequest& req, const std::function<bool()>& stale, LiveUpdate& out,
                   std::stop_token hop_stop = {});

    // The plan the live timing runs (null before the block_mask stage).
    const KernelPlan* plan() const;

    struct State;

private:
    std::unique_ptr<State> s_;
};

// One layer as the scaling sweep builds it at n: the same masks, block mask and plan as the
// live view at that n. Throws InputError when the pattern does not fit n.
struct LiveLayer {
    std::vector<HeadMask> masks;
    std::shared_ptr<const BlockMask> blocks;
    KernelPlan plan;
};
LiveLayer sweep_layer(const LiveParams& p, int64_t n, const QKV& qkv);
// Times the sparse plan and dense attention at n (the sweep's point). Throws InputError when
// the problem does not fit the device.
SweepPoint sweep_point(AttentionEngine& engine, const LiveParams& p, int64_t n, const std::function<bool()>& stopped);

}  // namespace salab
