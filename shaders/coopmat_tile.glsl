// What the subgroup-scope tensor-core kernels share (attention_nv_body.glsl with
// VK_NV_cooperative_matrix, cm2/attention_khr_body.glsl with VK_KHR_cooperative_matrix): a
// workgroup of 128 invocations = 4 subgroups of 32 lanes, each owning 16 of the tile's 64 query
// rows, lanes 2r and 2r+1 sharing row r.
//   fetch() / stash(): one 64-key tile of K or V rows copied into shared memory in 16-byte
//     words; fetch issues the global loads into registers (`staged`), stash writes them out, so
//     a caller keeps the next tile's loads in flight while it computes on the current one.
//   TILE_SCORES / WRITE_P: the online-softmax step of a lane's row on the subgroup's fp32
//     S region (masked, scaled to the exp2 domain) and its fp16 P.
// Included after attention_common.glsl with HEAD_DIM defined (64 or 128: rows are whole 16-byte
// words).
layout(local_size_x = 128) in;
// The same K and V buffers seen as 16-byte words (8 fp16) for the staging copies.
layout(std430, binding = kBindK) readonly buffer KBuf16 { uvec4 k16[]; };
layout(std430, binding = kBindV) readonly buffer VBuf16 { uvec4 v16[]; };

const uint DT = HEAD_DIM / 16u;          // 16-wide tiles of the head dimension
const uint ROW16 = HEAD_DIM / 8u;        // 16-byte words per K/V row
const uint CHUNKS = kBlock * ROW16 / 128u;  // 16-byte words each invocation stages per tile
// Padded row strides (elements). KV: +8 fp16 keeps rows 16-byte aligned and shifts each row by
// 4 banks. S/O (fp32) and P (fp16): lane pairs own a row and walk its columns interleaved
// (column 2k + half), so 4 extra words per row make the 32 lanes of a load hit 16 banks.
const uint KV_STRIDE = HEAD_DIM + 8u;
const uint S_STRIDE = 64u + 4u;          // fp32 S (16 x 64), then P V in 64-column chunks
const uint P_STRIDE = 64u + 8u;          // fp16 P, 16 x 64 (16-byte aligned rows)
const uint REGION = 16u * S_STRIDE;
shared float16_t sh_kv[kBlock * KV_STRIDE];
shared uint sh_key[kBlock];              // key of each staged row, kNoKey when masked out
shared float sh_f32[4u * REGION];
shared float16_t sh_p[4u * 16u * P_STRIDE];

uvec4 staged[CHUNKS];

// Issues the global loads of one tile (K or V) of entry word w0 into `staged`.
void fetch(bool want_v, uint w0, uint head_base16) {
    const uint lid = gl_LocalInvocationIndex;
    for (uint u = 0u; u < CHUNKS; ++u) {
        const uint i = lid + 128u * u;
        const uint r = i / ROW16, c = i % ROW16;
        // Contiguous blocks read up to 63 rows past n: the host pads the buffers, and those
        // columns are masked through sh_key, so they only need to be finite.
        uint key = (w0 & kGatherBit) != 0u ? gather_keys[(w0 & kIndexMask) * kBlock + r]
                                            : (w0 & kIndexMask) * kBlock + r;
        if (key == kNoKey) {
            staged[u] = uvec4(0u);
        } else {
            const uint at = head_base16 + key * ROW16 + c;
            staged[u] = want_v ? v16[at] : k16[at];
        }
    }
}

// Writes `staged` into the shared tile.
void stash() {
    const uint lid = gl_LocalInvocationIndex;
    for (uint u = 0u; u < CHUNKS; ++u) {
        const uint i = lid + 128u * u;
        const uint r = i / ROW16, c = i % ROW16;
        const uint base = r * KV_STRIDE + 8u * c;
        const uvec4 w = staged[u];
        for (uint j = 0u; j < 4u; ++j) {
            const f16vec2 h = unpackFloat2x16(w[j]);
            sh_kv[base + 2u * j] = h.x;
            sh_kv[base + 2u * j + 1u] = h.y;
        }
    }
}


// The online-softmax step of a lane's row, as macros so that the kernels keep their scores in
// registers (functions taking float[32] made glslang copy the arrays through local memory).
// TILE_SCORES: this lane's 32 scores of row `row` (columns 2k + half_ of the subgroup's S
// region f_base, row r), scaled to the exp2 domain, -3e38 where the pair is not kept, into
// float s[32]; tile_max gets the row's maximum (both lanes of the row). The row's two
// column-mask words are read once (all ones for full blocks; from the band's ends in band mode).
#define TILE_SCORES(w0, w1, row, r, half_, f_base, s, tile_max)                                             \
    {                                                                                                     \
        uint mask_lo_, mask_hi_;                                                                          \
        row_mask_words(w0, w1, row, mask_lo_, mask_hi_);                                                  \
        tile_max = -3.0e38;                                                                               \
        for (uint k_ = 0u; k_ < 32u; ++k_) {                                                              \
            const uint col_ = 2u * k_ + half_;                                                            \
            const uint key_ = sh_key[col_];                                                               \
            const uint word_ = col_ < 32u ? mask_lo_ : mask_hi_;                                          \
            const bool kept_ = row < pc.n && key_ != kNoKey && ((word_ >> (col_ & 31u)) & 1u) != 0u &&    \
                               causal_ok(row, key_);                                                      \
            s[k_] = kept_ ? sh_f32[f_base + r * S_STRIDE + col_] * pc.scale_log2 : -3.0e38;               \
            tile_max = max(tile_max, s[k_]);                                                              \
        }                                                                                                 \
        tile_max = max(tile_max, subgroupShuffleXor(tile_max, 1u));                                       \
    }
// WRITE_P: P = exp2(s - m_ref) (0 where masked) as fp16 into the subgroup's P region p_base;
// lsum gets the row's sum (both lanes).
#define WRITE_P(s, m_ref, r, half_, p_base, lsum)                                                         \
    {                                                                                                     \
        lsum = 0.0;                                                                                       \
        for (uint k_ = 0u; k_ < 32u; ++k_) {                                                              \
            const float p_ = s[k_] > -1.0e38 ? exp2(s[k_] - m_ref) : 0.0;                                 \
            lsum += p_;                                                                                   \
            sh_p[p_base + r * P_STRIDE + 2u * k_ + half_] = float16_t(p_);                                \
        }                                                                                                 \
        lsum += subgroupShuffleXor(lsum, 1u);                                                             \
    }
