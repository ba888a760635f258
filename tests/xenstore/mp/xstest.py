# MicroPython-side helpers for the xenstore tests: a core with dom0 and
# guests attached over in-memory rings.
from xen.xenstore import store as S, wire as W, ring as R
from xsguest import Guest

OK = (None, b"OK\x00")
logs = []


class World:
    def __init__(self, quotas=None):
        self.s = S.XenStore(quotas, log=logs.append)
        self.d0 = self.s.connect(0, "socket")
        self.ev = {}
        self.guests = {}

    def call(self, conn, typ, payload, tx=0, req_id=9):
        s = self.s
        s.handle(conn, typ, req_id, tx, payload)
        rep = None
        for pkt in conn.take_all():
            t, r, x, n = W.parse_header(pkt)
            body = pkt[16:16 + n]
            if t == W.WATCH_EVENT:
                self.ev.setdefault(id(conn), []).append(body)
            elif rep is None:
                assert r == req_id, (r, req_id)
                rep = (t, body)
        for c in s.drain_dirty():
            if c.io is not None:
                c.io.flush()
        assert rep is not None
        return rep

    def ok(self, conn, typ, payload, tx=0):
        t, b = self.call(conn, typ, payload, tx)
        assert t != W.ERROR, (typ, payload, b)
        return b

    def err(self, conn, typ, payload, tx=0):
        t, b = self.call(conn, typ, payload, tx)
        assert t == W.ERROR, (typ, payload, b)
        return b[:-1]

    def events(self, conn):
        if conn.out:
            for pkt in conn.take_all():
                if pkt[0] == W.WATCH_EVENT:
                    self.ev.setdefault(id(conn), []).append(pkt[16:])
        return self.ev.pop(id(conn), [])

    def w(self, conn, path, value, tx=0):
        return self.call(conn, W.WRITE, path + b"\x00" + value, tx)

    def r(self, conn, path, tx=0):
        return self.call(conn, W.READ, path + b"\x00", tx)

    def guest(self, domid, home=True):
        """Introduce domid, create /local/domain/<domid> owned by it, attach
        a ring with a guest-side driver."""
        self.ok(self.d0, W.INTRODUCE, b"%d\x00%d\x00%d\x00" % (domid, 1000 + domid, 10 + domid))
        if home:
            p = b"/local/domain/%d" % domid
            self.ok(self.d0, W.MKDIR, p + b"\x00")
            self.ok(self.d0, W.SET_PERMS, p + b"\x00n%d\x00" % domid)
        g = Guest()
        g.server = R.attach(self.s, domid, g.page, g.notify)
        g.conn = self.s.domains[domid].conn
        self.guests[domid] = g
        return g

    def release(self, domid):
        return self.call(self.d0, W.RELEASE, b"%d\x00" % domid)


def gev(g):
    """Events a guest received so far (and clear)."""
    g.kick()
    g.pull()
    e = g.events
    g.events = []
    return e
