#!/bin/bash
# Install what modxen needs, from Debian's packages and PyPI only.
#   deps.sh host   what building the host firmware and running its tools needs
#                  (Python tools run in build/venv: tools/requirements.txt)
#   deps.sh test   that plus everything the test suite drives (tests/requirements.txt)
#   deps.sh xen    host plus the real-Xen tier: aarch64 cross compiler, QEMU, initramfs tools
# Packages already present are not touched, so a ready machine needs no network.
set -euo pipefail
what=${1:-host}
top=$(cd "$(dirname "$0")/.." && pwd)

host_pkgs=(build-essential pkg-config python3 python3-venv xz-utils debian-archive-keyring libxen-dev libmbedtls-dev)
test_pkgs=(xenstore-utils xen-utils-4.17 device-tree-compiler)
# tests/zephyr: the Zephyr firmware's C compiled for aarch64 against libxen-dev
test_pkgs+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)

pkgs=("${host_pkgs[@]}")
[ "$what" = test ] && pkgs+=("${test_pkgs[@]}")
# --- xen group (real-Xen tier, scripts/xen-qemu) ---
xen_pkgs=(qemu-system-arm cpio file device-tree-compiler gcc-aarch64-linux-gnu libc6-dev-arm64-cross linux-libc-dev-arm64-cross checkpolicy m4 make)
[ "$what" = xen ] && pkgs+=("${xen_pkgs[@]}")
# --- end xen group ---

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then
    echo "deps: need root for: apt-get install ${missing[*]}" >&2; exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

venv=$top/build/venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
reqs=(-r "$top/tools/requirements.txt")
[ "$what" = test ] && reqs+=(-r "$top/tests/requirements.txt")
"$venv/bin/python" -m pip install -q --disable-pip-version-check "${reqs[@]}"
