# Arm64 guest layout, device tree and vcpu0 context (xen.domain.arm64).
# Constants come from Xen's installed public headers; the DTB is checked with dtc/fdtget.
# The firmware side is mp/arm64_cases.py (mp/heap_cases.py for the small heap).
import subprocess

import pytest

from mpfirmware import mp

MiB = 1 << 20


def arm_consts(xen_consts):
    """The Arm guest constants xen.domain.arm64 takes, from Xen's headers."""
    return {k: v for k, v in xen_consts.items() if k in NAMES}


NAMES = (
    "GUEST_RAM0_BASE", "GUEST_RAM0_SIZE", "GUEST_RAM1_BASE", "GUEST_RAM1_SIZE",
    "GUEST_GNTTAB_BASE", "GUEST_GNTTAB_SIZE",
    "GUEST_GICD_BASE", "GUEST_GICD_SIZE", "GUEST_GICC_BASE", "GUEST_GICC_SIZE",
    "GUEST_GICV3_GICD_BASE", "GUEST_GICV3_GICD_SIZE", "GUEST_GICV3_GICR0_BASE", "GUEST_GICV3_GICR0_SIZE",
    "GUEST_TIMER_VIRT_PPI", "GUEST_TIMER_PHYS_S_PPI", "GUEST_TIMER_PHYS_NS_PPI", "GUEST_EVTCHN_PPI",
    "GUEST_PHANDLE_GIC", "GUEST_MAX_VCPUS", "PSR_GUEST64_INIT", "SCTLR_GUEST_INIT",
)

PARTIAL_DTS = """/dts-v1/;
/ {
    #address-cells = <2>;
    #size-cells = <2>;
    passthrough {
        compatible = "simple-bus";
        ranges;
        #address-cells = <2>;
        #size-cells = <2>;
        ethernet@ff0e0000 {
            compatible = "cdns,zynqmp-gem";
            reg = <0x0 0xff0e0000 0x0 0x1000>;
            interrupt-parent = <65000>;
            interrupts = <0 31 4>;
            xen,path = "/amba/ethernet@ff0e0000";
            xen,reg = <0x0 0xff0e0000 0x0 0x1000 0x0 0xff0e0000>;
            xen,force-assign-without-iommu;
        };
    };
    aliases { ethernet0 = "/passthrough/ethernet@ff0e0000"; };
};
"""


def dtb_of(xen_consts, tmp_path, kernel, mem, maxvcpus, gic, version, name="guest.dtb", **kw):
    """arm64.build's plan for a kernel with those placement fields (its DTB
    in a file, the plan's 'dtb' its length): (the DTB's path, the plan)."""
    out = tmp_path / name
    return out, mp("arm64_cases.plan", arm_consts(xen_consts), kernel, mem, maxvcpus, gic, version,
                   str(out), **kw)


def fdtget(path, node, prop, typ="x"):
    p = subprocess.run(["fdtget", "-t", typ, str(path), node, prop], capture_output=True, text=True)
    assert p.returncode == 0, (node, prop, p.stderr)
    return p.stdout.strip()


def dtc_clean(path):
    p = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", str(path)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    # The one tolerated warning: Xen's guest binding (and xl) name the node plain
    # "hypervisor" although it has a reg; guests find it by compatible "xen,xen".
    rest = [l for l in p.stderr.splitlines()
            if l.strip() and "/hypervisor: node has a reg or ranges property, but no unit name" not in l]
    assert not rest, p.stderr
    return p.stdout


def test_full_guest_tree(xen_consts, tmp_path):
    src = tmp_path / "partial.dts"
    src.write_text(PARTIAL_DTS)
    part = tmp_path / "partial.dtb"
    subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(part), str(src)], check=True)
    out, p = dtb_of(xen_consts, tmp_path, {"text_offset": 0, "mem_size": 20 * MiB}, 128, 2, "v3",
                    (4, 17), cmdline="console=hvc0 rdinit=/init", initrd_size=3 * MiB, tee="optee",
                    partial=str(part), clock_frequency=62500000)
    dts = dtc_clean(out)
    base = xen_consts["GUEST_RAM0_BASE"]
    # placement: kernel at RAM base, initrd at RAM base + 128 MiB would not fit
    # in 128 MiB of RAM, so initrd+DTB sit at the top of RAM
    assert p["kernel_addr"] == base and p["entry"] == base
    assert p["initrd_addr"] == base + 128 * MiB - 3 * MiB - 4096
    assert p["dtb_addr"] == base + 128 * MiB - 4096
    assert p["dtb"] <= 4096
    assert p["vcpu0"] == {"x0": p["dtb_addr"], "x1": 0, "x2": 0, "x3": 0, "pc": base,
                          "cpsr": xen_consts["PSR_GUEST64_INIT"], "sctlr": xen_consts["SCTLR_GUEST_INIT"],
                          "online": True}
    assert fdtget(out, "/", "compatible", "s") == "xen,xenvm-4.17 xen,xenvm"
    assert fdtget(out, "/", "#address-cells", "u") == "2" and fdtget(out, "/", "#size-cells", "u") == "2"
    assert fdtget(out, "/", "interrupt-parent", "u") == str(xen_consts["GUEST_PHANDLE_GIC"])
    assert fdtget(out, "/chosen", "bootargs", "s") == "console=hvc0 rdinit=/init"
    istart = fdtget(out, "/chosen", "linux,initrd-start").split()
    iend = fdtget(out, "/chosen", "linux,initrd-end").split()
    assert int(istart[0], 16) << 32 | int(istart[1], 16) == p["initrd_addr"]
    assert (int(iend[0], 16) << 32 | int(iend[1], 16)) - p["initrd_addr"] == 3 * MiB
    assert fdtget(out, "/cpus/cpu@0", "enable-method", "s") == "psci"
    assert fdtget(out, "/cpus/cpu@1", "reg", "u") == "1"
    assert fdtget(out, "/cpus/cpu@1", "device_type", "s") == "cpu"
    assert fdtget(out, "/psci", "method", "s") == "hvc"
    assert "arm,psci-0.2" in fdtget(out, "/psci", "compatible", "s")
    assert fdtget(out, "/memory@%x" % base, "reg") == "0 %x 0 %x" % (base, 128 * MiB)
    gic = "/interrupt-controller@%x" % xen_consts["GUEST_GICV3_GICD_BASE"]
    assert fdtget(out, gic, "compatible", "s") == "arm,gic-v3"
    assert fdtget(out, gic, "reg") == "0 %x 0 %x 0 %x 0 %x" % (
        xen_consts["GUEST_GICV3_GICD_BASE"], xen_consts["GUEST_GICV3_GICD_SIZE"],
        xen_consts["GUEST_GICV3_GICR0_BASE"], xen_consts["GUEST_GICV3_GICR0_SIZE"])
    assert fdtget(out, gic, "phandle", "u") == str(xen_consts["GUEST_PHANDLE_GIC"])
    assert fdtget(out, gic, "#interrupt-cells", "u") == "3"
    assert "interrupt-controller;" in dts
    ppi = lambda n: "1 %d 8" % (xen_consts[n] - 16)
    assert fdtget(out, "/timer", "interrupts", "u") == " ".join(
        ppi(n) for n in ("GUEST_TIMER_PHYS_S_PPI", "GUEST_TIMER_PHYS_NS_PPI", "GUEST_TIMER_VIRT_PPI"))
    assert fdtget(out, "/timer", "clock-frequency", "u") == "62500000"
    assert fdtget(out, "/hypervisor", "compatible", "s") == "xen,xen-4.17 xen,xen"
    assert fdtget(out, "/hypervisor", "interrupts", "u") == ppi("GUEST_EVTCHN_PPI")
    reg = [int(x, 16) for x in fdtget(out, "/hypervisor", "reg").split()]
    pairs = [(reg[i] << 32 | reg[i + 1], reg[i + 2] << 32 | reg[i + 3]) for i in range(0, len(reg), 4)]
    assert pairs[0] == (xen_consts["GUEST_GNTTAB_BASE"], xen_consts["GUEST_GNTTAB_SIZE"])
    ram0_end = base + xen_consts["GUEST_RAM0_SIZE"]
    assert pairs[1] == (base + 128 * MiB, ram0_end - base - 128 * MiB)
    assert pairs[2] == (xen_consts["GUEST_RAM1_BASE"], xen_consts["GUEST_RAM1_SIZE"])
    assert fdtget(out, "/firmware/optee", "compatible", "s") == "linaro,optee-tz"
    assert fdtget(out, "/firmware/optee", "method", "s") == "hvc"
    eth = "/passthrough/ethernet@ff0e0000"
    assert fdtget(out, eth, "interrupt-parent", "u") == str(xen_consts["GUEST_PHANDLE_GIC"])
    assert fdtget(out, eth, "xen,path", "s") == "/amba/ethernet@ff0e0000"
    assert fdtget(out, "/aliases", "ethernet0", "s") == eth


def test_gicv2_and_many_cpus(xen_consts, tmp_path):
    out, p = dtb_of(xen_consts, tmp_path, {"text_offset": 0x80000, "mem_size": 30 * MiB}, 1024, 20,
                    "v2", (4, 19))
    dtc_clean(out)
    base = xen_consts["GUEST_RAM0_BASE"]
    assert p["kernel_addr"] == base + 0x80000
    assert p["initrd_addr"] is None
    assert p["dtb_addr"] == base + 128 * MiB  # RAM base + 128 MiB, above the kernel
    gic = "/interrupt-controller@%x" % xen_consts["GUEST_GICD_BASE"]
    assert fdtget(out, gic, "compatible", "s") == "arm,cortex-a15-gic arm,cortex-a9-gic"
    assert fdtget(out, gic, "reg") == "0 %x 0 %x 0 %x 0 %x" % (
        xen_consts["GUEST_GICD_BASE"], xen_consts["GUEST_GICD_SIZE"],
        xen_consts["GUEST_GICC_BASE"], xen_consts["GUEST_GICC_SIZE"])
    # GICv2 PPIs carry a CPU mask (8 CPUs at most) in bits 8..15
    assert fdtget(out, "/hypervisor", "interrupts", "u") == "1 %d %d" % (
        xen_consts["GUEST_EVTCHN_PPI"] - 16, 0xFF08)
    assert fdtget(out, "/", "compatible", "s") == "xen,xenvm-4.19 xen,xenvm"
    # 16 vcpus per affinity-1 cluster: vcpu 17 is MPIDR 0x101
    assert fdtget(out, "/cpus/cpu@101", "reg", "x") == "101"
    assert fdtget(out, "/cpus/cpu@f", "reg", "x") == "f"
    assert "/cpus/cpu@10" in subprocess.run(["fdtget", "-l", str(out), "/cpus"], capture_output=True,
                                            text=True).stdout.replace("cpu@", "/cpus/cpu@")
    p2 = subprocess.run(["fdtget", "-l", str(out), "/cpus"], capture_output=True, text=True).stdout.split()
    assert len(p2) == 20
    # no chosen initrd properties without an initrd
    r = subprocess.run(["fdtget", str(out), "/chosen", "linux,initrd-start"], capture_output=True)
    assert r.returncode != 0


def test_banks_and_regions(xen_consts):
    r = mp("arm64_cases.banks_and_regions", arm_consts(xen_consts))
    r0b, r0s = xen_consts["GUEST_RAM0_BASE"], xen_consts["GUEST_RAM0_SIZE"]
    r1b, r1s = xen_consts["GUEST_RAM1_BASE"], xen_consts["GUEST_RAM1_SIZE"]
    assert r[0] == [[r0b, r0s], [r1b, 4096 * MiB - r0s]]
    assert r[1] == [[r1b + 4096 * MiB - r0s, r1s - (4096 * MiB - r0s)]]
    assert r[2] == [[r0b, 3072 * MiB]] and 3072 * MiB == r0s
    assert r[3] == [[r1b, r1s]]  # RAM0 full: no hole there
    assert r[4] == 2 * MiB + 8 * 131072
    assert r[5] == 0 and r[6] == 0x201


def kernel(text_offset=0, **kw):
    """A kernel's placement fields, as arm64.build reads them (mp/domlib.K)."""
    return dict(kw, text_offset=text_offset)


V417 = (4, 17)


@pytest.mark.parametrize("case,args,needle", [
    ("banks_error", [3 * MiB], "positive multiple of 2 MiB"),
    ("banks_error", [0], "positive multiple of 2 MiB"),
    ("banks_beyond_error", [2 * MiB], "exceeds the guest banks"),
    ("build_error", [kernel(mem_size=200 * MiB), 128, 1, "v3", V417, {}], "does not fit guest RAM (128 MiB)"),
    ("build_error", [kernel(mem_size=120 * MiB), 128, 1, "v3", V417, {"initrd_size": 20 * MiB}],
     "kernel, initrd (20971520 bytes) and DTB do not fit in 128 MiB"),
    ("build_error", [kernel(load=0x10000000, entry=0x10000000), 128, 1, "v3", V417, {}], "outside guest RAM"),
    ("build_error", [kernel(load=0x40000000, entry=0x50000000, mem_size=MiB), 128, 1, "v3", V417, {}],
     "kernel entry 0x50000000 outside the loaded kernel"),
    ("build_error", [kernel(), 128, 1, "native", V417, {}], "gic must be 'v2' or 'v3'"),
    ("build_error", [kernel(), 128, 129, "v2", V417, {}], "maxvcpus 129 out of range"),
    ("build_error", [kernel(), 128, 1, "v2", V417, {"tee": "ffa"}], "unsupported tee 'ffa'"),
    ("place_error", [[(0x40000000, 64 * MiB)], 0x40000000, MiB, 0, 3 * MiB], "exceeds Linux's 2 MiB limit"),
], ids=["banks-3MiB", "banks-0", "banks-beyond", "kernel-too-big", "initrd-too-big", "load-outside-ram",
        "entry-outside-kernel", "gic-native", "maxvcpus-129", "tee-ffa", "dtb-over-2MiB"])
def test_layout_errors(xen_consts, case, args, needle):
    consts = [] if case == "place_error" else [arm_consts(xen_consts)]
    name, msg, _ = mp("arm64_cases." + case, *(consts + args))
    assert name == "LayoutError", msg
    assert needle in msg, msg


def test_placement_rules():
    B = 0x40000000
    r = mp("arm64_cases.placements", B)
    assert r[0] == {"kernel_addr": B, "kernel_room": 40 * MiB, "initrd_addr": B + 128 * MiB,
                    "dtb_addr": B + 128 * MiB + 10 * MiB}
    assert r[1]["initrd_addr"] == B + 160 * MiB - MiB - 4096 and r[1]["dtb_addr"] == B + 160 * MiB - 4096
    assert r[2]["initrd_addr"] == B + 48 * MiB - MiB - 4096 and r[2]["dtb_addr"] == B + 48 * MiB - 4096
    assert r[2]["kernel_room"] == 16 * MiB
    assert r[3]["initrd_addr"] is None and r[3]["dtb_addr"] == B + 128 * MiB
    assert r[3]["kernel_room"] == 128 * MiB  # kernel may grow up to the DTB
    # every placement keeps kernel, initrd and DTB disjoint and inside RAM
    for p, size in zip(r, (512, 160, 64, 512)):
        k = (p["kernel_addr"], p["kernel_addr"] + p["kernel_room"])
        d = (p["dtb_addr"], p["dtb_addr"] + 4096)
        assert k[1] <= d[0] or d[1] <= k[0]
        assert B <= d[0] and d[1] <= B + size * MiB


def test_partial_tree_errors(xen_consts, tmp_path):
    bad_cells = PARTIAL_DTS.replace("#size-cells = <2>;\n    passthrough", "#size-cells = <1>;\n    passthrough")
    no_pt = "/dts-v1/;\n/ { aliases { x = \"/y\"; }; };\n"
    clash = PARTIAL_DTS.replace("xen,force-assign-without-iommu;", "phandle = <65000>;")
    for text, needle in ((bad_cells, "root #size-cells must be 2"),
                         (no_pt, "partial device tree has no /passthrough node"),
                         (clash, "phandle 65000 of node 'ethernet@ff0e0000' clashes")):
        src = tmp_path / "p.dts"
        src.write_text(text)
        dtb = tmp_path / "p.dtb"
        subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(dtb), str(src)], check=True)
        name, msg, _ = mp("arm64_cases.partial_tree_error", arm_consts(xen_consts), str(dtb))
        assert name in ("LayoutError", "FdtError") and needle in msg, msg


def test_xen_module_constants_match_headers(xen_consts):
    r = mp("arm64_cases.xen_constants", NAMES)
    assert r is not None, "firmware without _xen"
    assert r, "no Arm guest constants exported by _xen"
    for n, v in r.items():
        assert v == xen_consts[n], n


def test_xen_module_exports_all_names():
    r = mp("arm64_cases.xen_missing", NAMES)
    assert r is not None, "firmware without _xen"
    assert r == [], "arm64 needs these from _xen"
    # and then arm64.constants() works with no override at all
    assert mp("arm64_cases.default_constant", "GUEST_PHANDLE_GIC") == 65000


# what mp()'s runner, its arguments and mp/heap_cases.py take of a small heap
# before the scenario starts (an in-line snippet took about 1.5 KiB)
RUNNER_HEAP = 5 * 1024


def test_heap(xen_consts):
    n, mod, used, before = mp("heap_cases.arm64_plan", arm_consts(xen_consts),
                              heap=20 * 1024 + RUNNER_HEAP)
    assert before < RUNNER_HEAP + 2048, before   # the plan had 20 KiB less 2 KiB at most
    assert n > 1000
    assert mod < 6 * 1024, mod
    assert used < n + 2048, used
