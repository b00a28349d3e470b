// Split-k merge (kModeSparseItems): a query block whose block list was split into chunks got
// one partial result per chunk (running max m, sum l and the unnormalised output, fp32); this
// combines them exactly as the online softmax would have: M = max m_s, L = sum l_s 2^(m_s - M),
// O = sum O_s 2^(m_s - M) / L. One workgroup per merge, one invocation per query row.
// Merge word 0: query block | head << kItemHeadShift; word 1: first slot; word 2: slot count
// (of head copy 0: copy z adds z to the head and z * slot_stride to the slots).
#extension GL_GOOGLE_include_directive : require
#include "shared.h"

layout(local_size_x = 64) in;  // == kBlock

layout(std430, binding = kBindO) writeonly buffer OBuf { STORAGE_T o_data[]; };
layout(std430, binding = kBindPartO) readonly buffer PartO { vec4 part_o4[]; };
layout(std430, binding = kBindPartML) readonly buffer PartML { vec2 part_ml[]; };
layout(std430, binding = kBindMerges) readonly buffer Merges { uvec4 merges[]; };

// D4 = ceil(d / 4) rounded up to a power of two; the partial rows are padded to 4 * D4 floats
// (see attention_common.glsl FOR_C4 for why loops over d have constant trip counts).
layout(constant_id = 0) const uint D4 = 16;
#define C4_INNER (D4 <= 32u ? D4 : 16u)
#define FOR_C4(c4) for (uint c4##_h = 0u; c4##_h < D4; c4##_h += C4_INNER) \
                   for (uint c4##_i = 0u; c4##_i < C4_INNER; ++c4##_i) \
                   for (uint c4 = c4##_h + c4##_i, c4##_once = 0u; c4##_once < 1u; ++c4##_once)

void main() {
    const uint idx = gl_WorkGroupID.y * kGridRow + gl_WorkGroupID.x;
    if (idx >= pc.num_items) return;
    const uvec4 mg = merges[idx];
    // z: the head copy of a split shared by every head (slots of copy z follow those of z - 1).
    const uint qblock = mg.x & kItemBlockMask, head = (mg.x >> kItemHeadShift) + gl_WorkGroupID.z;
    const uint first_slot = mg.y + gl_WorkGroupID.z * pc.slot_stride;
    const uint row = qblock * kBlock + gl_LocalInvocationID.x;
    if (row >= pc.n) return;
    const uint d = pc.d;
    float big_m = -3.0e38;
    for (uint s = 0u; s < mg.z; ++s) big_m = max(big_m, part_ml[(first_slot + s) * kBlock + gl_LocalInvocationID.x].x);
    float big_l = 0.0;
    vec4 acc[D4];
    FOR_C4(c4) acc[c4] = vec4(0.0);
    for (uint s = 0u; s < mg.z; ++s) {
        const uint pr = (first_slot + s) * kBlock + gl_LocalInvocationID.x;
        const vec2 ml = part_ml[pr];
        const float w = exp2(ml.x - big_m);
        big_l += ml.y * w;
        FOR_C4(c4) acc[c4] += w * part_o4[pr * D4 + c4];
    }
    const float inv = big_l > 0.0 ? 1.0 / big_l : 0.0;  // empty rows give zeros
    const uint ob = (head * pc.n + row) * d;
    FOR_C4(c4)
        for (uint j = 0u; j < 4u; ++j)
            if (4u * c4 + j < d) o_data[ob + 4u * c4 + j] = STORAGE_T(acc[c4][j] * inv);
}
