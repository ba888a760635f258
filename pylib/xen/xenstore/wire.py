# xenstore wire protocol: message types, error names, header framing.
# Written from the protocol facts (Xen docs/misc/xenstore.txt, io/xs_wire.h
# numbering); no upstream text. Pure Python, no I/O.
import struct

# Message types, numbered as in Xen 4.17 (+ the 4.21/4.22 additions).
CONTROL = 0
DIRECTORY = 1
READ = 2
GET_PERMS = 3
WATCH = 4
UNWATCH = 5
TRANSACTION_START = 6
TRANSACTION_END = 7
INTRODUCE = 8
RELEASE = 9
GET_DOMAIN_PATH = 10
WRITE = 11
MKDIR = 12
RM = 13
SET_PERMS = 14
WATCH_EVENT = 15
ERROR = 16
IS_DOMAIN_INTRODUCED = 17
RESUME = 18
SET_TARGET = 19
# 20 was RESTRICT, withdrawn from the protocol: it answers ENOSYS.
RESET_WATCHES = 21
DIRECTORY_PART = 22
GET_FEATURE = 23
SET_FEATURE = 24
GET_QUOTA = 25
SET_QUOTA = 26
TYPE_COUNT = 27
INVALID = 0xFFFF

NAMES = {
    CONTROL: "CONTROL", DIRECTORY: "DIRECTORY", READ: "READ",
    GET_PERMS: "GET_PERMS", WATCH: "WATCH", UNWATCH: "UNWATCH",
    TRANSACTION_START: "TRANSACTION_START", TRANSACTION_END: "TRANSACTION_END",
    INTRODUCE: "INTRODUCE", RELEASE: "RELEASE", GET_DOMAIN_PATH: "GET_DOMAIN_PATH",
    WRITE: "WRITE", MKDIR: "MKDIR", RM: "RM", SET_PERMS: "SET_PERMS",
    WATCH_EVENT: "WATCH_EVENT", ERROR: "ERROR",
    IS_DOMAIN_INTRODUCED: "IS_DOMAIN_INTRODUCED", RESUME: "RESUME",
    SET_TARGET: "SET_TARGET", RESET_WATCHES: "RESET_WATCHES",
    DIRECTORY_PART: "DIRECTORY_PART", GET_FEATURE: "GET_FEATURE",
    SET_FEATURE: "SET_FEATURE", GET_QUOTA: "GET_QUOTA", SET_QUOTA: "SET_QUOTA",
}

# The only error names a client understands (xsd_errors), with the Linux
# errno each stands for.
ERRNO = {
    b"EINVAL": 22, b"EACCES": 13, b"EEXIST": 17, b"EISDIR": 21, b"ENOENT": 2,
    b"ENOMEM": 12, b"ENOSPC": 28, b"EIO": 5, b"ENOTEMPTY": 39, b"ENOSYS": 38,
    b"EROFS": 30, b"EBUSY": 16, b"EAGAIN": 11, b"EISCONN": 106, b"E2BIG": 7,
    b"EPERM": 1,
}
NAME_OF_ERRNO = {}
for _k in ERRNO:
    NAME_OF_ERRNO[ERRNO[_k]] = _k
del _k

HEADER = 16
PAYLOAD_MAX = 4096
REL_PATH_MAX = 2048

_HDR = "<IIII"
pack_into = struct.pack_into
unpack_from = struct.unpack_from


def header(typ, req_id, tx_id, length):
    return struct.pack(_HDR, typ, req_id, tx_id, length)


def parse_header(buf, off=0):
    """(type, req_id, tx_id, len) of the header at buf[off:off+16]."""
    return unpack_from(_HDR, buf, off)


# The per-message byte work: C in the firmware (_xen, modxen/xsframe.c),
# these pure-Python twins elsewhere (plain MicroPython, CPython). The tests
# check that both agree.
def parse_py(buf, off=0, end=None, hdr=None):
    """(type, req_id, tx_id, payload) of the complete message at
    buf[off:end], or None while it is incomplete. ValueError for a length
    over PAYLOAD_MAX. With hdr (a list of >= 3 items): type, req_id, tx_id
    go into hdr[0:3] and the payload alone is returned."""
    if end is None:
        end = len(buf)
    if off < 0 or end < 0 or end > len(buf) or off > end:
        raise ValueError("xenstore framing: offset outside the buffer")
    if end - off < HEADER:
        return None
    length = unpack_from("<I", buf, off + 12)[0]
    if length > PAYLOAD_MAX:
        raise ValueError("xenstore message length over 4096")
    if end - off - HEADER < length:
        return None
    t = unpack_from("<III", buf, off)
    pl = bytes(buf[off + HEADER:off + HEADER + length])
    if hdr is not None:
        if type(hdr) is not list:
            raise TypeError("xs_parse: hdr must be a list")
        if len(hdr) < 3:
            raise ValueError("xs_parse: hdr needs 3 items")
        hdr[0] = t[0]
        hdr[1] = t[1]
        hdr[2] = t[2]
        return pl
    return (t[0], t[1], t[2], pl)


def packet_py(typ, req_id, tx_id, payload):
    """One complete message (header + payload) as bytes."""
    return struct.pack(_HDR, typ & 0xFFFFFFFF, req_id & 0xFFFFFFFF, tx_id & 0xFFFFFFFF,
                       len(payload)) + bytes(payload)


_PATHCHARS = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-/_@")


def path_ok_py(p):
    """Non-empty, only [A-Za-z0-9-/_@], no "//", no trailing "/" but "/"."""
    n = len(p)
    if not n or (n > 1 and p[n - 1] == 47) or b"//" in p:
        return False
    ok = _PATHCHARS
    for c in p:
        if c not in ok:
            return False
    return True


def readinto_py(stream, buf, off=0):
    """Read what a non-blocking stream has into buf[off:]: n, 0 at its
    end, None if nothing now."""
    if off < 0 or off >= len(buf):
        raise ValueError("xs_readinto: no room in the buffer")
    return stream.readinto(memoryview(buf)[off:])


def tail_py(data, start):
    """bytes(data[start:])."""
    if start < 0 or start > len(data):
        raise ValueError("xenstore framing: offset outside the buffer")
    return bytes(data[start:])


# A child list as DIRECTORY sends it: b"name\0name\0...".
def child_add_py(blob, name):
    """blob + name + b"\0"."""
    return bytes(blob) + bytes(name) + b"\x00"


def child_del_py(blob, name):
    """blob without the entry `name`, or blob itself if no entry is it."""
    key = bytes(name) + b"\x00"
    if blob.startswith(key):
        i = 0
    else:
        i = blob.find(b"\x00" + key)
        if i < 0:
            if blob.endswith(b"\x00" + name) or blob == name:
                i = len(blob) - len(name)     # last entry without its NUL
                return bytes(blob[:i])
            return blob
        i += 1
    return bytes(blob[:i]) + bytes(blob[i + len(key):])


try:
    from _xsframe import parse, packet, path_ok, readinto, tail, child_add, child_del
except ImportError:
    parse = parse_py
    packet = packet_py
    path_ok = path_ok_py
    readinto = readinto_py
    tail = tail_py
    child_add = child_add_py
    child_del = child_del_py


class ProtocolError(Exception):
    """The byte stream cannot be framed (length over PAYLOAD_MAX)."""


class Framer:
    """Reassembles messages from a byte stream (socket or ring).

    feed() takes any chunk; next_msg() returns one complete message as
    (type, req_id, tx_id, payload), next() as bytes (header included), or
    None. A length over PAYLOAD_MAX raises ProtocolError: the stream cannot
    be resynchronised after that."""

    def __init__(self):
        self.buf = bytearray()
        self.off = 0         # start of the first unconsumed byte
        self.need = HEADER   # bytes the current message needs in total

    def feed(self, data):
        if self.off:
            # Drop what was consumed before growing (keeps the buffer small).
            self.buf = self.buf[self.off:]
            self.off = 0
        self.buf.extend(data)

    def pending(self):
        return len(self.buf) - self.off

    def wanted(self):
        """Bytes still missing from the message being assembled."""
        n = self.need - (len(self.buf) - self.off)
        return n if n > 0 else 0

    def next_msg(self):
        buf = self.buf
        off = self.off
        try:
            m = parse(buf, off)
        except ValueError:
            raise ProtocolError("xenstore message length %d > %d"
                                % (unpack_from("<I", buf, off + 12)[0], PAYLOAD_MAX))
        if m is None:
            n = len(buf) - off
            self.need = HEADER + unpack_from("<I", buf, off + 12)[0] if n >= HEADER else HEADER
            return None
        off += HEADER + len(m[3])
        if off == len(buf):
            self.buf = bytearray()
            off = 0
        self.off = off
        self.need = HEADER
        return m

    def next(self):
        m = self.next_msg()
        if m is None:
            return None
        return packet(m[0], m[1], m[2], m[3])

    def reset(self):
        self.buf = bytearray()
        self.off = 0
        self.need = HEADER
