#!/bin/bash
# Xen's own toolstack for the arm64 dom0 (xl, xenstored, xenconsoled, xen-init-dom0 and
# their libraries), from the Debian release that ships the hypervisor (4.17: bookworm's
# xen-utils-4.17, 4.20: trixie's xen-utils-4.20, with that release's libraries and libc),
# unpacked into a directory dom0 can chroot into. Only bench/realxen.py uses it, to time
# `xl create` against xen.domain_create.
#   fetch-xl.sh [--xen 4.17|4.20] [CACHE]   release default 4.17,
#                                           CACHE defaults to build/xen-qemu/REL/xl
# Result: CACHE/root (dpkg -x of every package, plus busybox for a shell).
# Needs the arm64 architecture that scripts/xen-qemu/fetch.sh adds to apt (4.17), or
# the private trixie apt configuration in build/xen-qemu/4.20/apt (4.20, made here).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
rel=4.17
[ "${1:-}" = --xen ] && { rel=${2:?--xen needs a release}; shift 2; }
cache=${1:-$top/build/xen-qemu/$rel/xl}
die() { echo "fetch-xl: $*" >&2; exit 1; }
. "$(dirname "$0")/arm64-debs.sh"
suite=$(xen_release_suite "$rel") || die "unknown Xen release '$rel' (4.17 or 4.20)"
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# The programs and every library they load (checked below against their ELF NEEDED
# entries; Python, Perl and the hotplug scripts' tools are not needed for a guest
# without devices).
pkgs=(xen-utils-$rel xen-utils-common libxenmisc$rel libxencall1 libxenevtchn1
      libxenforeignmemory1 libxengnttab1 libxendevicemodel1 libxenhypfs1 libxentoollog1
      libxentoolcore1 libxenstore4 libyajl2 libfdt1 libuuid1 zlib1g libcom-err2
      libtinfo6 liblzma5 libbz2-1.0 libzstd1 liblzo2-2 libgcc-s1 libc6 busybox-static)
case "$rel" in
  4.17) pkgs+=(libext2fs2 libncursesw6) ;;
  4.20) pkgs+=(libext2fs2t64 libncurses6) ;;   # trixie's names (64-bit time_t transition, ncurses 6.5)
esac
bins=(usr/lib/xen-$rel/bin/xl usr/lib/xen-$rel/bin/xenstored usr/lib/xen-$rel/bin/xenconsoled
      usr/lib/xen-$rel/bin/xen-init-dom0)

if [ "$suite" = "$(host_suite)" ]; then
  apt-cache show "xen-utils-$rel:arm64" >/dev/null 2>&1 || die "no arm64 package indexes (run scripts/xen-qemu/fetch.sh first)"
else
  suite_apt "$suite" "$top/build/xen-qemu/$rel/apt"
fi
want=$(arm64_versions "${pkgs[@]}")
if [ -d "$cache/root" ] && [ "$(cat "$cache/versions" 2>/dev/null)" = "$want" ]; then exit 0; fi

echo "fetch-xl: downloading ${#pkgs[@]} arm64 packages ($suite, Xen $rel)" >&2
rm -f "$cache/versions"
arm64_unpack "$cache" "$want"
root=$cache/root
# trixie's packages are merged-/usr (/bin, /lib in usr/): the links base-files would make
for d in bin sbin lib; do
  [ -e "$root/$d" ] || [ ! -d "$root/usr/$d" ] || ln -s "usr/$d" "$root/$d"
done

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
echo "fetch-xl: Xen $rel's toolstack in $root ($(du -sh "$root" | cut -f1))"
