#include "npy.h"

#include "file_io.h"
#include "pattern.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

namespace salab {

namespace {

std::string shape_str(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

std::string dtype_name(const std::string& d) {
    if (d == "<f4") return "float32";
    if (d == "<f8") return "float64";
    if (d == "|u1") return "uint8";
    if (d == "<f2") return "float16";
    return d;
}

// Printable, short: a header field for an error message.
std::string clip(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 24)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (s.size() > 24) out += "...";
    return out;
}

size_t skip_space(const std::string& h, size_t pos) {
    while (pos < h.size() && (h[pos] == ' ' || h[pos] == '\t')) ++pos;
    return pos;
}

// The text after "'key':" in the header dict, up to the value's end (a quoted string, a
// parenthesised tuple or a bare word). Throws when the key is missing or the value malformed.
std::string header_value(const std::string& header, const std::string& key, const std::string& path) {
    const std::string bad = path + ": not a valid .npy file (";
    size_t pos = header.find("'" + key + "'");
    if (pos == std::string::npos) throw InputError(bad + "no '" + key + "' in the header)");
    pos = skip_space(header, pos + key.size() + 2);
    if (pos >= header.size() || header[pos] != ':') throw InputError(bad + "no ':' after '" + key + "')");
    pos = skip_space(header, pos + 1);
    if (pos >= header.size()) throw InputError(bad + "'" + key + "' has no value)");
    size_t end;
    if (header[pos] == '(') {
        end = header.find(')', pos);
        if (end == std::string::npos) throw InputError(bad + "the shape tuple is not closed)");
        return header.substr(pos, end - pos + 1);
    }
    if (header[pos] == '\'' || header[pos] == '"') {
        end = header.find(header[pos], pos + 1);
        if (end == std::string::npos) throw InputError(bad + "'" + key + "' string is not closed)");
        return header.substr(pos + 1, end - pos - 1);
    }
    end = header.find_first_of(",}", pos);
    if (end == std::string::npos) end = header.size();
    std::string v = header.substr(pos, end - pos);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
    return v;
}

// "(3, 100, 64)" -> {3, 100, 64}; each entry a non-negative integer.
std::vector<int64_t> parse_shape(const std::string& tuple, const std::string& path) {
    std::vector<int64_t> shape;
    const std::string inner = tuple.substr(1, tuple.size() - 2);
    size_t start = 0;
    for (;;) {
        const size_t comma = inner.find(',', start);
        std::string item = inner.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        const size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
        item = a == std::string::npos ? std::string() : item.substr(a, b - a + 1);
        if (!item.empty() && item.back() == 'L') item.pop_back();  // Python 2 longs
        if (item.empty()) {
            // "(5,)" has an empty last item; an empty item anywhere else is malformed.
            if (comma != std::string::npos || (shape.empty() && inner.find_first_not_of(" \t") != std::string::npos))
                throw InputError(path + ": not a valid .npy file (empty entry in shape " + clip(tuple) + ")");
        } else {
            if (item.find_first_not_of("0123456789") != std::string::npos)
                throw InputError(path + ": not a valid .npy file (shape entry \"" + clip(item) +
                                 "\" is not a non-negative integer)");
            if (item.size() > 18)
                throw InputError(path + ": not a valid .npy file (shape entry " + clip(item) + " is too large)");
            shape.push_back(std::stoll(item));
            if (shape.size() > 32) throw InputError(path + ": not a valid .npy file (more than 32 dimensions)");
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return shape;
}

size_t elem_size(const std::string& dtype) {
    if (dtype == "<f4") return 4;
    if (dtype == "|u1" || dtype == "<u1" || dtype == "|b1") return 1;
    return 0;  // not read: callers say what they expected
}

// Header, checked against the file's size; the stream is left at the first data byte.
struct NpyHeader {
    std::string dtype;
    std::vector<int64_t> shape;
    int64_t count = 0;      // elements
    uint64_t data_offset = 0;
    uint64_t file_size = 0;
};

NpyHeader read_header(std::ifstream& f, const std::string& path) {
    NpyHeader h;
    h.file_size = regular_file_size(path, "");
    f.open(path, std::ios::binary);
    if (!f) throw InputError(path + ": cannot open");
    char magic[8];
    if (!f.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
        throw InputError(path + ": not a .npy file (bad magic)");
    uint32_t hlen = 0;
    uint64_t preamble = 0;
    if (magic[6] == 1) {
        unsigned char l[2];
        if (!f.read(reinterpret_cast<char*>(l), 2)) throw InputError(path + ": not a valid .npy file (truncated header)");
        hlen = uint32_t(l[0]) | uint32_t(l[1]) << 8;
        preamble = 10;
    } else if (magic[6] == 2 || magic[6] == 3) {
        unsigned char l[4];
        if (!f.read(reinterpret_cast<char*>(l), 4)) throw InputError(path + ": not a valid .npy file (truncated header)");
        hlen = uint32_t(l[0]) | uint32_t(l[1]) << 8 | uint32_t(l[2]) << 16 | uint32_t(l[3]) << 24;
        preamble = 12;
    } else {
        throw InputError(path + ": unsupported .npy format version " + std::to_string(int(uint8_t(magic[6]))));
    }
    if (hlen > (1u << 20) || preamble + hlen > h.file_size)
        throw InputError(path + ": not a valid .npy file (header length " + std::to_string(hlen) +
                         " does not fit the file's " + std::to_string(h.file_size) + " bytes)");
    std::string header(hlen, '\0');
    if (!f.read(header.data(), hlen)) throw InputError(path + ": not a valid .npy file (truncated header)");
    h.data_offset = preamble + hlen;
    h.dtype = header_value(header, "descr", path);
    const std::string fortran = header_value(header, "fortran_order", path);
    if (fortran == "True")
        throw InputError(path + ": Fortran-order arrays are not supported; save with np.ascontiguousarray");
    if (fortran != "False")
        throw InputError(path + ": not a valid .npy file (fortran_order is \"" + clip(fortran) + "\")");
    const std::string shape = header_value(header, "shape", path);
    if (shape.size() < 2 || shape.front() != '(')
        throw InputError(path + ": not a valid .npy file (shape \"" + clip(shape) + "\" is not a tuple)");
    h.shape = parse_shape(shape, path);
    h.count = 1;
    for (int64_t dim : h.shape)
        if (!checked_mul(h.count, dim, h.count))
            throw InputError(path + ": shape " + shape_str(h.shape) + " has more elements than fit in 64 bits");
    const size_t es = elem_size(h.dtype);
    int64_t bytes = 0;
    if (es && !checked_mul(h.count, int64_t(es), bytes))
        throw InputError(path + ": shape " + shape_str(h.shape) + " has more bytes than fit in 64 bits");
    if (es && uint64_t(bytes) > h.file_size - h.data_offset)
        throw InputError(path + ": file is shorter than its shape " + shape_str(h.shape) + " says (" +
                         std::to_string(bytes) + " bytes of data expected, " +
                         std::to_string(h.file_size - h.data_offset) + " present)");
    return h;
}

void read_data(std::ifstream& f, const std::string& path, void* out, size_t bytes) {
    if (!f.read(static_cast<char*>(out), std::streamsize(bytes)))
        throw InputError(path + ": cannot read the data (the file changed or is unreadable)");
}

void write_npy_bytes(const std::string& path, const std::vector<int64_t>& shape, const char* descr,
                     const void* data, size_t elem) {
    std::string sh = "(";
    for (size_t i = 0; i < shape.size(); ++i) sh += std::to_string(shape[i]) + (shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
    sh += ")";
    std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + sh + ", }";
    const size_t total = 10 + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header += '\n';
    int64_t count = 1;
    for (int64_t dim : shape)
        if (!checked_mul(count, dim, count)) throw InputError(path + ": shape too large to write");
    std::string pre = "\x93NUMPY";
    pre += char(1);
    pre += char(0);
    pre += char(header.size() & 0xff);
    pre += char((header.size() >> 8) & 0xff);
    const uint64_t bytes = uint64_t(count) * elem;
    check_output_space(path, pre.size() + header.size() + bytes, "", "free some space or write elsewhere");
    AtomicWriter w(path, "");
    w.write(pre);
    w.write(header);
    w.write(data, size_t(bytes));
    w.commit();
}

}  // namespace

int64_t NpyArray::size() const {
    int64_t count = 1;
    for (int64_t dim : shape)
        if (!checked_mul(count, dim, count)) return std::numeric_limits<int64_t>::max();
    return count;
}

NpyArray read_npy(const std::string& path) {
    std::ifstream f;
    const NpyHeader h = read_header(f, path);
    NpyArray a;
    a.dtype = h.dtype;
    a.shape = h.shape;
    if (a.dtype == "<f4") {
        a.f32.resize(size_t(h.count));
        read_data(f, path, a.f32.data(), size_t(h.count) * 4);
    } else if (elem_size(a.dtype) == 1) {
        a.u8.resize(size_t(h.count));
        read_data(f, path, a.u8.data(), size_t(h.count));
    }
    return a;  // other dtypes: checked by callers, who know what they expected
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
    write_npy_bytes(path, shape, "<f4", data, 4);
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const uint8_t* data) {
    write_npy_bytes(path, shape, "|u1", data, 1);
}

NpyInfo read_npy_info(const std::string& path) {
    std::ifstream f;
    const NpyHeader h = read_header(f, path);
    return {h.dtype, h.shape};
}

std::vector<float> read_qkv(const std::string& path, int64_t heads, int64_t n, int64_t d) {
    std::ifstream f;
    const NpyHeader h = read_header(f, path);  // shape checked before anything is allocated
    std::vector<int64_t> want = {heads, n, d};
    bool ok = h.dtype == "<f4" && (h.shape == want || (heads == 1 && h.shape == std::vector<int64_t>{n, d}));
    if (!ok)
        throw InputError(path + ": expected float32 " + shape_str(want) + (heads == 1 ? " or " + shape_str({n, d}) : "") +
                         ", got " + dtype_name(h.dtype) + " " + shape_str(h.shape));
    std::vector<float> out(size_t(h.count));
    read_data(f, path, out.data(), out.size() * 4);
    // Non-finite inputs are refused: one NaN or inf would make every output row that attends it
    // NaN, silently (docs: README "Non-finite Q/K/V").
    for (size_t e = 0; e < out.size(); ++e)
        if (!std::isfinite(out[e])) {
            const int64_t c = int64_t(e) % d, i = int64_t(e) / d % n, hh = int64_t(e) / d / n;
            const std::string where = h.shape.size() == 3 ? "[" + std::to_string(hh) + ", " + std::to_string(i) + ", " +
                                                                std::to_string(c) + "]"
                                                          : "[" + std::to_string(i) + ", " + std::to_string(c) + "]";
            throw InputError(path + ": value at " + where + " is " + (std::isnan(out[e]) ? "NaN" : "infinite") +
                             "; Q, K and V must be finite");
        }
    return out;
}

}  // namespace salab
