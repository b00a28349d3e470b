// .npy files (NumPy format 1.0/2.0), little-endian, C order. Only what the CLI needs:
// float32 and uint8 arrays. Errors throw InputError naming the file and what is wrong.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace salab {

struct NpyArray {
    std::string dtype;  // "<f4" or "|u1"
    std::vector<int64_t> shape;
    std::vector<float> f32;
    std::vector<uint8_t> u8;
    int64_t size() const;
};

NpyArray read_npy(const std::string& path);
// dtype and shape from the header alone (the data is not read; its size is checked).
struct NpyInfo {
    std::string dtype;
    std::vector<int64_t> shape;
};
NpyInfo read_npy_info(const std::string& path);
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data);
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const uint8_t* data);

// Reads Q/K/V/O-style float32 [heads, n, d] (or [n, d] for heads == 1) and checks the shape.
// Throws InputError: "q.npy: expected float32 [3, 100, 64], got float64 [100, 64]".
std::vector<float> read_qkv(const std::string& path, int64_t heads, int64_t n, int64_t d);

}  // namespace salab
