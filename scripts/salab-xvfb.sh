#!/usr/bin/env bash
# Runs the salab window in a virtual X display (Xvfb), e.g. on a machine without a screen:
#   bash scripts/salab-xvfb.sh --pattern assets/presets/bigbird.json --stats --bench-changes 3
# With lavapipe the window's frames reach Xvfb as a 6 MB PutImage each; glibc's defaults make
# Xvfb hand that buffer back to the kernel after every frame and fault it in again on the next,
# which took 60% of each frame (1600 x 1000: 20 fps with the defaults, 55 fps with the two
# settings below, measured 2026-12-02 on 2 cores). They apply to Xvfb only, not to salab.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${SALAB_XVFB_SCREEN:-1920x1200x24}
exec env MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_MMAP_THRESHOLD_=33554432 \
  xvfb-run -a -s "-screen 0 $size" env -u MALLOC_TRIM_THRESHOLD_ -u MALLOC_MMAP_THRESHOLD_ \
  "${SALAB:-./build/salab}" "$@"
