"""The sim backend's domain model: ids, configuration checks, the state
machine, vcpus, getdomaininfo and privilege, as Xen 4.17 on Arm64 does them.

Each test runs a fresh firmware process, so a fresh simulated hypervisor. The
firmware side is mp/sim_domain.py."""
from errno import (EACCES, EEXIST, EFAULT, EINVAL, ENODATA, ENODEV, ENOMEM, EOPNOTSUPP,
                   EOVERFLOW, EPERM, ESRCH)

import pytest

from mpfirmware import mp
from xenheaders import XEN

DOMCTL = XEN.__HYPERVISOR_domctl
VERSION = XEN.XEN_DOMCTL_INTERFACE_VERSION
# The tests that build raw domctl structs take their layouts and versions from
# the host's headers (libxen-dev: Xen 4.17), so they run as that release;
# tests/host/test_releases.py covers the other releases' raw ABI.
HEADERS_RELEASE = pytest.mark.releases("4.17")


def test_domid_allocation(xen_release):
    a, b, c, d, dup, e, lst = mp("sim_domain.domid_allocation")
    # Xen's rover never goes back to a freed id straight away
    assert [a, b, c, d] == [1, 2, 3, 10]
    assert dup == EEXIST
    if xen_release == "4.22":
        # only DOMID_ANY asks Xen to choose; a reserved id is refused
        assert e == EEXIST and lst == [0, 2, 3, 10]
    else:
        # a reserved id (DOMID_FIRST_RESERVED) asks Xen to choose
        assert e == 4 and lst == [0, 2, 3, 4, 10]


def test_createdomain_config_checks():
    # an x86-only flag, and a bit past the last one Xen defines
    out, lst, spis, gframes = mp("sim_domain.config_checks", XEN.XEN_DOMCTL_CDF_oos_off,
                                 XEN.XEN_DOMCTL_CDF_MAX << 2)
    assert out == [EINVAL, EINVAL, EINVAL, EINVAL, EINVAL, EINVAL, ENODEV,
                   EINVAL, EINVAL, EINVAL, EINVAL, EINVAL, EINVAL, EINVAL,
                   EINVAL, ESRCH]
    # no failed create leaves a domain behind; like Xen's, the id rover moved
    # on for each attempt (it advances before the configuration is checked)
    assert lst == [0, 17]
    assert spis == 960 and gframes == 64


def test_nr_spis_rounded_to_32():
    assert mp("sim_domain.nr_spis", 33) == 64


@HEADERS_RELEASE
def test_native_gic_resolved_and_written_back():
    r = mp("sim_domain.native_gic", DOMCTL, XEN.XEN_DOMCTL_createdomain, VERSION,
           XEN.XEN_DOMCTL_CDF_hvm | XEN.XEN_DOMCTL_CDF_hap, 1)
    # asked for GIC_NATIVE (0), the domain gets the host's GICv3, written back
    assert r == [0, 1, XEN.XEN_DOMCTL_CONFIG_GIC_V3, XEN.XEN_DOMCTL_CONFIG_GIC_V3]


@HEADERS_RELEASE
def test_interface_version_checked():
    r = mp("sim_domain.interface_version", DOMCTL, XEN.XEN_DOMCTL_getdomaininfo,
           [VERSION - 1, VERSION + 1], XEN.__HYPERVISOR_sysctl, XEN.XEN_SYSCTL_physinfo,
           XEN.XEN_SYSCTL_INTERFACE_VERSION - 1)
    assert r == [-EACCES, -EACCES, -EACCES, [0]]


def test_bad_guest_address_is_efault():
    assert mp("sim_domain.bad_guest_address", DOMCTL) == [-EFAULT, -EFAULT]


def test_handle_kept():
    h = bytes(range(16))
    assert mp("sim_domain.handle_kept", h) == [h, h]


def test_pause_state_machine():
    assert mp("sim_domain.pause_state_machine") == [
        "paused", 1, True, "running", False, EINVAL, 2, "paused", 255, EOVERFLOW, EINVAL]


# the vcpu's entry point and first argument; an AArch32 SVC-mode cpsr and an
# AArch64 EL2h one (dom0 may not start a guest in the hypervisor's mode)
PC, X0, CPSR_AARCH32_SVC, CPSR_EL2H = 0x40000000, 0x47fff000, 0x1d3, 0x3c9
CPSR_EL1H = 0x1c5       # AArch64 EL1h, DAIF masked: what Xen gives a vcpu by default


def test_vcpus():
    r = mp("sim_domain.vcpus", PC, X0, CPSR_AARCH32_SVC, CPSR_EL2H)
    assert r == [EINVAL, EINVAL, 0xffffffff, EINVAL,
                 1, 0, 2, 32,
                 EINVAL,
                 None,
                 EINVAL,
                 PC, X0, CPSR_EL1H, True, 1,
                 EINVAL, ENODATA,
                 PC, True,
                 1, False,
                 True]


@HEADERS_RELEASE
def test_getdomaininfo_returns_next_domain():
    r = mp("sim_domain.getdomaininfo_next", DOMCTL, XEN.XEN_DOMCTL_getdomaininfo, VERSION,
           [3, 7, 8, 0x7ff0])
    assert r == [[0, 7, 7], [0, 7, 7], [-ESRCH, 8, 0], [-EINVAL, 0x7ff0, 0], ESRCH, EINVAL]


def test_missing_domain_is_esrch():
    assert mp("sim_domain.missing_domain", 5) == [ESRCH] * 13


def test_unprivileged_dom0():
    assert mp("sim_domain.unprivileged_dom0") == [
        EPERM, EPERM, EPERM, ESRCH, EPERM, EPERM, ENOMEM, EPERM, EPERM, EPERM, True, 0, 1]


def test_guest_shutdown_reasons():
    reasons = ["poweroff", "reboot", "suspend", "crash", "watchdog"]
    assert mp("sim_domain.shutdown_reasons", reasons) == [
        [r, True, getattr(XEN, "SHUTDOWN_" + r), "shutdown", r, 1] for r in reasons]


def test_first_shutdown_reason_sticks():
    # before any shutdown Xen reports its invalid code (0xff...) in the flags
    assert mp("sim_domain.first_reason_sticks") == [
        [False, 0xff], 1, 0, XEN.SHUTDOWN_crash, "ValueError"]


def test_remote_shutdown_sched_op():
    r = mp("sim_domain.remote_shutdown", XEN.__HYPERVISOR_sched_op, XEN.SCHEDOP_remote_shutdown,
           [[None, XEN.SHUTDOWN_reboot], [0, XEN.SHUTDOWN_poweroff], [42, XEN.SHUTDOWN_poweroff]])
    assert r == [0, -EINVAL, -ESRCH, XEN.SHUTDOWN_reboot]


def test_destroy_lifecycle():
    err_dom, err_info, fired, port, d0 = mp("sim_domain.destroy_lifecycle")
    assert err_dom == ESRCH and err_info == ESRCH and fired
    assert port == ["unbound", 1]
    assert d0 == EINVAL


def test_dying_domain_refuses_new_work():
    assert mp("sim_domain.dying_refuses_work", "/soc/mmc@ff170000") == [
        "dying", None, EINVAL, ENOMEM, EINVAL, EINVAL, EOPNOTSUPP]

