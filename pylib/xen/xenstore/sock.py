# Unix socket transport for dom0-local clients (libxenstore's XENSTORED_PATH
# convention). A thin adapter: bytes in -> messages -> core; queued packets
# out. Multiplexed with select.poll; never blocks on a slow client.
#
# This is the server's hot path for dom0 tools, so it allocates little per
# message: one receive buffer for every client, messages split in C
# (wire.parse), replies sent once per poll round.
import socket
import select
import struct
import os
from . import wire

_EAGAIN = 11
_POLLIN = select.POLLIN
_POLLOUT = select.POLLOUT
_POLLHUPERR = select.POLLHUP | select.POLLERR
# One receive buffer for all clients: what is left of an incomplete message
# (< 16 + 4096 bytes) plus at least one whole message always fit.
_RECV = 2 * (wire.HEADER + wire.PAYLOAD_MAX)
_MAX_OUT = 1 << 20      # a dom0 client that stops reading is dropped past this
_parse = wire.parse
_readinto = wire.readinto


def _sockaddr(path):
    if isinstance(path, str):
        path = path.encode()
    if len(path) > 107:
        raise ValueError("unix socket path longer than 107 bytes: %s" % path)
    return struct.pack("<H", socket.AF_UNIX) + path + b"\x00"


class _Client:
    def __init__(self, srv, sock):
        self.srv = srv
        self.sock = sock
        self.conn = srv.store.connect(0, "socket")
        self.conn.io = self
        self.left = b""         # the start of an incomplete message
        self.pend = b""         # bytes accepted by the core, not yet sent
        self.wantout = False    # registered for POLLOUT
        self.gone = False

    def flush(self, len=len):
        """Send what the core queued (called for dirty connections)."""
        if self.gone:
            return
        conn = self.conn
        pend = self.pend
        if conn.out:
            data = conn.take_bytes()
            pend = pend + data if pend else data
        if not pend:
            return
        try:
            n = self.sock.send(pend)
        except OSError as e:
            if e.errno != _EAGAIN:
                self.srv._drop(self)
                return
            n = 0
        if n == len(pend):
            self.pend = b""
            if self.wantout:
                self.wantout = False
                self.srv.poller.modify(self.sock, _POLLIN)
            return
        pend = self.pend = pend[n:]
        if len(pend) > _MAX_OUT:
            self.srv.store.log("xenstore: socket client not reading, dropped")
            self.srv._drop(self)
            return
        if not self.wantout:
            self.wantout = True
            self.srv.poller.modify(self.sock, _POLLIN | _POLLOUT)


class UnixServer:
    """Listens on `path`; call poll_once() in a loop (or register() with an
    outer poller and call handle(obj, ev))."""

    def __init__(self, store, path, poller=None):
        self.store = store
        self.path = path
        self.clients = {}       # id(sock) -> _Client
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            os.remove(path)
        except OSError:
            pass
        self.lsock.bind(_sockaddr(path))
        self.lsock.listen(64)
        self.lsock.setblocking(False)
        self.poller = poller if poller is not None else select.poll()
        self.poller.register(self.lsock, _POLLIN)
        self.on_output = None   # hook: called after each batch (in-process pump)
        self.rbuf = bytearray(_RECV)
        self.hdr = [0, 0, 0]    # type, req_id, tx_id of the message parsed last
        self.spare = []

    def close(self):
        for c in list(self.clients.values()):
            self._drop(c)
        try:
            self.poller.unregister(self.lsock)
        except Exception:
            pass
        self.lsock.close()
        try:
            os.remove(self.path)
        except OSError:
            pass

    def _accept(self):
        while True:
            try:
                s, _ = self.lsock.accept()
            except OSError as e:
                if e.errno == _EAGAIN:
                    return
                raise
            s.setblocking(False)
            c = _Client(self, s)
            self.clients[id(s)] = c
            self.poller.register(s, _POLLIN)

    def _drop(self, c):
        if c.gone:
            return
        c.gone = True
        self.clients.pop(id(c.sock), None)
        try:
            self.poller.unregister(c.sock)
        except Exception:
            pass
        c.sock.close()
        self.store.disconnect(c.conn)

    # Builtins and module functions as default arguments: read as locals
    # (see store.XenStore.handle).
    def _read(self, c, len=len, _readinto=_readinto, _parse=_parse):
        # Into the shared buffer, one read() per wakeup: no allocation per
        # message but its payload and its reply.
        buf = self.rbuf
        left = c.left
        k = len(left)
        if k:
            buf[0:k] = left
        try:
            n = _readinto(c.sock, buf, k)
        except OSError:
            self._drop(c)
            return
        if n is None:
            return          # EAGAIN
        if not n:
            self._drop(c)
            return
        end = k + n
        off = 0
        conn = c.conn
        store = self.store
        hdr = self.hdr
        try:
            while True:
                pl = _parse(buf, off, end, hdr)
                if pl is None:
                    break
                off += 16 + len(pl)
                store.handle(conn, hdr[0], hdr[1], hdr[2], pl)
        except ValueError:
            store.log("xenstore: socket client dropped: message length over %d" % wire.PAYLOAD_MAX)
            self._drop(c)
            return
        c.left = bytes(buf[off:end]) if off < end else b""

    def _flush(self, c):
        c.flush()

    def flush_all(self):
        store = self.store
        d = store.dirty
        if d:
            # store.drain_dirty(), inlined, with two lists taking turns
            # (no allocation): this runs once per poll round.
            store.dirty = self.spare
            for conn in d:
                conn.dirty = False
                io = conn.io
                if io is not None:
                    io.flush()
            d.clear()
            self.spare = d
        if self.on_output is not None:
            self.on_output()

    def handle(self, obj, ev):
        """One poll result. Returns False if `obj` is not ours."""
        c = self.clients.get(id(obj))
        if c is None:
            if obj is self.lsock:
                self._accept()
                return True
            return False
        if ev & _POLLIN:
            self._read(c)
        elif ev & _POLLHUPERR:
            self._drop(c)
            return True
        if ev & _POLLOUT and not c.gone:
            c.flush()
        return True

    def poll_once(self, timeout=-1, id=id, _POLLIN=_POLLIN):
        clients = self.clients
        for obj, ev in self.poller.ipoll(timeout):
            if ev == _POLLIN:
                c = clients.get(id(obj))
                if c is not None:
                    self._read(c)
                    continue
            self.handle(obj, ev)
        self.flush_all()
