#include "compare.h"

#include "errors.h"
#include "figure.h"
#include "size_limits.h"
#include "synthetic.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace salab {

MaskOverlap mask_overlap(const HeadMask& a, const HeadMask& b) {
    if (a.n() != b.n())
        throw InputError("compare needs the same n for both patterns (A has " + std::to_string(a.n()) + ", B has " +
                         std::to_string(b.n()) + "): give --n");
    MaskOverlap o;
    o.pairs = a.n() * a.n();
    std::vector<int32_t> ra, rb;
    for (int64_t i = 0; i < a.n(); ++i) {
        a.row(i, ra);
        b.row(i, rb);
        size_t x = 0, y = 0;
        while (x < ra.size() && y < rb.size()) {
            if (ra[x] == rb[y]) ++o.both, ++x, ++y;
            else if (ra[x] < rb[y]) ++o.a_only, ++x;
            else ++o.b_only, ++y;
        }
        o.a_only += int64_t(ra.size() - x);
        o.b_only += int64_t(rb.size() - y);
    }
    return o;
}

OverlapGrid overlap_grid(const HeadMask& a, const HeadMask& b, int cells) {
    if (a.n() != b.n()) throw InputError("overlap_grid needs masks of the same n");
    if (cells < 1) throw InputError("overlap_grid needs at least one cell");
    const int64_t n = a.n();
    OverlapGrid g;
    g.tokens_per_cell = n <= cells ? 1 : (n + cells - 1) / cells;
    g.cells = int((n + g.tokens_per_cell - 1) / g.tokens_per_cell);
    const size_t C = size_t(g.cells);
    std::vector<int64_t> counts(C * C * 3, 0);  // per cell: a_only, b_only, both
    std::vector<int32_t> ra, rb;
    for (int64_t i = 0; i < n; ++i) {
        a.row(i, ra);
        b.row(i, rb);
        const size_t row = size_t(i / g.tokens_per_cell) * C;
        size_t x = 0, y = 0;
        auto add = [&](int32_t j, int cls) { ++counts[(row + size_t(j / g.tokens_per_cell)) * 3 + size_t(cls)]; };
        while (x < ra.size() || y < rb.size()) {
            if (y == rb.size() || (x < ra.size() && ra[x] < rb[y])) add(ra[x++], 0);
            else if (x == ra.size() || rb[y] < ra[x]) add(rb[y++], 1);
            else add(ra[x], 2), ++x, ++y;
        }
    }
    g.colors.resize(C * C, kEmptyRgb);
    for (size_t c = 0; c < C * C; ++c) {
        const int64_t* k = &counts[c * 3];
        if (k[0] + k[1] + k[2] == 0) continue;
        const int best = k[2] >= k[0] && k[2] >= k[1] ? 2 : k[0] >= k[1] ? 0 : 1;
        g.colors[c] = best == 0 ? kCompareAOnlyRgb : best == 1 ? kCompareBOnlyRgb : kCompareBothRgb;
    }
    return g;
}

namespace {
std::string grouped(int64_t v) { return grouped_count(v); }
}  // namespace

PanelData overlap_panel(const std::string& a_name, const std::string& b_name, const HeadMask& a, const HeadMask& b,
                        int cells) {
    const OverlapGrid g = overlap_grid(a, b, cells);
    const MaskOverlap o = mask_overlap(a, b);
    PanelData p;
    p.grid = CellGrid8{g.cells, g.cells, g.colors};
    p.extent = int64_t(g.cells) * g.tokens_per_cell;
    p.title = "A = " + a_name + " vs B = " + b_name + ", n = " + grouped(a.n());
    p.legend.title = "who keeps the pair";
    p.legend.swatches = {{kCompareAOnlyRgb, "A only"}, {kCompareBOnlyRgb, "B only"}, {kCompareBothRgb, "both"},
                         {kEmptyRgb, "neither"}};
    if (g.tokens_per_cell > 1)
        p.legend.notes.push_back(std::to_string(g.tokens_per_cell) + "x" + std::to_string(g.tokens_per_cell) +
                                 " pairs per cell: most common kind");
    p.caption = "A only " + grouped(o.a_only) + "  |  B only " + grouped(o.b_only) + "  |  both " + grouped(o.both) +
                "  of " + grouped(o.pairs) + " pairs";
    return p;
}

FigureSpec compare_figure(const std::string& a_name, const std::string& b_name, const HeadMask& a, const HeadMask& b,
                          int cells) {
    if (a.n() != b.n())
        throw InputError("A has n = " + std::to_string(a.n()) + " and B has n = " + std::to_string(b.n()) +
                         ": compare them at one n");
    FigureSpec spec;
    spec.title = "A/B compare, n = " + grouped(a.n()) + ": A, B, and which pairs each keeps";
    spec.plot_size = cells;
    spec.columns = 3;
    spec.panels.push_back(mask_panel("A = " + a_name, a, cells));
    spec.panels.push_back(mask_panel("B = " + b_name, b, cells));
    spec.panels.push_back(overlap_panel(a_name, b_name, a, b, cells));
    return spec;
}

namespace {

// Dense softmax of row i of head 0 against the row's kept keys: the kept share of the dense
// weight and the largest output difference (plain loops, double accumulation, as reference.cpp).
struct RowQuality {
    double kept_mass = 0, max_diff = 0, max_dense = 0;
};

RowQuality row_quality(const Problem& p, const HeadMask& m, int64_t i, std::vector<double>& logits,
                       std::vector<int32_t>& keys) {
    const int64_t n = p.n, d = p.d;
    const float* q = p.qkv.q.data() + size_t(i * d);
    const float* K = p.qkv.k.data();
    const float* V = p.qkv.v.data();
    const double scale = 1.0 / std::sqrt(double(d));
    // Dense attention over the causal range when the pattern is causal (the dense comparison is).
    const int64_t jend = p.causal ? i + 1 : n;
    logits.assign(size_t(jend), 0.0);
    double mx = -1e300;
    for (int64_t j = 0; j < jend; ++j) {
        double s = 0;
        for (int64_t t = 0; t < d; ++t) s += double(q[t]) * double(K[j * d + t]);
        logits[size_t(j)] = s * scale;
        mx = std::max(mx, logits[size_t(j)]);
    }
    double z = 0;
    for (double& l : logits) z += (l = std::exp(l - mx));
    m.row(i, keys);
    RowQuality r;
    double zk = 0;
    for (int32_t j : keys)
        if (j < jend) zk += logits[size_t(j)];
    r.kept_mass = zk / z;
    std::vector<double> od(size_t(d), 0.0), os(size_t(d), 0.0);
    for (int64_t j = 0; j < jend; ++j)
        for (int64_t t = 0; t < d; ++t) od[size_t(t)] += logits[size_t(j)] / z * double(V[j * d + t]);
    if (zk > 0)
        for (int32_t j : keys)
            if (j < jend)
                for (int64_t t = 0; t < d; ++t) os[size_t(t)] += logits[size_t(j)] / zk * double(V[j * d + t]);
    for (int64_t t = 0; t < d; ++t) {
        r.max_diff = std::max(r.max_diff, std::fabs(os[size_t(t)] - od[size_t(t)]));
        r.max_dense = std::max(r.max_dense, std::fabs(od[size_t(t)]));
    }
    return r;
}

void fill_hops(const Problem& p, const CompareOptions& o, PatternStats& s) {
    if (!o.hops) {
        s.hops_missing = "not asked";
        return;
    }
    try {
        std::vector<std::vector<HeadMask>> layers;
        if (p.pattern.num_layers() == 1) {
            layers.emplace_back();
            for (int h = 0; h < p.heads; ++h) layers.back().push_back(p.mask(h));
        } else {
            for (int l = 0; l < p.pattern.num_layers(); ++l) {
                layers.emplace_back();
                for (const HeadPattern& hp : p.pattern.layers[size_t(l)].heads) {
                    for (const Component& c : hp.components)
                        if (needs_qk(c)) throw InputError("content heads in a stack: use salab-cli hops");
                    layers.back().emplace_back(hp, p.n);
                }
            }
        }
        std::vector<std::vector<HeadCost>> costs;
        for (const auto& l : layers) {
            costs.emplace_back();
            for (const HeadMask& m : l) costs.back().push_back(head_cost(m));
        }
        check_hops(costs, p.n);
        HopsStack stack;
        for (const auto& l : layers) {
            stack.emplace_back();
            for (const HeadMask& m : l) stack.back().push_back(build_csr(m));
        }
        s.hops = analyze_hops(stack, hops_causal_pairs(p.pattern), o.hops_options);
    } catch (const InputError& e) {
        s.hops_missing = e.what();
    }
}

}  // namespace

PatternStats pattern_stats(const Problem& p, const CompareOptions& o) {
    PatternStats s;
    s.name = p.pattern.name;
    s.n = p.n;
    s.heads = p.heads;
    s.kept_pairs = p.kept_pairs();
    s.density = p.density();
    const int64_t n = p.n;
    if (p.qkv.q.size() < size_t(n * p.d) || p.qkv.v.size() < size_t(n * p.d))
        throw InputError("compare needs the problem's Q/K/V (prepare_problem generates them)");
    const int64_t rows = n <= o.exact_rows_up_to ? n : std::min(n, o.sample_rows);
    s.rows_used = rows;
    s.sampled = rows < n;
    std::vector<double> logits;
    std::vector<int32_t> keys;
    double mass = 0, diff = 0, dense = 0;
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = rows == n ? r : (2 * r + 1) * n / (2 * rows);
        const RowQuality q = row_quality(p, p.mask(0), i, logits, keys);
        mass += q.kept_mass;
        diff = std::max(diff, q.max_diff);
        dense = std::max(dense, q.max_dense);
    }
    s.kept_mass = rows ? mass / double(rows) : 0.0;
    s.output_error = diff / std::max(dense, 1e-30);
    fill_hops(p, o, s);
    return s;
}

CompareReport compare_problems(const Problem& a, const Problem& b, const CompareOptions& o) {
    if (a.n != b.n)
        throw InputError("compare needs the same n for both patterns (A has " + std::to_string(a.n) + ", B has " +
                         std::to_string(b.n) + "): give --n");
    CompareReport r;
    r.layer = a.layer;
    r.overlap = mask_overlap(a.mask(0), b.mask(0));
    r.a = pattern_stats(a, o);
    r.b = pattern_stats(b, o);
    return r;
}

std::optional<double> ratio(double a, double b) {
    if (a == 0) return b == 0 ? std::optional<double>(1.0) : std::nullopt;
    return b / a;
}

namespace {

nlohmann::json stats_json(const PatternStats& s) {
    nlohmann::json j = {{"pattern", s.name},         {"n", s.n},
                        {"heads", s.heads},          {"kept_pairs", s.kept_pairs},
                        {"density", s.density},      {"kept_mass", s.kept_mass},
                        {"output_error", s.output_error}, {"quality_rows", s.rows_used},
                        {"quality_sampled", s.sampled}};
    if (s.hops) {
        j["diameter"] = s.hops->diameter ? nlohmann::json(*s.hops->diameter) : nlohmann::json(nullptr);
        j["mean_hops"] = s.hops->mean_hops;
        j["unreachable_pairs"] = s.hops->unreachable_pairs;
        j["hops_exact"] = s.hops->exact;
    } else {
        j["hops_missing"] = s.hops_missing;
    }
    if (s.sparse_ms) {
        j["sparse_ms"] = *s.sparse_ms;
        j["path"] = s.path;
    } else {
        j["time_missing"] = s.time_missing;
    }
    return j;
}

nlohmann::json ratio_json(double a, double b) {
    const auto r = ratio(a, b);
    return r ? nlohmann::json(*r) : nlohmann::json(nullptr);
}

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

}  // namespace

std::string to_json(const CompareReport& r) {
    nlohmann::json j;
    j["a"] = stats_json(r.a);
    j["b"] = stats_json(r.b);
    j["layer"] = r.layer;
    j["overlap"] = {{"head", 0}, {"a_only", r.overlap.a_only}, {"b_only", r.overlap.b_only},
                    {"both", r.overlap.both}, {"pairs", r.overlap.pairs}};
    nlohmann::json q;
    q["density"] = ratio_json(r.a.density, r.b.density);
    q["kept_pairs"] = ratio_json(double(r.a.kept_pairs), double(r.b.kept_pairs));
    q["kept_mass"] = ratio_json(r.a.kept_mass, r.b.kept_mass);
    q["output_error"] = ratio_json(r.a.output_error, r.b.output_error);
    if (r.a.hops && r.b.hops) q["mean_hops"] = ratio_json(r.a.hops->mean_hops, r.b.hops->mean_hops);
    if (r.a.sparse_ms && r.b.sparse_ms) q["sparse_ms"] = ratio_json(*r.a.sparse_ms, *r.b.sparse_ms);
    j["ratio_b_over_a"] = q;
    return j.dump();
}

std::string to_text(const CompareReport& r) {
    std::string out;
    auto row = [&](const std::string& what, const std::string& a, const std::string& b, std::optional<double> q) {
        char buf[256];
        std::snprintf(buf, sizeof buf, "  %-22s %16s %16s %10s\n", what.c_str(), a.c_str(), b.c_str(),
                      q ? fmt("%.3g", *q).c_str() : "-");
        out += buf;
    };
    auto num_row = [&](const std::string& what, const char* f, double a, double b) {
        row(what, fmt(f, a), fmt(f, b), ratio(a, b));
    };
    char head[256];
    std::snprintf(head, sizeof head, "A = %s, B = %s, n = %lld, layer %d\n", r.a.name.c_str(), r.b.name.c_str(),
                  (long long)r.a.n, r.layer);
    out += head;
    char cols[256];
    std::snprintf(cols, sizeof cols, "  %-22s %16s %16s %10s\n", "", "A", "B", "B/A");
    out += cols;
    num_row("density", "%.4g", r.a.density, r.b.density);
    num_row("kept pairs", "%.0f", double(r.a.kept_pairs), double(r.b.kept_pairs));
    const std::string qnote = r.a.sampled ? " (" + std::to_string(r.a.rows_used) + " rows)" : "";
    num_row("kept mass" + qnote, "%.4f", r.a.kept_mass, r.b.kept_mass);
    num_row("output error" + qnote, "%.3g", r.a.output_error, r.b.output_error);
    auto diam = [](const PatternStats& s) {
        if (!s.hops) return std::string("n/a");
        return s.hops->diameter ? std::to_string(*s.hops->diameter) : std::string("unreachable");
    };
    row(std::string("diameter (hops)") + (r.a.hops && !r.a.hops->exact ? " sampled" : ""), diam(r.a), diam(r.b),
        r.a.hops && r.b.hops && r.a.hops->diameter && r.b.hops->diameter
            ? ratio(*r.a.hops->diameter, *r.b.hops->diameter) : std::nullopt);
    if (r.a.hops && r.b.hops)
        num_row("mean hops", "%.3f", r.a.hops->mean_hops, r.b.hops->mean_hops);
    if (r.a.sparse_ms && r.b.sparse_ms)
        num_row("sparse time (ms)", "%.4g", *r.a.sparse_ms, *r.b.sparse_ms);
    else
        out += "  sparse time: " + (r.a.time_missing.empty() ? r.b.time_missing : r.a.time_missing) + "\n";
    for (const PatternStats* s : {&r.a, &r.b})
        if (!s->hops) out += "  hops of " + s->name + ": " + s->hops_missing + "\n";
    const MaskOverlap& o = r.overlap;
    const double p = double(std::max<int64_t>(1, o.pairs));
    out += "overlap (head 0): A only " + std::to_string(o.a_only) + fmt(" (%.3g%%)", 100 * double(o.a_only) / p) + ", B only " +
           std::to_string(o.b_only) + fmt(" (%.3g%%)", 100 * double(o.b_only) / p) + ", both " + std::to_string(o.both) +
           fmt(" (%.3g%%)", 100 * double(o.both) / p) + " of " + std::to_string(o.pairs) + " pairs\n";
    return out;
}

}  // namespace salab
