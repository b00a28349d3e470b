#!/usr/bin/env bash
# Installs the Debian (bookworm) packages the project needs, only those missing.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config libvulkan-dev glslc mesa-vulkan-drivers
      vulkan-validationlayers vulkan-tools libglfw3-dev libimgui-dev doctest-dev libstb-dev
      nlohmann-json3-dev libcli11-dev xvfb xauth fonts-dejavu-core python3 python3-numpy
      clang libclang-rt-14-dev)  # clang + libFuzzer: tests/fuzz
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
