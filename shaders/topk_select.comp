#version 450
// Top-k indexer, pass 2: for each query row of the batch, the k best keys by (larger float
// score, then smaller j) among its score row, written in ascending j order; rows with no more
// than k candidates keep them all. One workgroup per row; invocation t owns the contiguous
// segment t of the row. Scores are compared as order-preserving uint keys.
//
// Fast path (k <= 256): the k-th best of the maxima of 256 disjoint groups of keys, L, is a
// lower bound of the k-th best score T (k groups hold a score >= L). The keys scoring >= L (at least k,
// typically a few k) are compacted, in j order, into shared memory; each one's rank is counted
// among them, and ranks < k are written out.
// General path (k > 256, or too many keys >= L: ties): radix select over the whole row (4
// passes of 8-bit digits) finds T and how many keys scoring exactly T to take; a scan of the
// segments' counts (> T, == T) gives every invocation its output offset.
//
// Shared-memory atomics are few on purpose: lavapipe runs each one as a loop over the lanes.
// Also writes [T, T'] per row, T' the best score left out, so the host can tell which rows the
// float scores might order differently from the CPU oracle's double scores (T - T' small).
#extension GL_GOOGLE_include_directive : require
#include "content_common.glsl"

layout(local_size_x = 256) in;  // == kSelectThreads == radix bins

layout(std430, binding = kBindCAux) readonly buffer Scores { float scores[]; };
layout(std430, binding = kBindCOut) writeonly buffer Keys { int keys[]; };
layout(std430, binding = kBindCMargin) writeonly buffer Bounds { float bounds[]; };

shared uint hist[kSelectThreads];   // radix histogram; fast path: segment maxima
shared uvec2 scan[kSelectThreads];  // per-segment counts, then their exclusive prefix sums
shared uint cand_u[kSelectCandidates], cand_j[kSelectCandidates], cand_rank[kSelectCandidates];
shared uint sel_digit, sel_krem, max_below, total, total_eq, lower, found;

// Monotone map float -> uint (larger float, larger uint); the score kernel leaves no -0 or NaN,
// so every key is > 0 and 0 can mean "none".
uint order_key(float f) {
    const uint b = floatBitsToUint(f);
    return (b & 0x80000000u) != 0u ? ~b : (b | 0x80000000u);
}
float from_order_key(uint u) {
    return uintBitsToFloat((u & 0x80000000u) != 0u ? (u & 0x7fffffffu) : ~u);
}

// Exclusive scan of scan[] by invocation 0, serially (cheaper than the 16 barriers of a
// parallel scan on lavapipe); the sums go to total (.x) and total_eq (.y).
void exclusive_scan_serial(uint t) {
    barrier();
    if (t == 0u) {
        uvec2 run = uvec2(0u);
        for (uint s = 0u; s < kSelectThreads; ++s) {
            const uvec2 c = scan[s];
            scan[s] = run;
            run += c;
        }
        total = run.x;
        total_eq = run.y;
    }
    barrier();
}

void main() {
    const uint t = gl_LocalInvocationID.x;
    const uint local_row = gl_WorkGroupID.x;
    const uint i = pc.row0 + local_row;
    const uint n = pc.n, k = pc.k;
    const uint lim = pc.causal != 0u ? i + 1u : n;
    const uint base = local_row * n;
    const uint out_base = i * k;

    if (lim <= k) {  // uniform per workgroup: every candidate is kept
        for (uint j = t; j < lim; j += kSelectThreads) keys[out_base + j] = int(j);
        if (t == 0u) {
            bounds[2u * i] = uintBitsToFloat(0x7f800000u);  // +inf: nothing to re-check
            bounds[2u * i + 1u] = kNegInf;
        }
        return;
    }

    const uint seg = (lim + kSelectThreads - 1u) / kSelectThreads;
    const uint j0 = min(lim, t * seg), j1 = min(lim, j0 + seg);
    if (t == 0u) {
        max_below = 0u;
        found = 0u;
    }

    if (k <= kSelectThreads) {
        // Maxima of the strided groups j = t (mod 256): spread over the row, so that a cluster
        // of high scores (a local window) raises many maxima and L lands close to T.
        uint mx = 0u;
        for (uint j = t; j < lim; j += kSelectThreads) mx = max(mx, order_key(scores[base + j]));
        hist[t] = mx;  // 0 for empty groups, below every real key
        barrier();
        if (mx != 0u) {
            uint rank = 0u;
            for (uint s = 0u; s < kSelectThreads; ++s) {
                const uint v = hist[s];
                rank += (v > mx || (v == mx && s < t)) ? 1u : 0u;
            }
            if (rank == k - 1u) {  // exactly one group (fewer than k non-empty: none)
                lower = mx;
                found = 1u;
            }
        }
        barrier();
        if (found != 0u) {
            const uint L = lower;
            uint count = 0u, below = 0u;
            for (uint j = j0; j < j1; ++j) {
                const uint u = order_key(scores[base + j]);
                if (u >= L) ++count;
                else below = max(below, u);
            }
            atomicMax(max_below, below);
            scan[t] = uvec2(count, 0u);
            exclusive_scan_serial(t);
            const uint m = total;
            if (m <= kSelectCandidates) {
                uint at = scan[t].x;
                for (uint j = j0; j < j1; ++j) {
                    const uint u = order_key(scores[base + j]);
                    if (u >= L) {
                        cand_u[at] = u;
                        cand_j[at] = j;
                        ++at;
                    }
                }
                barrier();
                // Rank among the candidates (they are in j order, so index order breaks ties).
                for (uint e = t; e < m; e += kSelectThreads) {
                    const uint ue = cand_u[e];
                    uint rank = 0u;
                    for (uint f = 0u; f < m; ++f) rank += (cand_u[f] > ue || (cand_u[f] == ue && f < e)) ? 1u : 0u;
                    cand_rank[e] = rank;
                }
                barrier();
                for (uint e = t; e < m; e += kSelectThreads) {
                    const uint rank = cand_rank[e];
                    if (rank < k) {
                        uint p = 0u;
                        for (uint f = 0u; f < e; ++f) p += cand_rank[f] < k ? 1u : 0u;
                        keys[out_base + p] = int(cand_j[e]);
                    }
                    if (rank == k - 1u) bounds[2u * i] = from_order_key(cand_u[e]);
                    if (rank == k) bounds[2u * i + 1u] = from_order_key(cand_u[e]);
                }
                // Exactly k candidates: the best score left out is the best one below L.
                if (t == 0u && m == k) bounds[2u * i + 1u] = from_order_key(max_below);
                return;  // uniform: every invocation read the same m
            }
        }
    }

    // General path: radix select of T over the whole row.
    uint prefix = 0u, prefix_mask = 0u, krem = k;
    for (uint pass = 0u; pass < 4u; ++pass) {
        const uint shift = 24u - 8u * pass;
        hist[t] = 0u;
        barrier();
        for (uint j = t; j < lim; j += kSelectThreads) {
            const uint u = order_key(scores[base + j]);
            if ((u & prefix_mask) == prefix) atomicAdd(hist[(u >> shift) & 255u], 1u);
        }
        barrier();
        if (t == 0u) {  // walk the bins from the top to the one holding the krem-th best
            uint above = 0u, b = kSelectThreads - 1u;
            for (;; --b) {
                const uint here = hist[b];
                if (above + here >= krem || b == 0u) break;
                above += here;
            }
            sel_digit = b;
            sel_krem = krem - above;
        }
        barrier();
        prefix |= sel_digit << shift;
        prefix_mask |= 255u << shift;
        krem = sel_krem;
    }
    // prefix is now T's key; keys above T: k - krem; keys equal to T to take: krem (>= 1).

    uvec2 mine = uvec2(0u);
    uint below = 0u;
    for (uint j = j0; j < j1; ++j) {
        const uint u = order_key(scores[base + j]);
        mine += uvec2(u > prefix ? 1u : 0u, u == prefix ? 1u : 0u);
        if (u < prefix) below = max(below, u);  // max_below may hold a smaller one: max is right
    }
    atomicMax(max_below, below);
    scan[t] = mine;
    exclusive_scan_serial(t);
    const uvec2 excl = scan[t];
    uint pos = out_base + excl.x + min(excl.y, krem);
    uint eq_seen = excl.y;
    for (uint j = j0; j < j1; ++j) {
        const uint u = order_key(scores[base + j]);
        if (u > prefix) {
            keys[pos++] = int(j);
        } else if (u == prefix) {
            if (eq_seen < krem) keys[pos++] = int(j);
            ++eq_seen;
        }
    }
    if (t == 0u) {
        bounds[2u * i] = from_order_key(prefix);
        bounds[2u * i + 1u] = total_eq > krem ? from_order_key(prefix) : from_order_key(max_below);
    }
}
