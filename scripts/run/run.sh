#!/bin/bash
# make run: Debian's Xen (arm64) under QEMU with the modxen firmware as dom0's
# toolstack, its REPL on this terminal, a demo guest in the image store.
#   run.sh [--xen 4.20|4.17] [--firmware FILE] [--port N] [--t0 EPOCH] [--out DIR]
# --firmware: the static aarch64 firmware (make firmware-aarch64);
# --port: the local TCP port of the second console, for mpremote (default: the first
#         free one from 4570);
# --t0: when `make run` started (date +%s.%N): the time to the first `>>>` is printed.
# Every step says what it does; the Debian packages are downloaded once
# (scripts/xen-qemu/fetch.sh), the images and the dom0 initramfs are rebuilt only when
# what they are made of changed. Outputs in OUT (default build/run):
#   images/   the image store, dom0's /images (read-only 9p): demo.cfg, Image, demo.cpio
#   flash/    dom0's /flash (9p, read-write; survives runs)
#   xen-REL/  dom0.cpio, the dom0 initramfs; console.log is not kept (the terminal is it)
#   times.txt one line per run: release, seconds from `make run` to the first `>>>`
# Keys: Ctrl-A, Ctrl-B, Ctrl-C, Ctrl-D, Ctrl-E and Ctrl-] all reach MicroPython (Xen's
# console switch is off: conswitch=`; QEMU's stdio does not turn Ctrl-C into a signal).
# QEMU's own escape is Ctrl-\ : Ctrl-\ x quits, Ctrl-\ c is QEMU's monitor.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/scripts/run
rel=4.20
firmware=$top/build/aarch64-linux/micropython
port=""
t0=""
out=$top/build/run
while [ $# -gt 0 ]; do
  case "$1" in
    --xen) rel=$2; shift 2 ;;
    --firmware) firmware=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --t0) t0=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--xen 4.20|4.17] [--firmware FILE] [--port N] [--t0 EPOCH] [--out DIR]" >&2; exit 2 ;;
  esac
done
die() { echo "make run: FAIL: $*" >&2; exit 1; }
step() { echo "make run: $*" >&2; }
case "$rel" in 4.17|4.20) ;; *) die "unknown Xen release '$rel' (XEN=4.20 or XEN=4.17)" ;; esac
command -v qemu-system-aarch64 >/dev/null || die "qemu-system-aarch64 missing (scripts/deps.sh xen)"
[ -x "$firmware" ] || die "no firmware $firmware (make firmware-aarch64)"
mkdir -p "$out"
out=$(cd "$out" && pwd)

# --- Debian's arm64 packages: Xen REL, the kernel, busybox, xenstore-utils -------------
cache=$top/build/xen-qemu
if [ -f "$cache/env" ] && [ -f "$cache/$rel/env" ]; then
  : # downloaded before (make test-xen and the real-Xen tests refresh them)
else
  step "downloading Debian's arm64 Xen $rel, kernel, busybox and xenstore-utils (once)"
  "$top/scripts/xen-qemu/fetch.sh" --xen "$rel" "$cache" || die "fetching the Debian arm64 packages failed"
fi
# shellcheck disable=SC1091
. "$cache/env"
# shellcheck disable=SC1091
. "$cache/$rel/env"

# stale TARGET SOURCE... : true if TARGET is missing or older than a SOURCE
stale() {
  local t=$1 s
  shift
  [ -e "$t" ] || return 0
  for s in "$@"; do [ "$s" -nt "$t" ] && return 0; done
  return 1
}

# --- consmux: the dom0 program that joins the REPL to both consoles ------------------
mux=$out/consmux
if stale "$mux" "$here/consmux.c"; then
  step "building consmux (aarch64)"
  command -v aarch64-linux-gnu-gcc >/dev/null || die "aarch64-linux-gnu-gcc missing (scripts/deps.sh xen)"
  aarch64-linux-gnu-gcc -static -O2 -Wall -o "$mux.tmp" "$here/consmux.c" && mv -f "$mux.tmp" "$mux" \
    || die "building consmux failed"
fi

# --- kernel modules, with their dependencies first ------------------------------------
# mods DIR MODULE... : DIR/<name>.ko and DIR/order (the insmod order), read from each
# module's modinfo (the unpacked package has no modules.dep).
mods() {
  local dir=$1 m f n
  shift
  declare -A path=() done_mod=()
  local order=()
  while IFS= read -r f; do n=${f##*/}; n=${n%.ko}; path[${n//-/_}]=$f; done \
    < <(find "$MODULES/kernel" -name '*.ko')
  add() {
    local n=${1//-/_} f deps d
    [ -n "${done_mod[$n]:-}" ] && return 0
    f=${path[$n]:-}
    [ -n "$f" ] || die "kernel module $1 not in $KVER"
    deps=$(tr '\0' '\n' < "$f" | sed -n 's/^depends=//p' | head -n 1)
    for d in ${deps//,/ }; do add "$d"; done
    done_mod[$n]=1
    cp "$f" "$dir/$n.ko"
    order+=("$n")
  }
  rm -rf "$dir" && mkdir -p "$dir"
  for m in "$@"; do add "$m"; done
  printf '%s\n' "${order[@]}" > "$dir/order"
}

# --- the image store: the demo guest ------------------------------------------------
images=$out/images
mkdir -p "$images"
cmp -s "$KERNEL" "$images/Image" 2>/dev/null || { step "image store: Debian's arm64 kernel ($KVER)"; cp "$KERNEL" "$images/Image"; }
if stale "$images/demo.cpio" "$here/demo/init" "$BUSYBOX" "$ROOT/usr/bin/xenstore" "$cache/versions"; then
  step "image store: the demo guest's initramfs (busybox, xenstore-utils)"
  g=$out/demo-root
  rm -rf "$g" && mkdir -p "$g"/{bin,lib/aarch64-linux-gnu}
  cp "$BUSYBOX" "$g/bin/busybox"
  ln -s busybox "$g/bin/sh"
  cp "$here/demo/init" "$g/init"
  chmod +x "$g/init"
  cp "$ROOT/usr/bin/xenstore" "$g/bin/xenstore"
  for t in read write ls rm exists list; do ln -s xenstore "$g/bin/xenstore-$t"; done
  for l in lib/aarch64-linux-gnu/ld-linux-aarch64.so.1 lib/aarch64-linux-gnu/libc.so.6 \
           usr/lib/aarch64-linux-gnu/libxenstore.so.4 usr/lib/aarch64-linux-gnu/libxentoolcore.so.1; do
    [ -e "$ROOT/$l" ] || die "guest library $l missing from the unpacked packages"
    cp -L "$ROOT/$l" "$g/lib/aarch64-linux-gnu/"
  done
  ln -s aarch64-linux-gnu/ld-linux-aarch64.so.1 "$g/lib/ld-linux-aarch64.so.1"
  (cd "$g" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) > "$images/demo.cpio.tmp" \
    || die "cpio of the demo guest's initramfs failed"
  mv -f "$images/demo.cpio.tmp" "$images/demo.cpio"
  rm -rf "$g"
fi
for c in demo.cfg tiny.cfg; do cmp -s "$here/demo/$c" "$images/$c" 2>/dev/null || cp "$here/demo/$c" "$images/$c"; done
mkdir -p "$out/flash"

# --- dom0's initramfs ---------------------------------------------------------------
d0=$out/xen-$rel
mkdir -p "$d0"
cpio_out=$d0/dom0.cpio
if stale "$cpio_out" "$firmware" "$mux" "$here/dom0-init.sh" "$here/boot.py" "$BUSYBOX" "$cache/versions"; then
  step "dom0 initramfs: busybox, the modxen firmware, consmux, Xen/virtio/9p drivers"
  s=$d0/root
  rm -rf "$s" && mkdir -p "$s"/{bin,lib,etc}
  cp "$BUSYBOX" "$s/bin/busybox"
  ln -s busybox "$s/bin/sh"
  cp "$here/dom0-init.sh" "$s/init"
  chmod +x "$s/init"
  cp "$firmware" "$s/bin/micropython"
  cp "$mux" "$s/bin/consmux"
  cp "$here/boot.py" "$s/etc/modxen-boot.py"
  mods "$s/lib/modules" xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc virtio_mmio virtio_console 9pnet_virtio 9p
  (cd "$s" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) > "$cpio_out.tmp" \
    || die "cpio of the dom0 initramfs failed"
  mv -f "$cpio_out.tmp" "$cpio_out"
  rm -rf "$s"
fi

# --- the mpremote console's port ----------------------------------------------------
free_port() {
  python3 - "$1" <<'PY'
import socket, sys
p = int(sys.argv[1])
for port in list(range(p, p + 50)) + [0]:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    print(s.getsockname()[1])
    break
PY
}
[ -n "$port" ] || port=$(free_port 4570)
[ -n "$port" ] || die "no free local TCP port for the mpremote console"

# --- boot ------------------------------------------------------------------------------
uart=9000000
xen_args="console=dtuart dtuart=/pl011@$uart dom0_mem=512M dom0_max_vcpus=2 conswitch=\`"
qemu=(qemu-system-aarch64 -machine virt,virtualization=on,gic-version=3 -cpu cortex-a57
      -smp 2 -m 2048 -display none -nodefaults -no-reboot -nic none
      -chardev stdio,id=term,mux=on,signal=off -serial chardev:term -mon chardev=term,mode=readline -echr 0x1c
      -kernel "$XEN" -append "$xen_args"
      -device "guest-loader,addr=0x50000000,kernel=$KERNEL,bootargs=console=hvc0 rdinit=/init quiet panic=-1"
      -device "guest-loader,addr=0x54000000,initrd=$cpio_out"
      -fsdev "local,id=images,path=$images,security_model=none,readonly=on"
      -device virtio-9p-device,fsdev=images,mount_tag=images
      -fsdev "local,id=flash,path=$out/flash,security_model=none"
      -device virtio-9p-device,fsdev=flash,mount_tag=flash
      -device virtio-serial-device
      -chardev "socket,id=mp,host=127.0.0.1,port=$port,server=on,wait=off"
      -device virtconsole,chardev=mp)
step "booting Xen $XEN_VERSION ($XEN_SUITE's xen-hypervisor-$rel-arm64) + dom0 (Linux $KVER, modxen firmware) in QEMU"
cat >&2 <<EOF
make run: the REPL is this terminal. Ctrl-A, Ctrl-C, Ctrl-D and Ctrl-] go to MicroPython;
make run: quit QEMU with Ctrl-\\ then x.  mpremote, from another terminal:
make run:   build/venv/bin/mpremote connect socket://127.0.0.1:$port
EOF
# QEMU on a terminal of its own, relayed (input paced for Xen's 128-byte buffer); the
# first ">>>" ends the boot: how long it took from `make run` is printed.
exec python3 "$here/term.py" "${t0:-}" "$out/times.txt" "$rel" -- "${qemu[@]}"
