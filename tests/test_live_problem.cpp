// The live pipeline (compute/live_problem.h) without a window: every stage on the device (lavapipe
// in CI), its results against the CPU oracle, stage order, cancellation, no device, bad params,
// and the plan the sweep times against the plan the live panel times for every preset.
#include "gpu_fixture.h"

#include "hops.h"
#include "live_problem.h"
#include "oracle.h"
#include "reference.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <vector>

using namespace salab;
using salab::test::check_no_validation_messages;
using salab::test::gpu_context;
using salab::test::oracle;

namespace {

LiveRequest request_for(const std::string& json, int64_t d, int heads) {
    LiveRequest r;
    r.gen = 1;
    r.params.pattern = parse_pattern(json);
    r.params.d = d;
    r.params.heads = heads;
    r.params.source = QkvSource::gaussian;
    const int64_t n = r.params.pattern.n;
    // Zoomed out (GPU density): more than 8 query rows per pixel even for the smallest n here,
    // so that a CPU device counts it on the GPU too (see the CPU-device case below).
    r.view.mask = {0, {0, 0, n, n}, 24, 24, false};
    r.view.heat = {1, {0, 0, n, n}, 4};
    r.view.hop_token = n / 2;
    return r;
}

// Runs the pipeline until idle; returns the stages in the order they ran.
std::vector<LiveStage> run_all(LiveProblem& live, const LiveRequest& req, LiveUpdate& all) {
    std::vector<LiveStage> ran;
    for (LiveStage s; (s = live.next_stage(req)) != LiveStage::idle;) {
        REQUIRE(ran.size() < 40);  // no stage may repeat forever
        ran.push_back(s);
        LiveUpdate out;
        live.run_stage(s, req, [] { return false; }, out);
        all.merge(std::move(out));
    }
    return ran;
}

}  // namespace

TEST_SUITE("gpu") {
    TEST_CASE("live pipeline: every stage runs once, in order, and its numbers match the oracle") {
        const char* bigbird = R"({"name":"bb","n":301,"components":[{"type":"window","radius":5},
            {"type":"global","first":2},{"type":"random","per_query":3,"seed":4}]})";
        const LiveRequest req = request_for(bigbird, 24, 2);
        LiveProblem live;
        live.set_device(&gpu_context());
        LiveUpdate all;
        const std::vector<LiveStage> ran = run_all(live, req, all);
        const std::vector<LiveStage> want{LiveStage::model,         LiveStage::block_mask, LiveStage::mask_image,
                                          LiveStage::upload,        LiveStage::sparse_timing, LiveStage::heatmap,
                                          LiveStage::kept_mass,     LiveStage::hops,       LiveStage::token_hops,
                                          LiveStage::sparse_refine, LiveStage::dense_timing};
        CHECK(ran == want);
        REQUIRE(all.model);
        CHECK(all.model->error.empty());
        CHECK(all.model->gen == 1);
        REQUIRE(all.model->blocks);
        CHECK(all.model->stats.kept_pairs == all.model->blocks->kept_pairs);
        REQUIRE(all.mask);
        CHECK(all.mask->on_gpu);
        CHECK(all.mask->image.w == 24);
        REQUIRE(all.timing);
        CHECK(all.timing->sparse_ms > 0);
        CHECK(all.timing->sparse_runs >= 3);  // the refined median: 3..15 repeats, as many as fit ~1.5 s
        CHECK(all.timing->sparse_runs <= 15);
        CHECK(all.timing->sparse_min_ms <= all.timing->sparse_ms);
        CHECK(all.timing->sparse_ms <= all.timing->sparse_max_ms);
        CHECK(all.timing->visited_share > all.timing->density);  // blocks hold unkept pairs too
        CHECK(all.timing->visited_share <= 1.0);
        REQUIRE(all.timing->dense_ms);
        CHECK(*all.timing->dense_ms > 0);
        CHECK(all.timing->plan == live.plan()->describe());
        REQUIRE(all.heat);
        CHECK(all.heat->w == 76);  // ceil(301 / 4)
        REQUIRE(all.hops);
        CHECK(all.hops->error.empty());
        REQUIRE(all.hops->report);
        REQUIRE(all.token_hops);
        CHECK(all.token_hops->token == 150);

        // Kept mass and output error against the CPU: dense and sparse outputs of the same Q/K/V.
        const LiveParams& p = req.params;
        const QKV x = make_qkv(p, 2);
        const std::vector<HeadMask> masks = build_head_masks(p, x);
        HeadPattern dense_hp;
        dense_hp.components = {Component{ComponentType::dense}};
        const std::vector<HeadMask> dense(2, HeadMask(dense_hp, p.pattern.n));
        const double want_err = relative_error(oracle(masks, x, 301, 24), oracle(dense, x, 301, 24));
        REQUIRE(all.accuracy);
        REQUIRE(all.accuracy->rel_error);
        CHECK(*all.accuracy->rel_error == doctest::Approx(want_err).epsilon(1e-3));
        REQUIRE(all.accuracy->kept_mass);
        CHECK(*all.accuracy->kept_mass > 0.0);
        CHECK(*all.accuracy->kept_mass < 1.0);
        CHECK_FALSE(all.accuracy->sampled);  // n <= 2048: every row
        check_no_validation_messages();
    }

    TEST_CASE("live pipeline: a CPU device draws a mask image on the CPU when every row of a pixel is counted") {
        const char* json =
            R"({"name":"w","n":301,"components":[{"type":"window","radius":9},{"type":"global","first":3}]})";
        LiveRequest req = request_for(json, 16, 1);
        req.view.mask.w = req.view.mask.h = 48;  // 301 rows <= 8 per pixel x 48: exact on the CPU
        LiveProblem live;
        live.set_device(&gpu_context());
        LiveUpdate all;
        const std::vector<LiveStage> ran = run_all(live, req, all);
        REQUIRE(ran.size() >= 3);
        REQUIRE(all.mask);
        CHECK(all.mask->gpu_error.empty());
        const bool cpu_device = gpu_context().info().type == "cpu";
        CHECK(all.mask->on_gpu == !cpu_device);
        // On a CPU device the image needs no block mask, so it comes first.
        CHECK(ran[1] == (cpu_device ? LiveStage::mask_image : LiveStage::block_mask));
        // Either way the image is the exact density of each pixel.
        const Pattern p = parse_pattern(json);
        const HeadMask m(p.layers[0].heads[0], p.n);
        const DensityImage want = aggregate_mask(m, {0, 0, p.n, p.n}, 48, 48);
        REQUIRE(all.mask->image.density.size() == want.density.size());
        for (size_t i = 0; i < want.density.size(); ++i)
            CHECK(all.mask->image.density[i] == doctest::Approx(want.density[i]).epsilon(1e-5));
        check_no_validation_messages();
    }

    TEST_CASE("live pipeline: a stale stage is not marked done, a view change reruns only its stage") {
        LiveRequest req = request_for(R"({"name":"w","n":200,"components":[{"type":"window","radius":7}]})", 16, 1);
        LiveProblem live;
        live.set_device(&gpu_context());
        LiveUpdate out;
        live.run_stage(live.next_stage(req), req, [] { return false; }, out);
        CHECK(live.next_stage(req) == LiveStage::block_mask);
        live.run_stage(LiveStage::block_mask, req, [] { return false; }, out);
        REQUIRE(live.next_stage(req) == LiveStage::mask_image);
        LiveUpdate stale_out;
        live.run_stage(LiveStage::mask_image, req, [] { return true; }, stale_out);
        CHECK_FALSE(stale_out.mask);
        CHECK(live.next_stage(req) == LiveStage::mask_image);
        LiveUpdate rest;
        run_all(live, req, rest);
        CHECK(live.next_stage(req) == LiveStage::idle);
        // Panning the heatmap: only the heatmap stage is due again.
        req.view.heat.region.row0 = 50;
        CHECK(live.next_stage(req) == LiveStage::heatmap);
        run_all(live, req, rest);
        CHECK(live.next_stage(req) == LiveStage::idle);
        // A new generation starts over.
        req.gen = 2;
        CHECK(live.next_stage(req) == LiveStage::model);
        check_no_validation_messages();
    }
}

TEST_CASE("live pipeline without a device: masks, mask image and statistics only") {
    const LiveRequest req = request_for(R"({"name":"s","n":500,"components":[{"type":"strided","stride":16}]})", 32, 1);
    LiveProblem live;
    LiveUpdate all;
    const std::vector<LiveStage> ran = run_all(live, req, all);
    CHECK(ran == std::vector<LiveStage>{LiveStage::model, LiveStage::mask_image, LiveStage::block_mask});
    REQUIRE(all.mask);
    CHECK_FALSE(all.mask->on_gpu);
    CHECK(all.mask->gpu_error == "no Vulkan compute device");
    REQUIRE(all.model);
    CHECK(all.model->stats.kept_pairs > 0);
    CHECK_FALSE(all.timing);
}

TEST_CASE("live pipeline: invalid params give a message and no further stages") {
    LiveRequest req = request_for(R"({"name":"w","n":100,"components":[{"type":"window","radius":3}]})", 300, 1);
    LiveProblem live;
    LiveUpdate all;
    CHECK(run_all(live, req, all) == std::vector<LiveStage>{LiveStage::model});
    REQUIRE(all.model);
    CHECK(all.model->error.find("d must be in [1, 256]") != std::string::npos);
    req.gen = 2;
    req.params.d = 64;
    req.params.heads = 100000;
    CHECK(run_all(live, req, all) == std::vector<LiveStage>{LiveStage::model});
    CHECK(all.model->error.find("heads must be in") != std::string::npos);
}

TEST_CASE("the scaling sweep and the live panel time the same kernel plan for every preset") {
    int presets = 0;
    for (const auto& e : std::filesystem::directory_iterator(std::string(SALAB_SOURCE_DIR) + "/assets/presets")) {
        if (e.path().extension() != ".json") continue;
        CAPTURE(e.path().string());
        LiveRequest req;
        req.gen = 1;
        req.params.pattern = load_pattern(e.path().string());
        const int64_t n = std::min<int64_t>(req.params.pattern.n, 1536);
        req.params.pattern = with_n(req.params.pattern, n);
        req.params.d = 32;
        req.params.heads = 2;
        LiveProblem live;  // no device: the plan is made before any kernel runs
        LiveUpdate all;
        run_all(live, req, all);
        REQUIRE(all.model);
        REQUIRE(all.model->error.empty());
        REQUIRE(live.plan());
        const LiveLayer sweep = sweep_layer(req.params, n, make_qkv(req.params, layer_heads(req.params)));
        CHECK(sweep.plan == *live.plan());
        CHECK(all.model->stats.plan == sweep.plan.describe());
        ++presets;
    }
    CHECK(presets >= 8);
}

TEST_CASE("live timing: repeats fit a time budget, the dense calibration n is safe and cheap") {
    CHECK(repeats_within(10, 1500) == 15);   // short kernels: many repeats, capped
    CHECK(repeats_within(400, 1500) == 3);   // at least three for a median and a spread
    CHECK(repeats_within(700, 1500) == 2);
    CHECK(repeats_within(1400, 1500) == 2);  // a spread whenever one run fits
    CHECK(repeats_within(4000, 1500) == 1);  // one run over the budget: the spread is unknown
    CHECK(repeats_within(0, 1500) == 3);
    // A dense run estimated at 36 s at n = 65,536: the calibration run is ~400 ms of it.
    const int64_t c = calibration_n(65536, 36000, 400);
    CHECK(c % 64 == 0);
    CHECK(c == 6848);  // 65536 * sqrt(400 / 36000) = 6908 -> a multiple of 64
    CHECK(calibration_n(65536, 1e9, 400) == 256);   // never below 256
    CHECK(calibration_n(4096, 401, 400) == 2048);   // never above n / 2
    CHECK(calibration_n(100, 1e6, 400) == 100);     // n below 256: n itself
    // Overhead apart from the per-pair cost: 1.0 s at 128 and 1.06 s at 256 (mostly fixed cost, as
    // on a loaded lavapipe) extrapolate to ~2.2 s at 1000, not 1.06 * (1000/256)^2 = 16 s.
    const double t = extrapolate_dense_ms(128, 1000, 256, 1060, 1000);
    CHECK(t == doctest::Approx(1060 + 60.0 / (256.0 * 256 - 128.0 * 128) * (1e6 - 256.0 * 256)));
    CHECK(t < 2500);
    CHECK(extrapolate_dense_ms(128, 10, 256, 40, 512) == doctest::Approx(160));  // pure n^2: no overhead
    CHECK(extrapolate_dense_ms(128, 50, 256, 40, 512) == doctest::Approx(160));  // noise: n^2 of the larger
    CHECK(extrapolate_dense_ms(256, 40, 256, 40, 256) == doctest::Approx(40));
}

TEST_SUITE("gpu") {
    TEST_CASE("live pipeline: the inspected query's row of weights, dense and sparse") {
        const char* json = R"({"name":"w","n":150,"components":[{"type":"window","radius":3},{"type":"global","first":1}]})";
        LiveRequest req = request_for(json, 16, 2);
        req.view.row = {1, 70};
        LiveProblem live;
        live.set_device(&gpu_context());
        LiveUpdate all;
        const std::vector<LiveStage> ran = run_all(live, req, all);
        CHECK(std::count(ran.begin(), ran.end(), LiveStage::row_weights) == 1);
        REQUIRE(all.row);
        CHECK(all.row->request == req.view.row);
        REQUIRE(all.row->dense.size() == 150);
        REQUIRE(all.row->sparse.size() == 150);
        double dense_sum = 0, sparse_sum = 0;
        for (int64_t j = 0; j < 150; ++j) {
            dense_sum += all.row->dense[size_t(j)];
            sparse_sum += all.row->sparse[size_t(j)];
            const bool kept = std::abs(j - 70) <= 3 || j == 0;
            if (!kept) CHECK(all.row->sparse[size_t(j)] == 0.0f);
            else CHECK(all.row->sparse[size_t(j)] > 0.0f);
        }
        CHECK(dense_sum == doctest::Approx(1.0).epsilon(1e-4));
        CHECK(sparse_sum == doctest::Approx(1.0).epsilon(1e-4));
        // Another query reruns that stage only.
        req.view.row.query = 3;
        CHECK(live.next_stage(req) == LiveStage::row_weights);
        check_no_validation_messages();
    }
}

TEST_SUITE("gpu") {
    TEST_CASE("live pipeline: the chosen kernel path runs sparse and dense, one the device lacks falls back to auto") {
        const char* json = R"({"name":"w","n":190,"components":[{"type":"window","radius":4},{"type":"global","first":1}]})";
        LiveRequest req = request_for(json, 16, 1);
        const LiveUpdate base = [&] {
            LiveProblem live;
            live.set_device(&gpu_context());
            LiveUpdate all;
            run_all(live, req, all);
            return all;
        }();
        REQUIRE(base.timing);
        REQUIRE(base.paths);
        CHECK(base.paths->size() == std::size(kKernelPaths));
        CHECK(base.timing->path_note.empty());
        REQUIRE(base.accuracy);
        REQUIRE(base.accuracy->rel_error);

        // rowwise forced: the timing names it, and the output error is the same attention.
        req.params.kernel_path = KernelPath::rowwise;
        LiveProblem live;
        live.set_device(&gpu_context());
        LiveUpdate all;
        run_all(live, req, all);
        REQUIRE(all.timing);
        CHECK(all.timing->path.rfind("rowwise", 0) == 0);
        CHECK(all.timing->path_note.empty());
        REQUIRE(all.timing->dense_ms);
        REQUIRE(all.accuracy);
        REQUIRE(all.accuracy->rel_error);
        CHECK(*all.accuracy->rel_error == doctest::Approx(*base.accuracy->rel_error).epsilon(1e-3));

        // A path the device cannot run (khr-coopmat is not in this build): auto runs, and says why.
        req.params.kernel_path = KernelPath::khr_coopmat;
        req.gen = 2;
        LiveUpdate fb;
        run_all(live, req, fb);
        REQUIRE(fb.timing);
        CHECK(fb.timing->path_note.find("khr-coopmat cannot run here") != std::string::npos);
        CHECK(fb.timing->path == base.timing->path);
        REQUIRE(fb.paths);
        const PathChoice* khr = find_choice(*fb.paths, KernelPath::khr_coopmat);
        REQUIRE(khr);
        CHECK_FALSE(khr->unsupported.empty());
        check_no_validation_messages();
    }
}
