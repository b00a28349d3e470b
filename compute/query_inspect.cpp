#include "query_inspect.h"

#include <algorithm>
#include <stdexcept>

namespace salab {

std::vector<KeyRange> key_ranges(const std::vector<int32_t>& keys) {
    std::vector<KeyRange> out;
    for (int32_t k : keys) {
        if (!out.empty() && out.back().last + 1 == k) out.back().last = k;
        else out.push_back({k, k});
    }
    return out;
}

namespace {

QueryPart make_part(std::string label, int c, const std::vector<int32_t>& keys) {
    return {std::move(label), c, int64_t(keys.size()), key_ranges(keys)};
}

// A BigBird block component's row split into the three rules that keep it.
void split_block_component(const Component& comp, int c, int64_t i, int64_t n, bool causal,
                           const std::vector<int32_t>& keys, std::vector<QueryPart>& out) {
    const int64_t b = comp.block, I = i / b;
    const std::vector<int64_t> random = block_component_random_blocks(comp, I, n, causal);
    std::vector<int32_t> window, global, drawn;
    for (int32_t j : keys) {
        const int64_t J = j / b;
        if (std::abs(I - J) <= comp.window_blocks) window.push_back(j);
        else if (I < comp.global_blocks || J < comp.global_blocks) global.push_back(j);
        else if (std::binary_search(random.begin(), random.end(), J)) drawn.push_back(j);
    }
    out.push_back(make_part("block: window", c, window));
    out.push_back(make_part("block: global", c, global));
    out.push_back(make_part("block: random", c, drawn));
}

}  // namespace

const char* block_rule(const Component& c, int64_t i, int64_t j, int64_t n, bool causal) {
    if (c.type != ComponentType::block || c.block <= 0) return "not kept";
    const int64_t I = i / c.block, J = j / c.block;
    if (std::abs(I - J) <= c.window_blocks) return "window";
    if (I < c.global_blocks || J < c.global_blocks) return "global";
    const std::vector<int64_t> drawn = block_component_random_blocks(c, I, n, causal);
    return std::binary_search(drawn.begin(), drawn.end(), J) ? "random" : "not kept";
}

const char* kernel_block_kind(const BlockMask& blocks, int head, int64_t i, int64_t j) {
    if (blocks.block <= 0 || i < 0 || j < 0 || i >= blocks.n || j >= blocks.n) return "skipped";
    const int h = blocks.heads == 1 ? 0 : std::clamp(head, 0, blocks.heads - 1);
    const int64_t I = i / blocks.block, J = j / blocks.block;
    const size_t row = size_t(int64_t(h) * blocks.num_blocks + I);
    for (uint32_t e = blocks.row_ptr[row]; e < blocks.row_ptr[row + 1]; ++e) {
        const BlockEntry entry = decode_entry(blocks.entries[2 * size_t(e)]);
        if (!entry.gathered && int64_t(entry.index) == J) return entry.partial ? "partial" : "full";
    }
    return "skipped";
}

QueryInspection inspect_query(const HeadMask& mask, int64_t i, const BlockMask* blocks, int head) {
    if (i < 0 || i >= mask.n()) throw std::out_of_range("query outside [0, n)");
    QueryInspection q;
    q.query = i;
    std::vector<int32_t> keys;
    mask.row(i, keys);
    q.keys = int64_t(keys.size());
    const HeadPattern& hp = mask.pattern();
    for (size_t c = 0; c < hp.components.size(); ++c) {
        std::vector<int32_t> ck;
        mask.component_row(c, i, ck);
        if (hp.components[c].type == ComponentType::block)
            split_block_component(hp.components[c], int(c), i, mask.n(), hp.causal, ck, q.parts);
        else
            q.parts.push_back(make_part(std::string(to_string(hp.components[c].type)), int(c), ck));
    }
    if (!blocks || blocks->n != mask.n() || blocks->block <= 0) return q;
    const int h = blocks->heads == 1 ? 0 : head;
    if (h < 0 || h >= blocks->heads) return q;
    q.query_block = i / blocks->block;
    const size_t row = size_t(int64_t(h) * blocks->num_blocks + q.query_block);
    for (uint32_t e = blocks->row_ptr[row]; e < blocks->row_ptr[row + 1]; ++e) {
        const BlockEntry entry = decode_entry(blocks->entries[2 * size_t(e)]);
        QueryBlock qb;
        qb.key_block = int64_t(entry.index);
        qb.partial = entry.partial;
        qb.gathered = entry.gathered;
        if (!qb.gathered) {
            const int64_t lo = qb.key_block * blocks->block, hi = lo + blocks->block;
            qb.row_keys = int64_t(std::lower_bound(keys.begin(), keys.end(), int32_t(std::min(hi, mask.n()))) -
                                  std::lower_bound(keys.begin(), keys.end(), int32_t(lo)));
        }
        q.blocks.push_back(qb);
    }
    return q;
}

}  // namespace salab
