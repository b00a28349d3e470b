// The tour's chapters and the facts behind their sentences (see tour.h).
#include "tour.h"

#include "block_mask.h"
#include "hops.h"
#include "live_problem.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace salab {

namespace {

Component window(int64_t radius) {
    Component c;
    c.type = ComponentType::window;
    c.radius = radius;
    return c;
}
Component global_every(int64_t every) {
    Component c;
    c.type = ComponentType::global;
    c.every = every;
    return c;
}
Component random_keys(int64_t r, uint64_t seed) {
    Component c;
    c.type = ComponentType::random;
    c.per_query = r;
    c.seed = seed;
    return c;
}

Pattern flat(std::string name, int64_t n, std::vector<Component> comps, bool causal = false) {
    Pattern p;
    p.name = std::move(name);
    p.n = n;
    p.layers = {Layer{{HeadPattern{causal, std::move(comps)}}}};
    return p;
}

std::vector<TourChapter> make_chapters() {
    std::vector<TourChapter> ch;
    Component dense;
    dense.type = ComponentType::dense;
    ch.push_back({"dense", "Dense attention costs n squared", flat("Tour: dense", 1024, {dense}), 512});
    ch.push_back({"window", "A sliding window and its receptive field", flat("Tour: window", 1000, {window(4)}), 500});
    ch.push_back({"window_hops", "A window alone needs about n / w layers", flat("Tour: window", 1000, {window(4)}), 0});
    ch.back().hop_to = false;
    ch.push_back({"global", "Global tokens: every pair within 2 hops",
                  flat("Tour: window + globals", 1000, {window(4), global_every(250)}), 600});
    ch.push_back({"random", "Random keys: small-world shortcuts",
                  flat("Tour: window + random", 1000, {window(4), random_keys(2, 0)}), 0});
    ch.back().hop_to = false;
    ch.push_back({"hybrid", "The illustrated hybrid: 15 keys instead of 1,000",
                  flat("Illustrated hybrid", 1000, {window(4), global_every(250), random_keys(2, 0)}), 600});
    ch.back().color_by_component = true;
    Component strided;
    strided.type = ComponentType::strided;
    strided.stride = 32;
    ch.push_back({"strided", "Strided (Sparse Transformer): sqrt(n) keys, 2 hops",
                  flat("Tour: strided", 1024, {strided}), 512});
    ch.back().show_blocks = true;
    Component block;
    block.type = ComponentType::block;
    block.block = 64;
    block.window_blocks = 1;
    block.global_blocks = 1;
    block.random_blocks = 1;
    ch.push_back({"blocks", "Block-sparse: the patterns hardware likes",
                  flat("Tour: BigBird blocks", 1024, {block}), 512});
    ch.back().show_blocks = true;
    Component bigbird = block;
    bigbird.global_blocks = 2;
    bigbird.random_blocks = 3;
    ch.push_back({"quality", "Quality and cost: kept mass, error, speedup",
                  flat("BigBird", 4096, {bigbird}), 2048});
    Component topk;
    topk.type = ComponentType::topk;
    topk.k = 32;
    ch.push_back({"content", "Content-based: top-k and LSH", flat("Tour: top-k", 1024, {topk}), 512});
    return ch;
}

bool same_structure(const Pattern& a, const Pattern& b) {
    if (!a.is_flat() || !b.is_flat()) return false;
    const auto& ca = a.layers[0].heads[0].components;
    const auto& cb = b.layers[0].heads[0].components;
    if (ca.size() != cb.size()) return false;
    for (size_t c = 0; c < ca.size(); ++c)
        if (ca[c].type != cb[c].type) return false;
    return true;
}

std::string fixed(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}
std::string pct(double share) {
    const double p = 100 * share;
    return fixed(p, p >= 10 || p == 0 ? 0 : p >= 1 ? 1 : 2) + "%";
}

// The page being written: facts recorded as they are quoted.
struct Writer {
    TourPage page;
    double put(const std::string& name, double v) {
        page.facts.push_back({name, v});
        return v;
    }
    std::string i(const std::string& name, double v) { return tour_int(put(name, v)); }
    std::string f(const std::string& name, double v, int digits) { return fixed(put(name, v), digits); }
    std::string p(const std::string& name, double v) { return pct(put(name, v)); }
    void say(std::string s) { page.sentences.push_back(std::move(s)); }
};

struct Counts {
    int64_t pairs = 0;
    int64_t keys_min = 0, keys_max = 0;
    double keys_mean = 0;
};
Counts count_pairs(const HeadMask& m) {
    Counts c;
    c.keys_min = m.n();
    std::vector<KeyRun> runs;
    for (int64_t i = 0; i < m.n(); ++i) {
        m.row_runs(i, runs);
        int64_t k = 0;
        for (const KeyRun& r : runs) k += r.hi - r.lo;
        c.pairs += k;
        c.keys_min = std::min(c.keys_min, k);
        c.keys_max = std::max(c.keys_max, k);
    }
    c.keys_mean = m.n() ? double(c.pairs) / double(m.n()) : 0;
    return c;
}

HopsReport hops_of(const HeadMask& m) {
    return analyze_hops(HopsStack{{build_csr(m)}}, m.pattern().causal);
}

const Component* find(const Pattern& p, ComponentType t) {
    for (const Component& c : p.layers[0].heads[0].components)
        if (c.type == t) return &c;
    return nullptr;
}

// The same head with only the components of type t kept.
HeadPattern only(const HeadPattern& h, ComponentType t) {
    HeadPattern o{h.causal, {}};
    for (const Component& c : h.components)
        if (c.type == t) o.components.push_back(c);
    return o;
}

std::string diameter_text(const HopsReport& r) {
    return r.diameter ? tour_int(*r.diameter) : std::string("unreachable");
}

double efficiency(const HeadMask& m, Writer* w, const std::string& prefix) {
    const BlockStats s = block_stats(compile_block_mask(std::vector<HeadMask>{m}, 64, 1));
    if (w) {
        w->put(prefix + "listed_blocks", double(s.listed_blocks));
        w->put(prefix + "full_blocks", double(s.full_blocks));
        w->put(prefix + "partial_blocks", double(s.partial_blocks));
        w->put(prefix + "visited_pairs", double(s.visited_pairs));
        w->put(prefix + "kept_pairs", double(s.kept_pairs));
    }
    return s.visited_pairs ? double(s.kept_pairs) / double(s.visited_pairs) : 1.0;
}

}  // namespace

const std::vector<TourChapter>& tour_chapters() {
    static const std::vector<TourChapter> ch = make_chapters();
    return ch;
}

double TourPage::fact(const std::string& name) const {
    for (const TourFact& f : facts)
        if (f.name == name) return f.value;
    throw std::out_of_range("tour page \"" + title + "\" has no fact \"" + name + "\"");
}
bool TourPage::has(const std::string& name) const {
    return std::any_of(facts.begin(), facts.end(), [&](const TourFact& f) { return f.name == name; });
}

std::string tour_int(double v) {
    const long long x = std::llround(v);
    std::string digits = std::to_string(x < 0 ? -x : x), out;
    for (size_t k = 0; k < digits.size(); ++k) {
        if (k && (digits.size() - k) % 3 == 0) out += ',';
        out += digits[k];
    }
    return (x < 0 ? "-" : "") + out;
}

double kept_mass_cpu(const HeadMask& mask, const QKV& qkv, int h, int64_t d, int64_t rows) {
    const int64_t n = mask.n();
    if (n <= 0 || rows <= 0) return 0;
    rows = std::min(rows, n);
    const HeadQK qk = head_qk(qkv, h, n, d);
    const double scale = 1.0 / std::sqrt(double(d));
    std::vector<double> s(static_cast<size_t>(n));
    std::vector<int32_t> keys;
    double total = 0;
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = rows == 1 ? 0 : r * (n - 1) / (rows - 1);
        const bool causal = mask.pattern().causal;
        const int64_t lim = causal ? i + 1 : n;
        double mx = -1e300;
        for (int64_t j = 0; j < lim; ++j) {
            double dot = 0;
            for (int64_t a = 0; a < d; ++a) dot += double(qk.q[size_t(i * d + a)]) * double(qk.k[size_t(j * d + a)]);
            s[size_t(j)] = dot * scale;
            mx = std::max(mx, s[size_t(j)]);
        }
        double z = 0;
        for (int64_t j = 0; j < lim; ++j) z += (s[size_t(j)] = std::exp(s[size_t(j)] - mx));
        mask.row(i, keys);
        double kept = 0;
        for (int32_t j : keys) kept += s[size_t(j)];
        total += kept / z;
    }
    return total / double(rows);
}

TourPage tour_page(int k, const LiveParams& live, int64_t token, const TourMeasurements& m) {
    const auto& chapters = tour_chapters();
    if (k < 0 || k >= int(chapters.size())) throw std::out_of_range("tour chapter " + std::to_string(k) + " does not exist");
    const TourChapter& ch = chapters[size_t(k)];
    Writer w;
    w.page.title = ch.title;
    LiveParams p = live;
    if (!same_structure(p.pattern, ch.pattern) || p.pattern.n > tour_max_tokens) {
        w.page.note = "The pattern differs from this chapter's; the numbers below are for the chapter's pattern "
                      "(\"Reset chapter\" shows it).";
        p.pattern = ch.pattern;
        token = ch.token;
    }
    validate(p.pattern);
    const int64_t n = p.pattern.n;
    token = std::clamp<int64_t>(token, 0, n - 1);
    const HeadPattern& head = p.pattern.layers[0].heads[0];
    const std::string tok = tour_int(double(token));
    std::vector<int32_t> row;

    if (ch.key == "dense") {
        const HeadMask mask(head, n);
        const Counts c = count_pairs(mask);
        const Counts c2 = count_pairs(HeadMask(head, 2 * n));
        w.say("Every one of the " + w.i("n", double(n)) + " queries reads all " + w.i("keys_per_query", c.keys_mean) +
              " keys: " + w.i("pairs", double(c.pairs)) + " scores per head and layer (density " +
              w.p("density", double(c.pairs) / (double(n) * double(n))) + ").");
        w.say("As f32 that is " + w.f("score_mib", double(c.pairs) * 4 / 1048576.0, 1) + " MiB per head; at n = " +
              tour_int(2 * double(n)) + " it is " + w.i("pairs_2n", double(c2.pairs)) + " scores, " +
              w.f("growth_2n", double(c2.pairs) / double(c.pairs), 1) + "x as many: cost grows with n squared.");
        w.say("Everything after this chapter is about which of these pairs can be skipped.");
    } else if (ch.key == "window") {
        const HeadMask mask(head, n);
        const Component* win = find(p.pattern, ComponentType::window);
        mask.row(token, row);
        const HopsGraph g(build_csr(mask));
        const TokenHops th = token_hops(g, token);
        auto within = [&](int L) {
            return double(std::count_if(th.to.begin(), th.to.end(), [L](int x) { return x >= 0 && x <= L; }));
        };
        const double r1 = within(1), r2 = within(2), r3 = within(3);
        w.say("With a window of radius w = " + w.i("w", double(win->radius * win->dilation)) + ", token " + tok +
              " reads " + w.i("keys", double(row.size())) + " keys: itself and its neighbours on each side.");
        w.say("Stacking layers widens what it has heard from: " + w.i("rf1", r1) + " tokens after 1 layer, " +
              w.i("rf2", r2) + " after 2, " + w.i("rf3", r3) + " after 3 - " + w.i("growth", r2 - r1) +
              " more per layer (w on each side).");
        w.say("The hop view colours each token by the layers it needs to reach token " + tok + ".");
    } else if (ch.key == "window_hops") {
        const HeadMask mask(head, n);
        const Component* win = find(p.pattern, ComponentType::window);
        const HopsReport r = hops_of(mask);
        const auto theory = theory_diameter_window(n, win->radius * win->dilation);
        w.put("w", double(win->radius * win->dilation));
        if (r.diameter) w.put("diameter", *r.diameter);
        w.say("Information moves at most w = " + tour_int(double(win->radius * win->dilation)) +
              " tokens per layer, so the two ends of the sequence are " + diameter_text(r) +
              " layers apart: a window alone needs ceil((n - 1) / w) = " +
              (theory ? w.i("theory", double(*theory)) : std::string("infinitely many")) + " layers to connect " +
              tour_int(double(n)) + " tokens.");
        w.say("After one layer only " + w.p("reach1", r.reach_after_layers.empty() ? 0 : r.reach_after_layers[0]) +
              " of the token pairs are connected; on average a pair is " + w.f("mean_hops", r.mean_hops, 1) +
              " hops apart. Real models have 12-80 layers, not hundreds.");
    } else if (ch.key == "global" || ch.key == "random") {
        const HeadMask mask(head, n);
        const HopsReport r = hops_of(mask);
        const HopsReport rw = hops_of(HeadMask(only(head, ComponentType::window), n));
        const Counts c = count_pairs(mask);
        if (r.diameter) w.put("diameter", *r.diameter);
        if (rw.diameter) w.put("window_diameter", *rw.diameter);
        if (ch.key == "global") {
            const Component* g = find(p.pattern, ComponentType::global);
            std::string list;
            int64_t count = 0;
            for (int64_t t = 0; t < n; ++t)
                if (t < g->first || (g->every > 0 && t % g->every == 0) ||
                    std::find(g->tokens.begin(), g->tokens.end(), t) != g->tokens.end()) {
                    if (++count <= 6) list += (list.empty() ? "" : ", ") + tour_int(double(t));
                }
            if (count > 6) list += ", ...";
            w.say(w.i("globals", double(count)) + " tokens (" + list +
                  ") are global: each reads every key and every query reads it - hubs of the graph.");
            w.say("Any token now reaches any other in at most " + diameter_text(r) +
                  " hops (key -> hub -> query), against " + diameter_text(rw) + " for the window alone.");
            w.say("The price: " + w.f("keys_mean", c.keys_mean, 1) + " keys per query on average (density " +
                  w.p("density", double(c.pairs) / (double(n) * double(n))) + "), and the hubs' rows are dense.");
        } else {
            const Component* rnd = find(p.pattern, ComponentType::random);
            w.say(w.i("random", double(rnd->per_query)) + " random keys per query cut the diameter from " +
                  diameter_text(rw) + " to " + diameter_text(r) + " hops (mean " + w.f("mean_hops", r.mean_hops, 2) +
                  ", window alone " + w.f("window_mean_hops", rw.mean_hops, 1) + ").");
            w.say("Like the shortcuts of a small-world network, a few long edges put every token close to every "
                  "other, with no token chosen by hand; density stays " +
                  w.p("density", double(c.pairs) / (double(n) * double(n))) + ".");
        }
    } else if (ch.key == "hybrid") {
        const HeadMask mask(head, n);
        mask.row(token, row);
        std::string win_txt, glob_txt, rnd_txt;
        std::vector<int32_t> part;
        const auto& comps = head.components;
        for (size_t c = 0; c < comps.size(); ++c) {
            mask.component_row(c, token, part);
            if (comps[c].type == ComponentType::window && !part.empty()) {
                win_txt = "the window " + w.i("window_lo", part.front()) + "-" + w.i("window_hi", part.back());
                w.put("window_keys", double(part.size()));
            } else if (comps[c].type == ComponentType::global) {
                // The global columns this row reads (its own row is dense only if it is a hub).
                std::vector<int32_t> cols;
                const Component& g = comps[c];
                for (int64_t t = 0; t < n; ++t)
                    if (t < g.first || (g.every > 0 && t % g.every == 0) ||
                        std::find(g.tokens.begin(), g.tokens.end(), t) != g.tokens.end())
                        cols.push_back(int32_t(t));
                w.put("global_keys", double(cols.size()));
                glob_txt = "the globals ";
                for (size_t x = 0; x < cols.size() && x < 6; ++x) glob_txt += (x ? ", " : "") + tour_int(cols[x]);
                if (cols.size() > 6) glob_txt += ", ...";
            } else if (comps[c].type == ComponentType::random) {
                w.put("random_keys", double(part.size()));
                rnd_txt = tour_int(double(part.size())) + " random keys (";
                for (size_t x = 0; x < part.size(); ++x) rnd_txt += (x ? ", " : "") + tour_int(part[x]);
                rnd_txt += ")";
            }
        }
        std::string parts = win_txt;
        for (const std::string& s : {glob_txt, rnd_txt})
            if (!s.empty()) parts += (parts.empty() ? "" : ", ") + s;
        w.say("Token " + tok + " keeps " + w.i("keys", double(row.size())) + " of " + tour_int(double(n)) +
              " keys: " + parts + " - " + w.f("fewer", double(n) / double(row.size()), 0) + "x fewer than dense.");
        std::vector<int32_t> hub_row;
        const Component* g = find(p.pattern, ComponentType::global);
        const int64_t hub = g && g->every > 0 && n > 2 * g->every ? 2 * g->every : 0;
        mask.row(hub, hub_row);
        w.put("hub", double(hub));
        const Counts c = count_pairs(mask);
        w.say("A global token such as " + tour_int(double(hub)) + " is a hub both ways: its own row reads all " +
              w.i("hub_keys", double(hub_row.size())) + " keys, so the 2-hop paths exist (diameter " +
              [&] { const HopsReport r = hops_of(mask); if (r.diameter) w.put("diameter", *r.diameter); return diameter_text(r); }() +
              ").");
        w.say("Over all rows: " + w.f("keys_mean", c.keys_mean, 1) + " keys per query, density " +
              w.p("density", double(c.pairs) / (double(n) * double(n))) + ".");
    } else if (ch.key == "strided") {
        const HeadMask mask(head, n);
        const Counts c = count_pairs(mask);
        const HopsReport r = hops_of(mask);
        if (r.diameter) w.put("diameter", *r.diameter);
        const Component* s = find(p.pattern, ComponentType::strided);
        const double eff = efficiency(mask, &w, "");
        w.say("Strided with l = " + w.i("stride", double(s->stride)) + ": each query reads its l - 1 neighbours on each "
              "side and every l-th token, " + w.f("keys_mean", c.keys_mean, 0) + " keys on average (about 2l + n / l), "
              "and any two tokens are " + diameter_text(r) + " hops apart.");
        w.say("The columns every " + tour_int(double(s->stride)) + " tokens cut through the 64 x 64 blocks a GPU kernel "
              "works in: " + tour_int(w.page.fact("partial_blocks")) + " of its " + tour_int(w.page.fact("listed_blocks")) +
              " visited blocks are partial, so only " + w.p("efficiency", eff) + " of the scores it computes are kept.");
        w.say("The block overlay (B) shows the blocks: full ones solid, partial ones outlined.");
    } else if (ch.key == "blocks") {
        const HeadMask mask(head, n);
        const double eff = efficiency(mask, &w, "");
        Component s;
        s.type = ComponentType::strided;
        s.stride = 32;
        const double eff_s = efficiency(HeadMask(HeadPattern{head.causal, {s}}, n), nullptr, "");
        w.say("BigBird keeps whole 64 x 64 blocks: " + tour_int(w.page.fact("full_blocks")) + " of the " +
              tour_int(w.page.fact("listed_blocks")) + " blocks the kernel visits are full, so " + w.p("efficiency", eff) +
              " of the computed scores are kept.");
        w.say("Strided (l = 32) at the same n keeps only " + w.p("strided_efficiency", eff_s) +
              " of what it computes: tensor cores multiply whole tiles, so patterns made of tiles run near 1 / density "
              "and scattered ones do not.");
    } else if (ch.key == "quality") {
        const HeadMask mask(head, n);
        const Counts c = count_pairs(mask);
        const double density = double(c.pairs) / (double(n) * double(n));
        w.say("Density " + w.p("density", density) + ": a kernel that skipped work perfectly would be 1 / density = " +
              w.f("ideal_speedup", 1 / density, 1) + "x faster than dense.");
        if (m.sparse_ms && m.dense_ms && *m.sparse_ms > 0)
            w.say("Measured" + (m.device.empty() ? std::string() : " on " + m.device) + ": sparse " +
                  w.f("sparse_ms", *m.sparse_ms, 3) + " ms, dense " + w.f("dense_ms", *m.dense_ms, 3) + " ms, " +
                  w.f("speedup", *m.dense_ms / *m.sparse_ms, 1) + "x (Kernel timing).");
        else
            w.say("The measured speedup appears here once the kernel timing has both runs.");
        if (m.kept_mass)
            w.say("The sparse layer keeps " + w.p("kept_mass", *m.kept_mass) + " of the dense attention mass" +
                  (m.rel_error ? "; its output differs from dense by " + w.p("rel_error", *m.rel_error) + " (relative)"
                               : std::string()) + ": that, not density, is the quality you pay.");
        else
            w.say("Kept attention mass and output error appear here once the accuracy run is done.");
    } else if (ch.key == "content") {
        const QKV qkv = make_qkv(p, 1);
        const HeadQK qk = head_qk(qkv, 0, n, p.d);
        const HeadMask mask(head, n, qk);
        const Counts c = count_pairs(mask);
        const Component* t = find(p.pattern, ComponentType::topk);
        const int64_t kk = t->k;
        const int64_t rows = std::min<int64_t>(n, 64);
        const double km = kept_mass_cpu(mask, qkv, 0, p.d, rows);
        const int64_t rad = std::max<int64_t>(0, (kk - 1) / 2);
        const double kmw = kept_mass_cpu(HeadMask(HeadPattern{head.causal, {window(rad)}}, n), qkv, 0, p.d, rows);
        w.put("keys_max", double(c.keys_max));
        w.say("Top-k with k = " + w.i("k", double(kk)) + " keeps the " + tour_int(double(kk)) +
              " keys with the largest q.k of each row (" + w.f("keys_mean", c.keys_mean, 1) +
              " on average): the pattern follows the content, not the positions.");
        w.say("On this Q/K it holds " + w.p("kept_mass", km) + " of the dense attention mass (" + tour_int(double(rows)) +
              " rows), a window of " + w.i("window_keys", double(2 * rad + 1)) + " keys " + w.p("window_kept_mass", kmw) + ".");
        Component lsh;
        lsh.type = ComponentType::lsh;
        lsh.buckets = 16;
        const Counts cl = count_pairs(HeadMask(HeadPattern{head.causal, {lsh}}, n, qk));
        w.say("LSH (Reformer) gets there without the n x n scores: queries and keys hashed into 16 buckets meet "
              "only in their own bucket, " + w.f("lsh_keys_mean", cl.keys_mean, 1) + " keys per query here.");
    }
    return w.page;
}

}  // namespace salab
