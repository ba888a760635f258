#!/bin/bash
# Install what modxen needs, from Debian's packages and PyPI only.
#   deps.sh host   what building the host firmware needs
#   deps.sh test   that plus everything the test suite drives (venv in build/venv)
#   deps.sh xen    host plus the real-Xen tier: aarch64 cross compiler, QEMU, initramfs tools
# Packages already present are not touched, so a ready machine needs no network.
set -euo pipefail
what=${1:-host}
top=$(cd "$(dirname "$0")/.." && pwd)

host_pkgs=(build-essential pkg-config python3 xz-utils debian-archive-keyring libxen-dev libmbedtls-dev python3-cryptography)
test_pkgs=(python3-venv xenstore-utils xen-utils-4.17 device-tree-compiler)

pkgs=("${host_pkgs[@]}")
[ "$what" = test ] && pkgs+=("${test_pkgs[@]}")
# --- xen group (real-Xen tier, scripts/xen-qemu) ---
xen_pkgs=(qemu-system-arm cpio file gcc-aarch64-linux-gnu libc6-dev-arm64-cross linux-libc-dev-arm64-cross)
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

if [ "$what" = test ]; then
  venv=$top/build/venv
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$top/tests/requirements.txt"
fi
