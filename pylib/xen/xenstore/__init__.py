# xen.xenstore: the dom0 xenstore server and its in-process client API.
#
#   from xen import xenstore
#   xenstore.write("/local/domain/0/name", "dom0")
#   xenstore.read("/local/domain/0/name")        -> b"dom0"
#   h = xenstore.watch("/local/domain", lambda path: ...); h.close()
#   with xenstore.transaction() as t: t.write(...)  (OSError(EAGAIN) on conflict)
#   xenstore.transact(fn)                          (fn(t) retried on EAGAIN)
#
# All calls act on one process-wide server (server()), as the privileged
# dom0 caller. Errors raise OSError(errno).
from . import wire
from .store import XenStore, XsError

# Collect after a quarter of the heap (at least this many bytes) has been
# allocated: keeps live nodes packed enough that a large tree does not
# fragment MicroPython's non-moving heap (with no threshold a 2 MB heap once
# failed near 2000 nodes with most of it free but in small holes; with it a
# 2 MB heap holds about 8700 nodes), while a large heap (the REPL's 64 MB)
# is not swept every 256 KB.
GC_THRESHOLD = 262144

_store = None
_conn = None
_watches = {}
_next_token = [1]
_req = [1]
_pumping = [False]


def server(quotas=None):
    """The process-wide XenStore core, created on first use."""
    global _store, _conn
    if _store is None:
        import gc
        if gc.threshold() < 0:
            gc.threshold(max(GC_THRESHOLD, (gc.mem_free() + gc.mem_alloc()) // 4))
        _store = XenStore(quotas, domain_exists=_domain_exists, write_file=_append)
        _conn = _store.connect(0, "local")
        _conn.io = _LocalIO()
    return _store


def _domain_exists(domid):
    """The hypervisor's answer for SET_PERMS: ESRCH means no; any other
    failure to ask is raised (the request then fails with EIO rather than
    deciding on a guess). Without _xen, no domain but dom0 exists."""
    try:
        import _xen
    except ImportError:
        return False
    try:
        _xen.getdomaininfo(domid)
    except OSError as e:
        if e.errno == 3:        # ESRCH
            return False
        raise
    return True


def _append(path, text):
    """CONTROL memreport FILE: append, as cxenstored does."""
    with open(path, "a") as f:
        f.write(text)


class _LocalIO:
    def flush(self):
        pump()


def _b(x):
    if isinstance(x, str):
        return x.encode()
    if isinstance(x, (bytes, bytearray, memoryview)):
        return bytes(x)
    raise TypeError("xenstore: expected str or bytes, got %s" % type(x).__name__)


def _call(typ, payload, tx=0):
    server()
    rid = _req[0]
    _req[0] = (rid + 1) & 0xFFFFFFFF or 1
    _store.handle(_conn, typ, rid, tx, payload)
    reply = None
    events = None
    for pkt in _conn.take_all():
        m = wire.parse(pkt)
        if m[0] == wire.WATCH_EVENT:
            if events is None:
                events = []
            events.append(pkt)
        elif m[1] == rid and reply is None:
            reply = m
    if events is not None:
        for pkt in events:
            _dispatch(pkt)
    if reply is None:
        raise OSError(5)        # EIO: the core gave no reply (never expected)
    t = reply[0]
    data = reply[3]
    if t == wire.ERROR:
        raise OSError(wire.ERRNO.get(data.rstrip(b"\x00"), 5))
    return data


def _dispatch(pkt):
    body = wire.parse(pkt)[3].split(b"\x00")
    if len(body) < 2:
        return
    h = _watches.get(body[1])
    if h is not None and h.callback is not None:
        h.callback(body[0].decode())


def pump():
    """Run the callbacks of watch events queued for in-process watchers."""
    if _conn is None or _pumping[0]:
        return
    _pumping[0] = True
    try:
        while _conn.out:
            for pkt in _conn.take_all():
                if pkt[0] == wire.WATCH_EVENT:
                    _dispatch(pkt)
    finally:
        _pumping[0] = False


class _Ops:
    tx = 0

    def read(self, path):
        return _call(wire.READ, _b(path) + b"\x00", self.tx)

    def write(self, path, value):
        _call(wire.WRITE, _b(path) + b"\x00" + _b(value), self.tx)

    def mkdir(self, path):
        _call(wire.MKDIR, _b(path) + b"\x00", self.tx)

    def rm(self, path):
        _call(wire.RM, _b(path) + b"\x00", self.tx)

    def ls(self, path):
        data = _call(wire.DIRECTORY, _b(path) + b"\x00", self.tx)
        if not data:
            return []
        return [x.decode() for x in data[:-1].split(b"\x00")]

    def exists(self, path):
        try:
            self.read(path)
            return True
        except OSError as e:
            if e.errno == 2:
                return False
            raise

    def get_perms(self, path):
        data = _call(wire.GET_PERMS, _b(path) + b"\x00", self.tx)
        return [x.decode() for x in data[:-1].split(b"\x00")]

    def set_perms(self, path, perms):
        if not perms:
            raise ValueError("xenstore.set_perms: empty permission list")
        _call(wire.SET_PERMS, _b(path) + b"\x00" + b"".join(_b(p) + b"\x00" for p in perms), self.tx)


_ops = _Ops()
read = _ops.read
write = _ops.write
mkdir = _ops.mkdir
rm = _ops.rm
ls = _ops.ls
exists = _ops.exists
get_perms = _ops.get_perms
set_perms = _ops.set_perms


def get_domain_path(domid):
    return _call(wire.GET_DOMAIN_PATH, b"%d\x00" % domid)[:-1].decode()


def introduce(domid, gfn, port):
    _call(wire.INTRODUCE, b"%d\x00%d\x00%d\x00" % (domid, gfn, port))


def release(domid):
    _call(wire.RELEASE, b"%d\x00" % domid)


def is_introduced(domid):
    return _call(wire.IS_DOMAIN_INTRODUCED, b"%d\x00" % domid) == b"T\x00"


class Watch:
    """Handle of one watch; close() removes it."""

    def __init__(self, path, callback):
        self.path = _b(path)
        self.callback = callback
        self.token = b"xen.xenstore.%d" % _next_token[0]
        _next_token[0] += 1
        _watches[self.token] = self
        try:
            _call(wire.WATCH, self.path + b"\x00" + self.token + b"\x00")
        except OSError:
            del _watches[self.token]
            raise

    def close(self):
        if self.token in _watches:
            del _watches[self.token]
            _call(wire.UNWATCH, self.path + b"\x00" + self.token + b"\x00")

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def watch(path, callback):
    """callback(path) for each event on `path` or below (an initial one
    fires right away). Returns a handle with close()."""
    return Watch(path, callback)


class Transaction(_Ops):
    def __init__(self):
        self.tx = 0

    def __enter__(self):
        self.tx = int(_call(wire.TRANSACTION_START, b"\x00")[:-1])
        return self

    def __exit__(self, typ, val, tb):
        tx = self.tx
        self.tx = 0
        _call(wire.TRANSACTION_END, b"F\x00" if typ is not None else b"T\x00", tx)
        return False


def transaction():
    """Context manager: commits on normal exit (OSError(EAGAIN) if another
    writer got in between), aborts on an exception."""
    return Transaction()


def transact(fn, attempts=16):
    """Run fn(t) in a transaction, retrying on EAGAIN; returns fn's result."""
    n = 0
    while True:
        try:
            with Transaction() as t:
                r = fn(t)
            return r
        except OSError as e:
            n += 1
            if e.errno != 11 or n >= attempts:
                raise
