#!/usr/bin/env bash
# Runs on a GPU server through the device tool: every kernel family forced in turn (SALAB_PATH
# for the gpu test suite, --path for the benches), each against the CPU oracle, then the anchor
# suite and the issue-15 dense figure (16 heads, n = 16,384, d = 64, f32 and f16) per path.
# Paths the device or this build lacks are listed as skipped with the reason salab-cli gives.
# Expects, like scripts/device_check.sh, a carried build in $CARRY/build-dev (default .devcarry;
# configured with -DSALAB_BUILD_GUI=OFF -DSALAB_STATIC_RUNTIME=ON) and the Vulkan loader debs
# (libvulkan1, libglvnd0, ...) in .gl/ or $CARRY/gl/.
# Usage: [ANCHORS=0] [CHECKS=0] [TESTS='name*,...'] bash scripts/device_paths.sh OUT_DIR [paths...]   (default: tiled rowwise nv-coopmat2 khr-coopmat nv-coopmat)
set -uo pipefail
out=${1:?output directory}; shift
paths=${*:-tiled rowwise nv-coopmat2 khr-coopmat nv-coopmat}
root=$(pwd)
carry=${CARRY:-.devcarry}
for f in .gl/*.deb "$carry"/gl/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
mkdir -p /work && [ -e /work/main ] || ln -s "$root" /work/main  # tests find assets there
cli=$carry/build-dev/salab-cli
tests=$carry/build-dev/salab_tests
[ -x "$tests" ] || tests=$carry/build-dev/tests/salab_tests
t0=$(date +%s)
el() { echo "[$(( $(date +%s) - t0 ))s] $*"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv > "$out/devices.txt" 2>&1
$cli devices >> "$out/devices.txt" 2>&1
echo '{"name":"dense","n":16384,"components":[{"type":"dense"}]}' > /tmp/salab_dense.json
for path in $paths; do
  # Can this path run here at all (f16, d = 64)? One line from salab-cli when not.
  why=$(timeout 60 $cli run --pattern /tmp/salab_dense.json --n 256 --d 64 --dtype f16 --path "$path" --check 2>&1 | tail -1)
  # (A check line ends in " ok" and holds "max rel error": only salab-cli's own error line skips.)
  case "$why" in *" ok") ;; *) el "$path: skipped: $why"; echo "$why" > "$out/$path.skipped"; continue;; esac
  el "$path: gpu suite with SALAB_PATH=$path"
  SALAB_PATH=$path timeout 300 "$tests" --test-suite=gpu ${TESTS:+-tc="$TESTS"} > "$out/$path.gpu_suite.txt" 2>&1
  echo "rc=$?" >> "$out/$path.gpu_suite.txt"; tail -4 "$out/$path.gpu_suite.txt"
  dtypes="f16"; case "$path" in tiled|rowwise) dtypes="f16 f32";; esac  # tensor-core paths: f16 only
  el "$path: presets run --check ($dtypes, d = 64 and 128, n = 4097, 3 heads)"
  [ "${CHECKS:-1}" = 1 ] && for p in assets/presets/*.json; do  # CHECKS=0 skips them
    for dt in $dtypes; do
      for d in 64 128; do
        h="--heads 3"; [ "$(basename "$p")" = gemma_stack.json ] && h=""
        echo "$path $(basename "$p") $dt d=$d: $(timeout 60 $cli run --pattern "$p" --n 4097 --d $d $h --dtype $dt --path "$path" --check 2>&1 | tail -1)"
      done
    done
  done > "$out/$path.checks.txt" 2>&1
  echo "ok: $(grep -c ' ok' "$out/$path.checks.txt") of $(wc -l < "$out/$path.checks.txt")"; grep -v " ok" "$out/$path.checks.txt" | head -5
  if [ "${ANCHORS:-1}" = 1 ]; then  # ANCHORS=0 skips the anchor suite (minutes on the portable paths); TESTS= picks gpu cases
    el "$path: anchors (f16)"
    timeout 200 $cli bench --suite anchors --repeats 5 --dtype f16 --path "$path" --json > "$out/$path.anchors.jsonl" 2> "$out/$path.anchors.err"
    python3 scripts/bench_table.py "$out/$path.anchors.jsonl" > "$out/$path.anchors.md" 2>&1; head -30 "$out/$path.anchors.md"
  fi
  el "$path: dense n=16384 d=64 16 heads ($dtypes)"
  for dt in $dtypes; do
    timeout 120 $cli bench --pattern /tmp/salab_dense.json --n 16384 --d 64 --heads 16 --repeats 3 --dtype $dt --path "$path" --no-dense --json 2>&1
  done > "$out/$path.dense16k.jsonl"
  cut -c1-300 "$out/$path.dense16k.jsonl"
done
el end
