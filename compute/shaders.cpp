#include "shaders.h"

#include <stdexcept>
#include <string>

namespace salab {

std::span<const uint32_t> shader_spirv(std::string_view name) {
    for (std::size_t i = 0; i < shader_table_size; ++i)
        if (name == shader_table[i].name) return shader_table[i].words;
    throw std::runtime_error("shader '" + std::string(name) + "' is not built in");
}

bool shader_exists(std::string_view name) {
    for (std::size_t i = 0; i < shader_table_size; ++i)
        if (name == shader_table[i].name) return true;
    return false;
}

}  // namespace salab
