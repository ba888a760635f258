# Guest side of a xenstore ring, for tests in every folder (tests/xenstore,
# tests/domain, tests/policy): writes requests into a 4 KiB
# bytearray the way a guest's xenbus driver does, and reads replies.
import struct
from xen.xenstore import wire as W

REQ_CONS, REQ_PROD, RSP_CONS, RSP_PROD = 2048, 2052, 2056, 2060
FEATURES, CONNECTION, ERROR = 2064, 2068, 2072
M = 0xFFFFFFFF


def u32(page, off):
    return struct.unpack_from("<I", page, off)[0]


def p32(page, off, v):
    struct.pack_into("<I", page, off, v & M)


class Guest:
    def __init__(self, page=None):
        self.page = page if page is not None else bytearray(4096)
        self.server = None      # set to the server-side Ring: kick() services it
        self.kicks = 0          # notifications from the server
        self.rbuf = bytearray()
        self.events = []
        self.replies = []
        self.req_id = 100
        self.pending = b""      # request bytes not yet in the ring

    def notify(self):
        self.kicks += 1

    def kick(self):
        self.server.service()

    def push(self):
        """Copy pending request bytes into the ring (as space allows)."""
        pg = self.page
        while self.pending:
            cons = u32(pg, REQ_CONS)
            prod = u32(pg, REQ_PROD)
            free = 1024 - ((prod - cons) & M)
            if free <= 0:
                break
            start = prod & 1023
            n = min(free, 1024 - start, len(self.pending))
            pg[start:start + n] = self.pending[:n]
            self.pending = self.pending[n:]
            p32(pg, REQ_PROD, prod + n)

    def send_raw(self, data):
        self.pending += data
        self.push()

    def send(self, typ, payload, tx=0):
        self.req_id += 1
        self.send_raw(struct.pack("<IIII", typ, self.req_id, tx, len(payload)) + payload)
        return self.req_id

    def pull(self):
        """Read what the server wrote; split into replies and events."""
        pg = self.page
        cons = u32(pg, RSP_CONS)
        prod = u32(pg, RSP_PROD)
        while cons != prod:
            self.rbuf.append(pg[1024 + (cons & 1023)])
            cons = (cons + 1) & M
        p32(pg, RSP_CONS, cons)
        while len(self.rbuf) >= 16:
            t, r, x, n = struct.unpack_from("<IIII", self.rbuf, 0)
            if len(self.rbuf) < 16 + n:
                break
            body = bytes(self.rbuf[16:16 + n])
            self.rbuf = self.rbuf[16 + n:]
            if t == W.WATCH_EVENT:
                self.events.append(body)
            else:
                self.replies.append((t, r, x, body))

    def call(self, typ, payload, tx=0):
        rid = self.send(typ, payload, tx)
        for _ in range(64):
            self.kick()
            self.pull()
            self.push()
            for i in range(len(self.replies)):
                if self.replies[i][1] == rid:
                    rep = self.replies.pop(i)
                    return rep[0], rep[3]
        raise AssertionError("no reply for request %d" % rid)

    # conveniences: (ok, data)
    def read(self, path, tx=0):
        return self.call(W.READ, path + b"\x00", tx)

    def write(self, path, value, tx=0):
        return self.call(W.WRITE, path + b"\x00" + value, tx)

    def reconnect(self):
        p32(self.page, CONNECTION, 1)
        self.rbuf = bytearray()
        self.pending = b""
        self.kick()
        return u32(self.page, CONNECTION)
