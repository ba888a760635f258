# Everything Arm64 about building a guest, in one place: guest memory banks,
# placement of kernel/initrd/DTB, the guest device tree and vcpu0's registers.
# Sans-IO.  Constants come from `_xen` under Xen's macro names (arch-arm.h,
# device_tree_defs.h); pass `consts` to override or supply missing ones.
from xen.domain import fdt

NAMES = (
    "GUEST_RAM0_BASE", "GUEST_RAM0_SIZE", "GUEST_RAM1_BASE", "GUEST_RAM1_SIZE",
    "GUEST_GNTTAB_BASE", "GUEST_GNTTAB_SIZE",
    "GUEST_GICD_BASE", "GUEST_GICD_SIZE", "GUEST_GICC_BASE", "GUEST_GICC_SIZE",
    "GUEST_GICV3_GICD_BASE", "GUEST_GICV3_GICD_SIZE", "GUEST_GICV3_GICR0_BASE", "GUEST_GICV3_GICR0_SIZE",
    "GUEST_TIMER_VIRT_PPI", "GUEST_TIMER_PHYS_S_PPI", "GUEST_TIMER_PHYS_NS_PPI", "GUEST_EVTCHN_PPI",
    "GUEST_PHANDLE_GIC", "GUEST_MAX_VCPUS", "PSR_GUEST64_INIT", "SCTLR_GUEST_INIT",
)

MiB = 1 << 20
PAGE = 4096
EXT_REGION_MIN = 64 * MiB  # smaller holes are not worth advertising
DTB_MAX = 2 * MiB  # Linux arm64 booting rule
MOD_OFFSET = 128 * MiB  # preferred start of initrd+DTB above the RAM base
_LEVEL_LOW = 8  # DT_IRQ_TYPE_LEVEL_LOW (GIC binding, third interrupt cell)
_PPI = 1  # GIC binding, first interrupt cell


class LayoutError(ValueError):
    pass


def constants(consts=None):
    # -> dict of NAMES from _xen, with `consts` taking precedence
    try:
        import _xen
    except ImportError:
        _xen = None
    c = {}
    missing = []
    for n in NAMES:
        if consts and n in consts:
            c[n] = consts[n]
        elif _xen is not None and hasattr(_xen, n):
            c[n] = getattr(_xen, n)
        else:
            missing.append(n)
    if missing:
        raise LayoutError("missing Xen constants: " + ", ".join(missing))
    return c


def _up(v, a):
    return (v + a - 1) & ~(a - 1)


def ram_banks(mem_bytes, c):
    # RAM0 first, the rest in RAM1 (above 4 GB); -> [(base, size)]
    if mem_bytes <= 0 or mem_bytes % (2 * MiB):
        raise LayoutError("guest RAM must be a positive multiple of 2 MiB, got " + str(mem_bytes))
    r0 = min(mem_bytes, c["GUEST_RAM0_SIZE"])
    banks = [(c["GUEST_RAM0_BASE"], r0)]
    rest = mem_bytes - r0
    if rest:
        if rest > c["GUEST_RAM1_SIZE"]:
            raise LayoutError("guest RAM of %d MiB exceeds the guest banks (%d MiB)"
                              % (mem_bytes // MiB, (c["GUEST_RAM0_SIZE"] + c["GUEST_RAM1_SIZE"]) // MiB))
        banks.append((c["GUEST_RAM1_BASE"], rest))
    return banks


def ext_regions(banks, c):
    # Unused guest-physical space inside the RAM bank windows, for the guest to
    # map foreign pages/grants: 2 MiB aligned, at least EXT_REGION_MIN each.
    out = []
    wins = ((c["GUEST_RAM0_BASE"], c["GUEST_RAM0_SIZE"]), (c["GUEST_RAM1_BASE"], c["GUEST_RAM1_SIZE"]))
    for i, (wbase, wsize) in enumerate(wins):
        used = banks[i][1] if i < len(banks) else 0
        start = _up(wbase + used, 2 * MiB)
        end = (wbase + wsize) & ~(2 * MiB - 1)
        if end - start >= EXT_REGION_MIN:
            out.append((start, end - start))
    return out


def paging_pool_bytes(vcpus, maxmem_kb):
    # P2M pool for the domain: 1 MiB per vCPU plus 8 KiB per MiB of RAM (xl's rule)
    return vcpus * MiB + 8 * maxmem_kb


def mpidr(vcpu):
    # virtual MPIDR affinity Xen gives vcpu N: 16 vcpus per Aff1 cluster
    return (vcpu & 0xF) | (((vcpu >> 4) & 0xFF) << 8)


def place(banks, kernel_addr, kernel_size, initrd_size, dtb_size):
    # Where the kernel, initrd and DTB go in RAM0.  Rules (docs/domain.md):
    # kernel at kernel_addr; initrd then DTB together, each 4 KiB aligned, at
    # RAM base + 128 MiB if that is above the kernel and fits, else at the top of
    # RAM0 if that is above the kernel, else just below the kernel.
    # kernel_size None = unknown: the kernel gets all room up to the modules.
    base, size = banks[0]
    end = base + size
    if dtb_size > DTB_MAX:
        raise LayoutError("device tree of %d bytes exceeds Linux's 2 MiB limit" % dtb_size)
    if not base <= kernel_addr < end:
        raise LayoutError("kernel load address 0x%x outside guest RAM 0x%x-0x%x" % (kernel_addr, base, end))
    kend = kernel_addr + (kernel_size or PAGE)
    if kend > end:
        raise LayoutError("kernel of %d bytes does not fit guest RAM (%d MiB)" % (kernel_size, size // MiB))
    isz = _up(initrd_size, PAGE)
    msize = isz + _up(dtb_size, PAGE)
    mod = None
    for cand in (base + MOD_OFFSET, end - msize):
        if cand >= _up(kend, PAGE) and cand + msize <= end:
            mod = cand
            break
    if mod is None and kernel_size and kernel_addr - msize >= base:
        mod = (kernel_addr - msize) & ~(PAGE - 1)
    if mod is None:
        raise LayoutError("kernel, initrd (%d bytes) and DTB do not fit in %d MiB of guest RAM"
                          % (initrd_size, size // MiB))
    room = (mod - kernel_addr) if mod > kernel_addr else (end - kernel_addr)
    if kernel_size is not None:
        room = min(room, kernel_size)
    return {"kernel_addr": kernel_addr, "kernel_room": room,
            "initrd_addr": mod if initrd_size else None, "dtb_addr": mod + isz}


def _irq(ppi_irq, cpumask):
    # GIC binding triple for a PPI given as Xen's IRQ number (16..31)
    return (_PPI, ppi_irq - 16, (cpumask << 8) | _LEVEL_LOW)


def device_tree(c, banks, maxvcpus, gic, xen_version, cmdline="", initrd=None, tee="none",
                regions=(), partial=None, clock_frequency=None):
    # Guest DTB as a bytearray.  gic: 'v2' or 'v3' (what Xen chose for the domain);
    # xen_version: (major, minor) from the hypervisor; initrd: (start, end) or None;
    # partial: root Node of a partial device tree (fdt.parse) or None.
    if gic not in ("v2", "v3"):
        raise LayoutError("gic must be 'v2' or 'v3', got " + repr(gic))
    if not 1 <= maxvcpus <= c["GUEST_MAX_VCPUS"]:
        raise LayoutError("maxvcpus %d out of range 1..%d" % (maxvcpus, c["GUEST_MAX_VCPUS"]))
    ver = "%d.%d" % (xen_version[0], xen_version[1])
    gph = c["GUEST_PHANDLE_GIC"]
    mask = (1 << min(maxvcpus, 8)) - 1 if gic == "v2" else 0
    w = fdt.Writer()
    w.reserve_phandle(gph)
    w.begin("")
    w.string("compatible", "xen,xenvm-" + ver, "xen,xenvm")
    w.string("model", "XENVM-" + ver)
    w.u32("interrupt-parent", gph)
    w.u32("#address-cells", 2)
    w.u32("#size-cells", 2)

    w.begin("chosen")
    w.string("bootargs", cmdline)
    if initrd:
        w.u64("linux,initrd-start", initrd[0])
        w.u64("linux,initrd-end", initrd[1])
    w.end()

    w.begin("cpus")
    w.u32("#address-cells", 1)
    w.u32("#size-cells", 0)
    for i in range(maxvcpus):
        m = mpidr(i)
        w.begin("cpu@%x" % m)
        w.string("device_type", "cpu")
        w.string("compatible", "arm,armv8")
        w.string("enable-method", "psci")
        w.u32("reg", m)
        w.end()
    w.end()

    w.begin("psci")
    w.string("compatible", "arm,psci-1.0", "arm,psci-0.2")
    w.string("method", "hvc")
    w.end()

    for b, z in banks:
        w.begin("memory@%x" % b)
        w.string("device_type", "memory")
        w.cells("reg", [(b, z)])
        w.end()

    if gic == "v2":
        d = c["GUEST_GICD_BASE"]
        w.begin("interrupt-controller@%x" % d)
        w.string("compatible", "arm,cortex-a15-gic", "arm,cortex-a9-gic")
        w.cells("reg", [(d, c["GUEST_GICD_SIZE"]), (c["GUEST_GICC_BASE"], c["GUEST_GICC_SIZE"])])
    else:
        d = c["GUEST_GICV3_GICD_BASE"]
        w.begin("interrupt-controller@%x" % d)
        w.string("compatible", "arm,gic-v3")
        w.u32("#redistributor-regions", 1)
        w.cells("reg", [(d, c["GUEST_GICV3_GICD_SIZE"]),
                        (c["GUEST_GICV3_GICR0_BASE"], c["GUEST_GICV3_GICR0_SIZE"])])
    w.u32("#interrupt-cells", 3)
    w.u32("#address-cells", 0)
    w.empty("interrupt-controller")
    w.phandle(gph)
    w.end()

    w.begin("timer")
    w.string("compatible", "arm,armv8-timer")
    w.u32("interrupts", *(_irq(c["GUEST_TIMER_PHYS_S_PPI"], mask) + _irq(c["GUEST_TIMER_PHYS_NS_PPI"], mask)
                          + _irq(c["GUEST_TIMER_VIRT_PPI"], mask)))
    if clock_frequency:
        w.u32("clock-frequency", clock_frequency)
    w.end()

    w.begin("hypervisor")
    w.string("compatible", "xen,xen-" + ver, "xen,xen")
    w.cells("reg", [(c["GUEST_GNTTAB_BASE"], c["GUEST_GNTTAB_SIZE"])] + list(regions))
    w.u32("interrupts", *_irq(c["GUEST_EVTCHN_PPI"], mask))
    w.end()

    if tee == "optee":
        w.begin("firmware")
        w.begin("optee")
        w.string("compatible", "linaro,optee-tz")
        w.string("method", "hvc")
        w.end()
        w.end()
    elif tee != "none":
        raise LayoutError("unsupported tee " + repr(tee))

    if partial is not None:
        pt = partial.child("passthrough")
        if pt is None:
            raise LayoutError("partial device tree has no /passthrough node")
        for n in partial.props:
            if n[0] in ("#address-cells", "#size-cells") and n[1] != b"\x00\x00\x00\x02":
                raise LayoutError("partial device tree: root " + n[0] + " must be 2")
        w.node(pt)
        al = partial.child("aliases")
        if al is not None:
            w.node(al)
    w.end()
    return w.finish()


def build(c, kernel, memory_mb, maxvcpus, gic, xen_version, cmdline="", initrd_size=0,
          tee="none", partial=None, clock_frequency=None):
    # The whole Arm64 plan for one guest.  kernel: object with text_offset (None
    # for uImage), load and entry (None for Image), mem_size (None if unknown).
    # -> dict: banks, regions, kernel_addr, kernel_room, entry, initrd_addr,
    #    initrd_size, dtb_addr, dtb (bytearray), vcpu0 (registers for setvcpucontext)
    banks = ram_banks(memory_mb * MiB, c)
    regions = ext_regions(banks, c)
    if kernel.load is not None:
        kaddr = kernel.load
    else:
        kaddr = banks[0][0] + kernel.text_offset
    args = (c, banks, maxvcpus, gic, xen_version, cmdline)
    kw = {"tee": tee, "regions": regions, "partial": partial, "clock_frequency": clock_frequency}
    # The DTB size does not depend on the initrd addresses (fixed-size cells), so
    # size it once with placeholders, place everything, then write it for real.
    dtb = device_tree(*args, initrd=(0, 0) if initrd_size else None, **kw)
    p = place(banks, kaddr, kernel.mem_size, initrd_size, len(dtb))
    if initrd_size:
        dtb = device_tree(*args, initrd=(p["initrd_addr"], p["initrd_addr"] + initrd_size), **kw)
    entry = kernel.entry if kernel.entry is not None else kaddr
    if not kaddr <= entry < kaddr + p["kernel_room"]:
        raise LayoutError("kernel entry 0x%x outside the loaded kernel" % entry)
    p["banks"] = banks
    p["regions"] = regions
    p["entry"] = entry
    p["initrd_size"] = initrd_size
    p["dtb"] = dtb
    p["vcpu0"] = vcpu0_regs(c, entry, p["dtb_addr"])
    return p


def vcpu0_regs(c, entry, dtb_addr):
    # Linux arm64 boot protocol: x0 = DTB, x1..x3 = 0, MMU off, EL1h, DAIF masked
    return {"x0": dtb_addr, "x1": 0, "x2": 0, "x3": 0, "pc": entry,
            "cpsr": c["PSR_GUEST64_INIT"], "sctlr": c["SCTLR_GUEST_INIT"], "online": True}
