# Turns one .spv into a .cpp defining salab_spv_NAME / salab_spv_NAME_words (see compute/shaders.h).
file(READ ${SPV} hex HEX)
string(LENGTH "${hex}" len)
math(EXPR words "${len} / 8")
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u," body "${hex}")
string(REGEX REPLACE "((0x[0-9a-f]+u,){8})" "\\1\n" body "${body}")
file(WRITE ${OUT} "// generated from ${NAME}.spv; do not edit\n#include <cstddef>\n#include <cstdint>\nextern const uint32_t salab_spv_${NAME}[] = {\n${body}};\nextern const std::size_t salab_spv_${NAME}_words = ${words};\n")
