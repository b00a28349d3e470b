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

# --- A glslc that knows GL_KHR_cooperative_matrix + GL_NV_cooperative_matrix2 ----------------
# Bookworm's glslc (shaderc 2023.2) cannot compile the coopmat2 kernels; Debian 13 (trixie)'s
# glslc 2025.2 (glslang 15.1) can. When the system glslc fails the feature test, this fetches
# trixie's glslc, libshaderc1, spirv-tools (for spirv-val) and the libc6 / libstdc++6 / libgcc-s1
# they need through a private apt state (own sources list, lists, cache; /etc/apt is only read
# for the mirror and keyring), unpacks them with dpkg -x into .deps/trixie-glslc (git-ignored)
# and writes wrappers that run them through that folder's own dynamic loader. Nothing is
# installed into the system. CMake picks the wrappers up (SALAB_GLSLC_COOPMAT2). Re-runs only
# re-check the feature test. SALAB_NO_TRIXIE_GLSLC=1 skips this step.
repo=$(cd "$(dirname "$0")/.." && pwd)
feature_test=$repo/cmake/coopmat2_test.comp
dest=$repo/.deps/trixie-glslc
coopmat2_ok() { "$@" --target-env=vulkan1.3 -o /dev/null "$feature_test" >/dev/null 2>&1; }
if [ "${SALAB_NO_TRIXIE_GLSLC:-0}" != 0 ]; then
  :
elif command -v glslc >/dev/null && coopmat2_ok glslc; then
  echo "system glslc compiles coopmat2 shaders"
elif [ -x "$dest/glslc" ] && coopmat2_ok "$dest/glslc"; then
  echo "coopmat2 glslc: $dest/glslc"
else
  echo "system glslc cannot compile coopmat2 shaders: fetching Debian 13 (trixie) glslc into $dest"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # The mirror the system already uses (deb822 or one-line sources), deb.debian.org otherwise.
  mirror=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
             /etc/apt/sources.list.d/*.list 2>/dev/null |
           grep -oE 'https?://[^ ]*/debian/?( |$)' | grep -v security | head -n 1 | tr -d ' ' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  # bookworm's debian-archive-keyring (2023.3) already holds the trixie release keys.
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  if [ ! -f /usr/share/keyrings/debian-archive-trixie-stable.gpg ]; then
    echo "warning: no trixie release key in /usr/share/keyrings (debian-archive-keyring too old?)" >&2
  fi
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
  echo "deb [signed-by=$keyring] $mirror trixie main" >"$work/sources.list"
  apt_o=(-o "Dir::State=$work" -o "Dir::State::Lists=$work/lists" -o Dir::State::status=/dev/null
         -o "Dir::Cache=$work/cache" -o "Dir::Etc::SourceList=$work/sources.list"
         -o Dir::Etc::SourceParts=/dev/null -o APT::Architecture=amd64 -o APT::Architectures=amd64
         -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)")
  apt-get "${apt_o[@]}" update -q >"$work/update.log" 2>&1 || { cat "$work/update.log" >&2; exit 1; }
  (cd "$work/debs" && apt-get "${apt_o[@]}" download -q glslc libshaderc1 spirv-tools libc6 libstdc++6 libgcc-s1 >/dev/null)
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp/root"
  for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$dest.tmp/root"; done
  for tool in glslc spirv-val spirv-dis; do
    cat >"$dest.tmp/$tool" <<WRAP
#!/bin/sh
# Debian 13's $tool, run through its own libc (scripts/install-deps.sh); not installed.
here=\$(dirname "\$(readlink -f "\$0")")
lib=\$here/root/usr/lib/x86_64-linux-gnu
exec "\$lib/ld-linux-x86-64.so.2" --library-path "\$lib" "\$here/root/usr/bin/$tool" "\$@"
WRAP
    chmod +x "$dest.tmp/$tool"
  done
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  if coopmat2_ok "$dest/glslc"; then
    echo "coopmat2 glslc: $dest/glslc ($("$dest/glslc" --version | head -n 1))"
  else
    echo "warning: trixie glslc in $dest fails the coopmat2 feature test; coopmat2 kernels will not be built" >&2
  fi
fi
