#!/bin/bash
# Download Debian's arm64 packages the real-Xen tier boots (hypervisor, dom0/domU kernel,
# busybox, xenstore-utils with its libraries) and unpack them privately.
#   fetch.sh [CACHE]     CACHE defaults to build/xen-qemu
# Result: CACHE/debs/*.deb, CACHE/root/ (dpkg -x of every package) and CACHE/env, a shell
# fragment naming the files (XEN, KERNEL, KVER, MODULES, BUSYBOX, ROOT).
# The host's apt gets the arm64 architecture added (as a foreign architecture: nothing
# arm64 is installed on the host); apt verifies every .deb against the signed indexes.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${1:-$top/build/xen-qemu}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
die() { echo "xen-qemu fetch: $*" >&2; exit 1; }
. "$(dirname "$0")/arm64-debs.sh"

fixed_pkgs=(xen-hypervisor-4.17-arm64 busybox-static xenstore-utils libxenstore4 libxentoolcore1 libc6)

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  [ "$(id -u)" = 0 ] || die "need root once for: dpkg --add-architecture arm64 && apt-get update"
  dpkg --add-architecture arm64
  apt-get update -q >"$cache/apt-update.log" 2>&1 || { cat "$cache/apt-update.log" >&2; die "apt-get update failed"; }
fi
if ! apt-cache show xen-hypervisor-4.17-arm64:arm64 >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || die "arm64 package indexes missing; run apt-get update as root"
  apt-get update -q >"$cache/apt-update.log" 2>&1 || { cat "$cache/apt-update.log" >&2; die "apt-get update failed"; }
fi

# The kernel package behind the linux-image-arm64 metapackage (linux-image-6.1.0-NN-arm64).
kpkg=$(apt-cache depends linux-image-arm64:arm64 | awk '/Depends: linux-image-[0-9]/{sub(/:arm64$/,"",$2); print $2; exit}')
[ -n "$kpkg" ] || die "cannot resolve the kernel behind linux-image-arm64:arm64"
pkgs=("${fixed_pkgs[@]}" "$kpkg")

# Exact candidate versions: the cache is valid only while they match.
want=$(arm64_versions "${pkgs[@]}")
if [ -f "$cache/env" ] && [ -f "$cache/versions" ] && [ "$(cat "$cache/versions")" = "$want" ]; then
  exit 0
fi

echo "xen-qemu fetch: downloading ${pkgs[*]} (arm64)" >&2
rm -f "$cache/env"
arm64_unpack "$cache" "$want"
n=$(ls "$cache/debs"/*.deb | wc -l)
[ "$n" -eq "${#pkgs[@]}" ] || die "expected ${#pkgs[@]} packages, got $n"


root=$cache/root
xen=$(ls "$root"/boot/xen-4.17-arm64* 2>/dev/null | head -n 1)
kernel=$(ls "$root"/boot/vmlinuz-* 2>/dev/null | head -n 1)
busybox=$root/bin/busybox
[ -f "$xen" ] || die "no hypervisor image in xen-hypervisor-4.17-arm64"
[ -f "$kernel" ] || die "no vmlinuz in $kpkg"
[ -x "$busybox" ] || die "no busybox in busybox-static"
kver=${kernel##*/vmlinuz-}
[ -d "$root/lib/modules/$kver/kernel" ] || die "no modules for $kver"
cat >"$cache/env" <<ENV
ROOT='$root'
XEN='$xen'
KERNEL='$kernel'
KVER='$kver'
MODULES='$root/lib/modules/$kver'
BUSYBOX='$busybox'
ENV
printf '%s' "$want" >"$cache/versions"
echo "xen-qemu fetch: Xen $(basename "$xen"), kernel $kver, $n packages in $cache"
