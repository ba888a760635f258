# Shared-ring transport for an introduced guest: a thin adapter between the
# 4 KiB xenstore ring page and the core. The page is any writable buffer
# (a bytearray in tests, the memoryview of a mapped guest page in dom0);
# notify() kicks the guest's event channel.
#
# Page layout (Xen's struct xenstore_domain_interface): requests [0, 1024),
# responses [1024, 2048), then u32 req_cons, req_prod, rsp_cons, rsp_prod,
# server_features, connection, error. Indices are free-running u32, used
# modulo 1024. The loop that moves the bytes is C (_xenring.XsRing: dom0's
# two indices, the half-read request, the reply being written, the framing,
# the copy loops the console uses too), so a guest's request costs one call
# into C and the store's handle; this file keeps the policy around it: the
# reply quota, the fairness budget, reconnection and what a broken ring
# means. Nothing the guest writes is trusted: indices are checked on every
# copy (in C), and a bad one sets the error field and stops this ring (the
# domain stays introduced: no @releaseDomain until it really goes away,
# XSA-325).
#
# Owns: one ring's error state and its XsRing (indices, half-read message).
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

_u32 = struct.unpack_from
_p32 = struct.pack_into
_XsRing = _xenring.XsRing
_KICK = _XsRing.KICK
_BUSY = _XsRing.BUSY
_TOOBIG = _XsRing.TOOBIG


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
        # dom0's indices as the domain builder left them (normally 0); the
        # request buffer grows to the largest message only when one needs
        # it (heap per guest ring)
        self.x = _XsRing(self.page)
        self.error = ERROR_NONE
        conn.io = self
        _p32("<I", self.page, SERVER_FEATURES, FEATURES)
        self.busy = False

    # The core calls flush() via conn.io after queueing output.
    def flush(self):
        self.service()

    def _fail(self, code, why):
        self.error = code
        _p32("<I", self.page, ERROR, code)
        self.x.reset()
        self.store.log("xenstore: domain %d ring stopped: %s" % (self.conn.domid, why))
        # Its watches and transactions go; the domain itself stays (XSA-325).
        self.store.reset_conn(self.conn)
        self.notify()

    def _reconnect(self):
        p = self.page
        self.x.reset(0, 0)
        self.store.reset_conn(self.conn)
        for off in (REQ_CONS, REQ_PROD, RSP_CONS, RSP_PROD):
            _p32("<I", p, off, 0)
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
        conn = self.conn
        store = self.store
        # a guest's replies waiting to be read are bounded (XSA-326)
        limit = store.limit(conn.dom, "outstanding") if not conn.priv else 1 << 30
        try:
            r = self.x.serve(conn, store.handle, self.notify, budget, limit)
        except OSError as e:
            # XsRing names the ring whose index the guest broke; any other
            # OSError (from a callback) is not the guest's doing
            a = e.args
            if len(a) != 2 or a[1] not in ("req", "rsp"):
                raise
            return self._bad_index(a[1])
        if r & _TOOBIG:
            self._fail(ERROR_PROTO, "xenstore message length %d > %d"
                       % (_u32("<I", self.x.inbuf, 12)[0], wire.PAYLOAD_MAX))
            return False
        if r & _BUSY:
            # its last reply is out; the requests after it wait for the
            # caller's next round
            self.busy = True
        if kick or r & _KICK:
            self.notify()
        return True

    def _bad_index(self, ring):
        """The C copy refused an index: name what the guest wrote."""
        p = self.page
        x = self.x
        if ring == "rsp":
            prod = _u32("<I", p, RSP_PROD)[0]
            cons = _u32("<I", p, RSP_CONS)[0]
            why = ("rsp_prod overwritten by the guest" if prod != x.rsp_prod
                   else "rsp_cons %d, rsp_prod %d" % (cons, x.rsp_prod))
        else:
            cons = _u32("<I", p, REQ_CONS)[0]
            prod = _u32("<I", p, REQ_PROD)[0]
            why = ("req_cons overwritten by the guest" if cons != x.req_cons
                   else "req_cons %d, req_prod %d" % (x.req_cons, prod))
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
