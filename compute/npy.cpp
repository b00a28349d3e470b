#include "npy.h"

#include "pattern.h"

#include <cstring>
#include <fstream>
#include <numeric>
#include <sstream>

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

// Extracts the value text of 'key' in the header dict.
std::string header_field(const std::string& header, const std::string& key, const std::string& path) {
    auto pos = header.find("'" + key + "'");
    if (pos == std::string::npos) throw InputError(path + ": not a valid .npy file (no '" + key + "' in header)");
    pos = header.find(':', pos);
    if (pos == std::string::npos) throw InputError(path + ": not a valid .npy file (bad header)");
    ++pos;
    while (pos < header.size() && header[pos] == ' ') ++pos;
    size_t end;
    if (header[pos] == '(') {
        end = header.find(')', pos);
        if (end == std::string::npos) throw InputError(path + ": not a valid .npy file (bad shape)");
        return header.substr(pos, end - pos + 1);
    }
    end = header.find_first_of(",}", pos);
    return header.substr(pos, end - pos);
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
    std::ofstream f(path, std::ios::binary);
    if (!f) throw InputError(path + ": cannot open for writing");
    const char magic[] = "\x93NUMPY";
    f.write(magic, 6);
    const char ver[2] = {1, 0};
    f.write(ver, 2);
    const uint16_t len = uint16_t(header.size());
    f.write(reinterpret_cast<const char*>(&len), 2);
    f.write(header.data(), std::streamsize(header.size()));
    const int64_t count = std::accumulate(shape.begin(), shape.end(), int64_t(1), std::multiplies<>());
    f.write(static_cast<const char*>(data), std::streamsize(size_t(count) * elem));
    if (!f) throw InputError(path + ": write failed");
}

}  // namespace

int64_t NpyArray::size() const {
    return std::accumulate(shape.begin(), shape.end(), int64_t(1), std::multiplies<>());
}

NpyArray read_npy(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw InputError(path + ": cannot open");
    char magic[8];
    if (!f.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
        throw InputError(path + ": not a .npy file (bad magic)");
    uint32_t hlen = 0;
    if (magic[6] == 1) {
        uint16_t l;
        f.read(reinterpret_cast<char*>(&l), 2);
        hlen = l;
    } else {
        f.read(reinterpret_cast<char*>(&hlen), 4);
    }
    if (!f || hlen > (1u << 20)) throw InputError(path + ": not a valid .npy file (bad header length)");
    std::string header(hlen, '\0');
    f.read(header.data(), hlen);
    NpyArray a;
    std::string descr = header_field(header, "descr", path);
    if (descr.size() >= 2) descr = descr.substr(1, descr.size() - 2);
    a.dtype = descr;
    if (header_field(header, "fortran_order", path).find("True") != std::string::npos)
        throw InputError(path + ": Fortran-order arrays are not supported; save with np.ascontiguousarray");
    std::string shape = header_field(header, "shape", path);
    std::stringstream ss(shape.substr(1, shape.size() - 2));
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (item.find_first_not_of(' ') == std::string::npos) continue;
        a.shape.push_back(std::stoll(item));
    }
    const int64_t count = a.size();
    if (a.dtype == "<f4") {
        a.f32.resize(size_t(count));
        f.read(reinterpret_cast<char*>(a.f32.data()), std::streamsize(count * 4));
    } else if (a.dtype == "|u1" || a.dtype == "<u1" || a.dtype == "|b1") {
        a.u8.resize(size_t(count));
        f.read(reinterpret_cast<char*>(a.u8.data()), std::streamsize(count));
    } else {
        return a;  // dtype checked by callers, who know what they expected
    }
    if (!f) throw InputError(path + ": file is shorter than its shape " + shape_str(a.shape) + " says");
    return a;
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
    write_npy_bytes(path, shape, "<f4", data, 4);
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const uint8_t* data) {
    write_npy_bytes(path, shape, "|u1", data, 1);
}

std::vector<float> read_qkv(const std::string& path, int64_t heads, int64_t n, int64_t d) {
    NpyArray a = read_npy(path);
    std::vector<int64_t> want = {heads, n, d};
    bool ok = a.dtype == "<f4" && (a.shape == want || (heads == 1 && a.shape == std::vector<int64_t>{n, d}));
    if (!ok)
        throw InputError(path + ": expected float32 " + shape_str(want) + (heads == 1 ? " or " + shape_str({n, d}) : "") +
                         ", got " + dtype_name(a.dtype) + " " + shape_str(a.shape));
    return std::move(a.f32);
}

}  // namespace salab
