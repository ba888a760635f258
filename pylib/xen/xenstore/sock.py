# Unix socket transport for dom0-local clients (libxenstore's XENSTORED_PATH
# convention). A thin adapter: bytes in -> Framer -> core; queued packets
# out. Multiplexed with select.poll; never blocks on a slow client.
import socket
import select
import struct
import os
from . import wire

_EAGAIN = 11
_RECV = 8192
_MAX_OUT = 1 << 20      # a dom0 client that stops reading is dropped past this


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
        self.framer = wire.Framer()
        self.pend = b""         # bytes accepted by the core, not yet sent
        self.wantout = False    # registered for POLLOUT

    def flush(self):
        if id(self.sock) in self.srv.clients:
            self.srv._flush(self)


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
        self.poller.register(self.lsock, select.POLLIN)
        self.on_output = None   # hook: called after each batch (in-process pump)

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
            self.poller.register(s, select.POLLIN)

    def _drop(self, c):
        self.clients.pop(id(c.sock), None)
        try:
            self.poller.unregister(c.sock)
        except Exception:
            pass
        c.sock.close()
        self.store.disconnect(c.conn)

    def _read(self, c):
        try:
            data = c.sock.recv(_RECV)
        except OSError as e:
            if e.errno == _EAGAIN:
                return
            self._drop(c)
            return
        if not data:
            self._drop(c)
            return
        fr = c.framer
        fr.feed(data)
        store = self.store
        conn = c.conn
        try:
            while True:
                msg = fr.next()
                if msg is None:
                    break
                store.process(conn, msg)
        except wire.ProtocolError as e:
            store.log("xenstore: socket client dropped: %s" % e)
            self._drop(c)
            return

    def _flush(self, c):
        conn = c.conn
        if conn.out:
            out = conn.take_all()
            data = out[0] if len(out) == 1 else b"".join(out)
            c.pend = c.pend + data if c.pend else data
        pend = c.pend
        if not pend:
            return
        try:
            n = c.sock.send(pend)
        except OSError as e:
            if e.errno != _EAGAIN:
                self._drop(c)
                return
            n = 0
        if n == len(pend):
            c.pend = b""
            if c.wantout:
                c.wantout = False
                self.poller.modify(c.sock, select.POLLIN)
            return
        c.pend = pend[n:]
        if len(c.pend) > _MAX_OUT:
            self.store.log("xenstore: socket client not reading, dropped")
            self._drop(c)
            return
        if not c.wantout:
            c.wantout = True
            self.poller.modify(c.sock, select.POLLIN | select.POLLOUT)

    def flush_all(self):
        for conn in self.store.drain_dirty():
            io = getattr(conn, "io", None)
            if io is not None:
                io.flush()
        if self.on_output is not None:
            self.on_output()

    def handle(self, obj, ev):
        """One poll result. Returns False if `obj` is not ours."""
        if obj is self.lsock:
            self._accept()
            return True
        c = self.clients.get(id(obj))
        if c is None:
            return False
        if ev & select.POLLIN:
            self._read(c)
        elif ev & (select.POLLHUP | select.POLLERR):
            self._drop(c)
            return True
        if ev & select.POLLOUT and id(obj) in self.clients:
            self._flush(c)
        return True

    def poll_once(self, timeout=-1):
        for obj, ev in self.poller.ipoll(timeout):
            self.handle(obj, ev)
        self.flush_all()
