#include "problem.h"

#include "npy.h"

#include <chrono>

#include <unistd.h>

namespace salab {

HeadQK Problem::head_qk(int h) const {
    const size_t per = size_t(n) * size_t(d);
    return HeadQK{std::span<const float>(qkv.q).subspan(size_t(h) * per, per),
                  std::span<const float>(qkv.k).subspan(size_t(h) * per, per), d};
}

void rebuild_masks(Problem& p) {
    const auto t0 = std::chrono::steady_clock::now();
    const Layer& layer = p.pattern.layers[size_t(p.layer)];
    p.masks.clear();
    // A flat pattern without Q/K-dependent parts is the same mask for every head: build it once
    // and let the kernel share it across heads.
    const bool shared = layer.heads.size() == 1 && !p.pattern.needs_qk();
    const int mask_heads = shared ? 1 : p.heads;
    p.masks.reserve(size_t(mask_heads));
    for (int h = 0; h < mask_heads; ++h) {
        const HeadPattern& hp = layer.heads.size() == 1 ? layer.heads[0] : layer.heads[size_t(h)];
        p.masks.emplace_back(hp, p.n, p.head_qk(h));
    }
    p.block_mask = std::make_shared<const BlockMask>(compile_block_mask(p.masks, 64));
    p.mask_build_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

ProblemShape problem_shape(const Pattern& pattern, const ProblemOptions& o) {
    ProblemShape s;
    s.n = o.n > 0 ? o.n : pattern.n;
    s.d = o.d;
    if (s.d < 1 || s.d > kMaxHeadDim)
        throw InputError("d must be in [1, " + std::to_string(kMaxHeadDim) + "], got " + std::to_string(s.d));
    if (o.layer < 0 || o.layer >= pattern.num_layers())
        throw InputError("layer " + std::to_string(o.layer) + " is out of range: the pattern has " +
                         std::to_string(pattern.num_layers()) + " layer(s)");
    const int stack_heads = pattern.num_heads(o.layer);
    if (stack_heads == 1) {
        s.heads = o.heads > 0 ? o.heads : 1;
    } else {
        if (o.heads > 0 && o.heads != stack_heads)
            throw InputError("--heads " + std::to_string(o.heads) + " does not match the pattern's " +
                             std::to_string(stack_heads) + " heads in layer " + std::to_string(o.layer) +
                             " (omit --heads)");
        s.heads = stack_heads;
    }
    if (s.heads > kMaxHeads)
        throw InputError("heads must be <= " + std::to_string(kMaxHeads) + ", got " + std::to_string(s.heads));
    const double bytes = 3.0 * 4.0 * double(s.heads) * double(s.n) * double(s.d);
    const double ram = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
    if (ram > 0 && bytes > 0.75 * ram)
        throw InputError("Q/K/V of heads=" + std::to_string(s.heads) + ", n=" + std::to_string(s.n) + ", d=" +
                         std::to_string(s.d) + " need " + std::to_string(int64_t(bytes / (1 << 20))) +
                         " MiB, more than 3/4 of this machine's memory: use fewer heads or a smaller n or d");
    return s;
}

Problem prepare_problem(const Pattern& pattern, const ProblemOptions& o) {
    Problem p;
    p.pattern = o.n > 0 ? with_n(pattern, o.n) : pattern;
    validate(p.pattern);
    const ProblemShape shape = problem_shape(p.pattern, o);
    p.n = shape.n;
    p.d = shape.d;
    p.layer = o.layer;
    p.heads = shape.heads;
    p.causal = true;
    for (const HeadPattern& hp : p.pattern.layers[size_t(p.layer)].heads) p.causal = p.causal && hp.causal;

    const bool any_path = !o.q_path.empty() || !o.k_path.empty() || !o.v_path.empty();
    if (any_path) {
        if (o.q_path.empty() || o.k_path.empty() || o.v_path.empty())
            throw InputError("give all of --q, --k and --v, or none of them");
        p.qkv.q = read_qkv(o.q_path, p.heads, p.n, p.d);
        p.qkv.k = read_qkv(o.k_path, p.heads, p.n, p.d);
        p.qkv.v = read_qkv(o.v_path, p.heads, p.n, p.d);
    } else {
        p.qkv = make_qkv(p.heads, p.n, p.d, o.seed, o.source);
    }
    rebuild_masks(p);
    return p;
}

}  // namespace salab
