#!/usr/bin/env bash
# Runs each fuzz target for SECONDS (default 30) from a seed corpus generated here: the presets
# (patterns), sessions wrapping them, and small .npy files (valid, truncated, odd
# headers, written here without NumPy). Usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]. Fails on any finding.
set -euo pipefail
build=$(cd "$1" && pwd)
secs=${2:-30}
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$build/fuzz-work
rm -rf "$work"
mkdir -p "$work"/{pattern,session,npy} "$work"/findings/{pattern,session,npy}
cp "$src"/assets/presets/*.json "$work/pattern/"
python3 - "$src" "$work" <<'PY'
import glob, json, os, sys
src, work = sys.argv[1], sys.argv[2]
for i, f in enumerate(sorted(glob.glob(os.path.join(src, "assets/presets/*.json")))):
    pattern = json.load(open(f))
    s = {"salab_session": 1, "pattern": pattern, "preset": f,
         "params": {"d": 64, "heads": 2, "layer": 0, "device": -1, "source": "structured",
                    "data_seed": 1, "q": "", "k": "", "v": ""},
         "view": {"head": 0, "color_by_component": False, "show_blocks": True, "show_minimap": True,
                  "show_hop_overlay": True, "heat_scale": "log", "heat_show_diff": True,
                  "hop_token": 3, "hop_to": True, "hop_depth": 2}}
    json.dump(s, open(os.path.join(work, "session", "s%02d.json" % i), "w"))
npy = os.path.join(work, "npy")
def save(name, descr, shape, payload, version=1):
    sh = "(" + "".join("%d, " % x for x in shape).rstrip(" ") + ")" if len(shape) != 1 else "(%d,)" % shape[0]
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, sh)
    pre = 10 if version == 1 else 12
    h += " " * ((64 - (pre + len(h) + 1) % 64) % 64) + "\n"
    ln = len(h).to_bytes(2 if version == 1 else 4, "little")
    open(os.path.join(npy, name), "wb").write(b"\x93NUMPY" + bytes([version, 0]) + ln + h.encode() + payload)
import struct
save("qkv.npy", "<f4", (2, 3, 4), struct.pack("<24f", *range(24)))
save("q2d.npy", "<f4", (3, 4), struct.pack("<12f", *[1.0] * 12))
save("v2.npy", "<f4", (2, 3, 4), struct.pack("<24f", *[0.5] * 24), version=2)
save("mask.npy", "|u1", (5, 5), bytes(25))
save("vec.npy", "<f4", (7,), bytes(28))
save("f8.npy", "<f8", (2, 2), bytes(32))
save("scalar.npy", "<f4", (), bytes(4))
raw = open(os.path.join(npy, "qkv.npy"), "rb").read()
open(os.path.join(npy, "truncated.npy"), "wb").write(raw[:100])
PY
# One target per CPU at a time (each libFuzzer process runs on one core): every target still
# gets its SECONDS of a whole core; the logs are printed in order afterwards.
jobs=$(nproc)
fuzz_one() {
  local t=$1 rc=0
  (cd "$work/findings/$t" && "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
     -max_len=65536 -print_final_stats=1 "$work/$t" >"$work/fuzz_$t.log" 2>&1) || rc=$?
  echo "$rc" >"$work/fuzz_$t.rc"
}
running=0
for t in pattern session npy; do
  if (( running >= jobs )); then
    wait -n
    running=$((running - 1))
  fi
  echo "fuzz_$t: ${secs}s"
  fuzz_one "$t" &
  running=$((running + 1))
done
wait
status=0
for t in pattern session npy; do
  echo "fuzz_$t:"
  if [[ $(cat "$work/fuzz_$t.rc") != 0 ]]; then
    # The crash report (error line, stack, input as text and base64) sits above the stats.
    grep -v -e '^#' -e 'NEW_FUNC' "$work/fuzz_$t.log" | tail -n 60
    status=1
  else
    tail -n 12 "$work/fuzz_$t.log"
  fi
  f=$work/findings/$t
  if compgen -G "$f/crash-*" >/dev/null || compgen -G "$f/timeout-*" >/dev/null ||
     compgen -G "$f/oom-*" >/dev/null || compgen -G "$f/leak-*" >/dev/null; then
    echo "fuzz_$t: findings in $f"; status=1
  fi
done
exit $status
