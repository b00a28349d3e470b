#!/usr/bin/env python3
"""NumPy dense attention next to salab's kernels, timed in the same run (a benchmark, not a test).

NumPy: O = softmax(Q K^T / sqrt(d)) V in float32 for one head (two matmuls through NumPy's BLAS,
max subtraction, exp, row sums). salab: `salab-cli bench` on the first Vulkan device (lavapipe on
a CPU-only machine) for the same shapes, each portable kernel forced with --path, plus a sliding
window to show that the sparse kernel still tracks density (dense / sparse against 1 / density).
Runs alternate (NumPy, then each salab path, then NumPy again) so that a loaded machine hits
both alike. Prints a Markdown table for docs/benchmarks.md and, with --json F, one JSON object
per measurement.

  python3 scripts/numpy_attention.py [--cli build/salab-cli] [--n 4096] [--d 64]
                                     [--window-n 8192] [--radius 128] [--paths tiled,rowwise]
                                     [--repeats 3] [--json out.jsonl] [--quick]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def numpy_attention(q, k, v):
    s = (q @ k.T) * np.float32(1.0 / np.sqrt(q.shape[1]))
    s -= s.max(axis=1, keepdims=True)
    p = np.exp(s, out=s)
    p /= p.sum(axis=1, keepdims=True)
    return p @ v


def time_numpy(n, d, repeats):
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((n, d), dtype=np.float32) for _ in range(3))
    numpy_attention(q[:64], k[:64], v[:64])  # warm-up (BLAS threads, page faults)
    ms = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        numpy_attention(q, k, v)
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    return {"median_ms": ms[len(ms) // 2], "min_ms": ms[0], "max_ms": ms[-1], "runs": repeats}


def run_bench(cli, pattern, n, d, path, repeats, dense):
    cmd = [cli, "bench", "--pattern", pattern, "--n", str(n), "--d", str(d), "--heads", "1",
           "--repeats", str(repeats), "--path", path, "--json"]
    if not dense:
        cmd.append("--no-dense")
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"numpy_attention.py: {' '.join(cmd)} failed: {out.stderr.strip() or out.stdout.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cli", default=os.path.join(os.path.dirname(__file__), "..", "build", "salab-cli"))
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--window-n", type=int, default=8192)
    ap.add_argument("--radius", type=int, default=128)
    ap.add_argument("--paths", default="tiled,rowwise")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default="")
    ap.add_argument("--quick", action="store_true", help="n = 1024, window n = 2048 (a smoke run)")
    a = ap.parse_args()
    if a.quick:
        a.n, a.window_n = 1024, 2048
    if not os.path.exists(a.cli):
        sys.exit(f"numpy_attention.py: no salab-cli at {a.cli} (build first, or pass --cli)")
    paths = [p for p in a.paths.split(",") if p]
    tmp = tempfile.mkdtemp(prefix="salab_numpy_")
    dense_json = os.path.join(tmp, "dense.json")
    window_json = os.path.join(tmp, "window.json")
    with open(dense_json, "w") as f:
        json.dump({"name": "dense", "n": a.n, "components": [{"type": "dense"}]}, f)
    with open(window_json, "w") as f:
        json.dump({"name": f"window r={a.radius}", "n": a.window_n,
                   "components": [{"type": "window", "radius": a.radius}]}, f)

    records = []
    np_before = time_numpy(a.n, a.d, a.repeats)
    records.append({"what": "numpy dense", "n": a.n, "d": a.d, **np_before})
    ours = {}
    for p in paths:
        ours[p] = run_bench(a.cli, dense_json, a.n, a.d, p, a.repeats, dense=False)
        records.append({"what": f"salab dense --path {p}", **ours[p]})
    np_after = time_numpy(a.n, a.d, a.repeats)
    records.append({"what": "numpy dense (again)", "n": a.n, "d": a.d, **np_after})
    window = run_bench(a.cli, window_json, a.window_n, a.d, paths[0], a.repeats, dense=True)
    records.append({"what": f"salab window --path {paths[0]}", **window})

    np_ms = min(np_before["median_ms"], np_after["median_ms"])
    np_hi = max(np_before["median_ms"], np_after["median_ms"])
    device = next(iter(ours.values()))["device"] if ours else window["device"]
    print(f"Device: {device}; NumPy {np.__version__}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    print()
    print(f"| what (one head, d = {a.d}, fp32) | time (median) | vs NumPy |")
    print("|---|---|---|")
    print(f"| NumPy dense attention, n = {a.n:,} (before / after the salab runs) | "
          f"{np_before['median_ms']:.0f} / {np_after['median_ms']:.0f} ms | 1 |")
    for p, r in ours.items():
        ms = r["sparse_ms"]
        print(f"| salab dense, n = {a.n:,}, --path {p} ({r['path']}) | {ms:.0f} ms | "
              f"{np_ms / ms:.2f}x–{np_hi / ms:.2f}x |")
    dens = window["density"]
    ratio = window.get("speedup", 0.0)
    target = 0.5 / dens if dens > 0 else 0.0
    print(f"| salab window r = {a.radius}, n = {a.window_n:,}: sparse / dense ({window['path']}) | "
          f"{window['sparse_ms']:.0f} / {window.get('dense_ms', 0):.0f} ms | dense/sparse {ratio:.1f}x, "
          f"1/density {1 / dens:.1f}x, target 0.5/density {target:.1f}x: "
          f"{'reached' if ratio >= target else 'not reached'} |")
    if a.json:
        with open(a.json, "w") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
