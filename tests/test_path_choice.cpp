// The kernel-path picker's logic (issue 15's GUI setting): which paths a device runs, why the
// others cannot, the picker's labels, and the setting in sessions. No device: DeviceInfo by hand.
#include "attention_cm2.h"
#include "kernel_plan.h"
#include "vk_context.h"

#ifdef SALAB_HAVE_UI
#include "presets.h"
#include "session.h"
#include "timing_view.h"
#endif

#include <doctest/doctest.h>

#include <string>

using namespace salab;

namespace {

DeviceInfo lavapipe_like() {
    DeviceInfo i;
    i.name = "llvmpipe";
    i.type = "cpu";
    i.device_type = VK_PHYSICAL_DEVICE_TYPE_CPU;
    i.max_shared_memory = 32768;
    i.max_workgroup_invocations = 1024;
    i.subgroup_size = 8;
    i.subgroup_arithmetic = i.subgroup_shuffle = true;
    i.fp16_arithmetic = i.storage16 = true;
    return i;
}

DeviceInfo nvidia_like() {
    DeviceInfo i = lavapipe_like();
    i.name = "GPU";
    i.type = "discrete";
    i.device_type = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
    i.subgroup_size = 32;
    i.max_shared_memory = 49152;
    i.nv_coopmat = true;
    i.coopmat_shapes.push_back({16, 16, 16, VK_COMPONENT_TYPE_FLOAT16_NV, VK_COMPONENT_TYPE_FLOAT16_NV,
                                VK_COMPONENT_TYPE_FLOAT32_NV, VK_COMPONENT_TYPE_FLOAT32_NV});
    return i;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_SUITE("kernel_plan") {
    TEST_CASE("kernel paths: every path listed once, in picker order, with the device's reasons") {
        const std::vector<PathChoice> lp = path_choices(lavapipe_like(), 64);
        REQUIRE(lp.size() == std::size(kKernelPaths));
        for (size_t k = 0; k < lp.size(); ++k) {
            CHECK(lp[k].path == kKernelPaths[k]);
            CHECK(lp[k].dtype == path_dtype(lp[k].path));
            CHECK(lp[k].unsupported == path_unsupported(lavapipe_like(), lp[k].dtype, 64, lp[k].path));
        }
        // lavapipe runs auto and the portable kernels in f32; no cooperative matrices.
        CHECK(find_choice(lp, KernelPath::automatic)->unsupported.empty());
        CHECK(find_choice(lp, KernelPath::tiled)->unsupported.empty());
        CHECK(find_choice(lp, KernelPath::rowwise)->unsupported.empty());
        CHECK(path_dtype(KernelPath::tiled) == DType::f32);
        // The reason says what the device lacks, not that f32 was asked for (coopmat runs f16).
        const std::string nv = find_choice(lp, KernelPath::nv_coopmat)->unsupported;
        CHECK(contains(nv, "lacks VK_NV_cooperative_matrix"));
        CHECK_FALSE(contains(nv, "--dtype"));
        CHECK_FALSE(find_choice(lp, KernelPath::nv_coopmat2)->unsupported.empty());
        CHECK(contains(find_choice(lp, KernelPath::khr_coopmat)->unsupported,
                       cm2_shaders_built() ? "lacks VK_KHR_cooperative_matrix" : "not part of this build"));

        // A device with VK_NV_cooperative_matrix: nv-coopmat runs (f16) at d = 64, not at d = 96.
        const std::vector<PathChoice> nv64 = path_choices(nvidia_like(), 64);
        CHECK(find_choice(nv64, KernelPath::nv_coopmat)->unsupported.empty());
        CHECK(find_choice(nv64, KernelPath::nv_coopmat)->dtype == DType::f16);
        CHECK(contains(find_choice(path_choices(nvidia_like(), 96), KernelPath::nv_coopmat)->unsupported,
                       "d = 64 and 128"));
        // Without fp16 storage even the f32 portable kernels stay available.
        DeviceInfo no16 = lavapipe_like();
        no16.fp16_arithmetic = no16.storage16 = false;
        CHECK(find_choice(path_choices(no16, 64), KernelPath::rowwise)->unsupported.empty());
    }

}  // TEST_SUITE

#ifdef SALAB_HAVE_UI
TEST_SUITE("ui") {
    TEST_CASE("kernel path picker: disabled items carry the device's reason, auto never is") {
        using namespace salab::ui;
        CHECK(path_pick_reason(nullptr, KernelPath::automatic).empty());
        CHECK(path_pick_reason(nullptr, KernelPath::tiled) == "the compute device is not open yet");
        const std::vector<PathChoice> lp = path_choices(lavapipe_like(), 64);
        CHECK(path_pick_reason(&lp, KernelPath::rowwise).empty());
        CHECK(path_pick_reason(&lp, KernelPath::nv_coopmat) == find_choice(lp, KernelPath::nv_coopmat)->unsupported);
        CHECK_FALSE(path_pick_reason(&lp, KernelPath::nv_coopmat).empty());
        const std::vector<PathChoice> partial = {lp[0], lp[1]};
        CHECK(path_pick_reason(&partial, KernelPath::khr_coopmat) == "not offered by the compute device");
        CHECK(path_pick_label(KernelPath::nv_coopmat2) == "nv-coopmat2 (f16)");
        CHECK(path_pick_label(KernelPath::rowwise) == "rowwise (f32)");
    }

    TEST_CASE("session: the kernel path round-trips, old sessions load as auto, bad names fail in one line") {
        using namespace salab::ui;
        for (KernelPath p : kKernelPaths) {
            AppState s;
            s.params.pattern = default_pattern();
            s.params.kernel_path = p;
            const AppState back = session_from_json(session_to_json(s));
            CHECK(back.params.kernel_path == p);
            CHECK(back.params == s.params);
        }
        const char* old = R"({"salab_session": 1, "pattern": {"n": 64, "components": [{"type": "window", "radius": 2}]},
                          "params": {"d": 32, "heads": 2}})";
        const AppState o = session_from_json(old);
        CHECK(o.params.kernel_path == KernelPath::automatic);
        CHECK(o.params.d == 32);
        const char* bad =
            R"({"pattern": {"n": 64, "components": [{"type": "dense"}]}, "params": {"kernel_path": "warp9"}})";
        try {
            (void)session_from_json(bad);
            FAIL("a session with kernel_path \"warp9\" loaded");
        } catch (const InputError& e) {
            const std::string what = e.what();
            CHECK(what.find("kernel_path") != std::string::npos);
            CHECK(what.find("warp9") != std::string::npos);
            CHECK(what.find('\n') == std::string::npos);
        }
    }

}  // TEST_SUITE
#endif
