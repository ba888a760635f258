# Arm64 guest layout, device tree and vcpu0 context (xen.domain.arm64).
# Constants come from Xen's installed public headers; the DTB is checked with dtc/fdtget.
import subprocess

import pytest

MiB = 1 << 20

PRE = """
from xen.domain import arm64, fdt
C = arm64.constants(%s)
class K:
    def __init__(self, text_offset=0, load=None, entry=None, mem_size=None):
        self.text_offset = text_offset; self.load = load; self.entry = entry; self.mem_size = mem_size
"""


def pre(xen_consts):
    return PRE % repr({k: v for k, v in xen_consts.items() if k in NAMES})


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


def dtb_of(dmp, xen_consts, tmp_path, code, name="guest.dtb"):
    out = tmp_path / name
    r = dmp.j(pre(xen_consts) + code + "\nopen(%r, 'wb').write(P['dtb'])\nP['dtb'] = len(P['dtb'])\nR = P" % str(out))
    return out, r


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


def test_full_guest_tree(dmp, xen_consts, tmp_path):
    src = tmp_path / "partial.dts"
    src.write_text(PARTIAL_DTS)
    part = tmp_path / "partial.dtb"
    subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(part), str(src)], check=True)
    out, p = dtb_of(dmp, xen_consts, tmp_path,
                    "part = fdt.parse(open(%r, 'rb').read())\n"
                    "P = arm64.build(C, K(0, mem_size=20 << 20), 128, 2, 'v3', (4, 17),"
                    " cmdline='console=hvc0 rdinit=/init', initrd_size=3 << 20, tee='optee',"
                    " partial=part, clock_frequency=62500000)" % str(part))
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


def test_gicv2_and_many_cpus(dmp, xen_consts, tmp_path):
    out, p = dtb_of(dmp, xen_consts, tmp_path,
                    "P = arm64.build(C, K(0x80000, mem_size=30 << 20), 1024, 20, 'v2', (4, 19))")
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


def test_banks_and_regions(dmp, xen_consts):
    r = dmp.j(pre(xen_consts) +
              "R = [arm64.ram_banks(4096 << 20, C), arm64.ext_regions(arm64.ram_banks(4096 << 20, C), C),"
              " arm64.ram_banks(3072 << 20, C), arm64.ext_regions(arm64.ram_banks(3072 << 20, C), C),"
              " arm64.paging_pool_bytes(2, 131072), arm64.mpidr(0), arm64.mpidr(33)]")
    r0b, r0s = xen_consts["GUEST_RAM0_BASE"], xen_consts["GUEST_RAM0_SIZE"]
    r1b, r1s = xen_consts["GUEST_RAM1_BASE"], xen_consts["GUEST_RAM1_SIZE"]
    assert r[0] == [[r0b, r0s], [r1b, 4096 * MiB - r0s]]
    assert r[1] == [[r1b + 4096 * MiB - r0s, r1s - (4096 * MiB - r0s)]]
    assert r[2] == [[r0b, 3072 * MiB]] and 3072 * MiB == r0s
    assert r[3] == [[r1b, r1s]]  # RAM0 full: no hole there
    assert r[4] == 2 * MiB + 8 * 131072
    assert r[5] == 0 and r[6] == 0x201


@pytest.mark.parametrize("code,needle", [
    ("arm64.ram_banks(3 << 20, C)", "positive multiple of 2 MiB"),
    ("arm64.ram_banks(0, C)", "positive multiple of 2 MiB"),
    ("arm64.ram_banks((C['GUEST_RAM0_SIZE'] + C['GUEST_RAM1_SIZE']) + (2 << 20), C)", "exceeds the guest banks"),
    ("arm64.build(C, K(0, mem_size=200 << 20), 128, 1, 'v3', (4, 17))", "does not fit guest RAM (128 MiB)"),
    ("arm64.build(C, K(0, mem_size=120 << 20), 128, 1, 'v3', (4, 17), initrd_size=20 << 20)",
     "kernel, initrd (20971520 bytes) and DTB do not fit in 128 MiB"),
    ("arm64.build(C, K(load=0x10000000, entry=0x10000000), 128, 1, 'v3', (4, 17))", "outside guest RAM"),
    ("arm64.build(C, K(load=0x40000000, entry=0x50000000, mem_size=1 << 20), 128, 1, 'v3', (4, 17))",
     "kernel entry 0x50000000 outside the loaded kernel"),
    ("arm64.build(C, K(0), 128, 1, 'native', (4, 17))", "gic must be 'v2' or 'v3'"),
    ("arm64.build(C, K(0), 128, 129, 'v2', (4, 17))", "maxvcpus 129 out of range"),
    ("arm64.build(C, K(0), 128, 1, 'v2', (4, 17), tee='ffa')", "unsupported tee 'ffa'"),
    ("arm64.place([(0x40000000, 64 << 20)], 0x40000000, 1 << 20, 0, 3 << 20)", "exceeds Linux's 2 MiB limit"),
])
def test_layout_errors(dmp, xen_consts, code, needle):
    name, msg = dmp.exc(pre(xen_consts) + code)
    assert name == "LayoutError", msg
    assert needle in msg, msg


def test_placement_rules(dmp, xen_consts):
    r = dmp.j(pre(xen_consts) + """
B = 0x40000000
R = [
  arm64.place([(B, 512 << 20)], B, 40 << 20, 10 << 20, 5000),       # base + 128 MiB
  arm64.place([(B, 160 << 20)], B, 140 << 20, 1 << 20, 100),        # top of RAM
  arm64.place([(B, 64 << 20)], B + (48 << 20), 16 << 20, 1 << 20, 100),  # below the kernel
  arm64.place([(B, 512 << 20)], B, None, 0, 100),                   # unknown kernel size
]""")
    B = 0x40000000
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


def test_partial_tree_errors(dmp, xen_consts, tmp_path):
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
        name, msg = dmp.exc(pre(xen_consts) + "part = fdt.parse(open(%r, 'rb').read())\n"
                            "arm64.build(C, K(0), 128, 1, 'v3', (4, 17), partial=part)" % str(dtb))
        assert name in ("LayoutError", "FdtError") and needle in msg, msg


def test_xen_module_constants_match_headers(dmp, xen_consts):
    r = dmp.j("try:\n import _xen\n R = {n: getattr(_xen, n) for n in %r if hasattr(_xen, n)}\n"
              "except ImportError:\n R = None" % (NAMES,))
    assert r is not None, "firmware without _xen"
    assert r, "no Arm guest constants exported by _xen"
    for n, v in r.items():
        assert v == xen_consts[n], n


def test_xen_module_exports_all_names(dmp):
    r = dmp.j("try:\n import _xen\n R = [n for n in %r if not hasattr(_xen, n)]\nexcept ImportError:\n R = None"
              % (NAMES,))
    assert r is not None, "firmware without _xen"
    assert r == [], "arm64 needs these from _xen"
    # and then arm64.constants() works with no override at all
    assert dmp.j("from xen.domain import arm64\nR = arm64.constants()['GUEST_PHANDLE_GIC']") == 65000


def test_heap(dmp, xen_consts):
    code = ("import gc\ngc.collect()\na = gc.mem_alloc()\n" + pre(xen_consts) +
            "gc.collect()\nb = gc.mem_alloc()\n"
            "P = arm64.build(C, K(0, mem_size=30 << 20), 256, 4, 'v3', (4, 17), cmdline='console=hvc0',"
            " initrd_size=4 << 20)\ngc.collect()\nprint(len(P['dtb']), b - a, gc.mem_alloc() - b)")
    n, mod, used = dmp.run(code, heap=20 * 1024, frozen=True).split()
    assert int(n) > 1000
    assert int(mod) < 6 * 1024, mod
    assert int(used) < int(n) + 2048, used
