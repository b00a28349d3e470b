#!/usr/bin/env bash
# First-run (pipeline compile) time of the tiled kernel on lavapipe, with an empty Mesa shader
# cache per run (lavapipe keeps compiled shaders in ~/.cache/mesa_shader_cache: a second run
# takes seconds whatever the compile costs). Prints wall and CPU (user) seconds per head
# dimension; extra environment (SALAB_TILED_ROWS=2 ...) passes through.
#   scripts/lavapipe_compile_time.sh [cli] [d ...]     e.g. scripts/lavapipe_compile_time.sh build/salab-cli 64 128 256
set -euo pipefail
cli=${1:-build/salab-cli}
shift || true
dims=${*:-64 128 256}
pattern=$(mktemp /tmp/salab_dense_XXXX.json)
echo '{"name": "dense", "n": 200, "components": [{"type": "dense"}]}' >"$pattern"
for d in $dims; do
    cache=$(mktemp -d /tmp/salab_mesa_cache_XXXX)
    line=$(MESA_SHADER_CACHE_DIR=$cache /usr/bin/time -f "wall %e s, cpu %U s" \
        "$cli" run --pattern "$pattern" --d "$d" --path tiled --check 2>&1 | tr '\n' ' ')
    echo "d=$d: $line (load $(cut -d' ' -f1 /proc/loadavg))"
    rm -rf "$cache"
done
rm -f "$pattern"
