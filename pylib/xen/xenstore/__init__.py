# xen.xenstore: the dom0 xenstore server and its in-process client API.
#
#   from xen import xenstore
#   xenstore.write("/local/domain/0/name", "dom0")
#   xenstore.read("/local/domain/0/name")        -> b"dom0"
#   h = xenstore.watch("/local/domain", lambda path: ...); h.close()
#   with xenstore.transaction() as t: t.write(...)  (OSError(EAGAIN) on conflict)
#   xenstore.transact(fn)                          (fn(t) retried on EAGAIN)
#
# The functions act on this dom0's server (xen.get_dom0() owns it and its
# Client) as the privileged dom0 caller. Errors raise OSError(errno).
#
# Owns: Client, dom0's in-process connection to a XenStore core (requests,
# replies, watch callbacks, transactions). Must not know: who owns the
# server (the functions below ask the package for the one Dom0).
from . import wire
from .store import XenStore, XsError

# Collect after a quarter of the heap (at least this many bytes) has been
# allocated: keeps live nodes packed enough that a large tree does not
# fragment MicroPython's non-moving heap (with no threshold a 2 MB heap once
# failed near 2000 nodes with most of it free but in small holes; with it a
# 2 MB heap holds about 8700 nodes), while a large heap (the REPL's 64 MB)
# is not swept every 256 KB.
GC_THRESHOLD = 262144


class _Ops:
    """The operations, inside or outside a transaction."""
    tx = 0

    def read(self, path):
        return self._c.call(wire.READ, _b(path) + b"\x00", self.tx)

    def write(self, path, value):
        self._c.call(wire.WRITE, _b(path) + b"\x00" + _b(value), self.tx)

    def mkdir(self, path):
        self._c.call(wire.MKDIR, _b(path) + b"\x00", self.tx)

    def rm(self, path):
        self._c.call(wire.RM, _b(path) + b"\x00", self.tx)

    def ls(self, path):
        data = self._c.call(wire.DIRECTORY, _b(path) + b"\x00", self.tx)
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
        data = self._c.call(wire.GET_PERMS, _b(path) + b"\x00", self.tx)
        return [x.decode() for x in data[:-1].split(b"\x00")]

    def set_perms(self, path, perms):
        if not perms:
            raise ValueError("xenstore.set_perms: empty permission list")
        self._c.call(wire.SET_PERMS, _b(path) + b"\x00" + b"".join(_b(p) + b"\x00" for p in perms), self.tx)


class Client(_Ops):
    """dom0's in-process connection to the XenStore core `store`."""

    def __init__(self, store):
        self._c = self
        self.store = store
        self.conn = store.connect(0, "local")
        self.conn.io = self             # flush() runs the watch callbacks
        self.watches = {}
        self._token = 1
        self._req = 1
        self._pumping = False

    def flush(self):
        self.pump()

    def call(self, typ, payload, tx=0):
        rid = self._req
        self._req = (rid + 1) & 0xFFFFFFFF or 1
        self.store.handle(self.conn, typ, rid, tx, payload)
        reply = None
        events = None
        for pkt in self.conn.take_all():
            m = wire.parse(pkt)
            if m[0] == wire.WATCH_EVENT:
                if events is None:
                    events = []
                events.append(pkt)
            elif m[1] == rid and reply is None:
                reply = m
        if events is not None:
            for pkt in events:
                self._dispatch(pkt)
        if reply is None:
            raise OSError(5)        # EIO: the core gave no reply (never expected)
        t = reply[0]
        data = reply[3]
        if t == wire.ERROR:
            raise OSError(wire.ERRNO.get(data.rstrip(b"\x00"), 5))
        return data

    def _dispatch(self, pkt):
        body = wire.parse(pkt)[3].split(b"\x00")
        if len(body) < 2:
            return
        h = self.watches.get(body[1])
        if h is not None and h.callback is not None:
            h.callback(body[0].decode())

    def pump(self):
        """Run the callbacks of watch events queued for in-process watchers."""
        if self._pumping:
            return
        self._pumping = True
        try:
            while self.conn.out:
                for pkt in self.conn.take_all():
                    if pkt[0] == wire.WATCH_EVENT:
                        self._dispatch(pkt)
        finally:
            self._pumping = False

    def get_domain_path(self, domid):
        return self.call(wire.GET_DOMAIN_PATH, b"%d\x00" % domid)[:-1].decode()

    def introduce(self, domid, gfn, port):
        self.call(wire.INTRODUCE, b"%d\x00%d\x00%d\x00" % (domid, gfn, port))

    def release(self, domid):
        self.call(wire.RELEASE, b"%d\x00" % domid)

    def is_introduced(self, domid):
        return self.call(wire.IS_DOMAIN_INTRODUCED, b"%d\x00" % domid) == b"T\x00"

    def watch(self, path, callback):
        """callback(path) for each event on `path` or below (an initial one
        fires right away). Returns a handle with close()."""
        return Watch(self, path, callback)

    def transaction(self):
        """Context manager: commits on normal exit (OSError(EAGAIN) if another
        writer got in between), aborts on an exception."""
        return Transaction(self)

    def transact(self, fn, attempts=16):
        """Run fn(t) in a transaction, retrying on EAGAIN; returns fn's result."""
        n = 0
        while True:
            try:
                with Transaction(self) as t:
                    r = fn(t)
                return r
            except OSError as e:
                n += 1
                if e.errno != 11 or n >= attempts:
                    raise


class Watch:
    """Handle of one watch; close() removes it."""

    def __init__(self, client, path, callback):
        self._c = client
        self.path = _b(path)
        self.callback = callback
        self.token = b"xen.xenstore.%d" % client._token
        client._token += 1
        client.watches[self.token] = self
        try:
            client.call(wire.WATCH, self.path + b"\x00" + self.token + b"\x00")
        except OSError:
            del client.watches[self.token]
            raise

    def close(self):
        if self.token in self._c.watches:
            del self._c.watches[self.token]
            self._c.call(wire.UNWATCH, self.path + b"\x00" + self.token + b"\x00")

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


class Transaction(_Ops):
    def __init__(self, client):
        self._c = client
        self.tx = 0

    def __enter__(self):
        self.tx = int(self._c.call(wire.TRANSACTION_START, b"\x00")[:-1])
        return self

    def __exit__(self, typ, val, tb):
        tx = self.tx
        self.tx = 0
        self._c.call(wire.TRANSACTION_END, b"F\x00" if typ is not None else b"T\x00", tx)
        return False


def _b(x):
    if isinstance(x, str):
        return x.encode()
    if isinstance(x, (bytes, bytearray, memoryview)):
        return bytes(x)
    raise TypeError("xenstore: expected str or bytes, got %s" % type(x).__name__)


# ---- the API on this dom0's server
def client():
    """This dom0's Client (the server is made on first use)."""
    import xen
    return xen.get_dom0().xenstore()


def server(quotas=None):
    """This dom0's XenStore core, made on first use (with `quotas`)."""
    import xen
    xen.get_dom0().xenstore(quotas)
    return xen.get_dom0().store


def read(path):
    return client().read(path)


def write(path, value):
    client().write(path, value)


def mkdir(path):
    client().mkdir(path)


def rm(path):
    client().rm(path)


def ls(path):
    return client().ls(path)


def exists(path):
    return client().exists(path)


def get_perms(path):
    return client().get_perms(path)


def set_perms(path, perms):
    client().set_perms(path, perms)


def get_domain_path(domid):
    return client().get_domain_path(domid)


def introduce(domid, gfn, port):
    client().introduce(domid, gfn, port)


def release(domid):
    client().release(domid)


def is_introduced(domid):
    return client().is_introduced(domid)


def watch(path, callback):
    return client().watch(path, callback)


def transaction():
    return client().transaction()


def transact(fn, attempts=16):
    return client().transact(fn, attempts)


def pump():
    client().pump()
