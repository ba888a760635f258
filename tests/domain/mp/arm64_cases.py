# tests/domain/test_domain_arm64.py's firmware side: xen.domain.arm64 plans
# an Arm64 guest (layout, device tree, vcpu0) from the Arm constants pytest
# read in Xen's headers, and refuses what does not fit.
from xen.domain import arm64, fdt
from domlib import K, refusal


def plan(consts, kernel, mem, maxvcpus, gic, version, out, partial=None, **kw):
    """arm64.build for a kernel with the placement fields in `kernel`, the
    partial device tree in file `partial` if any: its DTB written to out,
    the plan returned with the DTB's length in its place."""
    if partial:
        kw['partial'] = fdt.parse(open(partial, 'rb').read())
    p = arm64.build(arm64.constants(consts), K(**kernel), mem, maxvcpus, gic, tuple(version), **kw)
    with open(out, 'wb') as f:
        f.write(p['dtb'])
    p['dtb'] = len(p['dtb'])
    return p


def banks_and_regions(consts):
    C = arm64.constants(consts)
    return [arm64.ram_banks(4096 << 20, C), arm64.ext_regions(arm64.ram_banks(4096 << 20, C), C),
            arm64.ram_banks(3072 << 20, C), arm64.ext_regions(arm64.ram_banks(3072 << 20, C), C),
            arm64.paging_pool_bytes(2, 131072), arm64.mpidr(0), arm64.mpidr(33)]


def banks_error(consts, mem):
    return refusal(arm64.ram_banks, mem, arm64.constants(consts))


def banks_beyond_error(consts, extra):
    """Banks for more memory than both guest RAM banks hold by extra bytes."""
    C = arm64.constants(consts)
    return refusal(arm64.ram_banks, C['GUEST_RAM0_SIZE'] + C['GUEST_RAM1_SIZE'] + extra, C)


def build_error(consts, kernel, mem, maxvcpus, gic, version, kw):
    return refusal(arm64.build, arm64.constants(consts), K(**kernel), mem, maxvcpus, gic,
                   tuple(version), **kw)


def place_error(banks, kernel_addr, kernel_size, initrd_size, dtb_size):
    return refusal(arm64.place, [tuple(b) for b in banks], kernel_addr, kernel_size,
                   initrd_size, dtb_size)


def placements(base):
    """arm64.place for the layouts the test describes, RAM at base."""
    B = base
    return [
        arm64.place([(B, 512 << 20)], B, 40 << 20, 10 << 20, 5000),       # base + 128 MiB
        arm64.place([(B, 160 << 20)], B, 140 << 20, 1 << 20, 100),        # top of RAM
        arm64.place([(B, 64 << 20)], B + (48 << 20), 16 << 20, 1 << 20, 100),  # below the kernel
        arm64.place([(B, 512 << 20)], B, None, 0, 100),                   # unknown kernel size
    ]


def partial_tree_error(consts, partial):
    """What building a guest with the partial device tree in that file raised."""
    def build():
        part = fdt.parse(open(partial, 'rb').read())
        arm64.build(arm64.constants(consts), K(0), 128, 1, 'v3', (4, 17), partial=part)
    return refusal(build)


def xen_constants(names):
    """The names _xen exports, with their values (None without _xen)."""
    try:
        import _xen
    except ImportError:
        return None
    return {n: getattr(_xen, n) for n in names if hasattr(_xen, n)}


def xen_missing(names):
    """The names _xen does not export (None without _xen)."""
    try:
        import _xen
    except ImportError:
        return None
    return [n for n in names if not hasattr(_xen, n)]


def default_constant(name):
    """arm64.constants() with no override: the value of name."""
    return arm64.constants()[name]
