#!/usr/bin/env bash
# Runs on a GPU server through the device tool (see docs/benchmarks.md): devices, the GPU test
# suite (every path the device has, against the CPU oracle), run --check on every preset with
# the automatic path and the v1 tensor-core path, the anchors suite with the shipped reference
# figures, and the portable kernel forced. Expects a carried build in .devcarry/build-dev
# (configured with -DSALAB_BUILD_GUI=OFF -DSALAB_STATIC_RUNTIME=ON) and the Vulkan loader debs
# (libvulkan1, libglvnd0, ...) in .gl/ or .devcarry/gl/; CARRY=dir picks another carried folder.
# Usage: bash scripts/device_check.sh OUT_DIR
set -uo pipefail
out=${1:?output directory}
root=$(pwd)
carry=${CARRY:-.devcarry}
for f in .gl/*.deb "$carry"/gl/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
# The tests look for assets under the source path they were built from.
mkdir -p /work && [ -e /work/main ] || ln -s "$root" /work/main
cli=$carry/build-dev/salab-cli
t0=$(date +%s)
el() { echo "[$(( $(date +%s) - t0 ))s] $*"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv > "$out/devices.txt" 2>&1
$cli devices >> "$out/devices.txt" 2>&1
el "gpu suite"
timeout 300 $carry/build-dev/salab_tests --test-suite=gpu > "$out/gpu_suite.txt" 2>&1; echo "rc=$?" >> "$out/gpu_suite.txt"
tail -4 "$out/gpu_suite.txt"
el "presets run --check"
for path in auto nv-coopmat; do
  for p in assets/presets/*.json; do
    for d in 64 128; do
      h="--heads 3"; [ "$(basename "$p")" = gemma_stack.json ] && h=""
      echo "$path $(basename "$p") d=$d: $(timeout 60 $cli run --pattern "$p" --n 4097 --d $d $h --dtype f16 --path $path --check 2>&1 | tail -1)"
    done
  done
done > "$out/checks.txt" 2>&1
echo "ok: $(grep -c ' ok' "$out/checks.txt") of $(wc -l < "$out/checks.txt")"; grep -v " ok" "$out/checks.txt" | head -5
el "anchors"
timeout 200 $cli bench --suite anchors --repeats 5 --dtype f16 --json > "$out/anchors.jsonl" 2> "$out/anchors.err"
python3 scripts/bench_table.py "$out/anchors.jsonl" > "$out/anchors.md" 2>&1; head -30 "$out/anchors.md"
el "portable forced, dense n=16384 d=64 16 heads"
echo '{"name":"dense","n":16384,"components":[{"type":"dense"}]}' > /tmp/dense.json
timeout 60 $cli bench --pattern /tmp/dense.json --n 16384 --d 64 --heads 16 --repeats 3 --path portable --no-dense --json > "$out/portable.jsonl" 2>&1
timeout 60 $cli bench --pattern /tmp/dense.json --n 16384 --d 64 --heads 16 --repeats 3 --path portable --dtype f16 --no-dense --json >> "$out/portable.jsonl" 2>&1
cat "$out/portable.jsonl" | cut -c1-300
el end
