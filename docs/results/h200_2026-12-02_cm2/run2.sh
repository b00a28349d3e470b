#!/usr/bin/env bash
# Second H200 call: variant A/B, coopmat2 oracle tests, anchors suite with the best variant, preset checks.
set -uo pipefail
cd "$(dirname "$0")"
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
O=${OUT:-/tmp/out}; mkdir -p $O
t0=$(date +%s)
el() { echo "[$(( $(date +%s) - t0 ))s] $*"; }
./salab-cli devices > $O/devices.txt 2>&1; grep -E "pipeline|reserved" $O/devices.txt
el "A/B variants n=16384"
for v in staged o16 s64 decode v1; do
  for p in dense window bigbird strided causal_window; do
    if [ $v = v1 ]; then [ $p = window ] || [ $p = causal_window ] || continue; fi
    if [ $v = v1 ]; then e=SALAB_NO_COOPMAT2=1; else e=SALAB_CM2_VARIANT=$v; fi
    env $e timeout 40 ./salab-cli bench --pattern anchor/$p.json --n 16384 --d 64,128 --heads 16 --repeats 5 --dtype f16 --no-dense --json | sed "s/^{/{\"variant\":\"$v\",/"
  done
done > $O/ab.jsonl 2>&1
el "A/B done"
best=$(python3 - $O/ab.jsonl <<'PY'
import json,sys,collections
t=collections.defaultdict(float); rows=[]
for l in open(sys.argv[1]):
    try: j=json.loads(l)
    except Exception: continue
    rows.append(j)
    if j['variant']!='v1' and j['pattern']!='causal_window': t[j['variant']]+=j['sparse_ms']
for j in rows: print(f"AB {j['variant']:7s} {j['pattern']:14s} d={j['d']:3d} {j['sparse_ms']:8.3f} ms {j['eff_gflops']/1e3:6.1f} TF/s {j['path']}", file=sys.stderr)
print(min(t,key=t.get) if t else 'staged')
PY
)
el "best variant: $best"
el "coopmat2 oracle tests (every variant)"
timeout 150 ./salab_tests --test-suite=gpu -tc='coopmat2*' > $O/gpu_cm2.txt 2>&1; echo "rc=$?" >> $O/gpu_cm2.txt; tail -4 $O/gpu_cm2.txt; grep -E "ERROR" $O/gpu_cm2.txt | sort | uniq -c | head
el "anchors suite, variant $best"
SALAB_CM2_VARIANT=$best timeout 200 ./salab-cli bench --suite anchors --repeats 5 --dtype f16 --json > $O/anchors_cm2.jsonl 2> $O/anchors_cm2.err
python3 - $O/anchors_cm2.jsonl <<'PY'
import json,sys
for l in open(sys.argv[1]):
    try: j=json.loads(l)
    except Exception: continue
    print(f"{j['pattern']:14s} n={j['n']:6d} d={j['d']:3d} {j['sparse_ms']:9.3f} ms {j['eff_gflops']/1e3:6.1f} TF/s dense {j.get('dense_ms',0):8.3f} ms vs_flex {j.get('vs_flex',0):5.2f} {j['path']}")
PY
el "all presets run --check (variant $best)"
for p in presets/*.json; do for d in 64 128; do
  h="--heads 3"; [ $(basename $p) = gemma_stack.json ] && h=""
  echo "$(basename $p) d=$d: $(SALAB_CM2_VARIANT=$best timeout 60 ./salab-cli run --pattern $p --n 4097 --d $d $h --dtype f16 --check 2>&1 | tail -1)"
done; done > $O/checks.txt 2>&1; grep -c " ok" $O/checks.txt; grep -v " ok" $O/checks.txt | head
el end
