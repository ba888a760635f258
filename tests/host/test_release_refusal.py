"""A Xen release outside what the firmware speaks is refused by name, at
xen.start() and at every domctl, never as a late EACCES; and an EACCES that
Xen does give names the release and interface the firmware spoke. The
firmware side is mp/release_refusal.py."""
from errno import EACCES, EOPNOTSUPP

import pytest

from mpfirmware import MicroPythonError, mp


@pytest.mark.parametrize("release,domctl,how", [("4.23", 0x19, "newer than"), ("4.16", 0x14, "older than")])
def test_release_outside_the_range_is_refused_by_name(release, domctl, how):
    r = mp("release_refusal.outside_the_range", {"name": "g", "kernel": "Image", "memory": 32},
           env={"MODXEN_SIM_XEN": release})
    msg = "Xen %s (domctl 0x%x) is %s this firmware (4.17-4.22)" % (release, domctl, how)
    start, create, dlist, build, version, dom0_ports = r
    assert start == ["OSError", EOPNOTSUPP, msg]
    assert create == ["OSError", EOPNOTSUPP, msg] and dlist == ["OSError", EOPNOTSUPP, msg]
    assert build == ["OSError", EOPNOTSUPP, msg]     # xen.start() inside domain_create refuses first
    assert version == [4, int(release[2:])]
    assert dom0_ports == 0          # nothing was bound before the refusal


@pytest.mark.parametrize("release,speaks", [("4.17", "Xen 4.17, domctl 0x15, sysctl 0x15"),
                                            ("4.20", "Xen 4.20, domctl 0x17, sysctl 0x15"),
                                            ("4.22", "Xen 4.22, domctl 0x18, sysctl 0x16")])
def test_eacces_from_xen_names_the_interface_spoken(tmp_path, release, speaks):
    from domain.test_domain_create import arm64_image
    k = tmp_path / "Image"
    k.write_bytes(arm64_image())
    r = mp("release_refusal.eacces_from_xen", {"name": "g", "kernel": str(k), "memory": 32}, EACCES,
           env={"MODXEN_SIM_XEN": release})
    assert r[0] == ["BuildError", "domain g: createdomain failed: [Errno 13] EACCES (%s)" % speaks]
    assert r[1] == 1


def test_unknown_sim_release_fails_loudly():
    with pytest.raises(MicroPythonError) as e:
        mp("release_refusal.abi", env={"MODXEN_SIM_XEN": "4.99"})
    assert "MODXEN_SIM_XEN=4.99: the sim acts as Xen 4.16 to 4.23" in str(e.value)
