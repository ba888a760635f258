"""A Xen release outside what the firmware speaks is refused by name, at
xen.start() and at every domctl, never as a late EACCES; and an EACCES that
Xen does give names the release and interface the firmware spoke."""
import pytest

PRE = """
import _xen, _xensim, xen
def err(f, *a, **k):
    try:
        f(*a, **k)
    except Exception as e:
        return [type(e).__name__] + [str(x) for x in e.args]
    return None
"""


@pytest.mark.parametrize("release,domctl,how", [("4.23", 0x19, "newer than"), ("4.16", 0x14, "older than")])
def test_release_outside_the_range_is_refused_by_name(mp, monkeypatch, release, domctl, how):
    monkeypatch.setenv("MODXEN_SIM_XEN", release)
    r = mp.json(PRE + """
emit([err(xen.start), err(_xen.createdomain), err(_xen.domain_list),
      err(xen.domain_create, {'name': 'g', 'kernel': 'Image', 'memory': 32}),
      _xen.version()[:2], len(_xensim.domain(0)['ports'])])
""")
    msg = "Xen %s (domctl 0x%x) is %s this firmware (4.17-4.22)" % (release, domctl, how)
    start, create, dlist, build, version, dom0_ports = r
    assert start == ["OSError", "95", msg]
    assert create == ["OSError", "95", msg] and dlist == ["OSError", "95", msg]
    assert build == ["OSError", "95", msg]     # xen.start() inside domain_create refuses first
    assert version == [4, int(release[2:])]
    assert dom0_ports == 0          # nothing was bound before the refusal


@pytest.mark.parametrize("release,speaks", [("4.17", "Xen 4.17, domctl 0x15, sysctl 0x15"),
                                            ("4.20", "Xen 4.20, domctl 0x17, sysctl 0x15"),
                                            ("4.22", "Xen 4.22, domctl 0x18, sysctl 0x16")])
def test_eacces_from_xen_names_the_interface_spoken(mp, monkeypatch, tmp_path, release, speaks):
    from domain.test_domain_create import arm64_image
    k = tmp_path / "Image"
    k.write_bytes(arm64_image())
    monkeypatch.setenv("MODXEN_SIM_XEN", release)
    r = mp.json(PRE + """
import errno
_xensim.fail('domctl.createdomain', 1, errno.EACCES)
emit([err(xen.domain_create, {'name': 'g', 'kernel': %r, 'memory': 32}), len(_xen.domain_list())])
""" % str(k))
    assert r[0] == ["BuildError", "domain g: createdomain failed: [Errno 13] EACCES (%s)" % speaks]
    assert r[1] == 1


def test_unknown_sim_release_fails_loudly(mp, monkeypatch):
    monkeypatch.setenv("MODXEN_SIM_XEN", "4.99")
    out = mp.run("import _xen\n_xen.abi()", expect_ok=False)
    assert "MODXEN_SIM_XEN=4.99: the sim acts as Xen 4.16 to 4.23" in out
