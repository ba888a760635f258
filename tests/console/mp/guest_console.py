# tests/console/test_guest_console.py's firmware side: xen.console serving
# sim guests (conguest.Guest writes and reads the rings as a guest's hvc
# driver would), the backlog, the input queue, hostile indices, several
# consoles, consumers and the ring helpers' argument checks.
import os
import struct
import time

import _xen
import _xenring
import _xensim
import xen.console as xc
from conguest import Guest
from mptest import errno_of

_xensim.reset()
IN = _xenring.CONSOLE_IN        # (ring offset, size, cons offset, prod offset)
OUT = _xenring.CONSOLE_OUT
CONS, PROD = 2, 3               # the index fields of a ring tuple
_M = 0xFFFFFFFF


def settle(ms=20):
    time.sleep_ms(ms)     # upcalls run while the interpreter sleeps


def pattern(n, seed=0):
    """Non-periodic bytes: every 4-byte word is its own index."""
    b = bytearray(n + 4)
    for i in range(0, n + 4, 4):
        struct.pack_into('<I', b, i, (i // 4) * 2654435761 + seed & _M)
    return bytes(b[:n])


def flood(g, data, chunk=None):
    off = 0
    while off < len(data):
        end = len(data) if chunk is None else min(len(data), off + chunk)
        off += g.write(data[:end], off)


def layouts():
    return [list(_xenring.CONSOLE_IN), list(_xenring.CONSOLE_OUT),
            list(_xenring.XENSTORE_REQ), list(_xenring.XENSTORE_RSP)]


def flood_backlog(first, n, seed, chunk, backlog):
    g = Guest()
    c = xc.serve(g.domid, g.gfn, g.port, backlog=backlog)
    g.write(first)
    settle()
    early = c.read()
    data = pattern(n, seed)
    flood(g, data, chunk=chunk)
    settle()
    total, lost = c.total, c.lost
    got = c.read()
    return {'early': early == first, 'total': total, 'lost': lost, 'len': len(got),
            'newest': got == data[-backlog:], 'lost_after': c.lost, 'again': len(c.read()),
            'hist': c.history() == data[-backlog:]}


def reader_keeping_up(n, seed, backlog):
    g = Guest()
    c = xc.serve(g.domid, g.gfn, g.port, backlog=backlog)
    data = pattern(n, seed)
    got = bytearray()
    off = 0
    while off < len(data):
        off += g.write(data, off)
        settle(1)
        got += c.read()
    settle()
    got += c.read()
    return {'same': bytes(got) == data, 'lost': c.lost, 'n': len(got)}


def notified_after_consuming():
    g = Guest()
    c = xc.serve(g.domid, g.gfn, g.port)
    settle()
    g.pending()
    before = g.pending()
    g.write(b'x' * 100)
    settle()
    after = g.pending()
    c.write(b'abc')
    settle()
    return [before, after, g.pending()]


def input_through_ring(n, seed, split):
    g = Guest()
    c = xc.serve(g.domid, g.gfn, g.port)
    out_area = range(OUT[0], OUT[0] + OUT[1])
    for i in out_area:
        g.page[i] = 0xA5          # the out ring area: input must never land here
    inp = pattern(n, seed)
    c.write(inp[:split])
    c.write(inp[split:])
    queued0 = c.queued
    buf = bytearray(n + 1000)
    got = 0
    maxfill = 0
    for i in range(2000):
        cons, prod = _xenring.indices(g.page, IN)
        maxfill = max(maxfill, (prod - cons) & _M)
        got += g.read(buf, got)
        if got >= n:
            break
        settle(1)
    return {'n': got, 'same': bytes(buf[:got]) == inp, 'queued0': queued0, 'queued': c.queued,
            'maxfill': maxfill, 'out_clean': bytes(g.page[OUT[0]:OUT[0] + OUT[1]]) == b'\xa5' * OUT[1],
            'in_size': IN[1]}


def input_queue_limit(input_max, first, second):
    g = Guest()
    c = xc.serve(g.domid, g.gfn, g.port, input_max=input_max)
    c.write(b'a' * first)
    e = errno_of(c.write, b'b' * second)
    return [c.queued, e]


def malicious_out_prod(bad_prod):
    bad = Guest()
    good = Guest()
    cb = xc.serve(bad.domid, bad.gfn, bad.port)
    cg = xc.serve(good.domid, good.gfn, good.port)
    bad.write(b'before\n')
    settle()
    tail = OUT[PROD] + 4          # the page after the console's indices
    sentinel = bytes(bad.page[tail:4096])
    bad.poke(OUT[PROD], bad_prod)       # out_prod far beyond the ring
    bad.notify()
    settle()
    bad.notify()
    settle()
    good.write(b'still fine\n')
    settle()
    werr = errno_of(cb.write, b'x')
    return {'broken': cb.broken is not None, 'hist': cb.history().decode(), 'good': cg.read().decode(),
            'good_broken': cg.broken, 'werr': werr, 'page_tail': bytes(bad.page[tail:4096]) == sentinel,
            'total': cb.total}


def malicious_in_cons_and_bad_start():
    g = Guest()
    c = xc.serve(g.domid, g.gfn, g.port)
    g.poke(IN[CONS], 5000)    # in_cons ahead of dom0's in_prod
    c.write(b'hello')
    b1 = c.broken is not None
    h = Guest()
    h.poke(OUT[CONS], 0)
    h.poke(OUT[PROD], 4096)   # 4096 bytes "waiting" in a 2048 ring
    c2 = xc.serve(h.domid, h.gfn, h.port)
    settle()
    return {'b1': b1, 'b2': c2.broken is not None, 'total2': c2.total,
            'in_area': bytes(g.page[IN[0]:IN[0] + 5])}


def two_guests(n):
    a = Guest()
    b = Guest()
    ca = xc.serve(a.domid, a.gfn, a.port, backlog=100000)
    cb = xc.serve(b.domid, b.gfn, b.port, backlog=100000)
    da = pattern(n, 1)
    db = pattern(n, 2)
    oa = ob = 0
    while oa < len(da) or ob < len(db):
        if oa < len(da):
            oa += a.write(da, oa)
        if ob < len(db):
            ob += b.write(db, ob)
    settle()
    ca.write(b'to a')
    cb.write(b'to b')
    bufa = bytearray(8)
    bufb = bytearray(8)
    na = a.read(bufa)
    nb = b.read(bufb)
    return {'a': ca.read() == da, 'b': cb.read() == db, 'ia': bytes(bufa[:na]).decode(),
            'ib': bytes(bufb[:nb]).decode(), 'get': xc.get(a.domid) is ca and xc.get(b.domid) is cb,
            'all': sorted(xc.consoles()) == sorted([a.domid, b.domid])}


def callbacks_and_rotated_log(logdir, log_size, log_keep, n):
    g = Guest()
    c = xc.serve(g.domid, g.gfn, g.port, logdir=logdir, log_size=log_size, log_keep=log_keep)
    seen = []
    c.add_callback(lambda con, data: seen.append(data))

    def bad(con, data):
        raise ValueError('consumer bug')
    c.add_callback(bad)
    data = pattern(n, 5)
    flood(g, data, chunk=1000)
    settle()
    c.close()
    names = sorted(os.listdir(logdir))
    base = 'console-%d.log' % g.domid
    oldest_first = [base + '.%d' % i for i in range(log_keep, 0, -1)] + [base]
    logs = b''.join(open(logdir + '/' + n, 'rb').read() for n in oldest_first)
    sizes = [os.stat(logdir + '/' + n)[6] for n in names]
    return {'cb': b''.join(seen) == data, 'names': names, 'tail': data.endswith(logs),
            'loglen': len(logs), 'sizes': sizes, 'domid': g.domid}


def close_unmaps():
    g = Guest()
    m0 = _xensim.mappings()
    c = xc.serve(g.domid, g.gfn, g.port)
    m1 = _xensim.mappings()
    dup = errno_of(xc.serve, g.domid, g.gfn, g.port)
    port = c.channel.port
    c.close()
    c.close()
    m2 = _xensim.mappings()
    try:
        xc.get(g.domid)
        missing = False
    except KeyError:
        missing = True
    ports = _xensim.domain(0)['ports']
    werr = errno_of(c.write, b'x')
    c2 = xc.serve(g.domid, g.gfn, _xen.evtchn_alloc_unbound(g.domid, 0))
    return {'m': [m0, m1, m2], 'dup': dup, 'missing': missing, 'port_gone': port not in ports,
            'werr': werr, 'again': xc.get(g.domid) is c2}


def serve_before_unpause(line):
    g = Guest()
    paused = _xen.getdomaininfo(g.domid)['paused']
    c = xc.serve(g.domid, g.gfn, g.port)
    _xen.unpausedomain(g.domid)
    g.write(line)
    settle()
    return [paused, c.read()]


def bad_arguments():
    out = []

    def err(f, *a):
        try:
            f(*a)
            out.append(None)
        except Exception as e:
            out.append(type(e).__name__)
    page = bytearray(4096)
    err(_xenring.read, page, (0, 1000, 3072, 3076), 0, bytearray(10))     # not a power of two
    err(_xenring.read, page, (4000, 1024, 3072, 3076), 0, bytearray(10))  # ring beyond the page
    err(_xenring.read, page, (0, 1024, 4094, 3076), 0, bytearray(10))     # index beyond the page
    err(_xenring.read, page, (0, 1024, 3073, 3076), 0, bytearray(10))     # unaligned index
    err(_xenring.read, page, (0, 1024, 3072), 0, bytearray(10))
    err(_xenring.read, page, (0, 1024, 3072, 3076), 0, bytearray(10), 11)
    err(_xenring.write, bytearray(100), IN, 0, b'x')
    err(_xenring.write, page, IN, 0, b'x')
    g = Guest()
    err(xc.serve, g.domid, g.gfn + 5, g.port)                # unpopulated frame
    err(xc.serve, g.domid, g.gfn, g.port + 40)               # no such guest port
    err(xc.Console, 0, None, None, 0)
    return [out, _xensim.mappings()]
