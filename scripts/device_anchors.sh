#!/usr/bin/env bash
# Runs on a GPU server through the device tool (see docs/benchmarks.md): the oracle checks of the
# tensor-core paths, then the anchor suite. Expects a carried build in build-dev (configure with
# -DSALAB_BUILD_GUI=OFF -DSALAB_STATIC_RUNTIME=ON) and the Vulkan loader debs in .gl/.
# Usage: bash scripts/device_anchors.sh OUT_DIR [extra bench args...]
set -uo pipefail
out=${1:?output directory}; shift
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
cli=build-dev/salab-cli
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$out/gpu.txt"
$cli devices | tee -a "$out/gpu.txt"
{
  echo "== gpu test suite (fp16 tests take the tensor-core kernels here)"
  build-dev/tests/salab_tests --test-suite=gpu 2>&1 | tail -4
  echo "== presets, run --check, f16"
  for p in assets/presets/*.json; do
    for d in 64 128; do
      echo "$(basename "$p") d=$d: $($cli run --pattern "$p" --n 4097 --d "$d" --heads 3 --dtype f16 --check 2>&1 | tail -1)"
    done
  done
} 2>&1 | tee "$out/checks.txt"
$cli bench --suite anchors --repeats 5 --dtype f16 --json "$@" | tee "$out/anchors.jsonl"
