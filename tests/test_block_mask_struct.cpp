// The structural block-mask builder (compute/block_mask_struct.h) against the CPU compiler, its
// oracle: entry by entry (key blocks in order, full/partial, bitmask words, gathered keys) and
// the statistics, over odd sizes, every structural component, causal and not, several heads,
// unions, plain and gathered, blocks 32/64/128.
#include "components.h"
#include "gpu_fixture.h"
#include "oracle.h"

#include "attention.h"
#include "block_mask.h"
#include "block_mask_struct.h"
#include "kernel_plan.h"
#include "mask.h"
#include "pattern.h"

#include <doctest/doctest.h>

#include <limits>
#include <string>

using namespace salab;
using salab::test::global_first;
using salab::test::window;

namespace {

constexpr int64_t kHuge = std::numeric_limits<int64_t>::max();

Component make(ComponentType t) {
    Component c;
    c.type = t;
    return c;
}
Component fixed_layout(int64_t block, int64_t summary) {
    Component c = make(ComponentType::fixed);
    c.block = block;
    c.summary = summary;
    return c;
}
Component strided(int64_t stride) {
    Component c = make(ComponentType::strided);
    c.stride = stride;
    return c;
}
Component bigbird(int64_t block, int64_t wb, int64_t gb, int64_t rb, uint64_t seed) {
    Component c = make(ComponentType::block);
    c.block = block;
    c.window_blocks = wb;
    c.global_blocks = gb;
    c.random_blocks = rb;
    c.seed = seed;
    return c;
}
Component globals(int64_t first, int64_t every, std::vector<int64_t> tokens) {
    Component c = make(ComponentType::global);
    c.first = first;
    c.every = every;
    c.tokens = std::move(tokens);
    return c;
}

// Entry-by-entry equality of content; where bitmasks and gather blocks are stored may differ.
void check_same(const BlockMask& want, const BlockMask& got, const std::string& what) {
    INFO(what);
    REQUIRE(got.n == want.n);
    REQUIRE(got.block == want.block);
    REQUIRE(got.heads == want.heads);
    REQUIRE(got.num_blocks == want.num_blocks);
    REQUIRE(got.row_ptr == want.row_ptr);
    CHECK(got.kept_pairs == want.kept_pairs);
    CHECK(got.full_blocks == want.full_blocks);
    CHECK(got.partial_blocks == want.partial_blocks);
    CHECK(got.gathered_blocks == want.gathered_blocks);
    CHECK(got.min_keys_per_query == want.min_keys_per_query);
    CHECK(got.max_keys_per_query == want.max_keys_per_query);
    CHECK(got.empty_rows == want.empty_rows);
    const size_t words = size_t(want.words_per_partial()), B = size_t(want.block);
    int bad = 0;
    for (size_t e = 0; e < want.entries.size() / 2 && bad < 5; ++e) {
        const BlockEntry a = decode_entry(want.entries[2 * e]), b = decode_entry(got.entries[2 * e]);
        bool same = a.partial == b.partial && a.gathered == b.gathered && (a.gathered || a.index == b.index);
        if (same && a.partial)
            same = std::equal(want.bits.begin() + std::ptrdiff_t(want.entries[2 * e + 1] * words),
                              want.bits.begin() + std::ptrdiff_t((want.entries[2 * e + 1] + 1) * words),
                              got.bits.begin() + std::ptrdiff_t(got.entries[2 * e + 1] * words));
        if (same && a.gathered)
            same = std::equal(want.gather.begin() + std::ptrdiff_t(size_t(a.index) * B),
                              want.gather.begin() + std::ptrdiff_t(size_t(a.index + 1) * B),
                              got.gather.begin() + std::ptrdiff_t(size_t(b.index) * B));
        if (!same) {
            ++bad;
            FAIL_CHECK("entry " << e << ": oracle index " << a.index << (a.partial ? " partial" : " full")
                                << (a.gathered ? " gathered" : "") << ", structural index " << b.index
                                << (b.partial ? " partial" : " full") << (b.gathered ? " gathered" : ""));
        }
    }
}

void compare(const std::vector<HeadPattern>& hps, int64_t n, const std::string& name) {
    std::vector<HeadMask> heads;
    for (const HeadPattern& hp : hps) heads.emplace_back(hp, n);
    REQUIRE(structural_block_mask_unsupported(heads, 64).empty());
    for (int block : {32, 64, 128}) {
        if (!structural_block_mask_unsupported(heads, block).empty()) continue;
        for (bool gather : {false, true}) {
            const BlockMask want = compile_block_mask(heads, block, 2, gather);
            for (int threads : {1, 3}) {
                const std::optional<BlockMask> got = build_block_mask_structural(heads, block, threads, gather);
                REQUIRE(got.has_value());
                check_same(want, *got,
                           name + " n=" + std::to_string(n) + " block=" + std::to_string(block) +
                               (gather ? " gather" : " plain") + " threads=" + std::to_string(threads));
            }
        }
    }
}

HeadPattern head(std::vector<Component> cs, bool causal = false) {
    HeadPattern hp;
    hp.causal = causal;
    hp.components = std::move(cs);
    return hp;
}

}  // namespace

TEST_CASE("structural block mask equals the CPU compiler for every structural component") {
    const std::vector<std::pair<std::string, std::vector<Component>>> kinds = {
        {"dense", {make(ComponentType::dense)}},
        {"window", {window(37)}},
        {"window0", {window(0)}},
        {"window dilated", {window(9, 5)}},
        {"window dilated wide", {window(3, 70)}},
        {"global first", {global_first(21)}},
        {"global every+tokens", {globals(3, 150, {5, 700, 64, 999})}},
        {"global every small", {globals(0, 17, {})}},
        {"strided small", {strided(20)}},
        {"strided large", {strided(150)}},
        {"fixed 128/1", {fixed_layout(128, 1)}},
        {"fixed 100/7", {fixed_layout(100, 7)}},
        {"fixed 16/3", {fixed_layout(16, 3)}},
        {"bigbird 64", {bigbird(64, 1, 2, 3, 7)}},
        {"bigbird 128", {bigbird(128, 1, 1, 2, 3)}},
        {"longformer", {window(64), global_first(16)}},
        {"union", {window(20), fixed_layout(96, 2), globals(0, 0, {300, 301, 1000})}},
        {"union strided", {strided(70), window(5, 3), global_first(1)}},
        // Parameters far past n (the structural builder cuts them to equivalent ones).
        {"huge window", {window(kHuge)}},
        {"huge dilation", {window(3, kHuge)}},
        {"huge strided", {strided(kHuge)}},
        {"huge fixed", {fixed_layout(kHuge, kHuge - 5)}},
        {"huge fixed summary", {fixed_layout(kHuge, kHuge)}},
        {"huge global", {globals(kHuge, kHuge, {})}},
        {"huge bigbird", {bigbird(64, kHuge, 1, 0, 1)}},
        {"huge bigbird globals", {bigbird(128, 0, kHuge, 1, 1)}},
    };
    for (int64_t n : {1, 63, 200, 1031, 4099}) {
        for (const auto& [name, cs] : kinds)
            for (bool causal : {false, true}) {
                HeadPattern hp = head(cs, causal);
                bool ok = true;
                for (const Component& c : cs)
                    if (c.radius == kHuge || c.dilation == kHuge || c.stride == kHuge || c.block == kHuge ||
                        c.first == kHuge || c.window_blocks == kHuge || c.global_blocks == kHuge) {
                        // kept: the point is parameters far past n
                    } else if ((c.type == ComponentType::window && c.radius * c.dilation > 4 * n) ||
                        (c.type == ComponentType::fixed && c.block > n) ||
                        (c.type == ComponentType::block && c.block > n) ||
                        (c.type == ComponentType::global && !c.tokens.empty() && c.tokens.back() >= n))
                        ok = false;
                if (!ok) continue;
                bool valid = true;
                try {
                    HeadMask probe(hp, n);
                } catch (const InputError&) {
                    valid = false;
                }
                if (valid) compare({hp}, n, name + (causal ? " causal" : ""));
            }
    }
}

TEST_CASE("structural block mask: long column runs fill whole gather blocks (shared between query blocks)") {
    // n = 20,000: a fixed layout's 156 summary columns fill two whole gather blocks per query
    // block, the stored-once path; global columns every 150 keys the same through a union.
    for (bool causal : {false, true}) {
        compare({head({fixed_layout(128, 1)}, causal)}, 20000, "fixed 128/1 long");
        compare({head({window(20), globals(0, 150, {})}, causal)}, 20000, "window + every 150 long");
        compare({head({fixed_layout(256, 2), strided(3000)}, causal)}, 20000, "fixed 256/2 + strided long");
    }
    // Four heads: 1252 query-block rows, so three workers of the pool (and the pool reused).
    compare({head({window(100), global_first(2)}), head({fixed_layout(128, 1)}, true), head({strided(200)}),
             head({bigbird(128, 1, 1, 2, 9)})},
            20000, "four heads long");
    std::vector<HeadMask> one;
    one.emplace_back(head({fixed_layout(128, 1)}), 20000);
    const BlockMask want = compile_block_mask(one, 64, 0, true);
    const BlockMask got = *build_block_mask_structural(one, 64, 1, true);
    CHECK(got.gathered_blocks == want.gathered_blocks);
    CHECK(got.gather.size() * 2 < want.gather.size());  // whole run blocks stored once
}

TEST_CASE("structural block mask: per-head patterns and mixed causal flags") {
    const int64_t n = 777;
    compare({head({window(30)}), head({fixed_layout(128, 4)}, true), head({global_first(5), strided(40)}),
             head({bigbird(64, 0, 1, 2, 11)}, true)},
            n, "four heads");
}

TEST_CASE("structural block mask: unsupported components are reported and left to the compiler") {
    std::vector<HeadMask> heads;
    heads.emplace_back(head({window(4), test::random_keys(2, 1)}), 300);
    CHECK(!structural_block_mask_unsupported(heads, 64).empty());
    CHECK(!build_block_mask_structural(heads, 64).has_value());
    std::vector<HeadMask> bb;
    bb.emplace_back(head({bigbird(16, 1, 1, 1, 0)}), 300);
    CHECK(!structural_block_mask_unsupported(bb, 64).empty());
    // plan_kernel still plans them (through the compiler).
    auto plain = std::make_shared<const BlockMask>(compile_block_mask(heads, 64));
    const KernelPlan plan = plan_kernel(heads, plain, 1);
    CHECK(plan.kind == KernelPlan::Kind::blocks);
    check_same(compile_block_mask(heads, 64, 0, true), *plan.blocks, "random via the compiler");
}

TEST_CASE("plan_kernel builds structural masks itself and plans dense heads without one") {
    std::vector<HeadMask> dense;
    dense.emplace_back(head({make(ComponentType::dense), window(3)}, true), 500);
    const KernelPlan d = plan_kernel(dense, nullptr, 4);
    CHECK(d.kind == KernelPlan::Kind::dense);
    CHECK(d.causal);
    std::vector<HeadMask> fixed;
    fixed.emplace_back(head({fixed_layout(128, 1)}), 4000);
    const KernelPlan f = plan_kernel(fixed, nullptr, 2);
    REQUIRE(f.kind == KernelPlan::Kind::blocks);
    CHECK(f.blocks->gathered_blocks > 0);
    check_same(compile_block_mask(fixed, 64, 0, true), *f.blocks, "fixed gathered");
    PlanOptions plain_opts;
    plain_opts.gather = false;
    const KernelPlan p = plan_kernel(fixed, nullptr, 2, plain_opts);
    check_same(compile_block_mask(fixed, 64, 0, false), *p.blocks, "fixed plain");
}

// The kernels run on the structural plan and agree with the token-exact CPU attention.

TEST_SUITE("gpu") {
    TEST_CASE("attention on structural block masks matches the CPU oracle") {
        AttentionEngine engine(test::gpu_context());
        const std::vector<std::vector<HeadPattern>> layers = {
            {head({window(40), global_first(3)}), head({fixed_layout(128, 1)}, true)},
            {head({bigbird(64, 1, 1, 2, 5)}), head({strided(70), window(2, 3)}, true)},
            {head({fixed_layout(100, 5), globals(0, 0, {7, 300})})},
        };
        for (int64_t n : {333, 1000})
            for (const auto& hps : layers) {
                const int heads = int(hps.size());
                const int64_t d = 32;
                std::vector<HeadMask> masks;
                for (const HeadPattern& hp : hps) masks.emplace_back(hp, n);
                const KernelPlan plan = plan_kernel(masks, nullptr, heads);
                REQUIRE(plan.kind == KernelPlan::Kind::blocks);
                CHECK(plan.structural);
                QKV x = make_qkv(heads, n, d, uint64_t(n + heads), QkvSource::gaussian);
                engine.upload(x.q, x.k, x.v, {heads, n, d});
                RunResult r = engine.run(plan, {.read_back = true});
                const std::vector<float> want = test::oracle(masks, x, n, d);
                CAPTURE(n);
                CAPTURE(plan.describe());
                CHECK(relative_error(r.out, want) < 1e-4);
            }
    }
}
