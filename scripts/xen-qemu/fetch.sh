#!/bin/bash
# Download Debian's arm64 packages the real-Xen tier boots and unpack them privately:
#   - the base, from the host's own Debian release (bookworm): the dom0/domU kernel,
#     busybox, xenstore-utils with its libraries. Every Xen release boots it unchanged.
#   - the hypervisor of one Xen release, from the Debian release that ships it:
#     4.17 xen-hypervisor-4.17-arm64 (bookworm), 4.20 xen-hypervisor-4.20-arm64 (trixie).
#   fetch.sh [--xen 4.17|4.20] [CACHE]     release default 4.17, CACHE default build/xen-qemu
# Result: CACHE/env (ROOT, KERNEL, KVER, MODULES, BUSYBOX) for the base, and per release
# CACHE/REL/env (XEN, XEN_RELEASE, XEN_VERSION: the version the hypervisor reports,
# XEN_PKG_VERSION, XEN_SUITE); each with its debs/, root/ (dpkg -x) and versions.
# The host's apt gets the arm64 architecture added (as a foreign architecture: nothing
# arm64 is installed on the host). A hypervisor from another Debian release comes through
# a private apt configuration in CACHE/REL/apt (scripts/xen-qemu/arm64-debs.sh); the
# host's apt is not changed for it. apt verifies every .deb against the signed indexes.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
rel=4.17
[ "${1:-}" = --xen ] && { rel=${2:?--xen needs a release}; shift 2; }
cache=${1:-$top/build/xen-qemu}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
die() { echo "xen-qemu fetch: $*" >&2; exit 1; }
. "$(dirname "$0")/arm64-debs.sh"
suite=$(xen_release_suite "$rel") || die "unknown Xen release '$rel' (4.17 or 4.20)"

# --- the base, from the host's apt ---------------------------------------------------------
base_pkgs=(busybox-static xenstore-utils libxenstore4 libxentoolcore1 libc6)

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  [ "$(id -u)" = 0 ] || die "need root once for: dpkg --add-architecture arm64 && apt-get update"
  dpkg --add-architecture arm64
  apt-get update -q >"$cache/apt-update.log" 2>&1 || { cat "$cache/apt-update.log" >&2; die "apt-get update failed"; }
fi
if ! apt-cache show busybox-static:arm64 >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || die "arm64 package indexes missing; run apt-get update as root"
  apt-get update -q >"$cache/apt-update.log" 2>&1 || { cat "$cache/apt-update.log" >&2; die "apt-get update failed"; }
fi

# The kernel package behind the linux-image-arm64 metapackage (linux-image-6.1.0-NN-arm64).
kpkg=$(apt-cache depends linux-image-arm64:arm64 | awk '/Depends: linux-image-[0-9]/{sub(/:arm64$/,"",$2); print $2; exit}')
[ -n "$kpkg" ] || die "cannot resolve the kernel behind linux-image-arm64:arm64"
pkgs=("${base_pkgs[@]}" "$kpkg")

# Exact candidate versions: the cache is valid only while they match.
want=$(arm64_versions "${pkgs[@]}")
if [ ! -f "$cache/env" ] || [ "$(cat "$cache/versions" 2>/dev/null)" != "$want" ]; then
  echo "xen-qemu fetch: downloading ${pkgs[*]} (arm64)" >&2
  rm -f "$cache/env"
  arm64_unpack "$cache" "$want"
  n=$(ls "$cache/debs"/*.deb | wc -l)
  [ "$n" -eq "${#pkgs[@]}" ] || die "expected ${#pkgs[@]} packages, got $n"
  root=$cache/root
  kernel=$(ls "$root"/boot/vmlinuz-* 2>/dev/null | head -n 1)
  busybox=$root/bin/busybox
  [ -f "$kernel" ] || die "no vmlinuz in $kpkg"
  [ -x "$busybox" ] || die "no busybox in busybox-static"
  kver=${kernel##*/vmlinuz-}
  [ -d "$root/lib/modules/$kver/kernel" ] || die "no modules for $kver"
  cat >"$cache/env" <<ENV
ROOT='$root'
KERNEL='$kernel'
KVER='$kver'
MODULES='$root/lib/modules/$kver'
BUSYBOX='$busybox'
ENV
  printf '%s' "$want" >"$cache/versions"
  echo "xen-qemu fetch: kernel $kver, $n packages in $cache" >&2
fi

# --- the hypervisor of release $rel --------------------------------------------------------
hcache=$cache/$rel
mkdir -p "$hcache"
hpkg=xen-hypervisor-$rel-arm64
[ "$suite" = "$(host_suite)" ] || suite_apt "$suite" "$hcache/apt"
want=$(arm64_versions "$hpkg")
if [ -f "$hcache/env" ] && [ "$(cat "$hcache/versions" 2>/dev/null)" = "$want" ]; then exit 0; fi
echo "xen-qemu fetch: downloading $hpkg (arm64, $suite)" >&2
rm -f "$hcache/env"
arm64_unpack "$hcache" "$want"
xen=$hcache/root/boot/xen-$rel-arm64
[ -f "$xen" ] || die "no boot/xen-$rel-arm64 in $hpkg"
# The version the hypervisor reports (its banner, XENVER_extraversion), which the
# Debian version does not give (4.20.4+63-g... reports 4.20.5-pre): from the Kconfig
# header of the configuration the package ships ("# Xen/arm 4.20.5-pre Configuration").
xver=$(sed -n '1,5s|^# Xen/arm \([0-9][^ ]*\) Configuration$|\1|p' "$xen.config" 2>/dev/null | head -n 1)
[ -n "$xver" ] || die "no version in $xen.config"
case "$xver" in "$rel".*) ;; *) die "$hpkg holds Xen $xver, not $rel" ;; esac
cat >"$hcache/env" <<ENV
XEN='$xen'
XEN_RELEASE='$rel'
XEN_VERSION='$xver'
XEN_PKG_VERSION='${want#*=}'
XEN_SUITE='$suite'
ENV
printf '%s' "$want" >"$hcache/versions"
echo "xen-qemu fetch: Xen $xver ($hpkg ${want#*=}, $suite) in $hcache" >&2
