// Exports: .npy masks, FlexAttention block lists, and a Python mask_mod that reproduces the mask.
#include "export.h"

#include "file_io.h"
#include "size_limits.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace salab {

namespace {

std::string str(int64_t v) {
    return std::to_string(v);
}

void check_layer(const Pattern& p, int layer) {
    if (layer < 0 || layer >= p.num_layers())
        throw InputError("export: layer " + str(layer) + " is out of range: the pattern has " +
                         str(p.num_layers()) + " layer(s)");
}

// ---- .npy --------------------------------------------------------------------------------

// NumPy format 1.0 header for a C-order uint8 array, padded so the data starts 64-aligned.
std::string npy_header(const std::vector<int64_t>& shape) {
    std::string dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (";
    for (size_t i = 0; i < shape.size(); ++i)
        dict += str(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? "," : "") +
                (i + 1 < shape.size() ? " " : "");
    dict += "), }";
    const size_t unpadded = 10 + dict.size() + 1;
    dict.append((64 - unpadded % 64) % 64, ' ');
    dict += '\n';
    std::string h = "\x93NUMPY";
    h += char(1);
    h += char(0);
    h += char(dict.size() & 0xff);
    h += char((dict.size() >> 8) & 0xff);
    return h + dict;
}

// ---- blocks ------------------------------------------------------------------------------

void append_list(std::string& out, const std::vector<int64_t>& v) {
    out += '[';
    for (size_t i = 0; i < v.size(); ++i) {
        if (i)
            out += ", ";
        out += str(v[i]);
    }
    out += ']';
}

void append_lists(std::string& out, const std::vector<std::vector<int64_t>>& v) {
    out += '[';
    for (size_t i = 0; i < v.size(); ++i) {
        if (i)
            out += ", ";
        append_list(out, v[i]);
    }
    out += ']';
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\')
            out += '\\', out += char(c);
        else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else
            out += char(c);
    }
    return out + "\"";
}

void append_head_blocks(std::string& out, const HeadMask& m, int64_t bs) {
    const int64_t n = m.n(), nb = (n + bs - 1) / bs;
    std::vector<int64_t> kv_num, full_num;
    std::vector<std::vector<int64_t>> kv_idx, full_idx;
    std::vector<int64_t> count(size_t(nb), 0), touched;
    std::vector<KeyRun> row;
    int64_t kept = 0;
    for (int64_t Q = 0; Q < nb; ++Q) {
        const int64_t q_lo = Q * bs, q_hi = std::min(n, q_lo + bs);
        for (int64_t i = q_lo; i < q_hi; ++i) {
            // By runs: a dense row costs its blocks, not its n keys.
            m.row_runs(i, row);
            for (const KeyRun& run : row) {
                kept += run.hi - run.lo;
                for (int64_t K = run.lo / bs; K <= (run.hi - 1) / bs; ++K) {
                    const int64_t lo = std::max<int64_t>(run.lo, K * bs),
                                  hi = std::min<int64_t>(run.hi, K * bs + bs);
                    if (count[size_t(K)] == 0)
                        touched.push_back(K);
                    count[size_t(K)] += hi - lo;
                }
            }
        }
        std::sort(touched.begin(), touched.end());
        std::vector<int64_t> partial, full;
        for (int64_t K : touched) {
            const int64_t cells = (q_hi - q_lo) * (std::min(n, K * bs + bs) - K * bs);
            (count[size_t(K)] == cells ? full : partial).push_back(K);
            count[size_t(K)] = 0;
        }
        touched.clear();
        kv_num.push_back(int64_t(partial.size()));
        full_num.push_back(int64_t(full.size()));
        kv_idx.push_back(std::move(partial));
        full_idx.push_back(std::move(full));
    }
    out += "{\"kv_num_blocks\": ";
    append_list(out, kv_num);
    out += ",\n       \"kv_indices\": ";
    append_lists(out, kv_idx);
    out += ",\n       \"full_kv_num_blocks\": ";
    append_list(out, full_num);
    out += ",\n       \"full_kv_indices\": ";
    append_lists(out, full_idx);
    out += ",\n       \"kept_pairs\": " + str(kept) + "}";
}

// ---- flex --------------------------------------------------------------------------------

// Power-of-two row width that leaves room for at least one sentinel after `longest` entries.
int64_t row_width(int64_t longest) {
    int64_t w = 1;
    while (w < longest + 1)
        w *= 2;
    return w;
}

struct Table {
    std::string name;
    std::vector<int64_t> values;
};

class FlexWriter {
public:
    explicit FlexWriter(int64_t n) : n_(n) {}

    // Throws before a table of `entries` more would pass max_flex_table_entries.
    void ensure(int64_t entries) const {
        if (entries > max_flex_table_entries - total_)
            throw InputError("export: the --flex tables would hold more than " +
                             str(max_flex_table_entries) + " entries (n = " + str(n_) +
                             "); use a smaller --n, fewer random keys or a smaller k");
    }

    std::string add(std::string name, std::vector<int64_t> values) {
        ensure(int64_t(values.size()));
        total_ += int64_t(values.size());
        tables_.push_back({name, std::move(values)});
        return name;
    }

    // Rows of sorted keys -> a table of rows padded with `sentinel` to a power-of-two width
    // that leaves at least one sentinel per row (what _in_rows' branchless search needs).
    std::string add_rows(std::string name, const std::vector<std::vector<int64_t>>& rows,
                         int64_t sentinel, int64_t& width) {
        size_t longest = 0;
        for (const auto& r : rows)
            longest = std::max(longest, r.size());
        width = row_width(int64_t(longest));
        ensure(int64_t(rows.size()) * width);
        std::vector<int64_t> t(rows.size() * size_t(width), sentinel);
        for (size_t r = 0; r < rows.size(); ++r)
            std::copy(rows[r].begin(), rows[r].end(),
                      t.begin() + std::ptrdiff_t(r * size_t(width)));
        return add(std::move(name), std::move(t));
    }

    std::string tables_source() const {
        std::string out = "_TABLES = {}\n";
        char buf[24];
        for (const auto& t : tables_) {
            out += "_TABLES[\"" + t.name + "\"] = [";
            for (size_t i = 0; i < t.values.size(); ++i) {
                if (i)
                    out += (i % 32 == 0) ? ",\n    " : ", ";
                auto [end, ec] = std::to_chars(buf, buf + sizeof buf, t.values[i]);
                out.append(buf, end);
            }
            out += "]\n";
        }
        return out;
    }

private:
    int64_t n_;
    int64_t total_ = 0;
    std::vector<Table> tables_;
};

// "(x < 3) | (x % 250 == 0) | ..." membership in a global component's G, or "" when G is empty.
std::string global_membership(FlexWriter& w, const Component& c, int64_t n, const std::string& id,
                              const std::string& x) {
    std::vector<std::string> terms;
    if (c.first > 0)
        terms.push_back("(" + x + " < " + str(std::min(c.first, n)) + ")");
    if (c.every >= n)
        terms.push_back("(" + x + " == 0)");  // only token 0 is a multiple below n
    else if (c.every > 0)
        terms.push_back("(" + x + " % " + str(c.every) + " == 0)");
    std::vector<int64_t> tokens = c.tokens;
    std::sort(tokens.begin(), tokens.end());
    tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
    if (tokens.size() <= 16) {
        for (int64_t t : tokens)
            terms.push_back("(" + x + " == " + str(t) + ")");
    } else {
        const std::string name = id + "_tokens";
        if (x == "q") {  // one table serves q and k
            w.ensure(n);
            std::vector<int64_t> member(size_t(n), 0);
            for (int64_t t : tokens)
                member[size_t(t)] = 1;
            w.add(name, std::move(member));
        }
        terms.push_back("(_table(\"" + name + "\", " + x + ")[" + x + "] != 0)");
    }
    std::string s;
    for (size_t i = 0; i < terms.size(); ++i)
        s += (i ? " | " : "") + terms[i];
    return s;
}

// One Python expression (q, k broadcast) for component ci of a head, or "" when it keeps nothing.
std::string component_expr(FlexWriter& w, const HeadMask& m, size_t ci, const std::string& id) {
    const Component& c = m.pattern().components[ci];
    const int64_t n = m.n();
    const bool causal = m.pattern().causal;
    switch (c.type) {
    case ComponentType::window: {
        const int64_t d = std::min(c.dilation, n);
        const int64_t reach = std::min(c.radius, (n - 1) / d) * d;
        std::string e = "((q - k) <= " + str(reach) + ") & ((k - q) <= " + str(reach) + ")";
        if (d > 1)
            e += " & ((q - k) % " + str(d) + " == 0)";
        return e;
    }
    case ComponentType::global: {
        const std::string gq = global_membership(w, c, n, id, "q");
        if (gq.empty())
            return "";
        return gq + " | " + global_membership(w, c, n, id, "k");
    }
    case ComponentType::random: {
        w.ensure(n * row_width(std::min(c.per_query, n)));
        std::vector<std::vector<int64_t>> rows(static_cast<size_t>(n));
        size_t total = 0;
        for (int64_t i = 0; i < n; ++i)
            total += (rows[size_t(i)] = random_component_keys(c, i, n, causal)).size();
        if (total == 0)
            return "";
        int64_t width = 0;
        const std::string name = w.add_rows(id + "_random", rows, n, width);
        return "_in_rows(\"" + name + "\", " + str(width) + ", q, k)";
    }
    case ComponentType::strided: {
        const int64_t l = std::min(c.stride, n + 1);
        return "(((q - k) < " + str(l) + ") & ((k - q) < " + str(l) + ")) | ((q - k) % " + str(l) +
               " == 0)";
    }
    case ComponentType::fixed: {
        if (c.block >= n)
            return "(q * 0 + k * 0) == 0";  // one block holds every token
        const std::string l = str(c.block);
        return "((q // " + l + ") == (k // " + l + ")) | ((k % " + l +
               ") >= " + str(c.block - c.summary) + ")";
    }
    case ComponentType::block: {
        const int64_t b = std::min(c.block, n), nb = (n - 1) / c.block + 1;
        const int64_t wb = std::min(c.window_blocks, nb), gb = std::min(c.global_blocks, nb);
        const std::string I = "(q // " + str(b) + ")", J = "(k // " + str(b) + ")";
        std::string e = "((" + I + " - " + J + ") <= " + str(wb) + ") & ((" + J + " - " + I +
                        ") <= " + str(wb) + ")";
        if (gb > 0)
            e = "(" + e + ") | (" + I + " < " + str(gb) + ") | (" + J + " < " + str(gb) + ")";
        if (c.random_blocks > 0) {
            w.ensure(nb * row_width(std::min(c.random_blocks, nb)));
            std::vector<std::vector<int64_t>> rows(static_cast<size_t>(nb));
            size_t total = 0;
            for (int64_t r = 0; r < nb; ++r)
                total += (rows[size_t(r)] = block_component_random_blocks(c, r, n, causal)).size();
            if (total > 0) {
                int64_t width = 0;
                const std::string name = w.add_rows(id + "_blocks", rows, nb, width);
                e = "(" + e + ") | _in_rows(\"" + name + "\", " + str(width) + ", " + I + ", " + J +
                    ")";
            }
        }
        return e;
    }
    case ComponentType::lsh: {
        const auto qb = m.lsh_buckets(ci, false), kb = m.lsh_buckets(ci, true);
        const std::string qn = w.add(id + "_lsh_q", std::vector<int64_t>(qb.begin(), qb.end()));
        const std::string kn = w.add(id + "_lsh_k", std::vector<int64_t>(kb.begin(), kb.end()));
        std::string e;
        for (int64_t r = 0; r < c.rounds; ++r) {
            const std::string off = r == 0 ? "" : " + " + str(r * n);
            e += std::string(r ? " | " : "") + "(_table(\"" + qn + "\", q)[q" + off +
                 "] == _table(\"" + kn + "\", q)[k" + off + "])";
        }
        return e;
    }
    case ComponentType::topk: {
        w.ensure(n * row_width(std::min(c.k, n)));
        std::vector<std::vector<int64_t>> rows(static_cast<size_t>(n));
        std::vector<int32_t> keys;
        for (int64_t i = 0; i < n; ++i) {
            m.component_row(ci, i, keys);
            rows[size_t(i)].assign(keys.begin(), keys.end());
        }
        int64_t width = 0;
        const std::string name = w.add_rows(id + "_topk", rows, n, width);
        return "_in_rows(\"" + name + "\", " + str(width) + ", q, k)";
    }
    case ComponentType::dense:
        return "(q * 0 + k * 0) == 0";
    }
    return "";
}

std::string head_function(FlexWriter& w, const HeadMask& m, int layer, int head) {
    const std::string fn = "_layer" + str(layer) + "_head" + str(head);
    std::string s = "def " + fn + "(q, k):\n    m = (q * 0 + k * 0) != 0\n";
    const auto& comps = m.pattern().components;
    for (size_t c = 0; c < comps.size(); ++c) {
        const std::string e =
            component_expr(w, m, c, "L" + str(layer) + "H" + str(head) + "C" + str(int64_t(c)));
        std::string what = std::string(to_string(comps[c].type));
        if (!e.empty())
            s += "    m = m | (" + e + ")  # " + what + "\n";
        else
            s += "    # " + what + ": keeps nothing at this n\n";
    }
    if (m.pattern().causal)
        s += "    m = m & (k <= q)  # causal\n";
    s += "    return m\n\n\n";
    return s;
}

const char* flex_helpers = R"PY(_CACHE = {}


def _table(name, like):
    """Embedded table `name` as an int64 array of like's kind: a torch tensor on like's device
    when like is a torch tensor, else a numpy array. Converted once, then cached."""
    kind = type(like).__module__.split(".")[0]
    device = getattr(like, "device", None) if kind == "torch" else None
    key = (name, kind, str(device))
    t = _CACHE.get(key)
    if t is None:
        if kind == "torch":
            import torch
            t = torch.tensor(_TABLES[name], dtype=torch.int64, device=device)
        else:
            import numpy
            t = numpy.asarray(_TABLES[name], dtype=numpy.int64)
        _CACHE[key] = t
    return t


def _in_rows(name, width, row, key):
    """key is one of the sorted entries of row `row` of table `name` (rows of `width` entries,
    padded with a sentinel larger than any key). Branchless binary search: arithmetic,
    comparisons and indexing only, so it broadcasts over tensors."""
    t = _table(name, row)
    base = row * width
    pos = base * 0 + key * 0
    step = width // 2
    while step > 0:
        pos = pos + step * (t[base + pos + (step - 1)] < key)
        step //= 2
    return t[base + pos] == key


)PY";

}  // namespace

std::vector<HeadMask> build_head_masks(const Pattern& p, int layer, const QKV* qkv, int64_t d) {
    check_layer(p, layer);
    const Layer& l = p.layers[size_t(layer)];
    const int heads = int(l.heads.size());
    bool content = false;
    for (const auto& h : l.heads)
        for (const auto& c : h.components)
            content = content || needs_qk(c);
    QKV synthetic;
    if (content)
        for (const auto& h : l.heads)
            check_content_build(h, p.n, qkv ? d : export_qk_dim);  // before Q/K are generated
    if (content && qkv == nullptr) {
        d = export_qk_dim;
        synthetic = make_qkv(heads, p.n, d, 0, QkvSource::gaussian);
        qkv = &synthetic;
    }
    if (content) {
        const int64_t want = int64_t(heads) * p.n * d;
        if (d < 1 || int64_t(qkv->q.size()) != want || int64_t(qkv->k.size()) != want)
            throw InputError("export: Q and K must be [heads, n, d] = [" + str(heads) + ", " +
                             str(p.n) + ", " + str(d) + "] (" + str(want) + " floats), got " +
                             str(int64_t(qkv->q.size())) + " and " + str(int64_t(qkv->k.size())));
    }
    std::vector<HeadMask> masks;
    masks.reserve(size_t(heads));
    for (int h = 0; h < heads; ++h)
        masks.emplace_back(l.heads[size_t(h)], p.n, content ? head_qk(*qkv, h, p.n, d) : HeadQK{});
    return masks;
}

StackMasks build_stack_masks(const Pattern& p, const QKV* qkv, int64_t d) {
    validate(p);
    StackMasks all;
    for (int l = 0; l < p.num_layers(); ++l)
        all.push_back(build_head_masks(p, l, qkv, d));
    return all;
}

void export_mask_npy(const Pattern& p, const StackMasks& masks, const std::string& path,
                     const std::function<void(double)>& progress) {
    const int64_t n = p.n;
    if (n > max_npy_tokens)
        check_mask_npy_size(p, 0, path);
    std::vector<int64_t> shape;
    if (p.is_flat())
        shape = {n, n};
    else {
        int64_t heads = 0;
        for (const auto& l : masks)
            heads = std::max<int64_t>(heads, int64_t(l.size()));
        for (const auto& l : masks)
            if (int64_t(l.size()) != heads)
                throw InputError(
                    "export: --mask needs the same number of heads in every layer for a "
                    "[layers, heads, n, n] array; use --blocks or --flex for this stack");
        shape = {int64_t(masks.size()), heads, n, n};
    }
    const std::string header = npy_header(shape);
    const uint64_t bytes = mask_npy_bytes(p, masks);
    check_mask_npy_size(p, bytes, path);
    AtomicWriter out(path, "export --mask");
    out.write(header);
    // Rows are buffered into ~4 MiB writes.
    std::vector<char> buf;
    buf.reserve(size_t(std::max<int64_t>(n, int64_t(4) << 20)));
    std::vector<KeyRun> row;
    const double rows_total = double(masks.size()) * double(shape.size() == 4 ? shape[1] : 1) * double(n);
    double rows_done = 0;
    for (const auto& layer : masks)
        for (const auto& m : layer)
            for (int64_t i = 0; i < n; ++i) {
                const size_t at = buf.size();
                buf.resize(at + size_t(n), 0);
                m.row_runs(i, row);
                for (const KeyRun& run : row)
                    std::fill(buf.begin() + std::ptrdiff_t(at + size_t(run.lo)),
                              buf.begin() + std::ptrdiff_t(at + size_t(run.hi)), char(1));
                if (buf.size() >= (size_t(4) << 20)) {
                    out.write(buf.data(), buf.size());
                    buf.clear();
                }
                rows_done += 1;
                if (progress && (int64_t(rows_done) & 1023) == 0)
                    progress(rows_done / rows_total);
            }
    out.write(buf.data(), buf.size());
    out.commit();
    if (progress)
        progress(1.0);
}

uint64_t mask_npy_bytes(const Pattern& p, const StackMasks& masks) {
    uint64_t per = 0, total = 0;
    if (!checked_mul(uint64_t(p.n), uint64_t(p.n), per))
        return UINT64_MAX;
    uint64_t heads = 0;
    for (const auto& l : masks)
        heads += l.size();
    if (masks.empty()) {  // not built yet: from the pattern
        for (const auto& l : p.layers)
            heads += l.heads.size();
    }
    return checked_mul(per, heads, total) ? total : UINT64_MAX;
}

void check_mask_npy_size(const Pattern& p, uint64_t bytes, const std::string& path) {
    const int64_t n = p.n;
    if (n > max_npy_tokens)
        throw InputError("export: --mask at n = " + str(n) + " would be " + str(n * n / (1 << 20)) +
                         " MiB per head (limit n <= " + str(max_npy_tokens) +
                         "); use --blocks or --flex instead");
    if (bytes > max_mask_export_bytes)
        throw InputError("export: --mask of " + str(p.num_layers()) + " layer(s) at n = " + str(n) + " would be " +
                         format_bytes(double(bytes)) + " in all (limit " +
                         format_bytes(double(max_mask_export_bytes)) +
                         "); use a smaller --n, fewer layers, or --blocks / --flex");
    check_output_space(path, bytes + 128, "export --mask", "use a smaller --n or write elsewhere");
}

void export_mask_npy(const Pattern& p, const std::string& path) {
    check_mask_npy_size(p, mask_npy_bytes(p, {}), path);  // refuses before building
    export_mask_npy(p, build_stack_masks(p), path);
}

std::string export_blocks_json(const Pattern& p, const StackMasks& masks, int block_size) {
    if (block_size < 1)
        throw InputError("export: block size must be >= 1, got " + str(block_size));
    const int64_t bs = block_size, nb = (p.n + bs - 1) / bs;
    std::string out =
        "{\"format\": \"salab.flex_block_mask.v1\",\n \"name\": " + json_string(p.name) +
        ",\n \"n\": " + str(p.n) + ", \"block_size\": " + str(bs) +
        ", \"num_q_blocks\": " + str(nb) + ", \"num_kv_blocks\": " + str(nb) + ",\n \"layers\": [";
    for (size_t l = 0; l < masks.size(); ++l) {
        out += l ? ",\n  {\"heads\": [" : "\n  {\"heads\": [";
        for (size_t h = 0; h < masks[l].size(); ++h) {
            out += h ? ",\n      " : "\n      ";
            append_head_blocks(out, masks[l][h], bs);
        }
        out += "]}";
    }
    out += "]}\n";
    return out;
}

std::string export_blocks_json(const Pattern& p, int block_size) {
    return export_blocks_json(p, build_stack_masks(p), block_size);
}

std::string export_flex_python(const Pattern& p, const StackMasks& masks) {
    const int64_t n = p.n;
    FlexWriter w(n);
    std::string heads_list;
    for (size_t l = 0; l < masks.size(); ++l)
        heads_list += (l ? ", " : "") + str(int64_t(masks[l].size()));

    std::string body;
    for (size_t l = 0; l < masks.size(); ++l)
        for (size_t h = 0; h < masks[l].size(); ++h)
            body += head_function(w, masks[l][h], int(l), int(h));

    std::string mods;
    if (p.is_flat()) {
        mods = "def mask_mod(b, h, q_idx, kv_idx):\n"
               "    \"\"\"True where query q_idx attends key kv_idx, in every batch, for every "
               "head.\"\"\"\n"
               "    return _layer0_head0(q_idx, kv_idx)\n\n\nMASK_MODS = [mask_mod]\n";
    } else {
        std::string list;
        for (size_t l = 0; l < masks.size(); ++l) {
            const std::string L = str(int64_t(l));
            mods += "def mask_mod_layer" + L + "(b, h, q_idx, kv_idx):\n    \"\"\"Layer " + L +
                    ": true where query q_idx of head h attends key kv_idx.\"\"\"\n";
            if (masks[l].size() == 1) {
                mods += "    return _layer" + L + "_head0(q_idx, kv_idx)\n\n\n";
            } else {
                mods += "    return (";
                for (size_t h = 0; h < masks[l].size(); ++h) {
                    const std::string H = str(int64_t(h));
                    mods += std::string(h ? "\n            | " : "") + "((h == " + H +
                            ") & _layer" + L + "_head" + H + "(q_idx, kv_idx))";
                }
                mods += ")\n\n\n";
            }
            list += (l ? ", " : "") + std::string("mask_mod_layer") + L;
        }
        mods += "MASK_MODS = [" + list + "]\n";
    }

    const std::string N = str(n);
    std::string head =
        "# Generated by Sparse Attention Lab (salab-cli export --flex) from pattern " +
        json_string(p.name) + ".\n";
    if (!p.description.empty()) {
        std::string d = p.description;
        std::replace(d.begin(), d.end(), '\n', ' ');
        head += "# " + d + "\n";
    }
    head +=
        "#\n"
        "# Reproduces the pattern's mask exactly, for sequences of exactly N = " +
        N +
        " tokens. Only\n"
        "# arithmetic, comparisons, &, | and indexing into the embedded tables are used, so the\n"
        "# mask_mod functions broadcast over torch tensors and numpy arrays alike.\n"
        "#\n"
        "# PyTorch FlexAttention:\n"
        "#   from torch.nn.attention.flex_attention import create_block_mask, flex_attention\n";
    if (p.is_flat()) {
        head += "#   block_mask = create_block_mask(mask_mod, B=None, H=None, Q_LEN=" + N +
                ", KV_LEN=" + N + ", BLOCK_SIZE=128)\n";
    } else {
        head +=
            "#   block_mask = create_block_mask(mask_mod_layer0, B=None, H=HEADS[0], Q_LEN=" + N +
            ", KV_LEN=" + N + ", BLOCK_SIZE=128)\n";
    }
    head += "#   out = flex_attention(q, k, v, block_mask=block_mask)\n"
            "# NumPy:\n"
            "#   import numpy as np\n";
    head += p.is_flat() ? "#   mask = mask_mod(0, 0, np.arange(N)[:, None], np.arange(N)[None, :]) "
                          " # bool [N, N]\n"
                        : "#   mask = mask_mod_layer0(0, 0, np.arange(N)[:, None], "
                          "np.arange(N)[None, :])  # layer 0, head 0\n";
    if (p.needs_qk())
        head += "#\n# lsh/topk selections were computed from Q/K given to the exporter (by default "
                "the synthetic\n"
                "# make_qkv(heads, n, 64, seed 0, gaussian) of Sparse Attention Lab): they "
                "describe that input.\n";
    head += "\nN = " + N + "\nLAYERS = " + str(int64_t(masks.size())) + "\nHEADS = [" + heads_list +
            "]  # per layer\n\n\n";
    return head + flex_helpers + body + mods +
           "\n\n# Embedded tables (int64), used through _table().\n" + w.tables_source();
}

std::string export_flex_python(const Pattern& p) {
    return export_flex_python(p, build_stack_masks(p));
}

void write_flex_file(const Pattern& p, const std::string& path) {
    if (path.empty()) throw InputError("export --flex needs a file path");
    const std::string text = export_flex_python(p);
    check_output_space(path, text.size(), "export --flex", "write elsewhere or free some space");
    write_file_atomic(path, text, "export --flex");
}

}  // namespace salab
