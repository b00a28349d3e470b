// Included by the content kernels (lsh_hash.comp, topk_scores.comp, topk_select.comp).
#extension GL_GOOGLE_include_directive : require
#include "content_shared.h"

// D4 = ceil(d / 4) rounded up to a power of two (1..64); Q/K rows are zero-padded to 4 * D4
// floats on the host, so vectors load whole and padding adds exact zeros to every dot product.
layout(constant_id = 0) const uint D4 = 16;

// Loops over the head dimension in vec4 steps with constant trip counts (see FOR_C4 in
// attention_common.glsl for why: lavapipe counts the steps of loops it does not unroll against
// a 65535 budget per invocation and silently leaves them when it runs out).
#define CC4_INNER (D4 <= 32u ? D4 : 16u)
#define FOR_CC4(c4) for (uint c4##_h = 0u; c4##_h < D4; c4##_h += CC4_INNER) \
                    for (uint c4##_i = 0u; c4##_i < CC4_INNER; ++c4##_i) \
                    for (uint c4 = c4##_h + c4##_i, c4##_once = 0u; c4##_once < 1u; ++c4##_once)

#define kNegInf uintBitsToFloat(0xff800000u)
