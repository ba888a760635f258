# Shared-ring transport for an introduced guest: a thin adapter between the
# 4 KiB xenstore ring page and the core. The page is any writable buffer
# (a bytearray in tests, the memoryview of a mapped guest page in dom0);
# notify() kicks the guest's event channel.
#
# Page layout (offsets in bytes): requests [0, 1024), responses [1024, 2048),
# then u32 req_cons, req_prod, rsp_cons, rsp_prod, server_features,
# connection, error. Indices are free-running u32, used modulo 1024.
# Nothing the guest writes is trusted: indices are checked on every pass,
# and a bad one sets the error field and stops this ring (the domain stays
# introduced: no @releaseDomain until it really goes away, XSA-325).
import struct
from . import wire
try:
    from micropython import const   # names below become literals when compiled
except ImportError:
    def const(x):
        return x

RING_SIZE = const(1024)
REQ = const(0)
RSP = const(1024)
REQ_CONS = const(2048)
REQ_PROD = const(2052)
RSP_CONS = const(2056)
RSP_PROD = const(2060)
SERVER_FEATURES = const(2064)
CONNECTION = const(2068)
ERROR = const(2072)
PAGE_MIN = const(2076)

FEATURE_RECONNECTION = const(1)
FEATURE_ERROR = const(2)
FEATURES = const(FEATURE_RECONNECTION | FEATURE_ERROR)

CONNECTED = const(0)
RECONNECT = const(1)

ERROR_NONE = const(0)
ERROR_COMM = const(1)
ERROR_RINGIDX = const(2)
ERROR_PROTO = const(3)

_M = 0xFFFFFFFF
_u32 = struct.unpack_from
_p32 = struct.pack_into


class Ring:
    def __init__(self, store, conn, page, notify):
        if len(page) < PAGE_MIN:
            raise ValueError("xenstore ring page must be >= %d bytes, got %d" % (PAGE_MIN, len(page)))
        self.store = store
        self.conn = conn
        # Keep the page object itself: a memoryview does not keep a mapping
        # object alive, and its finaliser would unmap the page under us.
        self.owner = page
        self.page = page if isinstance(page, memoryview) else memoryview(page)
        self.notify = notify
        self.framer = wire.Framer()
        self.cur = None         # packet being copied out
        self.curoff = 0
        self.error = ERROR_NONE
        conn.io = self
        p = self.page
        # Take the indices as the domain builder left them (normally 0).
        self.req_cons = _u32("<I", p, REQ_CONS)[0]
        self.rsp_prod = _u32("<I", p, RSP_PROD)[0]
        _p32("<I", p, SERVER_FEATURES, FEATURES)
        self.busy = False
        self.stats_in = 0
        self.stats_out = 0

    # The core calls flush() via conn.io after queueing output.
    def flush(self):
        self.service()

    def _fail(self, code, why):
        self.error = code
        _p32("<I", self.page, ERROR, code)
        self.framer.reset()
        self.cur = None
        self.store.log("xenstore: domain %d ring stopped: %s" % (self.conn.domid, why))
        # Its watches and transactions go; the domain itself stays (XSA-325).
        self.store.reset_conn(self.conn)
        self.notify()

    def _reconnect(self):
        p = self.page
        self.framer.reset()
        self.cur = None
        self.curoff = 0
        self.store.reset_conn(self.conn)
        for off in (REQ_CONS, REQ_PROD, RSP_CONS, RSP_PROD):
            _p32("<I", p, off, 0)
        self.req_cons = 0
        self.rsp_prod = 0
        self.error = ERROR_NONE
        _p32("<I", p, ERROR, ERROR_NONE)
        _p32("<I", p, SERVER_FEATURES, FEATURES)
        _p32("<I", p, CONNECTION, CONNECTED)

    def service(self, budget=32):
        """Move bytes both ways until nothing more can move, handling at most
        `budget` requests (so one flooding guest cannot starve the others:
        the caller services its rings round-robin while any has `busy`
        set). Returns False once the ring is stopped."""
        p = self.page
        self.busy = False
        kick = False
        if _u32("<I", p, CONNECTION)[0] == RECONNECT:
            self._reconnect()
            kick = True
        if self.error:
            if kick:
                self.notify()
            return False
        store = self.store
        conn = self.conn
        framer = self.framer
        limit = store.limit(conn.dom, "outstanding") if not conn.priv else 1 << 30
        while True:
            moved = False
            # ---- responses out
            if self.cur is not None or conn.out:
                rsp_cons = _u32("<I", p, RSP_CONS)[0]
                if _u32("<I", p, RSP_PROD)[0] != self.rsp_prod:
                    self._fail(ERROR_RINGIDX, "rsp_prod overwritten by the guest")
                    return False
                used = (self.rsp_prod - rsp_cons) & _M
                if used > RING_SIZE:
                    self._fail(ERROR_RINGIDX, "rsp_cons %d, rsp_prod %d" % (rsp_cons, self.rsp_prod))
                    return False
                free = RING_SIZE - used
                while free:
                    cur = self.cur
                    if cur is None:
                        if not conn.out:
                            break
                        cur = self.cur = conn.pop()
                        self.curoff = 0
                    off = self.curoff
                    n = len(cur) - off
                    start = self.rsp_prod & (RING_SIZE - 1)
                    if n > free:
                        n = free
                    if n > RING_SIZE - start:
                        n = RING_SIZE - start
                    p[RSP + start:RSP + start + n] = cur[off:off + n]
                    self.rsp_prod = (self.rsp_prod + n) & _M
                    free -= n
                    off += n
                    self.stats_out += n
                    if off == len(cur):
                        self.cur = None
                    else:
                        self.curoff = off
                    moved = True
                if moved:
                    _p32("<I", p, RSP_PROD, self.rsp_prod)
                    kick = True
            # ---- requests in
            if conn.nreplies + (1 if self.cur is not None and self.cur[0] != wire.WATCH_EVENT else 0) < limit:
                msg = None
                try:
                    msg = framer.next_msg()
                except wire.ProtocolError as e:
                    self._fail(ERROR_PROTO, str(e))
                    return False
                if msg is None:
                    req_prod = _u32("<I", p, REQ_PROD)[0]
                    if _u32("<I", p, REQ_CONS)[0] != self.req_cons:
                        self._fail(ERROR_RINGIDX, "req_cons overwritten by the guest")
                        return False
                    avail = (req_prod - self.req_cons) & _M
                    if avail > RING_SIZE:
                        self._fail(ERROR_RINGIDX, "req_cons %d, req_prod %d" % (self.req_cons, req_prod))
                        return False
                    want = framer.wanted()
                    if avail and want:
                        n = avail if avail < want else want
                        start = self.req_cons & (RING_SIZE - 1)
                        if n > RING_SIZE - start:
                            n = RING_SIZE - start
                        framer.feed(p[REQ + start:REQ + start + n])
                        self.req_cons = (self.req_cons + n) & _M
                        _p32("<I", p, REQ_CONS, self.req_cons)
                        self.stats_in += n
                        kick = True
                        moved = True
                        try:
                            msg = framer.next_msg()
                        except wire.ProtocolError as e:
                            self._fail(ERROR_PROTO, str(e))
                            return False
                if msg is not None:
                    store.handle(conn, msg[0], msg[1], msg[2], msg[3])
                    moved = True
                    budget -= 1
                    if budget <= 0:
                        self.busy = True
            if not moved or self.busy:
                break
        if kick:
            self.notify()
        return True


def attach(store, domid, page, notify):
    """Serve the ring of an introduced domain (after INTRODUCE's
    ("introduce", domid, gfn, port) action has been carried out: page
    mapped, port bound). Returns the Ring; call ring.service() on each
    event from the guest."""
    d = store.domains.get(domid)
    if d is None or not d.introduced or d.conn is None:
        raise OSError(2)
    return Ring(store, d.conn, page, notify)
