#!/bin/sh
# Make DIR a cross-compile toolchain for Zephyr from Debian's gcc-aarch64-linux-gnu:
#   port/zephyr/toolchain/setup.sh DIR
#   west build -b qemu_cortex_a53 -S xen_dom0 -S modxen micropython/ports/zephyr -- \
#     -DZEPHYR_TOOLCHAIN_VARIANT=cross-compile -DCROSS_COMPILE=DIR/aarch64-linux-gnu-
# DIR gets aarch64-linux-gnu-gcc and -g++ (this directory's gcc-wrapper) and links to
# every other aarch64-linux-gnu-* tool on PATH. Pass CROSS_COMPILE to CMake as
# -DCROSS_COMPILE=...: exported in the environment it also reaches MicroPython's
# host build of mpy-cross, which is then built for aarch64 ("Exec format error").
set -eu
dir=${1:?usage: setup.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
prefix=aarch64-linux-gnu-
command -v ${prefix}gcc >/dev/null || { echo "setup.sh: ${prefix}gcc missing (apt-get install gcc-aarch64-linux-gnu)" >&2; exit 1; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
gccdir=$(dirname "$(command -v ${prefix}gcc)")
for t in "$gccdir"/${prefix}*; do
  n=${t##*/}
  case "$n" in ${prefix}gcc|${prefix}g++) ;; *) ln -sfn "$t" "$dir/$n" ;; esac
done
for n in gcc g++; do
  rm -f "$dir/$prefix$n"
  cp "$here/gcc-wrapper" "$dir/$prefix$n"
  chmod +x "$dir/$prefix$n"
done
echo "setup.sh: $dir: pass -DCROSS_COMPILE=$dir/$prefix (not an exported CROSS_COMPILE)"
