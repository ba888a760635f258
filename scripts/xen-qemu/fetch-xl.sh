#!/bin/bash
# Xen's own toolstack for the arm64 dom0 (xl, xenstored, xenconsoled, xen-init-dom0 and
# their libraries), from Debian's packages, unpacked into a directory dom0 can chroot
# into. Only bench/realxen.py uses it, to time `xl create` against xen.domain_create.
#   fetch-xl.sh [CACHE]     CACHE defaults to build/xen-qemu/xl
# Result: CACHE/root (dpkg -x of every package, plus busybox for a shell).
# Needs the arm64 architecture that scripts/xen-qemu/fetch.sh adds to apt.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${1:-$top/build/xen-qemu/xl}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
die() { echo "fetch-xl: $*" >&2; exit 1; }
. "$(dirname "$0")/arm64-debs.sh"

# The programs and every library they load (checked below against their ELF NEEDED
# entries; Python, Perl and the hotplug scripts' tools are not needed for a guest
# without devices).
pkgs=(xen-utils-4.17 xen-utils-common libxenmisc4.17 libxencall1 libxenevtchn1
      libxenforeignmemory1 libxengnttab1 libxendevicemodel1 libxenhypfs1 libxentoollog1
      libxentoolcore1 libxenstore4 libyajl2 libfdt1 libuuid1 zlib1g libext2fs2 libcom-err2
      libncursesw6 libtinfo6 liblzma5 libbz2-1.0 libzstd1 liblzo2-2 libgcc-s1 libc6
      busybox-static)
bins=(usr/lib/xen-4.17/bin/xl usr/lib/xen-4.17/bin/xenstored usr/lib/xen-4.17/bin/xenconsoled
      usr/lib/xen-4.17/bin/xen-init-dom0)

apt-cache show xen-utils-4.17:arm64 >/dev/null 2>&1 || die "no arm64 package indexes (run scripts/xen-qemu/fetch.sh first)"
want=$(arm64_versions "${pkgs[@]}")
if [ -d "$cache/root" ] && [ "$(cat "$cache/versions" 2>/dev/null)" = "$want" ]; then exit 0; fi

echo "fetch-xl: downloading ${#pkgs[@]} arm64 packages" >&2
rm -f "$cache/versions"
arm64_unpack "$cache" "$want"
root=$cache/root

# Every NEEDED library of the programs (and of those libraries) must be in the tree.
command -v readelf >/dev/null || die "readelf missing (binutils)"
declare -A have=() seen=()
while IFS= read -r f; do have[${f##*/}]=$f; done < <(find "$root" -name '*.so*' \( -type f -o -type l \))
queue=()
for b in "${bins[@]}"; do [ -x "$root/$b" ] || die "$b missing from the packages"; queue+=("$root/$b"); done
missing=()
while [ ${#queue[@]} -gt 0 ]; do
  f=${queue[0]}; queue=("${queue[@]:1}")
  for so in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [ -n "${seen[$so]:-}" ] && continue
    seen[$so]=1
    if [ -n "${have[$so]:-}" ]; then queue+=("$(readlink -f "${have[$so]}")"); else missing+=("$so"); fi
  done
done
[ ${#missing[@]} -eq 0 ] || die "libraries not in the package set: ${missing[*]}"
[ -x "$root/bin/busybox" ] || die "no busybox in busybox-static"
ln -sf busybox "$root/bin/sh"
printf '%s' "$want" > "$cache/versions"
echo "fetch-xl: Xen's toolstack in $root ($(du -sh "$root" | cut -f1))"
