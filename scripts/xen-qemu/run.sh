#!/bin/bash
# Boot Xen 4.17 (Debian arm64) under QEMU with a busybox Linux dom0 that has no Xen
# toolstack, run the dom0 tests with our aarch64 firmware, read the results back over a
# 9p share, print the pass/fail count. Exit status 0 only if every test passed.
#   run.sh [--firmware FILE] [--tests DIR] [--out DIR] [--timeout SECONDS] [--verbose]
# Env: XEN_QEMU_XEN_ARGS (extra hypervisor arguments, e.g. xsm=flask), XEN_QEMU_SMP,
#      XEN_QEMU_TEST_TIMEOUT (per dom0 test, seconds).
# Outputs in OUT (default build/xen-qemu/run): console.log (Xen + dom0 console),
# share/results/<test>.{out,rc}, summary.txt ("PASS|FAIL <test>::<case> [why]" per line).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/scripts/xen-qemu
firmware=$top/build/aarch64-linux/micropython
tests=$top/tests/xen/dom0
out=$top/build/xen-qemu/run
limit=420
verbose=0
while [ $# -gt 0 ]; do
  case "$1" in
    --firmware) firmware=$2; shift 2 ;;
    --tests) tests=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --timeout) limit=$2; shift 2 ;;
    --verbose) verbose=1; shift ;;
    *) echo "usage: $0 [--firmware FILE] [--tests DIR] [--out DIR] [--timeout S] [--verbose]" >&2; exit 2 ;;
  esac
done
die() { echo "xen-qemu: FAIL: $*" >&2; exit 1; }
t0=$(date +%s)

command -v qemu-system-aarch64 >/dev/null || die "qemu-system-aarch64 missing (scripts/deps.sh xen)"
command -v cpio >/dev/null || die "cpio missing (scripts/deps.sh xen)"
"$here/fetch.sh" "$top/build/xen-qemu" || die "fetching the Debian arm64 packages failed"
# shellcheck disable=SC1091
. "$top/build/xen-qemu/env"
[ -d "$tests" ] || die "no test directory $tests"
ls "$tests"/test_* >/dev/null 2>&1 || die "no test_* in $tests"
[ -x "$firmware" ] || die "firmware $firmware missing (make firmware-aarch64)"
file -b "$firmware" 2>/dev/null | grep -q 'ARM aarch64.*statically linked' \
  || die "$firmware is not a static aarch64 executable"

# --- dom0 initramfs -------------------------------------------------------------------
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$out/dom0-root
rm -rf "$stage" && mkdir -p "$stage"/{bin,lib/modules,tests}
cp "$BUSYBOX" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
cp "$here/dom0-init.sh" "$stage/init"
cp "$firmware" "$stage/bin/micropython"
cp -r "$tests"/. "$stage/tests/"
rm -rf "$stage/tests/__pycache__"
[ -n "${XEN_QEMU_TEST_TIMEOUT:-}" ] && echo "$XEN_QEMU_TEST_TIMEOUT" > "$stage/tests/TIMEOUT"
smp=${XEN_QEMU_SMP:-2} mem_mb=2048 dom0_mem_mb=512 dom0_vcpus=2
uart=9000000        # QEMU virt's PL011, Xen's own console (dtuart)
virtio_mmio=a000000 # QEMU virt's virtio-mmio window, passed through to dom0
xen_ver=$(sed -n 's/^xen-hypervisor-4.17-arm64=\([0-9.]*\).*/\1/p' "$top/build/xen-qemu/versions")
# What the dom0 tests compare real Xen against: this boot's own configuration.
cat > "$stage/tests/EXPECT.json" <<JSON
{"xen": "$xen_ver", "smp": $smp, "mem_mb": $mem_mb, "dom0_mem_mb": $dom0_mem_mb, "dom0_vcpus": $dom0_vcpus,
 "xen_uart_mfn": $((0x$uart >> 12)), "dom0_mmio_mfn": $((0x$virtio_mmio >> 12)), "kernel": "$KVER"}
JSON

# Kernel modules with their dependencies first (read from each module's modinfo; the
# unpacked package has no modules.dep and depmod need not exist on the host).
declare -A kpath=() done_mod=()
while IFS= read -r f; do n=${f##*/}; n=${n%.ko}; kpath[${n//-/_}]=$f; done \
  < <(find "$MODULES/kernel" -name '*.ko')
order=()
add_mod() {
  local n=${1//-/_} f deps d
  [ -n "${done_mod[$n]:-}" ] && return 0
  f=${kpath[$n]:-}
  [ -n "$f" ] || die "kernel module $1 not in $KVER"
  deps=$(tr '\0' '\n' < "$f" | sed -n 's/^depends=//p' | head -n 1)
  for d in ${deps//,/ }; do add_mod "$d"; done
  done_mod[$n]=1
  cp "$f" "$stage/lib/modules/$n.ko"
  order+=("$n")
}
for m in xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc virtio_mmio 9pnet_virtio 9p; do add_mod "$m"; done
printf '%s\n' "${order[@]}" > "$stage/lib/modules/order"
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) > "$out/dom0.cpio" \
  || die "cpio of the dom0 initramfs failed"

# --- guest images (read by dom0 over the share) -----------------------------------------
# The domU runs Debian's arm64 kernel with a busybox initramfs holding Debian's
# xenstore-utils (dynamically linked: its libraries and loader come along).
share=$out/share
gstage=$out/guest-root
mkdir -p "$share/guest"
rm -rf "$gstage" && mkdir -p "$gstage"/{bin,lib/aarch64-linux-gnu}
cp "$BUSYBOX" "$gstage/bin/busybox"
ln -s busybox "$gstage/bin/sh"
cp "$top/tests/xen/guest/init" "$gstage/init"
chmod +x "$gstage/init"
cp "$ROOT/usr/bin/xenstore" "$gstage/bin/xenstore"
for t in read write ls rm exists list; do ln -s xenstore "$gstage/bin/xenstore-$t"; done
for l in lib/aarch64-linux-gnu/ld-linux-aarch64.so.1 lib/aarch64-linux-gnu/libc.so.6 \
         usr/lib/aarch64-linux-gnu/libxenstore.so.4 usr/lib/aarch64-linux-gnu/libxentoolcore.so.1; do
  [ -e "$ROOT/$l" ] || die "guest library $l missing from the unpacked packages"
  cp -L "$ROOT/$l" "$gstage/lib/aarch64-linux-gnu/"
done
ln -s aarch64-linux-gnu/ld-linux-aarch64.so.1 "$gstage/lib/ld-linux-aarch64.so.1"
(cd "$gstage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) > "$share/guest/initramfs.cpio" \
  || die "cpio of the guest initramfs failed"
cmp -s "$KERNEL" "$share/guest/Image" || cp "$KERNEL" "$share/guest/Image"

# --- boot -----------------------------------------------------------------------------
rm -rf "$share/results" && mkdir -p "$share/results"
xen_args="console=dtuart dtuart=/pl011@$uart dom0_mem=${dom0_mem_mb}M dom0_max_vcpus=$dom0_vcpus loglvl=all guest_loglvl=all ${XEN_QEMU_XEN_ARGS:-}"
qemu=(qemu-system-aarch64 -machine virt,virtualization=on,gic-version=3 -cpu cortex-a57
      -smp "$smp" -m "$mem_mb" -nographic -no-reboot -nic none -monitor none -serial stdio
      -kernel "$XEN" -append "$xen_args"
      -device "guest-loader,addr=0x50000000,kernel=$KERNEL,bootargs=console=hvc0 earlycon=xenboot rdinit=/init quiet panic=-1 oops=panic"
      -device "guest-loader,addr=0x54000000,initrd=$out/dom0.cpio"
      -fsdev "local,id=fs0,path=$share,security_model=none"
      -device virtio-9p-device,fsdev=fs0,mount_tag=host0)
echo "xen-qemu: booting Xen $(basename "$XEN") + dom0 $KVER (limit ${limit}s)"
tq=$(date +%s)
rc=0
if [ $verbose = 1 ]; then
  timeout -k 5 "$limit" "${qemu[@]}" </dev/null 2>&1 | tee "$out/console.log" || rc=${PIPESTATUS[0]}
else
  timeout -k 5 "$limit" "${qemu[@]}" </dev/null >"$out/console.log" 2>&1 || rc=$?
fi
t1=$(date +%s)
fail_boot() {
  echo "---- last console lines ($out/console.log) ----" >&2
  tail -n 40 "$out/console.log" >&2
  die "$*"
}
[ $rc = 124 ] && fail_boot "QEMU did not finish within ${limit}s"
[ $rc = 0 ] || fail_boot "QEMU exited with status $rc"
[ -f "$share/results/FATAL" ] && fail_boot "dom0 setup: $(cat "$share/results/FATAL")"
[ -f "$share/results/DONE" ] || fail_boot "dom0 never finished its tests"

# --- results --------------------------------------------------------------------------
# Each dom0 test prints "PASS <case>" or "FAIL <case>: <why>" lines and exits 0.
summary=$out/summary.txt
: > "$summary"
for t in "$tests"/test_*; do
  name=${t##*/}
  case "$name" in *.py|*.sh) ;; *) continue ;; esac
  o=$share/results/$name.out
  if [ ! -f "$share/results/$name.rc" ]; then echo "FAIL $name::<run> never ran" >> "$summary"; continue; fi
  trc=$(cat "$share/results/$name.rc")
  awk -v t="$name" '/^PASS [^ ]+$/{print "PASS " t "::" $2; n++} /^FAIL [^ ]+/{sub(/^FAIL /,""); print "FAIL " t "::" $0; n++}
                    END{if (!n) print "FAIL " t "::<run> reported no results"}' "$o" >> "$summary"
  # "CONSOLE <case> <text>": the text must have reached Xen's console (console_io).
  while read -r _ case text; do
    if grep -qF -- "$text" "$out/console.log"; then echo "PASS $name::$case" >> "$summary"
    else echo "FAIL $name::$case '$text' not on the Xen console" >> "$summary"; fi
  done < <(grep '^CONSOLE ' "$o" || true)
  case "$trc" in
    0) ;;
    124|143) echo "FAIL $name::<run> timed out" >> "$summary" ;;
    *) echo "FAIL $name::<run> exit status $trc: $(grep -v '^PASS \|^FAIL ' "$o" | tail -n 3 | tr '\n' ' ')" >> "$summary" ;;
  esac
done
npass=$(grep -c '^PASS ' "$summary" || true)
nfail=$(grep -c '^FAIL ' "$summary" || true)
grep '^FAIL ' "$summary" >&2 || true
boot=$(grep -o 'dom0-init: up [0-9.]*' "$out/console.log" | awk '{print $3}')
echo "xen-qemu: ${npass} passed, ${nfail} failed (dom0 init at ${boot:-?}s, QEMU $((t1 - tq))s, total $(( $(date +%s) - t0 ))s)"
[ "$nfail" = 0 ] && [ "$npass" -gt 0 ]
