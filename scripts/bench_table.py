#!/usr/bin/env python3
"""Turns `salab-cli bench --json` output (one JSON object per line) into a Markdown table.

    python3 scripts/bench_table.py results.jsonl > table.md
Columns with the reference figures (FlexAttention or SDPA, llama.cpp's Vulkan flash attention) and
the share of the tensor-core peak appear when the rows carry them (--suite anchors).
"""
import json
import sys


def main(path):
    rows = [json.loads(line) for line in open(path) if line.startswith("{")]
    if not rows:
        sys.exit(f"{path}: no JSON rows")
    anchors = any("ref_torch_ms" in r or "ref_llamacpp_ms" in r for r in rows)
    indexer = any("indexer_ms" in r for r in rows)
    head = ["pattern", "n", "d", "heads", "density", "sparse ms", "dense ms", "dense/sparse",
            "1/density", "eff GFLOP/s", "mask build ms", "path"]
    if indexer:
        head += ["indexer ms"]
    if anchors:
        head += ["TFLOP/s", "% of peak", "torch ref", "torch ms", "vs torch (>1: faster)", "torch build ms",
                 "llama.cpp ms", "vs llama.cpp"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        dense = r.get("dense_ms")
        cells = [r["pattern"] + (f" L{r['layer']}" if r.get("layer") else ""), r["n"], r["d"], r["heads"],
                 f"{r['density']:.4f}", f"{r['sparse_ms']:.3f}", f"{dense:.3f}" if dense else "",
                 f"{r['speedup']:.2f}" if "speedup" in r else "",
                 f"{r['ideal_speedup']:.1f}" if "ideal_speedup" in r else "",
                 f"{r['eff_gflops']:.1f}", f"{r['mask_build_ms']:.1f}", r["path"]]
        if indexer:
            cells += [f"{r['indexer_ms']:.1f}" if "indexer_ms" in r else ""]
        if anchors:
            cells += [f"{r['eff_gflops'] / 1000:.0f}",
                      f"{100 * r['peak_share']:.1f}%" if "peak_share" in r else "",
                      r.get("ref_torch", ""), r.get("ref_torch_ms", ""),
                      f"{r['vs_torch']:.2f}x" if "vs_torch" in r else "", r.get("ref_torch_mask_build_ms", ""),
                      r.get("ref_llamacpp_ms", ""), f"{r['vs_llamacpp']:.2f}x" if "vs_llamacpp" in r else ""]
        print("| " + " | ".join(str(c) for c in cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
