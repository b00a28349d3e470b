#!/usr/bin/env python3
"""Checks `salab-cli export`: the exported mask_mod (--flex) reproduces the .npy mask (--mask)
exactly, and the FlexAttention block lists (--blocks) agree with it.

    test_export.py <path-to-salab-cli> <source-dir>
        every preset in <source-dir>/assets/presets at a reduced n and at an odd n
    test_export.py --check-files MASK.npy FLEX.py BLOCKS.json
        one set of files (used by the C++ tests before and besides the CLI)

Prints one line per failure and a final "N passed, M failed"; exits non-zero on any failure.
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

REDUCED_NS = (300, 173)  # a round reduced n and an odd one (not a multiple of any block size)


def check_blocks(mask2d, head, block_size):
    """Differences between one head's block lists and the mask, as a list of strings."""
    n = mask2d.shape[0]
    nb = (n + block_size - 1) // block_size
    padded = np.zeros((nb * block_size, nb * block_size), dtype=np.int64)
    padded[:n, :n] = mask2d
    valid = np.zeros_like(padded)
    valid[:n, :n] = 1
    counts = padded.reshape(nb, block_size, nb, block_size).sum(axis=(1, 3))
    cells = valid.reshape(nb, block_size, nb, block_size).sum(axis=(1, 3))
    full = (counts == cells) & (counts > 0)
    partial = (counts > 0) & ~full
    errors = []
    for field in ("kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices"):
        if len(head[field]) != nb:
            errors.append(f"{field} has {len(head[field])} query blocks, expected {nb}")
    if errors:
        return errors
    for qb in range(nb):
        want_partial = list(np.nonzero(partial[qb])[0])
        want_full = list(np.nonzero(full[qb])[0])
        if head["kv_indices"][qb] != want_partial or head["kv_num_blocks"][qb] != len(want_partial):
            errors.append(f"query block {qb}: partial blocks {head['kv_indices'][qb]}, expected {want_partial}")
        if head["full_kv_indices"][qb] != want_full or head["full_kv_num_blocks"][qb] != len(want_full):
            errors.append(f"query block {qb}: full blocks {head['full_kv_indices'][qb]}, expected {want_full}")
    if head["kept_pairs"] != int(mask2d.sum()):
        errors.append(f"kept_pairs {head['kept_pairs']}, expected {int(mask2d.sum())}")
    return errors


def check_files(mask_path, flex_path, blocks_path):
    """All differences between the three exported files, as a list of strings."""
    errors = []
    mask = np.load(mask_path)
    if mask.dtype != np.uint8:
        errors.append(f"{mask_path}: dtype {mask.dtype}, expected uint8")
    if not np.isin(mask, (0, 1)).all():
        errors.append(f"{mask_path}: values other than 0 and 1")

    with open(flex_path) as f:
        source = f.read()
    for line in source.splitlines():
        if line.startswith(("import ", "from ")):
            errors.append(f"{flex_path}: top-level import: {line!r} (imports belong inside _table)")
    ns = {"__name__": "salab_flex"}
    exec(compile(source, flex_path, "exec"), ns)
    n = ns["N"]
    stacked = mask.ndim == 4
    layers = mask.shape[0] if stacked else 1
    heads = mask.shape[1] if stacked else 1
    if mask.shape[-2:] != (n, n):
        errors.append(f"{mask_path}: shape {mask.shape}, expected [..., {n}, {n}]")
        return errors
    if ns["LAYERS"] != layers or (stacked and ns["HEADS"] != [heads] * layers):
        errors.append(f"{flex_path}: LAYERS {ns['LAYERS']} HEADS {ns['HEADS']} vs mask shape {mask.shape}")
    q = np.arange(n)[:, None]
    kv = np.arange(n)[None, :]
    for layer in range(layers):
        fn = ns[f"mask_mod_layer{layer}"] if stacked else ns["mask_mod"]
        for head in range(heads):
            got = np.asarray(fn(0, head, q, kv))
            want = mask[layer, head] if stacked else mask
            if got.shape != (n, n) or got.dtype != np.bool_:
                errors.append(f"layer {layer} head {head}: mask_mod gave {got.dtype} {got.shape}, expected bool ({n}, {n})")
                continue
            bad = np.argwhere(got != want.astype(bool))
            if len(bad):
                i, j = bad[0]
                errors.append(f"layer {layer} head {head}: mask_mod differs from the .npy at {len(bad)} pairs, "
                              f"first (q={i}, kv={j}): mask_mod {bool(got[i, j])}, npy {int(want[i, j])}")
            # Scalar-style evaluation (as vmap sees it) agrees on a few pairs.
            for i, j in ((0, 0), (n - 1, 0), (n // 2, n // 3), (n - 1, n - 1)):
                if bool(np.asarray(fn(0, head, np.int64(i), np.int64(j)))) != bool(want[i, j]):
                    errors.append(f"layer {layer} head {head}: scalar mask_mod({i}, {j}) differs from the .npy")

    with open(blocks_path) as f:
        blocks = json.load(f)
    if blocks.get("n") != n or len(blocks.get("layers", [])) != layers:
        errors.append(f"{blocks_path}: n {blocks.get('n')} / {len(blocks.get('layers', []))} layers, "
                      f"expected {n} / {layers}")
        return errors
    for layer in range(layers):
        hs = blocks["layers"][layer]["heads"]
        if len(hs) != heads:
            errors.append(f"{blocks_path}: layer {layer} has {len(hs)} heads, expected {heads}")
            continue
        for head in range(heads):
            want = mask[layer, head] if stacked else mask
            for e in check_blocks(want, hs[head], blocks["block_size"]):
                errors.append(f"{blocks_path}: layer {layer} head {head}: {e}")
    return errors


def main(argv):
    if len(argv) == 5 and argv[1] == "--check-files":
        errors = check_files(argv[2], argv[3], argv[4])
        for e in errors:
            print("FAIL", e)
        print(f"{0 if errors else 1} passed, {1 if errors else 0} failed")
        return 1 if errors else 0
    if len(argv) != 3:
        print(__doc__)
        return 2
    cli, source_dir = argv[1], argv[2]
    presets = sorted(glob.glob(os.path.join(source_dir, "assets", "presets", "*.json")))
    passed = failed = 0
    if not presets:
        print(f"FAIL no presets under {source_dir}/assets/presets")
        failed += 1
    with tempfile.TemporaryDirectory() as tmp:
        for preset in presets:
            for n in REDUCED_NS:
                name = f"{os.path.basename(preset)} --n {n}"
                m, f, b = (os.path.join(tmp, x) for x in ("m.npy", "f.py", "b.json"))
                for path in (m, f, b):
                    if os.path.exists(path):
                        os.remove(path)
                cmd = [cli, "export", "--pattern", preset, "--n", str(n), "--mask", m, "--flex", f, "--blocks", b]
                run = subprocess.run(cmd, capture_output=True, text=True)
                if run.returncode != 0:
                    print(f"FAIL {name}: exit {run.returncode}: {(run.stderr or run.stdout).strip()}")
                    failed += 1
                    continue
                try:
                    errors = check_files(m, f, b)
                except Exception as e:  # a broken export must fail the test, not crash it
                    errors = [f"{type(e).__name__}: {e}"]
                if errors:
                    failed += 1
                    for e in errors[:5]:
                        print(f"FAIL {name}: {e}")
                else:
                    passed += 1
                    print(f"ok   {name}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
