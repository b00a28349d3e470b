// Embedded SPIR-V, compiled from shaders/*.comp by glslc at build time and linked in through a
// generated table (build/shaders/shader_table.cpp), looked up by the shader's stem.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace salab {

struct ShaderTableEntry {
    const char* name;
    std::span<const uint32_t> words;
};
extern const ShaderTableEntry shader_table[];
extern const std::size_t shader_table_size;

// Throws std::runtime_error when no shader of that name was built in.
std::span<const uint32_t> shader_spirv(std::string_view name);
// Was a shader of that name built in (the coopmat2 kernels are optional)?
bool shader_exists(std::string_view name);

}  // namespace salab
