#!/usr/bin/env bash
# First H200 call for the coopmat2 kernels: devices, oracle checks, anchors bench, variants.
set -uo pipefail
cd "$(dirname "$0")"
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
O=${OUT:-/tmp/out}; mkdir -p $O
t0=$(date +%s)
el() { echo "[$(( $(date +%s) - t0 ))s] $*"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv > $O/devices.txt 2>&1
./salab-cli devices >> $O/devices.txt 2>&1; cat $O/devices.txt
./salab-cli devices --json > $O/devices.json 2>&1
el "quick checks"
for p in dense longformer bigbird sparse_transformer_fixed mistral_sliding_window; do for d in 64 128; do
  echo "$p d=$d: $(timeout 60 ./salab-cli run --pattern presets/$p.json --n 4097 --d $d --heads 3 --dtype f16 --check 2>&1 | tail -1)"
done; done 2>&1 | tee $O/checks_quick.txt
el "bench anchors (default cm2 variant)"
timeout 240 ./salab-cli bench --suite anchors --repeats 5 --dtype f16 --json > $O/anchors_cm2.jsonl 2> $O/anchors_cm2.err
el "bench done rc=$?"
python3 - $O/anchors_cm2.jsonl <<'PY'
import json,sys
for l in open(sys.argv[1]):
    try: j=json.loads(l)
    except Exception: continue
    print(f"{j['pattern']:14s} n={j['n']:6d} d={j['d']:3d} {j['sparse_ms']:9.3f} ms {j['eff_gflops']/1e3:6.1f} TF/s dense {j.get('dense_ms',0):8.3f} ms vs_flex {j.get('vs_flex',0):5.2f} {j['path']}")
PY
el "gpu suite"
timeout 200 ./salab_tests --test-suite=gpu > $O/gpu_suite.txt 2>&1; echo "rc=$?" >> $O/gpu_suite.txt
tail -4 $O/gpu_suite.txt; grep -E "ERROR|FAILED|CHECK\(" $O/gpu_suite.txt | head -20
el "all presets run --check"
for p in presets/*.json; do for d in 64 128; do
  echo "$(basename $p) d=$d: $(timeout 60 ./salab-cli run --pattern $p --n 4097 --d $d --heads 3 --dtype f16 --check 2>&1 | tail -1)"
done; done > $O/checks.txt 2>&1; grep -c -i "ok\|pass" $O/checks.txt; grep -v -i " ok\|pass" $O/checks.txt | head
el "variants"
for v in decode s64; do
  SALAB_CM2_VARIANT=$v timeout 100 ./salab-cli bench --suite anchors --repeats 5 --dtype f16 --json --no-dense > $O/anchors_cm2_$v.jsonl 2>&1
  el "variant $v rc=$?"
done
el end
