#!/usr/bin/env bash
# Installs what is missing, builds (Release) and starts the salab window with the default preset.
# Without a display it says so and renders the default views to PNG with salab-cli instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build
preset=assets/presets/longformer.json
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec ./build/salab --pattern "$preset" "$@"
fi
echo "salab: no display (DISPLAY unset), so no window; rendering the default views to out/*.png instead"
echo "       (for the window in a virtual display: bash scripts/salab-xvfb.sh --pattern $preset)"
mkdir -p out
for view in mask blocks heatmap hops; do
  ./build/salab-cli render --pattern "$preset" --n 1024 --view "$view" --out "out/$view.png"
  echo "  wrote out/$view.png"
done
./build/salab-cli hops --pattern "$preset" --n 1024
./build/salab-cli bench --pattern "$preset" --n 1024,4096
