#!/usr/bin/env bash
# H200 A/B of the coopmat2 kernel variants (compute/attention_cm2.h): the oracle checks of every
# variant (gpu suite, coopmat2 cases), then the anchors suite at one n with each variant forced.
# ('default' runs the automatic choice.) Expects a carried static build in $CARRY/build-dev (salab-cli, salab_tests) and the Vulkan
# loader debs in .gl/. Usage: CARRY=.devcarry-lead bash scripts/device_cm2_variants.sh OUT N VARIANTS...
set -uo pipefail
out=${1:?output directory}; n=${2:?n}; shift 2
carry=${CARRY:-.devcarry}
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
mkdir -p /work && [ -e /work/main ] || ln -s "$(pwd)" /work/main
cli=$carry/build-dev/salab-cli
t0=$(date +%s)
el() { echo "[$(( $(date +%s) - t0 ))s] $*"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv > "$out/devices.txt" 2>&1
$cli devices >> "$out/devices.txt" 2>&1
grep -i "register" "$out/devices.txt" | head -40
el "coopmat2 oracle cases"
timeout 240 $carry/build-dev/salab_tests --test-suite=gpu -tc='coopmat2*' > "$out/gpu_cm2.txt" 2>&1; echo "rc=$?" >> "$out/gpu_cm2.txt"
tail -3 "$out/gpu_cm2.txt"
for v in "$@"; do
  el "anchors n=$n variant $v"
  env=(); [ "$v" != default ] && env=(SALAB_CM2_VARIANT="$v")
  env "${env[@]}" timeout 200 $cli bench --suite anchors --n "$n" --repeats 5 --dtype f16 --json > "$out/anchors_${v}.jsonl" 2>&1
  python3 - "$out/anchors_${v}.jsonl" "$v" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try: j = json.loads(line)
    except Exception: print(line.strip()[:200]); continue
    print(f"{sys.argv[2]:10} {j.get('pattern', j.get('name','?')):14} d={j.get('d')} ms={j.get('sparse_ms', j.get('gpu_ms'))} tflops={j.get('eff_gflops',0)/1000:.1f} vs_torch={j.get('vs_torch')} path={j.get('path')}")
PY
done
el end
