"""xen.domain_create on the sim: the build, its xenstore entries, the guest's
own view through its xenstore ring, lifecycle actions and the full failure
matrix (every hypercall of a build failing in turn, nothing left behind)."""
import hashlib
import json
import os
import struct
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUEST_XS = (ROOT / "tests" / "xenstore" / "mp" / "xsguest.py").read_text()
MiB = 1 << 20


def arm64_image(payload_len=300_000, text_offset=0, image_size=2 * MiB):
    h = bytearray(64)
    struct.pack_into("<II", h, 0, 0xFA405A4D, 0x14000000)
    struct.pack_into("<QQQ", h, 8, text_offset, image_size, 0b1010)
    struct.pack_into("<I", h, 0x38, 0x644D5241)
    body = hashlib.sha256(b"kernel").digest() * (payload_len // 32 + 1)
    return bytes(h) + body[:payload_len]


@pytest.fixture
def images(tmp_path):
    k = tmp_path / "Image"
    k.write_bytes(arm64_image())
    r = tmp_path / "initrd"
    r.write_bytes(b"INITRD" * 5000)
    return {"kernel": str(k), "ramdisk": str(r), "dir": tmp_path}


PRE = """
import xen, _xen, errno, time
from xen import xenstore
import _xensim as sim
def err(f, *a, **k):
    try:
        f(*a, **k)
    except Exception as e:
        return type(e).__name__ + ': ' + str(e)
    return None
def settle(n=3):
    for _ in range(n):
        time.sleep_ms(1)
"""

# A guest driving its own xenstore ring through the sim's guest-side API.
GUEST = GUEST_XS + """
class SimGuest(Guest):
    def __init__(self, domid):
        self.domid = domid
        gfn = _xen.hvm_get_param(domid, _xen.HVM_PARAM_STORE_PFN)
        self.port = _xen.hvm_get_param(domid, _xen.HVM_PARAM_STORE_EVTCHN)
        # The view does not keep the GuestPage alive: hold it, or a
        # collection unmaps the page under the view.
        self.gpage = sim.guest_map(domid, gfn)
        Guest.__init__(self, memoryview(self.gpage))
    def kick(self):
        sim.guest_notify(self.domid, self.port)
        settle()
"""


def run(mp, code):
    return mp.json(PRE + code)


def cfg(images, **kw):
    c = {"name": "guest1", "kernel": images["kernel"], "ramdisk": images["ramdisk"],
         "memory": 64, "vcpus": 2, "extra": "console=hvc0 rdinit=/init"}
    c.update(kw)
    return c


def test_create_from_dict_builds_a_running_guest(mp, images):
    r = run(mp, """
d = xen.domain_create(%r)
i = d.info()
ctx = _xen.getvcpucontext(d.domid, 0)
emit([d.domid, d.name, i['state'], i['vcpus'], i['max_vcpus'], i['max_mem_kb'] >= 64 * 1024,
      hex(ctx['pc']), ctx['x0'], ctx['cpsr'] == _xen.PSR_GUEST64_INIT,
      [x.name for x in xen.domains()],
      _xen.hvm_get_param(d.domid, _xen.HVM_PARAM_STORE_PFN) == (_xen.GUEST_MAGIC_BASE >> 12) + 1,
      _xen.hvm_get_param(d.domid, _xen.HVM_PARAM_CONSOLE_PFN) == _xen.GUEST_MAGIC_BASE >> 12])
""" % cfg(images))
    domid, name, state, vcpus, maxv, mem_ok, pc, x0, cpsr_ok, names, store_ok, cons_ok = r
    assert (name, state, vcpus, maxv, mem_ok) == ("guest1", "running", 1, 2, True)
    assert pc == "0x40000000" and cpsr_ok and store_ok and cons_ok
    assert names == ["Domain-0", "guest1"]
    assert 0x40000000 < x0 < 0x44000000


def test_guest_memory_holds_kernel_initrd_and_a_valid_dtb(mp, images, tmp_path):
    r = run(mp, """
import binascii, hashlib
d = xen.domain_create(%r)
x0 = _xen.getvcpucontext(d.domid, 0)['x0']
def guest_bytes(addr, n):
    out = bytearray()
    while n:
        pg = memoryview(sim.guest_map(d.domid, addr >> 12))
        off = addr & 4095
        k = min(n, 4096 - off)
        out += pg[off:off + k]
        addr += k; n -= k
    return bytes(out)
kernel = guest_bytes(0x40000000, %d)
dtb_hdr = guest_bytes(x0, 8)
size = int.from_bytes(dtb_hdr[4:8], 'big')
open(%r, 'wb').write(guest_bytes(x0, size))
emit([binascii.hexlify(hashlib.sha256(kernel).digest()).decode(), dtb_hdr[:4].hex()])
""" % (cfg(images), len(arm64_image()), str(tmp_path / "guest.dtb")))
    assert r[0] == hashlib.sha256(arm64_image()).hexdigest()
    assert r[1] == "d00dfeed"
    dts = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", str(tmp_path / "guest.dtb")],
                         capture_output=True, text=True, check=True).stdout
    assert "console=hvc0 rdinit=/init" in dts and "xen,xen-4.17" in dts
    start = subprocess.run(["fdtget", "-t", "x", str(tmp_path / "guest.dtb"), "/chosen", "linux,initrd-start"],
                           capture_output=True, text=True, check=True).stdout.split()
    end = subprocess.run(["fdtget", "-t", "x", str(tmp_path / "guest.dtb"), "/chosen", "linux,initrd-end"],
                         capture_output=True, text=True, check=True).stdout.split()
    s = int("".join(x.rjust(8, "0") for x in start), 16)
    e = int("".join(x.rjust(8, "0") for x in end), 16)
    assert e - s == len(b"INITRD" * 5000)
    cpus = subprocess.run(["fdtget", "-l", str(tmp_path / "guest.dtb"), "/cpus"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert len(cpus) == 2


def test_create_from_xl_cfg_file(mp, images):
    p = images["dir"] / "guest.cfg"
    p.write_text('# a guest\nname = "fromfile"\nkernel = "%s"\nmemory = 32\nvcpus = 1\n'
                 'extra = "console=hvc0"\non_crash = "preserve"\n' % images["kernel"])
    r = run(mp, """
d = xen.domain_create(%r, paused=True)
emit([d.name, d.info()['state'], xenstore.read('/local/domain/%%d/name' %% d.domid).decode()])
""" % str(p))
    assert r == ["fromfile", "paused", "fromfile"]


def test_xenstore_entries_from_the_table(mp, images):
    r = run(mp, """
d = xen.domain_create(%r)
h = '/local/domain/%%d' %% d.domid
vm = xenstore.read(h + '/vm').decode()
emit({
  'name': xenstore.read(h + '/name').decode(),
  'domid': xenstore.read(h + '/domid').decode(),
  'vm_name': xenstore.read(vm + '/name').decode(),
  'uuid': xenstore.read(vm + '/uuid').decode(),
  'static_max': xenstore.read(h + '/memory/static-max').decode(),
  'target': xenstore.read(h + '/memory/target').decode(),
  'cpu1': xenstore.read(h + '/cpu/1/availability').decode(),
  'store_port': xenstore.read(h + '/store/port').decode(),
  'perm_name': xenstore.get_perms(h + '/name'),
  'perm_shutdown': xenstore.get_perms(h + '/control/shutdown'),
  'perm_libxl': xenstore.get_perms('/libxl/%%d' %% d.domid),
  'handle': _xen.getdomaininfo(d.domid)['handle'].hex(),
  'domid_n': d.domid,
})
""" % cfg(images, vcpus=1, maxvcpus=2, maxmem=96))
    d = r["domid_n"]
    assert r["name"] == "guest1" and r["domid"] == str(d) and r["vm_name"] == "guest1"
    assert r["static_max"] == str(96 * 1024) and r["target"] == str(64 * 1024)
    assert r["cpu1"] == "offline"
    assert r["perm_name"] == ["n0", "r%d" % d]
    assert r["perm_shutdown"] == ["n%d" % d]
    assert r["perm_libxl"] == ["n0"]
    # a real random v4 UUID, and the domain handle is the same bytes
    u = r["uuid"]
    assert len(u) == 36 and u[14] == "4" and u[19] in "89ab"
    assert r["handle"] == u.replace("-", "")


def test_guest_talks_to_xenstore_over_its_ring(mp, images):
    r = run(mp, GUEST + """
d = xen.domain_create(%r)
g = SimGuest(d.domid)
name = g.read(b'name')
w = g.write(b'data/probe', b'ok')
other = g.read(b'/libxl/%%d/type' %% d.domid)
emit([name[1].decode(), w[0], xenstore.read('/local/domain/%%d/data/probe' %% d.domid).decode(), other[0], other[1]])
""" % cfg(images))
    # READ=2 reply; WRITE answered OK; /libxl is dom0-only: ERROR (16) EACCES
    assert r[0] == "guest1" and r[1] == 11 and r[2] == "ok"
    assert r[3] == 16 and r[4].startswith("EACCES")


def test_two_guests_cannot_read_each_other(mp, images):
    r = run(mp, GUEST + """
a = xen.domain_create(%r)
b = xen.domain_create(%r)
ga = SimGuest(a.domid); gb = SimGuest(b.domid)
ga.write(b'data/secret', b'alpha')
t, body = gb.read(b'/local/domain/%%d/data/secret' %% a.domid)
t2, body2 = gb.write(b'/local/domain/%%d/data/x' %% a.domid, b'y')
emit([t, body[:6].decode(), t2, body2[:6].decode()])
""" % (cfg(images, name="a"), cfg(images, name="b")))
    assert r == [16, "EACCES", 16, "EACCES"]


def test_name_must_be_unique_and_is_checked_first(mp, images):
    r = run(mp, """
xen.domain_create(%r)
sim.trace(True)
e = err(xen.domain_create, %r)
emit([e, [c for c in sim.calls() if c.startswith('domctl.create')], len(_xen.domain_list())])
""" % (cfg(images), cfg(images)))
    assert "already used by domain" in r[0] and r[1] == [] and r[2] == 2


@pytest.mark.parametrize("bad,needle", [
    ({"memory": "lots"}, "memory: wrong type"),
    ({"colour": "blue"}, "colour: unknown setting"),
    ({"vcpus": 0}, "vcpus:"),
    ({"on_crash": "explode"}, "on_crash:"),
])
def test_config_errors_before_any_hypercall(mp, images, bad, needle):
    r = run(mp, """
sim.trace(True)
e = err(xen.domain_create, %r)
# xen.start() itself binds VIRQ_DOM_EXC, asks Xen its release and version and
# lists the domains (boot-time ones to adopt)
emit([e, [c for c in sim.calls() if not c.startswith(('evtchn.bind_virq', 'version.', 'sysctl.getdomaininfolist'))],
      len(_xen.domain_list())])
""" % cfg(images, **bad))
    assert needle in r[0] and r[1] == [] and r[2] == 1


def test_image_errors_before_any_hypercall(mp, images, tmp_path):
    bad = tmp_path / "truncated"
    bad.write_bytes(arm64_image()[:40])
    r = run(mp, """
sim.trace(True)
e = err(xen.domain_create, %r)
emit([e, [c for c in sim.calls() if c.startswith('domctl')], len(_xen.domain_list())])
""" % cfg(images, kernel=str(bad)))
    assert "truncated" in r[0] and r[1] == [] and r[2] == 1


def test_kernel_too_big_for_memory_is_a_layout_error(mp, images, tmp_path):
    big = tmp_path / "big"
    big.write_bytes(arm64_image(payload_len=3 * MiB, image_size=40 * MiB))
    r = run(mp, """
e = err(xen.domain_create, %r)
emit([e, len(_xen.domain_list())])
""" % cfg(images, kernel=str(big), memory=32))
    assert "does not fit" in r[0] and r[1] == 1


def test_seclabel_without_flask_fails_cleanly(mp, images):
    r = run(mp, """
e = err(xen.domain_create, %r)
emit([e, len(_xen.domain_list())])
""" % cfg(images, seclabel="system_u:system_r:domU_t"))
    assert "FLASK is not active" in r[0] and "no domain was created" in r[0] and r[1] == 1


def test_seclabel_and_init_seclabel_with_flask(mp, images):
    r = run(mp, """
sim.flask('enforcing')
import xen.xsm
d = xen.domain_create(%r)
bogus = err(xen.domain_create, %r)
emit([d.info()['ssidref'] == xen.xsm.context_to_sid('system_u:system_r:domU_t'), bogus, len(_xen.domain_list())])
""" % (cfg(images, seclabel="system_u:system_r:domU_t", init_seclabel="system_u:system_r:domU_t"),
       cfg(images, name="bogus", seclabel="nobody_u:nobody_r:nothing_t")))
    assert r[0] is True and "refused the label" in r[1] and r[2] == 2


def test_numeric_ssidref(mp, images):
    r = run(mp, """
sim.flask('permissive')
sid = _xen.flask_context_to_sid('system_u:system_r:domU_t')
d = xen.domain_create(dict(%r, seclabel=sid))
emit(d.info()['ssidref'] == sid)
""" % cfg(images))
    assert r is True


def test_every_failing_hypercall_rolls_back_completely(mp, images):
    r = run(mp, """
import gc
xen.start()
base_ports = sorted(sim.domain(0)['ports'])
sim.trace(True)
d = xen.domain_create(%r)
calls = sim.calls()
sim.trace(False)
d.destroy()
results = []
for k in range(1, len(calls) + 1):
    if calls[k - 1] == 'evtchn.unmask':
        continue    # the upcall path re-arming a port, not a step of the build
    sim.fail('*', k, errno.EIO)
    try:
        x = xen.domain_create(%r)
        results.append([k, 'created'])
        x.destroy()
        continue
    except xen.BuildError as e:
        step = e.step
    sim.fail_clear()
    gc.collect()
    left = {
        'domains': [i['domid'] for i in _xen.domain_list()],
        'mappings': sim.mappings(),
        'ports': sorted(sim.domain(0)['ports']) == base_ports,
        'xs_local': xenstore.ls('/local/domain'),
        'xs_vm': xenstore.ls('/vm') if xenstore.exists('/vm') else [],
        'xs_libxl': xenstore.ls('/libxl') if xenstore.exists('/libxl') else [],
        'rings': list(xen.get_dom0().rings),
    }
    results.append([k, calls[k - 1], step, left])
emit([len([c for c in calls if c != 'evtchn.unmask']), results])
""" % (cfg(images), cfg(images)))
    n, results = r
    assert n >= 20
    assert len(results) == n
    clean = {"domains": [0], "mappings": 0, "ports": True, "xs_vm": [], "xs_libxl": [], "rings": []}
    for k, call, step, left in results:
        assert step, (k, call)
        xs_local = left.pop("xs_local")
        assert left == clean and xs_local in ([], ["0"]), (k, call, step, left, xs_local)


def test_destroy_removes_everything(mp, images):
    r = run(mp, """
d = xen.domain_create(%r)
domid = d.domid
d.destroy()
emit([[i['domid'] for i in _xen.domain_list()], sim.mappings(), xenstore.exists('/local/domain/%%d' %% domid),
      xenstore.ls('/vm'), list(xen.get_dom0().rings)])
""" % cfg(images))
    assert r == [[0], 0, False, [], []]


def test_shutdown_asks_the_guest_through_control_shutdown(mp, images):
    r = run(mp, """
d = xen.domain_create(%r)
d.shutdown('reboot')
v = xenstore.read('/local/domain/%%d/control/shutdown' %% d.domid).decode()
emit([v, err(d.shutdown, 'explode')])
""" % cfg(images))
    assert r[0] == "reboot" and "ValueError" in r[1]


@pytest.mark.parametrize("reason,key,action,expect", [
    ("poweroff", "on_poweroff", "destroy", "gone"),
    ("crash", "on_crash", "destroy", "gone"),
    ("reboot", "on_reboot", "restart", "restarted"),
    ("crash", "on_crash", "preserve", "preserved"),
    ("crash", "on_crash", "rename-restart", "renamed"),
])
def test_exception_actions(mp, images, reason, key, action, expect):
    r = run(mp, """
d = xen.domain_create(%r)
old = d.domid
sim.guest_shutdown(old, %r)
settle(10)
names = sorted((x.name, x.domid) for x in xen.domains())
alive_old = old in [i['domid'] for i in _xen.domain_list()]
emit([names, alive_old, old, xenstore.exists('/local/domain/%%d' %% old), sim.mappings()])
""" % (cfg(images, **{key: action}), reason))
    names, alive_old, old, xs_old, maps = r
    if expect == "gone":
        assert names == [["Domain-0", 0]] and not alive_old and not xs_old
    elif expect == "restarted":
        assert not alive_old and len(names) == 2 and names[1][0] == "guest1" and names[1][1] != old
        assert not xs_old
    elif expect == "preserved":
        assert alive_old and names == [["Domain-0", 0], ["guest1", old]]
    else:
        assert alive_old and ["guest1-%d" % old, old] in names
        assert any(n == "guest1" and i != old for n, i in names)


def test_wait_returns_on_shutdown(mp, images):
    r = run(mp, """
import _thread
d = xen.domain_create(%r)
def later():
    time.sleep_ms(50)
    sim.guest_shutdown(d.domid, 'poweroff')
_thread.start_new_thread(later, ())
emit([d.wait(5), xen.domain_create(%r).wait(0.05)])
""" % (cfg(images, on_poweroff="preserve"), cfg(images, name="other")))
    assert r == ["shutdown", None]


def test_pv_devices_for_a_driver_domain(mp, images):
    r = run(mp, """
drv = xen.domain_create(%r)
g = xen.domain_create(%r)
f = '/local/domain/%%d/device/vif/0' %% g.domid
b = '/local/domain/%%d/backend/vif/%%d/0' %% (drv.domid, g.domid)
vbd = '/local/domain/%%d/backend/vbd/%%d/51712' %% (drv.domid, g.domid)
out = [xenstore.read(f + '/backend').decode() == b, xenstore.read(f + '/backend-id').decode(),
       xenstore.read(b + '/frontend-id').decode(), xenstore.read(b + '/mac').decode(),
       xenstore.read(b + '/state').decode(), xenstore.get_perms(b), xenstore.get_perms(f),
       xenstore.read(vbd + '/params').decode(), xenstore.read(vbd + '/mode').decode(), drv.domid, g.domid]
g.destroy()
out.append(xenstore.exists('/local/domain/%%d/backend/vif/%%d' %% (drv.domid, g.domid)))
emit(out)
""" % (cfg(images, name="netback"),
       cfg(images, name="app", vif=["mac=00:16:3e:01:02:03,backend=netback"],
           disk=["/dev/vg/app,raw,xvda,r,backend=netback"])))
    ok, be_id, fe_id, mac, state, bperm, fperm, params, mode, drv, g, left = r
    assert ok and be_id == str(drv) and fe_id == str(g) and mac == "00:16:3e:01:02:03" and state == "1"
    assert bperm == ["n%d" % drv, "r%d" % g] and fperm == ["n%d" % g, "r%d" % drv]
    assert params == "/dev/vg/app" and mode == "r" and left is False


def test_guest_needs_its_backend_domain(mp, images):
    r = run(mp, """
e = err(xen.domain_create, %r)
emit([e, len(_xen.domain_list())])
""" % cfg(images, name="app", vif=["backend=nowhere"]))
    # no such backend: a clear error at once, nothing created
    assert "backend domain 'nowhere' does not exist" in r[0] and r[1] == 1


def test_xl_commands(mp, images):
    out = mp.run(PRE + """
from xen import xl
d = xl.create(%r)
xl.list()
xl.pause('guest1')
print('state', d.info()['state'])
xl.unpause(d.domid)
try:
    xl.destroy('nosuch')
except ValueError as e:
    print('error:', e)
try:
    xl.destroy(0)
except ValueError as e:
    print('error:', e)
xl.info()
xl.destroy('guest1')
print('left', [x.name for x in xen.domains()])
""" % cfg(images))
    lines = out.splitlines()
    assert lines[0].startswith("created guest1 (domain ")
    assert lines[1].split() == ["Name", "ID", "Mem", "VCPUs", "State", "Time(s)"]
    assert lines[2].split()[:2] == ["Domain-0", "0"]
    g = lines[3].split()
    assert g[0] == "guest1" and g[3] == "1" and g[4] == "r-----" and int(g[2]) >= 64
    assert "state paused" in out
    assert "error: no domain 'nosuch'" in out and "error: domain 0 is the control domain itself" in out
    assert "xen_version" in out and "left ['Domain-0']" in out


def test_guest_starts_after_its_paused_backend_comes_up(mp, images):
    r = run(mp, """
import _thread
drv = xen.domain_create(%r, paused=True)
def later():
    time.sleep_ms(200)
    drv.unpause()
_thread.start_new_thread(later, ())
t0 = time.ticks_ms()
g = xen.domain_create(%r)
emit([time.ticks_diff(time.ticks_ms(), t0) >= 150, g.info()['state']])
""" % (cfg(images, name="netback"), cfg(images, name="app", vif=["backend=netback"])))
    assert r == [True, "running"]
