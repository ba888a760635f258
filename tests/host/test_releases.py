"""One firmware, every supported Xen release: the binding asks the hypervisor
its release and speaks that release's interface versions and layouts. Each
test here runs with the sim acting as 4.17, 4.18, 4.20, 4.21 and 4.22
(tests/conftest.py); the sim decodes with its own per-release structs
(modxen/backends/sim_release.c), so a wrong row in modxen/abi.c fails here.

The expectations are Xen's, read from each release's public headers and
hypervisor source, written here independently of both tables."""
import pytest

# release: (domctl, sysctl) interface versions, from xen/include/public/{domctl,sysctl}.h
INTERFACE = {"4.17": (0x15, 0x15), "4.18": (0x16, 0x15), "4.19": (0x17, 0x15), "4.20": (0x17, 0x15),
             "4.21": (0x17, 0x16), "4.22": (0x18, 0x16)}
ON_REAL_XEN = ("4.17", "4.20")      # the releases the real-Xen tier boots


def since(release, minor):
    return int(release.split(".")[1]) >= minor


PRE = """
import _xen, errno
import _xensim as sim
def err(f, *a, **k):
    try:
        f(*a, **k)
    except OSError as e:
        return ['OSError', e.args[0]] + [str(x) for x in e.args[1:]]
    except Exception as e:
        return [type(e).__name__, str(e)]
    return None
"""


def test_abi_reports_the_running_release(mp, xen_release):
    a = mp.json(PRE + "emit(_xen.abi())")
    assert a["release"] == xen_release and a["version"] == [4, int(xen_release[2:])]
    assert (a["domctl"], a["sysctl"]) == INTERFACE[xen_release]
    assert a["verified"] == ("real" if xen_release in ON_REAL_XEN else "sim")
    assert [r[0] for r in a["releases"]] == ["4.17", "4.18", "4.19", "4.20", "4.21", "4.22"]
    assert {r[0]: (r[1], r[2]) for r in a["releases"]} == INTERFACE
    assert ("domain_state" in a["features"]) == since(xen_release, 21)
    assert ("domid_any" in a["features"]) == since(xen_release, 22)


def test_createdomain_fields_land_where_the_release_reads_them(mp, xen_release):
    """Everything the builder sets round-trips through the release's layout:
    the arch config (which moved by 4 bytes in 4.19) and the cpupool."""
    r = mp.json(PRE + """
out = {}
d = _xen.createdomain(max_vcpus=3, max_evtchn_port=511, max_grant_frames=12, max_maptrack_frames=80,
                      gic_version=_xen.XEN_DOMCTL_CONFIG_GIC_V3, nr_spis=96, handle=bytes(range(16)), out=out)
s = sim.domain(d)
emit([out, s['gic_version'], s['nr_spis'], s['max_vcpus'], s['max_evtchn_port'], s['max_grant_frames'],
      s['max_maptrack_frames'], list(s['handle']),
      err(_xen.createdomain, cpupool_id=1), err(_xen.createdomain, nr_spis=2000),
      err(_xen.createdomain, gic_version=_xen.XEN_DOMCTL_CONFIG_GIC_V2)])
""")
    out, gic, spis, vcpus, port, gf, mf, handle, pool, toomany, v2 = r
    assert out["gic_version"] == gic == 2 and out["nr_spis"] == spis == 96      # 2: GIC_V3
    assert (vcpus, port, gf, mf, handle) == (3, 511, 12, 80, list(range(16)))
    assert pool == ["OSError", 3, "ESRCH"]          # no cpupool 1: read at the right place
    assert toomany == ["OSError", 22]               # nr_spis checked by the arch code
    assert v2 == ["OSError", 19, "ENODEV"] or v2 == ["OSError", 19]   # no GICv2 compatibility


def test_fields_a_release_lacks_are_refused_before_xen(mp, xen_release):
    r = mp.json(PRE + """
emit([err(_xen.createdomain, sve_vl=2), err(_xen.createdomain, altp2m=1),
      err(_xen.createdomain, tee_type=_xen.XEN_DOMCTL_CONFIG_TEE_FFA), len(_xen.domain_list())])
""")
    sve, altp2m, ffa, left = r
    # No SVE, no altp2m on Arm, no FF-A mediator on this board: Xen's own EINVAL
    assert sve == (["OSError", 22] if since(xen_release, 18)
                   else ["ValueError", "Xen 4.17 has no createdomain sve_vl"])
    assert altp2m == (["OSError", 22] if since(xen_release, 19)
                      else ["ValueError", "Xen %s has no createdomain altp2m" % xen_release])
    assert ffa == (["OSError", 22] if since(xen_release, 18)
                   else ["ValueError", "Xen 4.17 has no FF-A TEE mediator"])
    assert left == 1


def test_automatic_and_exact_domids(mp, xen_release):
    """domid=0 lets Xen choose on every release: from 4.22 the binding sends
    DOMID_ANY, since there 0 names dom0 (EEXIST)."""
    r = mp.json(PRE + """
import struct
a = _xen.createdomain()
b = _xen.createdomain(7)
dup = err(_xen.createdomain, 7)
# the same domctl with a raw domid 0, as a 4.17-only toolstack would send it
abi = _xen.abi()
op = bytearray(144)
struct.pack_into('<IIH', op, 0, 1, abi['domctl'], 0)                  # XEN_DOMCTL_createdomain
struct.pack_into('<I', op, 16 + 20, _xen.XEN_DOMCTL_CDF_hvm | _xen.XEN_DOMCTL_CDF_hap)
struct.pack_into('<IIii', op, 16 + 28, 1, 1023, 1, 1)                  # max_vcpus .. maptrack
struct.pack_into('<I', op, 16 + 44, 1)                                 # grant version 1
sim.scratch_write(0, op)
rc = sim.hypercall(36, sim.scratch_addr())                             # __HYPERVISOR_domctl
raw0 = rc if rc < 0 else struct.unpack_from('<H', sim.scratch_read(0, 16), 8)[0]
emit([a, b, dup, raw0, sorted(i['domid'] for i in _xen.domain_list())])
""")
    a, b, dup, raw0, ids = r
    assert a == 1 and b == 7 and dup[:2] == ["OSError", 17]
    if since(xen_release, 22):
        assert raw0 == -17 and ids == [0, 1, 7]      # EEXIST: domid 0 is dom0's
    else:
        assert raw0 == 2 and ids == [0, 1, 2, 7]     # Xen chose the next free id


def test_getdomaininfo_of_a_missing_domain(mp, xen_release):
    """4.17 answers with the next domain up (the binding turns that into
    ESRCH); from 4.18 Xen itself says ESRCH."""
    r = mp.json(PRE + """
a = _xen.createdomain(5)
emit([err(_xen.getdomaininfo, 3), _xen.getdomaininfo(5)['domid'], err(_xen.getdomaininfo, 6)])
""")
    assert r == [["OSError", 3, "ESRCH"], 5, ["OSError", 3, "ESRCH"]]


def test_get_domain_state(mp, xen_release):
    r = mp.json(PRE + """
if 'domain_state' not in _xen.abi()['features']:
    emit(err(_xen.get_domain_state))
else:
    seen = []
    while True:
        s = _xen.get_domain_state()
        if s is None:
            break
        seen.append(s['domid'])
    d = _xen.createdomain()
    first = _xen.get_domain_state()
    again = _xen.get_domain_state()
    one = _xen.get_domain_state(0)
    _xen.destroydomain(d)
    gone = _xen.get_domain_state()
    emit([seen, first['domid'], first['exist'], again, one['control'], one['hardware'],
          gone['domid'], gone['exist'], err(_xen.get_domain_state, 9)])
""")
    if not since(xen_release, 21):
        assert r == ["OSError", 95, "Xen %s has no get_domain_state" % xen_release]
        return
    seen, first, exist, again, control, hardware, gone, gone_exist, missing = r
    assert first == 1 and exist is True and again is None
    assert control and hardware
    assert gone == 1 and gone_exist is False        # destroyed, nothing mapped: freed
    assert missing == ["OSError", 3, "ESRCH"]


def test_dom_exc_uses_get_domain_state_where_xen_has_it(mp, xen_release, tmp_path):
    """A guest's poweroff is acted on through VIRQ_DOM_EXC on every release;
    from 4.21 dom0 asks Xen which domain changed instead of walking all."""
    from domain.test_domain_create import arm64_image
    k = tmp_path / "Image"
    k.write_bytes(arm64_image())
    r = mp.json(PRE + """
import xen, time
dom = xen.domain_create({'name': 'g', 'kernel': %r, 'memory': 32, 'on_poweroff': 'destroy'})
sim.trace(True)
sim.guest_shutdown(dom.domid, 'poweroff')
for _ in range(50):
    time.sleep_ms(2)
    if not dom.alive():
        break
emit([dom.alive(), 'domctl.get_domain_state' in sim.calls(), [d['domid'] for d in _xen.domain_list()]])
""" % str(k))
    alive, asked, ids = r
    assert alive is False and ids == [0]
    assert asked == since(xen_release, 21)


def test_xenstore_page_evtchn_port_from_4_21(mp, xen_release):
    """Xen 4.21 puts the port xenstored must bind into the page of a domain
    it built; dom0 uses a non-zero one, as cxenstored does."""
    r = mp.json(PRE + """
import xen, struct
svc = xen.start()
d = _xen.createdomain()
_xen.max_mem(d, 1024)
_xen.populate_physmap(d, [0x39000])
given = _xen.evtchn_alloc_unbound(d, 0)       # what the toolstack would introduce
in_page = _xen.evtchn_alloc_unbound(d, 0)     # what Xen wrote into the page
g = sim.guest_map(d, 0x39000)
g[2076:2080] = struct.pack('<I', in_page)
svc.introduce(d, 0x39000, given)
ports = sim.domain(0)['ports']
bound = [p[2] for p in ports.values() if p[0] == 'interdomain' and p[1] == d]
emit(bound)
""")
    assert len(r) == 1
    if since(xen_release, 21):
        assert r[0] != 1 and r[0] == 2      # the page's port (the second allocated)
    else:
        assert r[0] == 1                    # the introduced one; the field is not there


def test_console_connection_flag_from_4_21(mp, xen_release):
    r = mp.json(PRE + """
from xen import console
d = _xen.createdomain()
_xen.max_mem(d, 1024)
_xen.populate_physmap(d, [0x39001])
p = _xen.evtchn_alloc_unbound(d, 0)
g = sim.guest_map(d, 0x39001)
g[3088] = 1                                   # XENCONSOLE_DISCONNECTED, as Xen sets it
c = console.serve(d, 0x39001, p)
emit(g[3088])
""")
    assert r == (0 if since(xen_release, 21) else 1)
