#!/bin/bash
# The device tree of the real-Xen tier's "dom0less" boot: QEMU's own tree for the
# machine (dumpdtb) with every boot module described in /chosen, for Xen to build dom0
# and two boot-time domains before dom0 runs:
#   domU1  Linux (the test guest's kernel and initramfs), 128 MiB, 1 vcpu, vpl011,
#          xen,enhanced = "enabled" (a xenstore event channel: dom0 adopts it)
#   domU2  a 64-byte arm64 Image that waits for interrupts forever, 16 MiB, 1 vcpu, not
#          enhanced (no xenstore: dom0 lists it and leaves it alone)
# Prints the QEMU arguments that load the files (-dtb and one loader device per module).
#   dom0less-dtb.sh OUTDIR XEN_ARGS DOM0_KERNEL DOM0_BOOTARGS DOM0_INITRD \
#                   DOMU_KERNEL DOMU_INITRD DOMU_BOOTARGS -- QEMU_MACHINE_ARGS...
# QEMU_MACHINE_ARGS: the -machine/-cpu/-smp/-m options of the boot (the tree depends on
# them). The modules sit in RAM that neither Xen nor QEMU use before Xen starts.
set -euo pipefail
[ $# -ge 9 ] && [ "$9" = -- ] || { echo "usage: $0 OUTDIR XEN_ARGS DOM0_KERNEL DOM0_BOOTARGS DOM0_INITRD DOMU_KERNEL DOMU_INITRD DOMU_BOOTARGS -- QEMU_MACHINE_ARGS..." >&2; exit 2; }
outdir=$1 xen_args=$2 k0=$3 args0=$4 r0=$5 k1=$6 r1=$7 args1=$8
shift 9
die() { echo "dom0less-dtb: $*" >&2; exit 1; }
command -v dtc >/dev/null || die "dtc missing (Debian's device-tree-compiler; scripts/deps.sh xen)"
mkdir -p "$outdir"

# domU2's kernel: an arm64 Image header (Xen checks the magic "ARM\x64" at 0x38) whose
# first two instructions are "wfi; b .-4".
idle=$outdir/idle-Image
{ printf '\x7f\x20\x03\xd5\xff\xff\xff\x17'; head -c 48 /dev/zero; printf 'ARM\x64'; head -c 4 /dev/zero; } > "$idle"

# addr file: the modules, each 64 MiB apart (dom0's initramfs and the kernel are < 64 MiB)
a_k0=0x50000000 a_r0=0x54000000 a_k1=0x60000000 a_r1=0x64000000 a_k2=0x68000000
size() { printf '0x%x' "$(stat -L -c %s "$1")"; }
for f in "$k0" "$r0" "$k1" "$r1"; do
  [ -f "$f" ] || die "no file $f"
  [ "$(stat -L -c %s "$f")" -lt $((64 << 20)) ] || die "$f is larger than its 64 MiB slot"
done

qemu-system-aarch64 "$@" -nic none -nographic -monitor none -serial none \
  -machine "dumpdtb=$outdir/qemu.dtb" >/dev/null 2>&1 || true
[ -s "$outdir/qemu.dtb" ] || die "QEMU dumped no device tree"
dtc -q -I dtb -O dts -o "$outdir/qemu.dts" "$outdir/qemu.dtb" || die "dtc could not read QEMU's tree"

q() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }
{
  cat "$outdir/qemu.dts"
  cat <<DTS

/ {
	chosen {
		#address-cells = <2>;
		#size-cells = <2>;
		xen,xen-bootargs = $(q "$xen_args");
		module@${a_k0#0x} {
			compatible = "multiboot,kernel", "multiboot,module";
			reg = <0x0 $a_k0 0x0 $(size "$k0")>;
			bootargs = $(q "$args0");
		};
		module@${a_r0#0x} {
			compatible = "multiboot,ramdisk", "multiboot,module";
			reg = <0x0 $a_r0 0x0 $(size "$r0")>;
		};
		domU1 {
			compatible = "xen,domain";
			#address-cells = <1>;
			#size-cells = <1>;
			memory = <0 131072>;
			cpus = <1>;
			vpl011;
			xen,enhanced = "enabled";
			module@${a_k1#0x} {
				compatible = "multiboot,kernel", "multiboot,module";
				reg = <$a_k1 $(size "$k1")>;
				bootargs = $(q "$args1");
			};
			module@${a_r1#0x} {
				compatible = "multiboot,ramdisk", "multiboot,module";
				reg = <$a_r1 $(size "$r1")>;
			};
		};
		domU2 {
			compatible = "xen,domain";
			#address-cells = <1>;
			#size-cells = <1>;
			memory = <0 16384>;
			cpus = <1>;
			module@${a_k2#0x} {
				compatible = "multiboot,kernel", "multiboot,module";
				reg = <$a_k2 $(size "$idle")>;
			};
		};
	};
};
DTS
} > "$outdir/dom0less.dts"
dtc -q -I dts -O dtb -o "$outdir/dom0less.dtb" "$outdir/dom0less.dts" || die "dtc could not build the tree"

printf '%s\n' -dtb "$outdir/dom0less.dtb" \
  -device "loader,file=$k0,addr=$a_k0,force-raw=on" \
  -device "loader,file=$r0,addr=$a_r0,force-raw=on" \
  -device "loader,file=$k1,addr=$a_k1,force-raw=on" \
  -device "loader,file=$r1,addr=$a_r1,force-raw=on" \
  -device "loader,file=$idle,addr=$a_k2,force-raw=on"
