# Shared-ring transport for an introduced guest: a thin adapter between the
# 4 KiB xenstore ring page and the core. The page is any writable buffer
# (a bytearray in tests, the memoryview of a mapped guest page in dom0);
# notify() kicks the guest's event channel.
#
# Page layout (Xen's struct xenstore_domain_interface): requests [0, 1024),
# responses [1024, 2048), then u32 req_cons, req_prod, rsp_cons, rsp_prod,
# server_features, connection, error. Indices are free-running u32, used
# modulo 1024. The bytes move in C (_xenring.xs_read/xs_write, the copy
# loops the console uses too), a message at a time; this file keeps dom0's
# two indices, the framing decision and the fairness budget.
# Nothing the guest writes is trusted: indices are checked on every pass
# (in C), and a bad one sets the error field and stops this ring (the domain
# stays introduced: no @releaseDomain until it really goes away, XSA-325).
#
# Owns: one ring's indices, its half-read message and its error state.
# Must not know: event channels, mappings or the store's internals (it
# calls store.handle, store.limit, store.reset_conn and store.log).
import struct
import _xenring
from . import wire
try:
    from micropython import const   # names below become literals when compiled
except ImportError:
    def const(x):
        return x

RING_SIZE = const(1024)
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
_xs_read = _xenring.xs_read
_xs_write = _xenring.xs_write
_parse = wire.parse
_WATCH_EVENT = wire.WATCH_EVENT
_INBUF = const(272)           # header + 256: the input buffer to start with


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
        # Most requests are short: the buffer grows to the largest message
        # only when one needs it (heap per guest ring).
        self.inbuf = bytearray(_INBUF)
        self.have = 0           # bytes of the message being read, in inbuf
        self.hdr = [0, 0, 0]    # its type, req_id, tx_id once whole
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
        self.have = 0
        self.cur = None
        self.store.log("xenstore: domain %d ring stopped: %s" % (self.conn.domid, why))
        # Its watches and transactions go; the domain itself stays (XSA-325).
        self.store.reset_conn(self.conn)
        self.notify()

    def _reconnect(self):
        p = self.page
        self.have = 0
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
        if p[CONNECTION] and _u32("<I", p, CONNECTION)[0] == RECONNECT:
            self._reconnect()
            kick = True
        if self.error:
            if kick:
                self.notify()
            return False
        store = self.store
        conn = self.conn
        inbuf = self.inbuf
        hdr = self.hdr
        limit = store.limit(conn.dom, "outstanding") if not conn.priv else 1 << 30
        early = True
        while True:
            # ---- responses out, a packet at a time until the ring is full
            wrote = False
            while self.cur is not None or conn.out:
                cur = self.cur
                if cur is None:
                    cur = self.cur = conn.pop()
                    self.curoff = 0
                try:
                    n = _xs_write(p, self.rsp_prod, cur, self.curoff)
                except OSError:
                    return self._bad_index("rsp")
                if not n:
                    break
                self.rsp_prod = (self.rsp_prod + n) & _M
                self.stats_out += n
                wrote = kick = True
                off = self.curoff + n
                if off < len(cur):
                    self.curoff = off
                    break
                self.cur = None
            if wrote and early:
                # The guest waits for this reply: its kick goes now, before
                # the ring is read again (later replies of the same call
                # share the final kick, so at most two per call).
                early = kick = False
                self.notify()
            # ---- one request in; another pass only after one was handled
            # (its reply goes out, the next request may be there), or when
            # replies went out while too many were waiting to read more
            if self.busy:
                break
            if conn.nreplies + (1 if self.cur is not None and self.cur[0] != _WATCH_EVENT else 0) >= limit:
                if wrote:
                    continue
                break
            try:
                n = _xs_read(p, self.req_cons, inbuf, self.have)
            except OSError:
                return self._bad_index("req")
            if n:
                self.req_cons = (self.req_cons + n) & _M
                self.have += n
                self.stats_in += n
                kick = True
            try:
                pl = _parse(inbuf, 0, self.have, hdr)
            except ValueError:
                self._fail(ERROR_PROTO, "xenstore message length %d > %d"
                           % (_u32("<I", inbuf, 12)[0], wire.PAYLOAD_MAX))
                return False
            if pl is None:
                if self.have == len(inbuf) and len(inbuf) < wire.HEADER + wire.PAYLOAD_MAX:
                    # a longer message than the buffer: room for the largest
                    big = bytearray(wire.HEADER + wire.PAYLOAD_MAX)
                    big[:self.have] = inbuf
                    inbuf = self.inbuf = big
                    continue
                break
            self.have = 0
            store.handle(conn, hdr[0], hdr[1], hdr[2], pl)
            budget -= 1
            if budget <= 0:
                # its reply goes out in the next pass; the requests after
                # it wait for the caller's next round
                self.busy = True
        if kick:
            self.notify()
        return True

    def _bad_index(self, ring):
        """The C copy refused an index: name what the guest wrote."""
        p = self.page
        if ring == "rsp":
            prod = _u32("<I", p, RSP_PROD)[0]
            cons = _u32("<I", p, RSP_CONS)[0]
            why = ("rsp_prod overwritten by the guest" if prod != self.rsp_prod
                   else "rsp_cons %d, rsp_prod %d" % (cons, self.rsp_prod))
        else:
            cons = _u32("<I", p, REQ_CONS)[0]
            prod = _u32("<I", p, REQ_PROD)[0]
            why = ("req_cons overwritten by the guest" if cons != self.req_cons
                   else "req_cons %d, req_prod %d" % (self.req_cons, prod))
        self._fail(ERROR_RINGIDX, why)
        return False


def attach(store, domid, page, notify):
    """Serve the ring of an introduced domain (after INTRODUCE's
    ("introduce", domid, gfn, port) action has been carried out: page
    mapped, port bound). Returns the Ring; call ring.service() on each
    event from the guest."""
    d = store.domains.get(domid)
    if d is None or not d.introduced or d.conn is None:
        raise OSError(2)
    return Ring(store, d.conn, page, notify)
