#include "advisor.h"

#include "attention.h"
#include "block_mask.h"
#include "file_io.h"
#include "hops.h"
#include "kernel_plan.h"
#include "live_problem.h"
#include "mask.h"
#include "size_limits.h"
#include "threads.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <set>
#include <thread>

namespace salab {

namespace {

using nlohmann::json;

// The integer fields a param may vary, per component type.
int64_t* field_of(Component& c, std::string_view f) {
    using T = ComponentType;
    auto is = [&](std::initializer_list<T> ts) { return std::find(ts.begin(), ts.end(), c.type) != ts.end(); };
    if (f == "radius" && is({T::window})) return &c.radius;
    if (f == "dilation" && is({T::window})) return &c.dilation;
    if (f == "first" && is({T::global})) return &c.first;
    if (f == "every" && is({T::global})) return &c.every;
    if (f == "per_query" && is({T::random})) return &c.per_query;
    if (f == "stride" && is({T::strided})) return &c.stride;
    if (f == "block" && is({T::fixed, T::block})) return &c.block;
    if (f == "summary" && is({T::fixed})) return &c.summary;
    if (f == "window_blocks" && is({T::block})) return &c.window_blocks;
    if (f == "global_blocks" && is({T::block})) return &c.global_blocks;
    if (f == "random_blocks" && is({T::block})) return &c.random_blocks;
    if (f == "buckets" && is({T::lsh})) return &c.buckets;
    if (f == "rounds" && is({T::lsh})) return &c.rounds;
    if (f == "k" && is({T::topk})) return &c.k;
    return nullptr;
}

std::string fields_of(ComponentType t) {
    switch (t) {
    case ComponentType::window: return "radius, dilation";
    case ComponentType::global: return "first, every";
    case ComponentType::random: return "per_query";
    case ComponentType::strided: return "stride";
    case ComponentType::fixed: return "block, summary";
    case ComponentType::block: return "block, window_blocks, global_blocks, random_blocks";
    case ComponentType::lsh: return "buckets, rounds";
    case ComponentType::topk: return "k";
    case ComponentType::dense: return "none";
    }
    return "none";
}

[[noreturn]] void fail(const std::string& msg) { throw InputError("family: " + msg); }

int64_t get_int(const json& j, const std::string& where) {
    if (j.is_boolean()) return j.get<bool>() ? 1 : 0;
    if (!j.is_number_integer()) fail(where + " must be an integer, got " + j.dump());
    return j.get<int64_t>();
}

void apply(Pattern& p, const FamilyParam& fp, int64_t value) {
    HeadPattern& h = p.layers[0].heads[0];
    if (fp.component < 0) {
        h.causal = value != 0;
        return;
    }
    *field_of(h.components[size_t(fp.component)], fp.field) = value;
}

std::string cost_name(CostModel c) {
    switch (c) {
    case CostModel::measured: return "measured";
    case CostModel::density: return "density";
    case CostModel::blocks: return "blocks";
    }
    return "?";
}

// Runs f(r) for r in [0, count) on the machine's threads.
template <class F>
void parallel_rows(int64_t count, const F& f) {
    const int t = std::max(1, std::min<int>(available_cpus(), int((count + 63) / 64)));
    std::vector<std::thread> pool;
    std::atomic<int64_t> next{0};
    auto work = [&](int) {
        for (;;) {
            const int64_t r0 = next.fetch_add(64);
            if (r0 >= count) return;
            for (int64_t r = r0; r < std::min(count, r0 + 64); ++r) f(r);
        }
    };
    for (int i = 1; i < t; ++i) pool.emplace_back(work, i);
    work(0);
    for (auto& th : pool) th.join();
}

}  // namespace

int64_t Family::size() const {
    int64_t s = 1;
    for (const FamilyParam& p : params) s *= int64_t(p.values.size());
    return s;
}

Family parse_family(std::string_view text) {
    check_json_depth(text, "family");
    json j;
    try {
        j = json::parse(text);
    } catch (const json::parse_error& e) {
        std::string w = e.what();
        if (auto c = w.find(": "); c != std::string::npos && w.rfind("[json", 0) == 0) w = w.substr(c + 2);
        fail("invalid JSON: " + w);
    }
    if (!j.is_object()) fail("expected a JSON object with \"base\" and \"params\"");
    for (auto it = j.begin(); it != j.end(); ++it)
        if (it.key() != "name" && it.key() != "description" && it.key() != "base" && it.key() != "params")
            fail("unknown key " + error_quote(it.key()) + " (expected name, description, base, params)");
    Family f;
    if (j.contains("name")) {
        if (!j["name"].is_string()) fail("name must be a string");
        f.name = j["name"].get<std::string>();
    }
    if (!j.contains("base") || !j["base"].is_object()) fail("\"base\" must be a pattern object (docs/pattern-format.md)");
    try {
        f.base = parse_pattern(j["base"].dump());
    } catch (const InputError& e) {
        fail(std::string("base ") + e.what());
    }
    if (!f.base.is_flat()) fail("base must be a flat pattern (one layer, one head)");
    if (!j.contains("params") || !j["params"].is_array() || j["params"].empty())
        fail("\"params\" must be a non-empty list of {name, component, field, values | range}");
    HeadPattern& head = f.base.layers[0].heads[0];
    int i = -1;
    for (const json& pj : j["params"]) {
        ++i;
        std::string where = "params[" + std::to_string(i) + "]";
        if (!pj.is_object()) fail(where + " must be an object");
        FamilyParam fp;
        for (auto it = pj.begin(); it != pj.end(); ++it)
            if (it.key() != "name" && it.key() != "component" && it.key() != "field" && it.key() != "values" &&
                it.key() != "range")
                fail(where + ": unknown key " + error_quote(it.key()) + " (expected name, component, field, values, range)");
        if (!pj.contains("field") || !pj["field"].is_string()) fail(where + ": \"field\" (a string) is missing");
        fp.field = pj["field"].get<std::string>();
        fp.name = pj.contains("name") && pj["name"].is_string() ? pj["name"].get<std::string>() : fp.field;
        where += " (" + fp.name + ")";
        if (fp.field == "causal") {
            if (pj.contains("component")) fail(where + ": causal is a flag of the head, give no component");
        } else {
            if (!pj.contains("component")) fail(where + ": \"component\" (index into base.components) is missing");
            const int64_t c = get_int(pj["component"], where + ": component");
            if (c < 0 || c >= int64_t(head.components.size()))
                fail(where + ": component " + std::to_string(c) + " is not in [0, " +
                     std::to_string(head.components.size()) + ")");
            fp.component = int(c);
            Component& comp = head.components[size_t(c)];
            if (!field_of(comp, fp.field))
                fail(where + ": field \"" + fp.field + "\" is not a parameter of a " +
                     std::string(to_string(comp.type)) + " component (use " + fields_of(comp.type) + ")");
        }
        const bool has_v = pj.contains("values"), has_r = pj.contains("range");
        if (has_v == has_r) fail(where + ": give exactly one of \"values\" [..] or \"range\" [from, to, step]");
        if (has_v) {
            if (!pj["values"].is_array() || pj["values"].empty()) fail(where + ": values must be a non-empty list");
            for (const json& v : pj["values"]) fp.values.push_back(get_int(v, where + ": value"));
        } else {
            const json& r = pj["range"];
            if (!r.is_array() || r.size() < 2 || r.size() > 3) fail(where + ": range must be [from, to] or [from, to, step]");
            const int64_t a = get_int(r[0], where + ": range from"), b = get_int(r[1], where + ": range to");
            const int64_t s = r.size() == 3 ? get_int(r[2], where + ": range step") : 1;
            if (s < 1) fail(where + ": range step must be >= 1, got " + std::to_string(s));
            if (b < a) fail(where + ": range to must be >= from");
            if ((b - a) / s >= max_family_points) fail(where + ": range has too many values (at most 100000)");
            for (int64_t v = a; v <= b; v += s) fp.values.push_back(v);
        }
        std::sort(fp.values.begin(), fp.values.end());
        fp.values.erase(std::unique(fp.values.begin(), fp.values.end()), fp.values.end());
        if (fp.field == "causal")
            for (int64_t v : fp.values)
                if (v != 0 && v != 1) fail(where + ": causal values must be false/true (0/1)");
        // Every value must make a valid pattern on its own (ranges checked against the base's n).
        for (int64_t v : fp.values) {
            Pattern p = f.base;
            apply(p, fp, v);
            try {
                validate(p);
            } catch (const InputError& e) {
                fail(where + ": value " + std::to_string(v) + ": " + e.what());
            }
        }
        f.params.push_back(std::move(fp));
    }
    double pts = 1;
    for (const FamilyParam& p : f.params) pts *= double(p.values.size());
    if (pts > double(max_family_points))
        fail("the grid has " + std::to_string(int64_t(pts)) + " points, more than 100000: use fewer values");
    return f;
}

Family load_family(const std::string& path) {
    const std::string text = read_file_limited(path, max_pattern_file_bytes, "family " + path);
    try {
        return parse_family(text);
    } catch (const InputError& e) {
        throw InputError(path + ": " + e.what());
    }
}

Pattern family_pattern(const Family& f, const std::vector<int>& index, int64_t n) {
    Pattern p = f.base;
    std::string name;
    for (size_t k = 0; k < f.params.size(); ++k) {
        const int64_t v = f.params[k].values.at(size_t(index.at(k)));
        apply(p, f.params[k], v);
        name += (k ? " " : "") + f.params[k].name + "=" + std::to_string(v);
    }
    p.name = name;
    p.description = "from family " + f.name;
    return with_n(p, n > 0 ? n : p.n);
}

double AdvisorSource::mass_bound() const {
    if (exact() || rows.empty()) return 0;
    return std::sqrt(std::log(2.0 / (1.0 - confidence)) / (2.0 * double(rows.size())));
}

AdvisorSource make_advisor_source(const QKV& qkv, int64_t n, int64_t d, std::string id, int64_t exact_threshold,
                                  int64_t sample_rows) {
    if (n < 1 || d < 1) throw InputError("advise: n and d must be >= 1");
    const size_t per = size_t(n) * size_t(d);
    if (qkv.q.size() < per || qkv.k.size() < per || qkv.v.size() < per)
        throw InputError("advise: Q/K/V hold fewer than n * d floats");
    AdvisorSource s;
    s.n = n;
    s.d = d;
    s.id = std::move(id);
    s.q.assign(qkv.q.begin(), qkv.q.begin() + std::ptrdiff_t(per));
    s.k.assign(qkv.k.begin(), qkv.k.begin() + std::ptrdiff_t(per));
    s.v.assign(qkv.v.begin(), qkv.v.begin() + std::ptrdiff_t(per));
    s.exact_threshold = exact_threshold;
    if (s.exact()) {
        for (int64_t i = 0; i < n; ++i) s.rows.push_back(i);
    } else {
        // Probabilities of the sampled rows are kept: at most 2^25 floats (128 MiB) per direction.
        const int64_t cap = std::max<int64_t>(16, (int64_t(1) << 25) / n);
        const int64_t m = std::clamp<int64_t>(sample_rows, 1, std::min(n, cap));
        for (int64_t r = 0; r < m; ++r) s.rows.push_back(r * n / m + (n / m) / 2);
    }
    check_host_memory(2.0 * double(s.rows.size()) * double(n) * 4.0, "advise: dense probabilities",
                      "use a smaller n, or sample rows");
    return s;
}

void prepare_dense(AdvisorSource& s, bool causal, const std::atomic<bool>* cancel) {
    AdvisorSource::Dense& D = s.dense[causal ? 1 : 0];
    if (D.ready) return;
    const int64_t n = s.n, d = s.d, m = int64_t(s.rows.size());
    D.p.assign(size_t(m) * size_t(n), 0.0f);
    D.out.assign(size_t(m) * size_t(d), 0.0);
    const double scale = 1.0 / std::sqrt(double(d));
    parallel_rows(m, [&](int64_t r) {
        if (cancel && cancel->load()) return;
        const int64_t i = s.rows[size_t(r)];
        const int64_t lim = causal ? i + 1 : n;
        std::vector<double> l(static_cast<size_t>(lim));
        double mx = -1e300;
        const float* q = &s.q[size_t(i * d)];
        for (int64_t j = 0; j < lim; ++j) {
            const float* k = &s.k[size_t(j * d)];
            double a = 0;
            for (int64_t c = 0; c < d; ++c) a += double(q[c]) * double(k[c]);
            l[size_t(j)] = a * scale;
            mx = std::max(mx, l[size_t(j)]);
        }
        double z = 0;
        for (double& x : l) z += (x = std::exp(x - mx));
        float* p = &D.p[size_t(r * n)];
        double* o = &D.out[size_t(r * d)];
        for (int64_t j = 0; j < lim; ++j) {
            const double w = l[size_t(j)] / z;
            p[j] = float(w);
            const float* v = &s.v[size_t(j * d)];
            for (int64_t c = 0; c < d; ++c) o[c] += w * double(v[c]);
        }
    });
    if (cancel && cancel->load()) return;
    D.out_max = 0;
    for (double x : D.out) D.out_max = std::max(D.out_max, std::abs(x));
    D.ready = true;
}

std::optional<CostModel> parse_cost_model(std::string_view s) {
    if (s == "measured") return CostModel::measured;
    if (s == "density") return CostModel::density;
    if (s == "blocks") return CostModel::blocks;
    return std::nullopt;
}

bool dominates(const PointMetrics& a, const PointMetrics& b) {
    return a.cost <= b.cost && a.kept_mass >= b.kept_mass && (a.cost < b.cost || a.kept_mass > b.kept_mass);
}

std::vector<size_t> pareto_front(const std::vector<PointMetrics>& pts, const std::function<bool(const PointMetrics&)>& keep) {
    std::vector<size_t> order;
    for (size_t i = 0; i < pts.size(); ++i)
        if (!keep || keep(pts[i])) order.push_back(i);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        if (pts[a].cost != pts[b].cost) return pts[a].cost < pts[b].cost;
        return pts[a].kept_mass > pts[b].kept_mass;
    });
    std::vector<size_t> front;
    double best = -1;
    for (size_t i : order)
        if (pts[i].kept_mass > best) {
            front.push_back(i);
            best = pts[i].kept_mass;
        }
    return front;
}

namespace {

struct Evaluator {
    const Family& f;
    AdvisorSource& src;
    AdvisorCache& cache;
    const AdvisorOptions& o;
    const std::atomic<bool>* cancel;
    DType dtype;

    std::string key(const Pattern& p) const {
        return to_json(p, -1) + "|n=" + std::to_string(src.n) + "|d=" + std::to_string(src.d) + "|src=" + src.id +
               "|" + (src.exact() ? "exact" : "rows=" + std::to_string(src.rows.size())) + "|cost=" + cost_name(o.cost) +
               "|L=" + std::to_string(o.layers) + "|" + (dtype == DType::f16 ? "f16" : "f32");
    }

    PointMetrics eval(const std::vector<int>& index) {
        PointMetrics m;
        m.index = index;
        for (size_t k = 0; k < f.params.size(); ++k) m.values.push_back(f.params[k].values[size_t(index[k])]);
        m.pattern = family_pattern(f, index, src.n);
        const std::string k = key(m.pattern);
        if (auto it = cache.points.find(k); it != cache.points.end()) {
            PointMetrics c = it->second;
            c.index = m.index;
            c.cached = true;
            return c;
        }
        const HeadPattern& head = m.pattern.layers[0].heads[0];
        HeadQK qk{src.q, src.k, src.d};
        check_content_build(head, src.n, src.d);
        std::vector<HeadMask> masks{HeadMask(head, src.n, qk)};
        const HeadMask& mask = masks[0];
        prepare_dense(src, head.causal, cancel);
        const AdvisorSource::Dense& D = src.dense[head.causal ? 1 : 0];

        // Kept pairs over all rows (exact), mass and output error over the used rows.
        const int64_t n = src.n, d = src.d, rows = int64_t(src.rows.size());
        std::vector<double> mass(static_cast<size_t>(rows)), err(static_cast<size_t>(rows));
        parallel_rows(rows, [&](int64_t r) {
            std::vector<int32_t> keys;
            mask.row(src.rows[size_t(r)], keys);
            const float* p = &D.p[size_t(r * n)];
            std::vector<double> acc(static_cast<size_t>(d), 0.0);
            double s = 0;
            for (int32_t j : keys) {
                const double w = p[j];
                s += w;
                const float* v = &src.v[size_t(j) * size_t(d)];
                for (int64_t c = 0; c < d; ++c) acc[size_t(c)] += w * double(v[c]);
            }
            double e = 0;
            for (int64_t c = 0; c < d; ++c) {
                const double got = s > 0 ? acc[size_t(c)] / s : 0.0;
                e = std::max(e, std::abs(got - D.out[size_t(r * d + c)]));
            }
            mass[size_t(r)] = s;
            err[size_t(r)] = e;
        });
        double ms = 0, me = 0;
        for (int64_t r = 0; r < rows; ++r) {
            ms += mass[size_t(r)];
            me = std::max(me, err[size_t(r)]);
        }
        m.kept_mass = std::min(1.0, ms / double(rows));
        m.mass_bound = src.mass_bound();
        m.output_error = me / std::max(D.out_max, 1e-30);

        auto blocks = std::make_shared<const BlockMask>(compile_block_mask(masks, 64));
        m.kept_pairs = blocks->kept_pairs;
        m.density = blocks->density();
        m.visited_blocks = blocks->listed_blocks();

        HopsOptions ho;
        ho.max_layers = o.layers;
        ho.exact_threshold = std::min<int64_t>(src.n, o.hop_sources) - 1;  // sampled unless n is tiny
        ho.sample_sources = o.hop_sources;
        const HopsReport hr = analyze_hops(HopsGraph(build_csr(mask)), head.causal, ho);
        m.diameter = hr.diameter;
        m.mean_hops = hr.mean_hops;
        m.reach = hr.reach_after_layers.empty() ? 0.0 : hr.reach_after_layers.back();
        if (hr.unreachable_pairs == 0) m.reach = 1.0;

        if (o.engine) {
            const KernelPlan plan = live_plan(masks, blocks);
            RunOptions ro;
            ro.repeats = std::max(1, o.repeats);
            ro.dtype = dtype;
            m.time_ms = o.engine->run(plan, ro).gpu_ms;
        }
        const double nb = double(blocks->num_blocks) * double(blocks->num_blocks);
        m.cost = o.cost == CostModel::measured ? m.time_ms
                 : o.cost == CostModel::density ? m.density
                                                : double(m.visited_blocks) / nb;
        cache.points[k] = m;
        return m;
    }
};

}  // namespace

AdvisorResult run_advisor(const Family& f, AdvisorSource& src, AdvisorCache& cache, const AdvisorOptions& o,
                          const std::atomic<bool>* cancel, const std::function<void(int64_t, int64_t)>& progress) {
    const auto t0 = std::chrono::steady_clock::now();
    if (o.cost == CostModel::measured && !o.engine)
        throw InputError("advise: measured cost needs a Vulkan device (or use the density/blocks cost model)");
    AdvisorResult R;
    R.grid_points = f.size();
    auto stopped = [&] { return cancel && cancel->load(); };
    DType dtype = DType::f32;
    if (o.engine) {
        const DeviceInfo& info = o.engine->device();
        const bool f16 = info.fp16_arithmetic && info.storage16 && info.device_type != VK_PHYSICAL_DEVICE_TYPE_CPU;
        dtype = o.dtype.value_or(f16 ? DType::f16 : DType::f32);
        o.engine->upload(src.q, src.k, src.v, {1, src.n, src.d});
        R.device = info.name;
        RunOptions ro;
        ro.repeats = std::max(1, o.repeats);
        ro.dtype = dtype;
        ro.warmup = 1;  // the first dispatch may include the driver's compile
        ro.warmup_ms = o.warmup_ms;  // and a GPU at idle clocks would time the first points slow
        const RunResult dense = o.engine->run_dense(f.base.layers[0].heads[0].causal, ro);
        R.dense_ms = dense.gpu_ms;
        R.path = dense.path;
    }
    R.dense_cost = o.cost == CostModel::measured ? R.dense_ms : f.base.layers[0].heads[0].causal ? 0.5 : 1.0;
    Evaluator ev{f, src, cache, o, cancel, dtype};
    std::set<std::vector<int>> seen;
    std::vector<std::vector<int>> queue;

    // Coarse grid: every other value of each parameter, first and last always.
    std::vector<std::vector<int>> coarse(f.params.size());
    for (size_t k = 0; k < f.params.size(); ++k) {
        const int c = int(f.params[k].values.size());
        for (int i = 0; i < c; i += (o.refine ? 2 : 1)) coarse[k].push_back(i);
        if (coarse[k].back() != c - 1) coarse[k].push_back(c - 1);
    }
    int64_t combos = 1;
    for (const auto& c : coarse) combos *= int64_t(c.size());
    for (int64_t t = 0; t < combos; ++t) {
        std::vector<int> point(f.params.size());
        int64_t rest = t;
        for (size_t k = f.params.size(); k-- > 0;) {
            point[k] = coarse[k][size_t(rest % int64_t(coarse[k].size()))];
            rest /= int64_t(coarse[k].size());
        }
        if (seen.insert(point).second) queue.push_back(point);
    }
    int64_t planned = int64_t(queue.size());
    R.coarse_points = planned;
    size_t next = 0;
    bool refining = false;
    while (true) {
        for (; next < queue.size(); ++next) {
            if (stopped()) {
                R.cancelled = true;
                break;
            }
            PointMetrics m = ev.eval(queue[next]);
            if (stopped()) {
                R.cancelled = true;
                break;
            }
            m.refined = refining;
            R.points.push_back(std::move(m));
            if (progress) progress(int64_t(R.points.size()), planned);
        }
        if (R.cancelled || !o.refine) break;
        // Refine: the grid neighbours (+-1 in one parameter) of every front point.
        refining = true;
        const size_t before = queue.size();
        for (size_t fi : pareto_front(R.points)) {
            for (size_t k = 0; k < f.params.size(); ++k)
                for (int dlt : {-1, 1}) {
                    std::vector<int> p = R.points[fi].index;
                    p[k] += dlt;
                    if (p[k] < 0 || p[k] >= int(f.params[k].values.size())) continue;
                    if (seen.insert(p).second) queue.push_back(p);
                }
        }
        if (queue.size() == before) break;
        planned += int64_t(queue.size() - before);
        R.refined_points += int64_t(queue.size() - before);
    }
    R.front = pareto_front(R.points);
    R.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return R;
}

std::optional<size_t> recommend(const AdvisorResult& r, double budget_mass) {
    std::optional<size_t> best;
    for (size_t i : r.front)
        if (r.points[i].kept_mass >= budget_mass) {
            best = i;
            break;  // the front is by cost ascending
        }
    return best;
}

std::string explain(const AdvisorResult& r, size_t i) {
    const PointMetrics& p = r.points.at(i);
    char buf[512];
    std::string speed;
    if (r.dense_ms > 0 && p.time_ms > 0) {
        char s[96];
        // A sparse kernel can lose to dense on small problems (few workgroups, fixed costs): say so.
        const double x = r.dense_ms / p.time_ms;
        if (x >= 1.0)
            std::snprintf(s, sizeof s, ", %.1fx faster than dense here (%.2f ms vs %.2f ms)", x, p.time_ms, r.dense_ms);
        else
            std::snprintf(s, sizeof s, ", %.1fx slower than dense here (%.2f ms vs %.2f ms)", 1.0 / x, p.time_ms,
                          r.dense_ms);
        speed = s;
    }
    std::string bound;
    if (p.mass_bound > 0) {
        char s[64];
        std::snprintf(s, sizeof s, " (+-%.1f%%, sampled)", 100 * p.mass_bound);
        bound = s;
    }
    std::string diam = p.diameter ? ", diameter " + std::to_string(*p.diameter) : ", not all pairs reached in L";
    std::snprintf(buf, sizeof buf, "%s keeps %.1f%% of the mass%s at %.1f%% density%s%s", p.pattern.name.c_str(),
                  100 * p.kept_mass, bound.c_str(), 100 * p.density, speed.c_str(), diam.c_str());
    return buf;
}

std::string point_json(const PointMetrics& p) {
    json params = json::object();
    json j;
    j["pattern"] = p.pattern.name;
    j["kept_pairs"] = p.kept_pairs;
    j["density"] = p.density;
    j["kept_mass"] = p.kept_mass;
    j["mass_bound"] = p.mass_bound;
    j["output_error"] = p.output_error;
    j["diameter"] = p.diameter ? json(*p.diameter) : json(nullptr);
    j["mean_hops"] = p.mean_hops;
    j["reach"] = p.reach;
    j["visited_blocks"] = p.visited_blocks;
    j["time_ms"] = p.time_ms;
    j["cost"] = p.cost;
    j["refined"] = p.refined;
    j["values"] = p.values;
    return j.dump();
}

}  // namespace salab
