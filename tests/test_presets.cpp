// Every preset in assets/presets loads, runs through prepare_problem at reduced n, and the
// sparse kernel agrees with the oracle per head (every layer of a stack). Hand-written unions
// of components do the same, with lsh/topk built on the GPU.
#include "gpu_fixture.h"

#include "block_mask.h"
#include "content_kernels.h"
#include "mask.h"
#include "pattern.h"
#include "problem.h"
#include "reference.h"
#include "synthetic.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

using namespace salab;
using salab::test::check_no_validation_messages;
using salab::test::gpu_context;

namespace {

std::vector<std::string> preset_paths() {
    std::vector<std::string> out;
    for (const auto& e :
         std::filesystem::directory_iterator(std::string(SALAB_SOURCE_DIR) + "/assets/presets"))
        if (e.path().extension() == ".json")
            out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

// Oracle output of head h of a problem, [n, d].
std::vector<float> oracle_head(const Problem& p, int h) {
    const size_t per = size_t(p.n) * size_t(p.d), off = size_t(h) * per;
    std::vector<float> out(per);
    reference_attention(p.mask(h), std::span<const float>(p.qkv.q).subspan(off, per),
                        std::span<const float>(p.qkv.k).subspan(off, per),
                        std::span<const float>(p.qkv.v).subspan(off, per), p.d, out);
    return out;
}

Component make(ComponentType t) {
    Component c;
    c.type = t;
    return c;
}

} // namespace

TEST_SUITE("gpu") {
    TEST_CASE("every preset runs at reduced n and matches the oracle per head and layer") {
        const auto paths = preset_paths();
        REQUIRE(paths.size() >= 12);
        AttentionEngine engine(gpu_context());
        ContentKernels ck(gpu_context());
        for (const auto& path : paths) {
            const Pattern pattern = load_pattern(path);
            CHECK(!pattern.description.empty());
            for (int64_t n : {300, 257})
                for (int layer = 0; layer < pattern.num_layers(); ++layer) {
                    CAPTURE(path);
                    CAPTURE(n);
                    CAPTURE(layer);
                    const Problem p =
                        prepare_problem(pattern, {.n = n, .d = 32, .layer = layer, .seed = 3});
                    engine.upload(p.qkv.q, p.qkv.k, p.qkv.v, {p.heads, p.n, p.d});
                    const RunResult r = engine.run(*p.block_mask, {.read_back = true});
                    const size_t per = size_t(p.n) * size_t(p.d);
                    for (int h = 0; h < p.heads; ++h) {
                        CAPTURE(h);
                        const std::vector<float> got(
                            r.out.begin() + std::ptrdiff_t(size_t(h) * per),
                            r.out.begin() + std::ptrdiff_t(size_t(h + 1) * per));
                        CHECK(relative_error(got, oracle_head(p, h)) < 1e-4);
                        // Content components: the GPU-built mask is the CPU's.
                        const HeadPattern& hp =
                            p.pattern.layers[size_t(layer)].heads.size() == 1
                                ? p.pattern.layers[size_t(layer)].heads[0]
                                : p.pattern.layers[size_t(layer)].heads[size_t(h)];
                        if (std::any_of(hp.components.begin(), hp.components.end(),
                                        [](const Component& c) { return needs_qk(c); }))
                            CHECK(build_head_csr(ck, hp, p.n, p.head_qk(h)) ==
                                  build_csr(p.mask(h)));
                    }
                }
        }
        check_no_validation_messages();
    }

    TEST_CASE("unions of components against the oracle (content parts built on the GPU)") {
        Component win = make(ComponentType::window);
        win.radius = 3;
        Component glob = make(ComponentType::global);
        glob.first = 1;
        glob.every = 50;
        glob.tokens = {77};
        Component rnd = make(ComponentType::random);
        rnd.per_query = 2;
        rnd.seed = 7;
        Component strided = make(ComponentType::strided);
        strided.stride = 17;
        Component block = make(ComponentType::block);
        block.block = 32;
        block.window_blocks = 1;
        block.global_blocks = 1;
        block.random_blocks = 2;
        block.seed = 4;
        Component lsh = make(ComponentType::lsh);
        lsh.buckets = 8;
        lsh.rounds = 2;
        lsh.seed = 1;
        Component topk = make(ComponentType::topk);
        topk.k = 16;

        const std::vector<HeadPattern> unions = {
            {false, {win, glob, rnd}}, {true, {win, glob, rnd}}, {false, {strided, block}},
            {true, {strided, block}},  {true, {lsh, win}},       {false, {topk, glob}},
            {true, {topk, glob}},
        };
        AttentionEngine engine(gpu_context());
        ContentKernels ck(gpu_context());
        for (int64_t n : {257, 1000})
            for (size_t u = 0; u < unions.size(); ++u) {
                CAPTURE(n);
                CAPTURE(u);
                const int64_t d = 32;
                const HeadPattern& hp = unions[u];
                const QKV x = make_qkv(1, n, d, uint64_t(n + u), QkvSource::structured);
                const HeadQK qk{x.q, x.k, d};
                const Csr csr = build_head_csr(ck, hp, n, qk);
                const HeadMask cpu(hp, n, qk);
                CHECK(csr == build_csr(cpu));
                engine.upload(x.q, x.k, x.v, {1, n, d});
                const RunResult r =
                    engine.run(compile_block_mask(std::vector<Csr>{csr}), {.read_back = true});
                std::vector<float> want(x.q.size());
                reference_attention(cpu, x.q, x.k, x.v, d, want);
                CHECK(relative_error(r.out, want) < 1e-4);
            }
        check_no_validation_messages();
    }
}
