"""Guest consoles on the sim, driven from the guest side (mp/conguest.py):
output into the backlog, input through the 1024-byte ring, malicious
indices, several consoles, consumers."""
from consolelib import mp_json, run_mp

PRE = """
import _xen, _xensim, _xenring, time, struct
import xen.console as xc
from conguest import Guest
_xensim.reset()
def settle(ms=20):
    time.sleep_ms(ms)     # upcalls run while the interpreter sleeps
def pattern(n, seed=0):
    # non-periodic bytes: every 4-byte word is its own index
    b = bytearray(n + 4)
    for i in range(0, n + 4, 4):
        struct.pack_into('<I', b, i, (i // 4) * 2654435761 + seed & 0xffffffff)
    return bytes(b[:n])
def flood(g, data, chunk=None):
    off = 0
    while off < len(data):
        end = len(data) if chunk is None else min(len(data), off + chunk)
        off += g.write(data[:end], off)
"""


def test_layout_from_xen_headers():
    r, _ = mp_json("import _xenring\nemit([list(_xenring.CONSOLE_IN), list(_xenring.CONSOLE_OUT), "
                   "list(_xenring.XENSTORE_REQ), list(_xenring.XENSTORE_RSP)])")
    # struct xencons_interface: in[1024], out[2048], in_cons, in_prod, out_cons, out_prod
    assert r[0] == [0, 1024, 3072, 3076]
    assert r[1] == [1024, 2048, 3080, 3084]
    # struct xenstore_domain_interface: req[1024], rsp[1024], req_cons, req_prod, rsp_cons, rsp_prod
    assert r[2] == [0, 1024, 2048, 2052]
    assert r[3] == [1024, 1024, 2056, 2060]


def test_flood_backlog_keeps_newest_and_counts_lost():
    r, _ = mp_json(PRE + """
g = Guest()
c = xc.serve(g.domid, g.gfn, g.port, backlog=3000)
first = b'boot log line\\n'
g.write(first); settle()
early = c.read()
data = pattern(100000, 7)
flood(g, data, chunk=700)
settle()
total, lost = c.total, c.lost
got = c.read()
emit({'early': early == first, 'total': total, 'lost': lost, 'len': len(got),
      'newest': got == data[-3000:], 'lost_after': c.lost, 'again': len(c.read()),
      'hist': c.history() == data[-3000:]})
""")
    assert r["early"]
    assert r["total"] == 100000 + len(b"boot log line\n")
    assert r["lost"] == 100000 - 3000
    assert r["len"] == 3000 and r["newest"]
    assert r["lost_after"] == 97000      # reading does not change what was lost
    assert r["again"] == 0               # read() returns each byte once
    assert r["hist"]                     # history() keeps the newest bytes


def test_reader_keeping_up_loses_nothing():
    r, _ = mp_json(PRE + """
g = Guest()
c = xc.serve(g.domid, g.gfn, g.port, backlog=4096)
data = pattern(50000, 3)
got = bytearray()
off = 0
while off < len(data):
    off += g.write(data, off)
    settle(1)
    got += c.read()
settle(); got += c.read()
emit({'same': bytes(got) == data, 'lost': c.lost, 'n': len(got)})
""")
    assert r == {"same": True, "lost": 0, "n": 50000}


def test_guest_is_notified_after_consuming():
    r, _ = mp_json(PRE + """
g = Guest()
c = xc.serve(g.domid, g.gfn, g.port)
settle()
g.pending()
before = g.pending()
g.write(b'x' * 100); settle()
after = g.pending()
c.write(b'abc'); settle()
after_input = g.pending()
emit([before, after, after_input])
""")
    assert r[0] == 0
    assert r[1] >= 1       # dom0 drained the out ring and told the guest
    assert r[2] >= 1       # dom0 filled the in ring and told the guest


def test_input_5000_bytes_through_1024_ring():
    r, _ = mp_json(PRE + """
g = Guest()
c = xc.serve(g.domid, g.gfn, g.port)
for i in range(1024, 3072):
    g.page[i] = 0xA5          # the out ring area: input must never land here
inp = pattern(5000, 11)
c.write(inp[:1500]); c.write(inp[1500:])
queued0 = c.queued
buf = bytearray(6000)
n = 0
maxfill = 0
for i in range(2000):
    cons, prod = _xenring.indices(g.page, _xenring.CONSOLE_IN)
    maxfill = max(maxfill, (prod - cons) & 0xffffffff)
    n += g.read(buf, n)
    if n >= 5000:
        break
    settle(1)
out_area = bytes(g.page[1024:3072])
emit({'n': n, 'same': bytes(buf[:n]) == inp, 'queued0': queued0, 'queued': c.queued,
      'maxfill': maxfill, 'out_clean': out_area == b'\\xa5' * 2048})
""")
    assert r["n"] == 5000 and r["same"]
    assert r["queued0"] == 5000 - 1024     # the rest waited for the guest
    assert r["queued"] == 0
    assert r["maxfill"] <= 1024
    assert r["out_clean"]


def test_input_queue_limit():
    r, _ = mp_json(PRE + """
g = Guest()
c = xc.serve(g.domid, g.gfn, g.port, input_max=2000)
c.write(b'a' * 2500)
try:
    c.write(b'b' * 600)
    e = None
except OSError as ex:
    e = ex.errno
import errno
emit([c.queued, e == errno.ENOBUFS])
""")
    assert r == [2500 - 1024, True]


def test_malicious_out_prod_breaks_only_that_console():
    r, err = mp_json(PRE + """
bad = Guest(); good = Guest()
cb = xc.serve(bad.domid, bad.gfn, bad.port)
cg = xc.serve(good.domid, good.gfn, good.port)
bad.write(b'before\\n'); settle()
sentinel = bytes(bad.page[3088:4096])
bad.poke(_xenring.CONSOLE_OUT[3], 0x7fff0000)       # out_prod far beyond the ring
bad.notify(); settle()
bad.notify(); settle()
good.write(b'still fine\\n'); settle()
try:
    cb.write(b'x'); werr = None
except OSError as e:
    werr = e.errno
emit({'broken': cb.broken is not None, 'hist': cb.history().decode(), 'good': cg.read().decode(),
      'good_broken': cg.broken, 'werr': werr, 'page_tail': bytes(bad.page[3088:4096]) == sentinel,
      'total': cb.total})
""")
    assert r["broken"] and r["good_broken"] is None
    assert r["hist"] == "before\n" and r["total"] == 7
    assert r["good"] == "still fine\n"
    assert r["werr"] == 5              # EIO: input to a broken console
    assert r["page_tail"]
    assert "domain" in err and "broken" in err


def test_malicious_in_cons_and_bad_start_indices():
    r, err = mp_json(PRE + """
g = Guest()
c = xc.serve(g.domid, g.gfn, g.port)
g.poke(_xenring.CONSOLE_IN[2], 5000)    # in_cons ahead of dom0's in_prod
c.write(b'hello')
b1 = c.broken is not None
h = Guest()
h.poke(_xenring.CONSOLE_OUT[2], 0)
h.poke(_xenring.CONSOLE_OUT[3], 4096)   # 4096 bytes "waiting" in a 2048 ring
c2 = xc.serve(h.domid, h.gfn, h.port)
settle()
emit({'b1': b1, 'b2': c2.broken is not None, 'total2': c2.total, 'in_area': bytes(g.page[0:5])})
""")
    assert r["b1"] and r["b2"]
    assert r["total2"] == 0
    assert r["in_area"] != b"hello"      # nothing written into a corrupt ring
    assert err.count("broken") >= 2


def test_two_guests_at_once():
    r, _ = mp_json(PRE + """
a = Guest(); b = Guest()
ca = xc.serve(a.domid, a.gfn, a.port, backlog=100000)
cb = xc.serve(b.domid, b.gfn, b.port, backlog=100000)
da = pattern(30000, 1); db = pattern(30000, 2)
oa = ob = 0
while oa < len(da) or ob < len(db):
    if oa < len(da):
        oa += a.write(da, oa)
    if ob < len(db):
        ob += b.write(db, ob)
settle()
ca.write(b'to a'); cb.write(b'to b')
bufa = bytearray(8); bufb = bytearray(8)
na = a.read(bufa); nb = b.read(bufb)
emit({'a': ca.read() == da, 'b': cb.read() == db, 'ia': bytes(bufa[:na]).decode(),
      'ib': bytes(bufb[:nb]).decode(), 'get': xc.get(a.domid) is ca and xc.get(b.domid) is cb,
      'all': sorted(xc.consoles()) == sorted([a.domid, b.domid])})
""")
    assert r == {"a": True, "b": True, "ia": "to a", "ib": "to b", "get": True, "all": True}


def test_callbacks_and_rotated_log(workdir):
    r, _ = mp_json(PRE + """
import os
g = Guest()
c = xc.serve(g.domid, g.gfn, g.port, logdir=%r, log_size=10000, log_keep=2)
seen = []
c.add_callback(lambda con, data: seen.append(data))
def bad(con, data):
    raise ValueError('consumer bug')
c.add_callback(bad)
data = pattern(35000, 5)
flood(g, data, chunk=1000)
settle()
c.close()
names = sorted(os.listdir(%r))
logs = b''.join(open(%r + '/' + n, 'rb').read() for n in ('console-%%d.log.2' %% g.domid, 'console-%%d.log.1' %% g.domid, 'console-%%d.log' %% g.domid))
sizes = [os.stat(%r + '/' + n)[6] for n in names]
emit({'cb': b''.join(seen) == data, 'names': names, 'tail': data.endswith(logs), 'loglen': len(logs),
      'sizes': sizes, 'domid': g.domid})
""" % (str(workdir), str(workdir), str(workdir), str(workdir)))
    d = r["domid"]
    assert r["cb"]                       # a failing consumer does not stop the others
    assert r["names"] == ["console-%d.log" % d, "console-%d.log.1" % d, "console-%d.log.2" % d]
    assert all(s <= 10000 for s in r["sizes"])
    assert r["tail"] and r["loglen"] >= 20000   # the newest output, in order, across files


def test_close_unmaps_and_is_idempotent():
    r, _ = mp_json(PRE + """
g = Guest()
m0 = _xensim.mappings()
c = xc.serve(g.domid, g.gfn, g.port)
m1 = _xensim.mappings()
try:
    xc.serve(g.domid, g.gfn, g.port); dup = None
except OSError as e:
    dup = e.errno
port = c.channel.port
c.close(); c.close()
m2 = _xensim.mappings()
try:
    xc.get(g.domid); missing = False
except KeyError:
    missing = True
ports = _xensim.domain(0)['ports']
try:
    c.write(b'x'); werr = None
except OSError as e:
    werr = e.errno
c2 = xc.serve(g.domid, g.gfn, _xen.evtchn_alloc_unbound(g.domid, 0))
emit({'m': [m0, m1, m2], 'dup': dup, 'missing': missing, 'port_gone': port not in ports,
      'werr': werr, 'again': xc.get(g.domid) is c2})
""")
    assert r["m"][1] == r["m"][0] + 1 and r["m"][2] == r["m"][0]
    assert r["dup"] == 17
    assert r["missing"] and r["port_gone"]
    assert r["werr"] == 9
    assert r["again"]


def test_serve_before_unpause_then_guest_runs():
    r, _ = mp_json(PRE + """
g = Guest()
paused = _xen.getdomaininfo(g.domid)['paused']
c = xc.serve(g.domid, g.gfn, g.port)
_xen.unpausedomain(g.domid)
g.write(b'[    0.000000] Booting Linux\\n'); settle()
emit([paused, c.read().decode()])
""")
    assert r == [True, "[    0.000000] Booting Linux\n"]


def test_bad_arguments_are_clear_errors():
    r, _ = mp_json(PRE + """
out = []
def err(f, *a):
    try:
        f(*a); out.append(None)
    except Exception as e:
        out.append(type(e).__name__)
page = bytearray(4096)
err(_xenring.read, page, (0, 1000, 3072, 3076), 0, bytearray(10))     # not a power of two
err(_xenring.read, page, (4000, 1024, 3072, 3076), 0, bytearray(10))  # ring beyond the page
err(_xenring.read, page, (0, 1024, 4094, 3076), 0, bytearray(10))     # index beyond the page
err(_xenring.read, page, (0, 1024, 3073, 3076), 0, bytearray(10))     # unaligned index
err(_xenring.read, page, (0, 1024, 3072), 0, bytearray(10))
err(_xenring.read, page, (0, 1024, 3072, 3076), 0, bytearray(10), 11)
err(_xenring.write, bytearray(100), _xenring.CONSOLE_IN, 0, b'x')
err(_xenring.write, page, _xenring.CONSOLE_IN, 0, b'x')
g = Guest()
err(xc.serve, g.domid, g.gfn + 5, g.port)                # unpopulated frame
err(xc.serve, g.domid, g.gfn, g.port + 40)               # no such guest port
err(xc.Console, 0, None, None, 0)
emit([out, _xensim.mappings()])
""")
    out, maps = r
    assert out[:7] == ["ValueError"] * 7
    assert out[7] is None
    assert out[8] == "OSError" and out[9] == "OSError"
    assert out[10] == "ValueError"
    assert maps == 0                     # failed serve() leaves nothing mapped
