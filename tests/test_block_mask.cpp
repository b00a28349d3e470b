// The block mask compiler: decoding the compiled structure gives back exactly the token mask,
// with and without gathered blocks, and gathering packs scattered layouts into few blocks.
#include "components.h"

#include "block_mask.h"
#include "mask.h"
#include "pattern.h"
#include "problem.h"
#include "query_inspect.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <set>

using namespace salab;
using salab::test::global_first;
using salab::test::random_keys;
using salab::test::window;

namespace {

Component fixed_layout(int64_t block, int64_t summary) {
    Component c;
    c.type = ComponentType::fixed;
    c.block = block;
    c.summary = summary;
    return c;
}

Component strided(int64_t stride) {
    Component c;
    c.type = ComponentType::strided;
    c.stride = stride;
    return c;
}

// Every (row, key) pair the block mask keeps for head h, decoded the way the kernels read it.
std::vector<std::set<int64_t>> decode(const BlockMask& bm, int h) {
    std::vector<std::set<int64_t>> rows(size_t(bm.n));
    const int64_t B = bm.block, wpr = bm.words_per_row();
    for (int64_t I = 0; I < bm.num_blocks; ++I) {
        const size_t at = size_t(h * bm.num_blocks + I);
        for (uint32_t e = bm.row_ptr[at]; e < bm.row_ptr[at + 1]; ++e) {
            const uint32_t w0 = bm.entries[2 * size_t(e)], w1 = bm.entries[2 * size_t(e) + 1];
            const auto [index, partial, gathered] = decode_entry(w0);
            for (int64_t r = 0; r < B && I * B + r < bm.n; ++r)
                for (int64_t c = 0; c < B; ++c) {
                    int64_t key = gathered ? (bm.gather[size_t(index * B + c)] == gpu::kNoKey
                                                  ? -1
                                                  : int64_t(bm.gather[size_t(index * B + c)]))
                                           : index * B + c;
                    if (key < 0 || key >= bm.n) continue;
                    const bool kept =
                        !partial || ((bm.bits[size_t(int64_t(w1) * B * wpr + r * wpr + c / 32)] >> (c % 32)) & 1u);
                    if (kept && !rows[size_t(I * B + r)].insert(key).second) FAIL("key " << key << " listed twice");
                }
        }
    }
    return rows;
}

void check_roundtrip(const std::vector<HeadMask>& heads, bool gather) {
    const BlockMask bm = compile_block_mask(heads, 64, 3, gather);
    if (!gather) CHECK(bm.gathered_blocks == 0);
    if (gather) {  // deriving the gathered form from the plain mask gives the same structure
        const BlockMask derived = gather_blocks(compile_block_mask(heads, 64, 2, false));
        CHECK(derived.row_ptr == bm.row_ptr);
        CHECK(derived.entries == bm.entries);
        CHECK(derived.bits == bm.bits);
        CHECK(derived.gather == bm.gather);
        CHECK(derived.full_blocks == bm.full_blocks);
        CHECK(derived.partial_blocks == bm.partial_blocks);
        CHECK(derived.gathered_blocks == bm.gathered_blocks);
        CHECK(derived.kept_pairs == bm.kept_pairs);
    }
    int64_t kept = 0;
    std::vector<int32_t> keys;
    for (size_t h = 0; h < heads.size(); ++h) {
        const auto rows = decode(bm, int(h));
        for (int64_t i = 0; i < heads[h].n(); ++i) {
            heads[h].row(i, keys);
            kept += int64_t(keys.size());
            const std::set<int64_t> want(keys.begin(), keys.end());
            if (rows[size_t(i)] != want) FAIL("head " << h << " row " << i << " differs (gather " << gather << ")");
        }
    }
    CHECK(bm.kept_pairs == kept);
    CHECK(bm.listed_blocks() == int64_t(bm.entries.size() / 2));
    const BlockStats st = block_stats(bm);  // counted from the entries: the compiler's counters
    CHECK(st.listed_blocks == bm.listed_blocks());
    CHECK(st.full_blocks == bm.full_blocks);
    CHECK(st.partial_blocks == bm.partial_blocks);
    CHECK(st.gathered_blocks == bm.gathered_blocks);
    CHECK(st.visited_pairs >= st.kept_pairs);
}

}  // namespace

TEST_CASE("block mask decodes to the token mask, with and without gathered blocks") {
    const std::vector<std::vector<Component>> patterns = {
        {fixed_layout(128, 1)},
        {fixed_layout(16, 2)},
        {strided(37)},
        {window(3), global_first(1), random_keys(2, 7)},
        {window(40), global_first(2)},
        {random_keys(5, 3)},
    };
    for (int64_t n : {1, 63, 65, 300, 1000, 4097})
        for (size_t p = 0; p < patterns.size(); ++p)
            for (bool causal : {false, true}) {
                if (n > 1000 && p != 0 && p != 5) continue;  // the large size: one structured, one random
                CAPTURE(n);
                CAPTURE(p);
                CAPTURE(causal);
                HeadPattern hp;
                hp.causal = causal;
                hp.components = patterns[p];
                HeadPattern other = hp;
                other.components.push_back(window(1));
                const std::vector<HeadMask> heads{HeadMask(hp, n), HeadMask(other, n)};
                check_roundtrip(heads, false);
                check_roundtrip(heads, true);
            }
}

TEST_CASE("gathering packs a fixed layout's summary columns into few blocks") {
    const int64_t n = 16384;
    HeadPattern hp;
    hp.components = {fixed_layout(128, 1)};
    const std::vector<HeadMask> heads{HeadMask(hp, n)};
    const BlockMask plain = compile_block_mask(heads, 64, 0, false);
    const BlockMask packed = compile_block_mask(heads, 64, 0, true);
    CHECK(plain.kept_pairs == packed.kept_pairs);
    // Without gathering every query block visits every second key block (the summary column
    // is the last key of each 128-key block) and its own.
    CHECK(plain.listed_blocks() == plain.num_blocks * (plain.num_blocks / 2 + 1));
    // With it: its own 128-key block (2 blocks) + the other 127 summary columns gathered into 2.
    CHECK(packed.listed_blocks() == plain.num_blocks * 4);
    CHECK(packed.gathered_blocks == plain.num_blocks * 2);
    CHECK(packed.partial_blocks == 0);  // every row sees every summary column
    CHECK(gather_blocks(plain).entries == packed.entries);
    // A dense pattern never gathers: nothing to pack.
    HeadPattern dense;
    dense.components = {Component{.type = ComponentType::dense}};
    const BlockMask d = compile_block_mask(std::vector<HeadMask>{HeadMask(dense, 1000)}, 64, 0, true);
    CHECK(d.gathered_blocks == 0);
}

TEST_CASE("decode_entry reads the flags and index the kernels read") {
    CHECK(decode_entry(7u) == BlockEntry{7, false, false});
    CHECK(decode_entry(7u | gpu::kPartialBit) == BlockEntry{7, true, false});
    CHECK(decode_entry(gpu::kIndexMask | gpu::kGatherBit) == BlockEntry{int64_t(gpu::kIndexMask), false, true});
    CHECK(decode_entry(~0u) == BlockEntry{int64_t(gpu::kIndexMask), true, true});
}

TEST_CASE("block_stats: listed blocks and the token pairs inside them") {
    HeadPattern dense;
    dense.components = {Component{.type = ComponentType::dense}};
    {
        // n = 100, blocks of 64: every pair is visited and kept.
        const BlockStats st = block_stats(compile_block_mask(std::vector<HeadMask>{HeadMask(dense, 100)}, 64));
        CHECK(st.listed_blocks == 4);
        CHECK(st.full_blocks == 4);
        CHECK(st.skipped_blocks == 0);
        CHECK(st.visited_pairs == 100 * 100);
        CHECK(st.kept_pairs == 100 * 100);
        CHECK(st.dense_bytes == 100 * 100);
        CHECK(st.csr_bytes == 8 * 101 + 4 * 100 * 100);
    }
    {
        // Causal, two heads: blocks (0,0) 64x64, (1,0) 36x64, (1,1) 36x36 per head.
        dense.causal = true;
        const BlockMask bm = compile_block_mask(std::vector<HeadMask>{HeadMask(dense, 100), HeadMask(dense, 100)}, 64);
        const BlockStats st = block_stats(bm);
        CHECK(st.listed_blocks == 6);
        CHECK(st.partial_blocks == 4);  // the diagonal blocks
        CHECK(st.skipped_blocks == 2);
        CHECK(st.visited_pairs == 2 * (64 * 64 + 36 * 64 + 36 * 36));
        CHECK(st.kept_pairs == 2 * 100 * 101 / 2);
        CHECK(st.keys_min == 1);
        CHECK(st.keys_max == 100);
        CHECK(st.bytes == bm.bytes());
        CHECK(st.stored_bitmasks * bm.words_per_partial() == int64_t(bm.bits.size()));
    }
    {
        // Gathered blocks visit `block` columns each; n is a multiple of 64 here, so every
        // listed block is 64 x 64 pairs, gathered or not.
        HeadPattern hp;
        hp.components = {fixed_layout(128, 1)};
        const std::vector<HeadMask> heads{HeadMask(hp, 4096)};
        for (bool gather : {false, true}) {
            const BlockStats st = block_stats(compile_block_mask(heads, 64, 0, gather));
            // Per query block: its own 128 keys (2 blocks), the other 31 summary columns gathered.
            CHECK(st.gathered_blocks == (gather ? 64 : 0));
            CHECK(st.listed_blocks == 64 * (gather ? 3 : 4096 / 128 + 1));
            CHECK(st.visited_pairs == st.listed_blocks * 64 * 64);
        }
    }
}

TEST_CASE("row_runs expands to exactly row() on every preset and a dilated window") {
    std::vector<int32_t> keys, expanded;
    std::vector<KeyRun> runs;
    auto check_head = [&](const HeadMask& m) {
        for (int64_t i = 0; i < m.n(); ++i) {
            m.row(i, keys);
            m.row_runs(i, runs);
            expanded.clear();
            for (size_t r = 0; r < runs.size(); ++r) {
                REQUIRE(runs[r].lo < runs[r].hi);
                if (r > 0) REQUIRE(runs[r - 1].hi < runs[r].lo);  // disjoint and not touching
                for (int32_t j = runs[r].lo; j < runs[r].hi; ++j) expanded.push_back(j);
            }
            if (expanded != keys) FAIL("row " << i << " differs");
        }
    };
    for (const auto& entry : std::filesystem::directory_iterator(std::string(SALAB_SOURCE_DIR) + "/assets/presets")) {
        CAPTURE(entry.path().string());
        const Pattern pattern = load_pattern(entry.path().string());
        for (int64_t n : {257, 300})
            for (int layer = 0; layer < pattern.num_layers(); ++layer) {
                const Problem p = prepare_problem(pattern, {.n = n, .d = 16, .layer = layer});
                for (const HeadMask& m : p.masks) check_head(m);
            }
    }
    for (bool causal : {false, true}) {
        HeadPattern hp;
        hp.causal = causal;
        hp.components = {window(5, 3), strided(7), global_first(2)};
        check_head(HeadMask(hp, 301));
    }
}

namespace {

Component block_layout(int64_t block, int64_t window_blocks, int64_t global_blocks, int64_t random_blocks,
                       uint64_t seed) {
    Component c;
    c.type = ComponentType::block;
    c.block = block;
    c.window_blocks = window_blocks;
    c.global_blocks = global_blocks;
    c.random_blocks = random_blocks;
    c.seed = seed;
    return c;
}

// Global component; tokens at or past n are dropped (the pattern would be invalid).
Component global_cols(int64_t n, int64_t first, int64_t every, const std::vector<int64_t>& tokens) {
    Component c = global_first(first);
    c.every = every;
    for (int64_t t : tokens)
        if (t < n) c.tokens.push_back(t);
    return c;
}

// Patterns that put every part of QueryBlockRuns to work: bands of several radii, common runs
// that do or do not cover a whole block, fixed and block layouts aligned and not aligned with
// the 64-row query blocks, global rows inside a query block, per-row leftovers.
std::vector<std::vector<Component>> split_patterns(int64_t n) {
    return {
        {window(0)},
        {window(5), window(70)},
        {window(3, 2), window(1)},
        {global_cols(n, 16, 0, {})},
        {global_cols(n, 70, 0, {})},
        {global_cols(n, 0, 5, {3, 200, 999}), window(9)},
        {global_cols(n, 2, 0, {64, 65, 700}), random_keys(3, 11)},
        {fixed_layout(100, 3)},
        {fixed_layout(64, 1), window(2)},
        {fixed_layout(256, 2)},
        {fixed_layout(32, 32)},
        {block_layout(64, 1, 2, 3, 5)},
        {block_layout(48, 1, 1, 2, 9)},
        {block_layout(128, 0, 1, 1, 4), window(20)},
        {strided(17), global_cols(n, 1, 0, {})},
        {Component{.type = ComponentType::dense}},
        {Component{.type = ComponentType::dense}, window(4)},
    };
}

HeadPattern head_of(std::vector<Component> components, bool causal) {
    HeadPattern hp;
    hp.causal = causal;
    hp.components = std::move(components);
    return hp;
}

}  // namespace

TEST_CASE("query_block_runs: common runs, band and per-row runs give back every row exactly") {
    std::vector<int32_t> keys;
    QueryBlockRuns q;
    for (int64_t n : {1, 63, 64, 130, 333})
        for (size_t p = 0; p < split_patterns(n).size(); ++p)
            for (bool causal : {false, true}) {
                CAPTURE(n);
                CAPTURE(p);
                CAPTURE(causal);
                const HeadMask m(head_of(split_patterns(n)[p], causal), n);
                for (int64_t q0 = 0; q0 < n; q0 += 64) {
                    const int64_t q1 = std::min<int64_t>(n, q0 + 64);
                    m.query_block_runs(q0, q1, q);
                    REQUIRE(int64_t(q.ptr.size()) == q1 - q0 + 1);
                    for (size_t r = 1; r < q.common.size(); ++r) REQUIRE(q.common[r - 1].hi < q.common[r].lo);
                    for (int64_t i = q0; i < q1; ++i) {
                        std::set<int64_t> got;
                        const int64_t lim = causal ? i + 1 : n;
                        for (const KeyRun& run : q.common)
                            for (int64_t j = run.lo; j < std::min<int64_t>(run.hi, lim); ++j) got.insert(j);
                        if (q.band_left >= 0)
                            for (int64_t j = std::max<int64_t>(0, i - q.band_left);
                                 j <= std::min<int64_t>(n - 1, i + q.band_right); ++j)
                                got.insert(j);
                        for (int32_t t = q.ptr[size_t(i - q0)]; t < q.ptr[size_t(i - q0) + 1]; ++t)
                            for (int64_t j = q.runs[size_t(t)].lo; j < q.runs[size_t(t)].hi; ++j) got.insert(j);
                        m.row(i, keys);
                        if (got != std::set<int64_t>(keys.begin(), keys.end())) FAIL("row " << i << " differs");
                    }
                }
            }
}

TEST_CASE("block mask from query-block runs equals the one compiled from per-key rows") {
    // The CSR path sees every key as a per-row run (no common part, no band), so it is an
    // independent route to the same structure: entries, bitmasks, gather tables and statistics
    // must agree exactly, for every thread count.
    for (int64_t n : {1, 65, 200, 1000})
        for (size_t p = 0; p < split_patterns(n).size(); ++p)
            for (bool causal : {false, true})
                for (bool gather : {false, true}) {
                    if (n >= 1000 && p % 3 != 0) continue;  // the large size: a third of the patterns
                    CAPTURE(n);
                    CAPTURE(p);
                    CAPTURE(causal);
                    CAPTURE(gather);
                    const HeadPattern hp = head_of(split_patterns(n)[p], causal);
                    HeadPattern other = hp;
                    other.components.push_back(window(2));
                    const std::vector<HeadMask> heads{HeadMask(hp, n), HeadMask(other, n)};
                    const std::vector<Csr> csrs{build_csr(heads[0]), build_csr(heads[1])};
                    const BlockMask want = compile_block_mask(csrs, 64, 1, gather);
                    for (int threads : {1, 5}) {  // 5: several chunks at n = 1000
                        const BlockMask got = compile_block_mask(heads, 64, threads, gather);
                        REQUIRE(got.row_ptr == want.row_ptr);
                        REQUIRE(got.entries == want.entries);
                        REQUIRE(got.bits == want.bits);
                        REQUIRE(got.gather == want.gather);
                        CHECK(got.kept_pairs == want.kept_pairs);
                        CHECK(got.full_blocks == want.full_blocks);
                        CHECK(got.partial_blocks == want.partial_blocks);
                        CHECK(got.gathered_blocks == want.gathered_blocks);
                        CHECK(got.min_keys_per_query == want.min_keys_per_query);
                        CHECK(got.max_keys_per_query == want.max_keys_per_query);
                        CHECK(got.empty_rows == want.empty_rows);
                    }
                    CHECK(want.kept_pairs == csrs[0].nnz() + csrs[1].nnz());
                }
}

TEST_CASE("identical partial bitmasks are stored once per span of query blocks") {
    // A window's two edge blocks have the same bitmask in every query block.
    HeadPattern hp;
    hp.components = {window(100)};
    const int64_t n = 64 * 64;
    const std::vector<HeadMask> heads{HeadMask(hp, n)};
    for (int threads : {1, 4}) {
        const BlockMask bm = compile_block_mask(heads, 64, threads, false);
        CHECK(bm.partial_blocks > 100);
        const int64_t stored = int64_t(bm.bits.size()) / bm.words_per_partial();
        CHECK(stored <= 4 * (64 / 16) + 4);  // a few per span of 16 query blocks, edges included
        CHECK(stored >= 2);
    }
    check_roundtrip(heads, false);
}

TEST_CASE("query inspector: keys by component, BigBird parts, the query block's blocks") {
    // The illustrated hybrid at n = 1,000: token 600 keeps its window 596-604, the global
    // columns 0/250/500/750 and 2 random keys: at most 15 keys instead of 1,000.
    HeadPattern hp;
    Component w{ComponentType::window};
    w.radius = 4;
    Component g{ComponentType::global};
    g.tokens = {0, 250, 500, 750};
    Component r{ComponentType::random};
    r.per_query = 2;
    r.seed = 7;
    hp.components = {w, g, r};
    const HeadMask m(hp, 1000);
    const BlockMask bm = compile_block_mask(std::vector<HeadMask>{m});
    const QueryInspection q = inspect_query(m, 600, &bm);
    REQUIRE(q.parts.size() == 3);
    CHECK(q.parts[0].label == "window");
    CHECK(q.parts[0].ranges == std::vector<KeyRange>{{596, 604}});
    CHECK(q.parts[1].ranges == std::vector<KeyRange>{{0, 0}, {250, 250}, {500, 500}, {750, 750}});
    CHECK(q.parts[2].keys == 2);
    std::set<int64_t> all;
    for (const QueryPart& p : q.parts)
        for (const KeyRange& k : p.ranges)
            for (int64_t j = k.first; j <= k.last; ++j) all.insert(j);
    CHECK(q.keys == int64_t(all.size()));
    CHECK(q.keys <= 15);
    CHECK(inspect_query(m, 500).parts[1].keys == 1000);  // a global query attends to every key
    CHECK(q.query_block == 600 / 64);
    int64_t row_keys = 0;
    for (const QueryBlock& b : q.blocks) row_keys += b.row_keys;
    CHECK(row_keys == q.keys);
    CHECK_THROWS_AS(inspect_query(m, 1000), std::out_of_range);

    // A block component splits into its window, global and random rules; together they are its row.
    HeadPattern bb;
    Component b{ComponentType::block};
    b.block = 16;
    b.window_blocks = 1;
    b.global_blocks = 1;
    b.random_blocks = 2;
    b.seed = 3;
    bb.components = {b};
    const HeadMask mb(bb, 300);
    const QueryInspection qb = inspect_query(mb, 150);
    REQUIRE(qb.parts.size() == 3);
    CHECK(qb.parts[0].keys == 48);  // block-rows 8, 9, 10
    CHECK(qb.parts[1].keys == 16);  // block 0
    CHECK(qb.parts[2].keys == 32);  // two drawn blocks
    CHECK(qb.parts[0].keys + qb.parts[1].keys + qb.parts[2].keys == qb.keys);
}
