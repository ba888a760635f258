#!/bin/bash
# Boot Debian's arm64 Xen (4.17 from bookworm, or 4.20 from trixie) under QEMU with a
# busybox Linux dom0 that has no Xen toolstack, run the dom0 tests with our aarch64
# firmware, read the results back over a 9p share, print the pass/fail count. Exit status
# 0 only if every test passed.
#   run.sh [--xen 4.17|4.20] [--firmware FILE] [--tests DIR] [--out DIR] [--timeout SECONDS]
#          [--verbose] [--boot NAME] [--share NAME=DIR]...
# --xen picks the hypervisor (default 4.17); the dom0/domU kernel and busybox are
# bookworm's for every release (scripts/xen-qemu/fetch.sh).
# A test file chooses the hypervisor it runs under with a line "# xen-boot: NAME" (default
# "default"); each boot that has tests is one QEMU run (see boot_args below). --boot runs
# only that one. --share puts a copy of DIR (hard links where possible) at /mnt/host/NAME.
# Env: XEN_QEMU_XEN_ARGS (extra hypervisor arguments for every boot), XEN_QEMU_SMP,
#      XEN_QEMU_TEST_TIMEOUT (per dom0 test file, seconds; default 240).
# Outputs in OUT/xen-REL (OUT defaults to build/xen-qemu/run; one directory per release,
# so runs of two releases never overwrite each other): console-<boot>.log (Xen + dom0
# console), results-<boot>/<test>.{out,rc}, summary.txt ("PASS|FAIL <test>::<case> [why]"
# per line; "<boot:NAME>::xen_version" checks that the hypervisor's banner names REL).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/scripts/xen-qemu
firmware=$top/build/aarch64-linux/micropython
tests=$top/tests/xen/dom0
out=$top/build/xen-qemu/run
limit=420
verbose=0
rel=4.17
only=""
extra_share=()
while [ $# -gt 0 ]; do
  case "$1" in
    --xen) rel=$2; shift 2 ;;
    --firmware) firmware=$2; shift 2 ;;
    --tests) tests=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --timeout) limit=$2; shift 2 ;;
    --boot) only=$2; shift 2 ;;
    --share) extra_share+=("$2"); shift 2 ;;
    --verbose) verbose=1; shift ;;
    *) echo "usage: $0 [--xen 4.17|4.20] [--firmware FILE] [--tests DIR] [--out DIR] [--timeout S] [--boot NAME] [--share NAME=DIR] [--verbose]" >&2; exit 2 ;;
  esac
done
die() { echo "xen-qemu: FAIL: $*" >&2; exit 1; }
t0=$(date +%s)

# The hypervisor command line of each boot (on top of the console/dom0 arguments).
boot_args() {
  case "$1" in
    default) echo "" ;;                          # Debian's build: XSM with the SILO module
    flask) echo "xsm=flask flask=permissive" ;;  # FLASK, no policy until dom0 loads one
    dom0less) echo "" ;;                         # + boot-time domains (scripts/xen-qemu/dom0less-dtb.sh)
    *) return 1 ;;
  esac
}

command -v qemu-system-aarch64 >/dev/null || die "qemu-system-aarch64 missing (scripts/deps.sh xen)"
command -v cpio >/dev/null || die "cpio missing (scripts/deps.sh xen)"
case "$rel" in 4.17|4.20) ;; *) die "unknown Xen release '$rel' (4.17 or 4.20)" ;; esac
cache=$top/build/xen-qemu
"$here/fetch.sh" --xen "$rel" "$cache" || die "fetching the Debian arm64 packages (Xen $rel) failed"
# shellcheck disable=SC1091
. "$cache/env"
# shellcheck disable=SC1091
. "$cache/$rel/env"
[ -d "$tests" ] || die "no test directory $tests"
ls "$tests"/test_* >/dev/null 2>&1 || die "no test_* in $tests"
[ -x "$firmware" ] || die "firmware $firmware missing (make firmware-aarch64)"
file -b "$firmware" 2>/dev/null | grep -q 'ARM aarch64.*statically linked' \
  || die "$firmware is not a static aarch64 executable"

# Which tests run in which boot.
declare -A boot_tests=()
boots=()
for t in "$tests"/test_*; do
  name=${t##*/}
  case "$name" in *.py|*.sh) ;; *) continue ;; esac
  b=$(sed -n '1,10s/^# xen-boot: *\([a-z0-9_-]*\).*/\1/p' "$t" | head -n 1)
  b=${b:-default}
  boot_args "$b" >/dev/null || die "$name asks for an unknown boot '$b'"
  [ -n "$only" ] && [ "$b" != "$only" ] && continue
  [ -n "${boot_tests[$b]:-}" ] || boots+=("$b")
  boot_tests[$b]+="$name "
done
[ ${#boots[@]} -gt 0 ] || die "no tests for boot '$only'"

out=$out/xen-$rel
mkdir -p "$out"
out=$(cd "$out" && pwd)
share=$out/share
mkdir -p "$share"
smp=${XEN_QEMU_SMP:-2} mem_mb=2048 dom0_mem_mb=512 dom0_vcpus=2
uart=9000000        # QEMU virt's PL011, Xen's own console (dtuart)
virtio_mmio=a000000 # QEMU virt's virtio-mmio window, passed through to dom0
xen_ver=$XEN_VERSION   # what the hypervisor reports (fetch.sh), e.g. 4.17.7, 4.20.5-pre

# --- kernel modules -------------------------------------------------------------------
# With their dependencies first (read from each module's modinfo; the unpacked package
# has no modules.dep and depmod need not exist on the host). add_mods DIR MODULE...
# copies them to DIR with DIR/order, the insmod order.
declare -A kpath=()
while IFS= read -r f; do n=${f##*/}; n=${n%.ko}; kpath[${n//-/_}]=$f; done \
  < <(find "$MODULES/kernel" -name '*.ko')
add_mods() {
  local dir=$1 m
  shift
  rm -rf "$dir" && mkdir -p "$dir"
  declare -A done_mod=()
  local order=()
  add_mod() {
    local n=${1//-/_} f deps d
    [ -n "${done_mod[$n]:-}" ] && return 0
    f=${kpath[$n]:-}
    [ -n "$f" ] || die "kernel module $1 not in $KVER"
    deps=$(tr '\0' '\n' < "$f" | sed -n 's/^depends=//p' | head -n 1)
    for d in ${deps//,/ }; do add_mod "$d"; done
    done_mod[$n]=1
    cp "$f" "$dir/$n.ko"
    order+=("$n")
  }
  for m in "$@"; do add_mod "$m"; done
  printf '%s\n' "${order[@]}" > "$dir/order"
}
mods=$out/dom0-modules
add_mods "$mods" xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc virtio_mmio 9pnet_virtio 9p

# --- guest images (read by dom0 straight from the share) --------------------------------
# The domU runs Debian's arm64 kernel with a busybox initramfs holding Debian's
# xenstore-utils (dynamically linked: its libraries and loader come along).
gstage=$out/guest-root
mkdir -p "$share/guest"
rm -rf "$gstage" && mkdir -p "$gstage"/{bin,lib/aarch64-linux-gnu}
# xen_wdt: the guest arms Xen's watchdog before it crashes itself (tests/xen/guest/init)
add_mods "$gstage/lib/modules" xen_wdt
cp "$BUSYBOX" "$gstage/bin/busybox"
ln -s busybox "$gstage/bin/sh"
cp "$top/tests/xen/guest/init" "$gstage/init"
cp "$top/tests/xen/guest/xsraw" "$gstage/bin/xsraw"
chmod +x "$gstage/init" "$gstage/bin/xsraw"
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

# --- FLASK policy (only a flask boot needs it) ------------------------------------------
rm -rf "$share/flask"
if [ -n "${boot_tests[flask]:-}" ]; then
  "$here/flask-policy.sh" --xen "$rel" "$cache/$rel/flask" || die "building the FLASK policy (Xen $rel) failed"
  mkdir -p "$share/flask"
  cp "$cache/$rel/flask/xenpolicy" "$share/flask/xenpolicy"
fi

for sh in "${extra_share[@]}"; do
  n=${sh%%=*} d=${sh#*=}
  case "$n" in ""|*/*|guest|flask|results) die "bad --share name '$n'" ;; esac
  [ -d "$d" ] || die "--share $n: no directory $d"
  rm -rf "${share:?}/$n"
  cp -al "$d" "$share/$n" 2>/dev/null || cp -a "$d" "$share/$n" || die "copying $d into the share failed"
done

summary=$out/summary.txt
: > "$summary"
rm -f "$out"/console-*.log "$out/console.log"
qemu_s=0
boot_at=""

# --- one boot -----------------------------------------------------------------------------
run_boot() {
  local boot=$1 extra stage res log rc tq t1 name o trc
  extra=$(boot_args "$boot")
  stage=$out/dom0-root-$boot
  res=$out/results-$boot
  log=$out/console-$boot.log
  rm -rf "$stage" && mkdir -p "$stage"/{bin,lib,tests}
  cp "$BUSYBOX" "$stage/bin/busybox"
  ln -s busybox "$stage/bin/sh"
  cp "$here/dom0-init.sh" "$stage/init"
  cp "$firmware" "$stage/bin/micropython"
  cp -r "$mods" "$stage/lib/modules"
  # helpers (every non-test file) and this boot's tests
  for f in "$tests"/*; do
    name=${f##*/}
    case "$name" in __pycache__) continue ;; test_*) case " ${boot_tests[$boot]}" in *" $name "*) ;; *) continue ;; esac ;; esac
    cp -r "$f" "$stage/tests/"
  done
  echo "${XEN_QEMU_TEST_TIMEOUT:-240}" > "$stage/tests/TIMEOUT"
  # What the dom0 tests compare real Xen against: this boot's own configuration.
  cat > "$stage/tests/EXPECT.json" <<JSON
{"xen": "$xen_ver", "release": "$rel", "smp": $smp, "mem_mb": $mem_mb, "dom0_mem_mb": $dom0_mem_mb, "dom0_vcpus": $dom0_vcpus,
 "xen_uart_mfn": $((0x$uart >> 12)), "dom0_mmio_mfn": $((0x$virtio_mmio >> 12)), "kernel": "$KVER",
 "boot": "$boot", "xen_args": "$extra"}
JSON
  (cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) > "$out/dom0-$boot.cpio" \
    || die "cpio of the dom0 initramfs failed"

  rm -rf "$share/results" "$res" && mkdir -p "$share/results"
  local xen_args="console=dtuart dtuart=/pl011@$uart dom0_mem=${dom0_mem_mb}M dom0_max_vcpus=$dom0_vcpus loglvl=all guest_loglvl=all $extra ${XEN_QEMU_XEN_ARGS:-}"
  local machine=(-machine virt,virtualization=on,gic-version=3 -cpu cortex-a57 -smp "$smp" -m "$mem_mb")
  local dom0_args="console=hvc0 earlycon=xenboot rdinit=/init quiet panic=-1 oops=panic"
  local loaders=(-device "guest-loader,addr=0x50000000,kernel=$KERNEL,bootargs=$dom0_args"
                 -device "guest-loader,addr=0x54000000,initrd=$out/dom0-$boot.cpio")
  if [ "$boot" = dom0less ]; then   # the modules in a device tree of our own, with two domUs
    mapfile -t loaders < <("$here/dom0less-dtb.sh" "$out/dtb" "$xen_args" "$KERNEL" "$dom0_args" \
      "$out/dom0-$boot.cpio" "$share/guest/Image" "$share/guest/initramfs.cpio" \
      "console=ttyAMA0 rdinit=/init quiet modxen.dom0less" -- "${machine[@]}")
    [ ${#loaders[@]} -gt 0 ] || die "making the dom0less device tree failed"
  fi
  local qemu=(qemu-system-aarch64 "${machine[@]}" -nographic -no-reboot -nic none -monitor none -serial stdio
        -kernel "$XEN" -append "$xen_args" "${loaders[@]}"
        -fsdev "local,id=fs0,path=$share,security_model=none"
        -device virtio-9p-device,fsdev=fs0,mount_tag=host0)
  echo "xen-qemu: boot '$boot': Xen $rel ($XEN_SUITE's $(basename "$XEN") $XEN_PKG_VERSION) ${extra:+($extra) }+ dom0 $KVER, tests: ${boot_tests[$boot]}(limit ${limit}s)"
  tq=$(date +%s)
  rc=0
  if [ $verbose = 1 ]; then
    timeout -k 5 "$limit" "${qemu[@]}" </dev/null 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
  else
    timeout -k 5 "$limit" "${qemu[@]}" </dev/null >"$log" 2>&1 || rc=$?
  fi
  t1=$(date +%s)
  qemu_s=$((qemu_s + t1 - tq))
  mv "$share/results" "$res"
  local fatal=""
  [ $rc = 124 ] && fatal="QEMU did not finish within ${limit}s"
  [ -z "$fatal" ] && [ $rc != 0 ] && fatal="QEMU exited with status $rc"
  [ -z "$fatal" ] && [ -f "$res/FATAL" ] && fatal="dom0 setup: $(cat "$res/FATAL")"
  [ -z "$fatal" ] && [ ! -f "$res/DONE" ] && fatal="dom0 never finished its tests"
  if [ -n "$fatal" ]; then
    echo "---- last console lines ($log) ----" >&2
    tail -n 40 "$log" >&2
    echo "FAIL <boot:$boot>::<run> $fatal" >> "$summary"
    echo "xen-qemu: FAIL: boot '$boot': $fatal" >&2
  fi
  boot_at+="$boot:$(grep -o 'dom0-init: up [0-9.]*' "$log" | awk '{print $3}')s "
  # Which hypervisor booted: its banner, "(XEN) Xen version 4.20.5-pre (Debian 4.20.4+...)".
  local banner booted
  banner=$(grep -a -m 1 -o 'Xen version [0-9][^ ]* ([^)]*)' "$log" || true)
  booted=$(awk '{print $3}' <<<"$banner")
  echo "xen-qemu: boot '$boot' booted: ${banner:-no Xen banner on the console}"
  case "$booted" in
    "$rel".*) echo "PASS <boot:$boot>::xen_version" >> "$summary" ;;
    *) echo "FAIL <boot:$boot>::xen_version asked for Xen $rel, the console says '${banner:-nothing}'" >> "$summary" ;;
  esac

  # Each dom0 test prints "PASS <case>" or "FAIL <case>: <why>" lines and exits 0.
  for name in ${boot_tests[$boot]}; do
    o=$res/$name.out
    if [ ! -f "$res/$name.rc" ]; then echo "FAIL $name::<run> never ran" >> "$summary"; continue; fi
    trc=$(cat "$res/$name.rc")
    awk -v t="$name" '/^PASS [^ ]+$/{print "PASS " t "::" $2; n++} /^FAIL [^ ]+/{sub(/^FAIL /,""); print "FAIL " t "::" $0; n++}
                      END{if (!n) print "FAIL " t "::<run> reported no results"}' "$o" >> "$summary"
    # "CONSOLE <case> <text>": the text must have reached Xen's console (console_io).
    while read -r _ case text; do
      if grep -qF -- "$text" "$log"; then echo "PASS $name::$case" >> "$summary"
      else echo "FAIL $name::$case '$text' not on the Xen console" >> "$summary"; fi
    done < <(grep '^CONSOLE ' "$o" || true)
    case "$trc" in
      0) ;;
      124|143) echo "FAIL $name::<run> timed out" >> "$summary" ;;
      *) echo "FAIL $name::<run> exit status $trc: $(grep -v '^PASS \|^FAIL ' "$o" | tail -n 3 | tr '\n' ' ')" >> "$summary" ;;
    esac
  done
}

for b in "${boots[@]}"; do run_boot "$b"; done

npass=$(grep -c '^PASS ' "$summary" || true)
nfail=$(grep -c '^FAIL ' "$summary" || true)
grep '^FAIL ' "$summary" >&2 || true
echo "xen-qemu: Xen $rel: ${npass} passed, ${nfail} failed (${#boots[@]} boots; dom0 init at ${boot_at}QEMU ${qemu_s}s, total $(( $(date +%s) - t0 ))s)"
[ "$nfail" = 0 ] && [ "$npass" -gt 0 ]
