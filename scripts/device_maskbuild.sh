#!/usr/bin/env bash
# Mask build against kernel time on a GPU server (issue 12, item 4): runs the anchors suite with
# the structural block-mask builder (the default: plan_kernel builds the kernel's mask from the
# components) and prints, per row, the kernel time, the mask build and their ratio against the
# target (build <= 10% of the kernel time). Then the oracle checks of the structural masks on
# this device (the block-mask tests and the gpu test on structural plans).
#
# Expects the layout of scripts/device_check.sh: a carried build in .devcarry/build-dev
# (configured with -DSALAB_BUILD_GUI=OFF -DSALAB_STATIC_RUNTIME=ON) and the Vulkan loader debs
# in .devcarry/gl/. Usage: bash scripts/device_maskbuild.sh OUT_DIR [extra bench args...]
set -uo pipefail
out=${1:?output directory}; shift
root=$(pwd)
for f in .devcarry/gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
mkdir -p /work && [ -e /work/main ] || ln -s "$root" /work/main
cli=.devcarry/build-dev/salab-cli
tests=.devcarry/build-dev/tests/salab_tests
t0=$(date +%s)
el() { echo "[$(( $(date +%s) - t0 ))s] $*"; }

{ nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv; nproc; lscpu | grep -m1 'Model name'; } \
  > "$out/host.txt" 2>&1
cat "$out/host.txt"

el "oracle: structural block masks against the CPU compiler, and attention on them"
timeout 200 $tests -tc='structural*,plan_kernel builds*,attention on structural*' > "$out/maskbuild_tests.txt" 2>&1
echo "rc=$?" >> "$out/maskbuild_tests.txt"; tail -4 "$out/maskbuild_tests.txt"

el "anchors suite (mask built by plan_kernel, timed in mask_build_ms)"
timeout 300 $cli bench --suite anchors --repeats 5 --dtype f16 --no-dense --json "$@" \
  > "$out/maskbuild_anchors.jsonl" 2> "$out/maskbuild_anchors.err"
echo "rc=$?"; tail -3 "$out/maskbuild_anchors.err"

python3 - "$out/maskbuild_anchors.jsonl" <<'EOF' | tee "$out/maskbuild.md"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print("| pattern | n | d | plan | builder | kernel ms | mask build ms | build / kernel | <= 10% | plain mask ms (views) |")
print("|---|---|---|---|---|---|---|---|---|---|")
met = 0
for r in rows:
    k, b = r["sparse_ms"], r["mask_build_ms"]
    share = b / k if k > 0 else 0.0
    ok = share <= 0.10
    met += ok
    print(f"| {r['pattern']} | {r['n']} | {r['d']} | {r['plan']} | {r.get('mask_builder', '?')} | {k:.3f} | {b:.3f} | "
          f"{100 * share:.1f}% | {'yes' if ok else 'NO'} | {r.get('plain_mask_ms', 0):.2f} |")
print(f"\n{met} of {len(rows)} rows within 10%.")
EOF
el end
