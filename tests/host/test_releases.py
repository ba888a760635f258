"""One firmware, every supported Xen release: the binding asks the hypervisor
its release and speaks that release's interface versions and layouts. Each
test here runs with the sim acting as 4.17, 4.18, 4.20, 4.21 and 4.22
(tests/conftest.py); the sim decodes with its own per-release structs
(modxen/backends/sim_release.c), so a wrong row in modxen/abi.c fails here.

The expectations are Xen's, read from each release's public headers and
hypervisor source, written here independently of both tables. The firmware
side is mp/releases.py."""
from errno import EEXIST, EINVAL, ENODEV, EOPNOTSUPP, ESRCH

from mpfirmware import mp
from xenheaders import XEN

# release: (domctl, sysctl) interface versions, from xen/include/public/{domctl,sysctl}.h
INTERFACE = {"4.17": (0x15, 0x15), "4.18": (0x16, 0x15), "4.19": (0x17, 0x15), "4.20": (0x17, 0x15),
             "4.21": (0x17, 0x16), "4.22": (0x18, 0x16)}
ON_REAL_XEN = ("4.17", "4.20")      # the releases the real-Xen tier boots


def since(release, minor):
    return int(release.split(".")[1]) >= minor


# Xen 4.21's XENCONSOLE_DISCONNECTED (io/console.h; newer than the host build's headers)
XENCONSOLE_DISCONNECTED = 1


def test_abi_reports_the_running_release(xen_release):
    a = mp("releases.abi")
    assert a["release"] == xen_release and a["version"] == [4, int(xen_release[2:])]
    assert (a["domctl"], a["sysctl"]) == INTERFACE[xen_release]
    assert a["verified"] == ("real" if xen_release in ON_REAL_XEN else "sim")
    assert [r[0] for r in a["releases"]] == ["4.17", "4.18", "4.19", "4.20", "4.21", "4.22"]
    assert {r[0]: (r[1], r[2]) for r in a["releases"]} == INTERFACE
    assert ("domain_state" in a["features"]) == since(xen_release, 21)
    assert ("domid_any" in a["features"]) == since(xen_release, 22)


def test_createdomain_fields_land_where_the_release_reads_them(xen_release):
    """Everything the builder sets round-trips through the release's layout:
    the arch config (which moved by 4 bytes in 4.19) and the cpupool."""
    r = mp("releases.createdomain_fields", bytes(range(16)))
    out, gic, spis, vcpus, port, gf, mf, handle, pool, toomany, v2 = r
    gic_v3 = XEN.XEN_DOMCTL_CONFIG_GIC_V3
    assert out["gic_version"] == gic == gic_v3 and out["nr_spis"] == spis == 96
    assert (vcpus, port, gf, mf, handle) == (3, 511, 12, 80, bytes(range(16)))
    assert pool == ["OSError", ESRCH, "ESRCH"]          # no cpupool 1: read at the right place
    assert toomany == ["OSError", EINVAL]               # nr_spis checked by the arch code
    assert v2 == ["OSError", ENODEV, "ENODEV"] or v2 == ["OSError", ENODEV]   # no GICv2 compatibility


def test_fields_a_release_lacks_are_refused_before_xen(xen_release):
    sve, altp2m, ffa, left = mp("releases.fields_a_release_lacks")
    # No SVE, no altp2m on Arm, no FF-A mediator on this board: Xen's own EINVAL
    assert sve == (["OSError", EINVAL] if since(xen_release, 18)
                   else ["ValueError", "Xen 4.17 has no createdomain sve_vl"])
    assert altp2m == (["OSError", EINVAL] if since(xen_release, 19)
                      else ["ValueError", "Xen %s has no createdomain altp2m" % xen_release])
    assert ffa == (["OSError", EINVAL] if since(xen_release, 18)
                   else ["ValueError", "Xen 4.17 has no FF-A TEE mediator"])
    assert left == 1


def test_automatic_and_exact_domids(xen_release):
    """domid=0 lets Xen choose on every release: from 4.22 the binding sends
    DOMID_ANY, since there 0 names dom0 (EEXIST)."""
    r = mp("releases.automatic_and_exact_domids", XEN.__HYPERVISOR_domctl, XEN.XEN_DOMCTL_createdomain,
           INTERFACE[xen_release][0], XEN.XEN_DOMCTL_CDF_hvm | XEN.XEN_DOMCTL_CDF_hap, 1)
    a, b, dup, raw0, ids = r
    assert a == 1 and b == 7 and dup[:2] == ["OSError", EEXIST]
    if since(xen_release, 22):
        assert raw0 == -EEXIST and ids == [0, 1, 7]      # domid 0 is dom0's
    else:
        assert raw0 == 2 and ids == [0, 1, 2, 7]         # Xen chose the next free id


def test_getdomaininfo_of_a_missing_domain(xen_release):
    """4.17 answers with the next domain up (the binding turns that into
    ESRCH); from 4.18 Xen itself says ESRCH."""
    assert mp("releases.getdomaininfo_of_a_missing_domain") == [
        ["OSError", ESRCH, "ESRCH"], 5, ["OSError", ESRCH, "ESRCH"]]


def test_get_domain_state(xen_release):
    r = mp("releases.get_domain_state")
    if not since(xen_release, 21):
        assert r == ["OSError", EOPNOTSUPP, "Xen %s has no get_domain_state" % xen_release]
        return
    seen, first, exist, again, control, hardware, gone, gone_exist, missing = r
    assert first == 1 and exist is True and again is None
    assert control and hardware
    assert gone == 1 and gone_exist is False        # destroyed, nothing mapped: freed
    assert missing == ["OSError", ESRCH, "ESRCH"]


def test_dom_exc_uses_get_domain_state_where_xen_has_it(xen_release, tmp_path):
    """A guest's poweroff is acted on through VIRQ_DOM_EXC on every release;
    from 4.21 dom0 asks Xen which domain changed instead of walking all."""
    from domain.test_domain_create import arm64_image
    k = tmp_path / "Image"
    k.write_bytes(arm64_image())
    alive, asked, ids = mp("releases.dom_exc_after_poweroff",
                           {"name": "g", "kernel": str(k), "memory": 32, "on_poweroff": "destroy"})
    assert alive is False and ids == [0]
    assert asked == since(xen_release, 21)


def test_xenstore_page_evtchn_port_from_4_21(xen_release):
    """Xen 4.21 puts the port xenstored must bind into the page of a domain
    it built; dom0 uses a non-zero one, as cxenstored does."""
    r = mp("releases.xenstore_port_in_page")
    assert len(r) == 1
    if since(xen_release, 21):
        assert r[0] != 1 and r[0] == 2      # the page's port (the second allocated)
    else:
        assert r[0] == 1                    # the introduced one; the field is not there


def test_console_connection_flag_from_4_21(xen_release):
    r = mp("releases.console_connection_flag", XENCONSOLE_DISCONNECTED)
    assert r == (0 if since(xen_release, 21) else XENCONSOLE_DISCONNECTED)
