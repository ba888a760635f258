#!/bin/bash
# Xen's public and toolstack headers of one Xen release, as Debian's libxen-dev ships
# them, in a directory of their own (nothing is installed):
#   xen-release-headers.sh 4.17|4.20 DIR
# Result: DIR/usr/include/xen/... (domctl.h, sysctl.h, arch-arm.h, xsm/flask_op.h, ...),
# DIR/usr/include/*.h (xenctrl.h, ...) and DIR/VERSION ("libxen-dev VERSION SUITE").
#   4.17: the host's installed libxen-dev (bookworm), copied (scripts/deps.sh installs it).
#   4.20: trixie's libxen-dev, downloaded through a private apt configuration
#         (scripts/xen-qemu/arm64-debs.sh: the machine's own mirror, Debian's archive
#         keyring, state in build/xen-qemu/4.20/apt), verified by apt, unpacked with dpkg -x.
#         The arm64 package: libxen-dev's headers are the same on every architecture.
# Use with -idirafter DIR/usr/include (or -I), and -D__XEN_TOOLS__ for domctl.h/sysctl.h.
set -euo pipefail
rel=${1:?usage: xen-release-headers.sh 4.17|4.20 DIR}
dir=${2:?usage: xen-release-headers.sh 4.17|4.20 DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "xen-release-headers: $*" >&2; exit 1; }
. "$top/scripts/xen-qemu/arm64-debs.sh"
suite=$(xen_release_suite "$rel") || die "unknown Xen release '$rel' (4.17 or 4.20)"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

if [ "$suite" = "$(host_suite)" ]; then
  ver=$(dpkg-query -W -f='${Version}' libxen-dev 2>/dev/null || true)
  [ -n "$ver" ] || die "libxen-dev is not installed (scripts/deps.sh host)"
  case "$ver" in "$rel".*) ;; *) die "the installed libxen-dev is $ver, not Xen $rel" ;; esac
  want="libxen-dev $ver $suite"
  [ "$(cat "$dir/VERSION" 2>/dev/null)" = "$want" ] && [ -f "$dir/usr/include/xen/xen.h" ] && exit 0
  rm -rf "$dir/usr"
  dpkg-query -L libxen-dev | grep '^/usr/include/' | while IFS= read -r f; do
    if [ -d "$f" ]; then mkdir -p "$dir$f"; else mkdir -p "$dir${f%/*}" && cp -P "$f" "$dir$f"; fi
  done
else
  suite_apt "$suite" "$top/build/xen-qemu/$rel/apt"
  pv=$(arm64_versions libxen-dev)
  want="libxen-dev ${pv#*=} $suite"
  [ "$(cat "$dir/VERSION" 2>/dev/null)" = "$want" ] && [ -f "$dir/usr/include/xen/xen.h" ] && exit 0
  case "${pv#*=}" in "$rel".*) ;; *) die "$suite's libxen-dev is ${pv#*=}, not Xen $rel" ;; esac
  tmp=$dir/.fetch
  rm -rf "$tmp" && mkdir -p "$tmp"
  arm64_unpack "$tmp" "$pv"
  rm -rf "$dir/usr" && mkdir -p "$dir/usr"
  mv "$tmp/root/usr/include" "$dir/usr/include"
  rm -rf "$tmp"
fi
[ -f "$dir/usr/include/xen/domctl.h" ] || die "no xen/domctl.h in libxen-dev"
echo "$want" > "$dir/VERSION"
v=$(sed -n 's/^#define XEN_DOMCTL_INTERFACE_VERSION *\(0x[0-9a-fA-F]*\).*/\1/p' "$dir/usr/include/xen/domctl.h")
echo "xen-release-headers: Xen $rel ($want, domctl $v) in $dir/usr/include" >&2
