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


def packet(typ, req_id, tx_id, payload):
    """One complete message (header + payload) as bytes."""
    return struct.pack(_HDR, typ, req_id, tx_id, len(payload)) + payload


def parse_header(buf, off=0):
    """(type, req_id, tx_id, len) of the header at buf[off:off+16]."""
    return unpack_from(_HDR, buf, off)


class ProtocolError(Exception):
    """The byte stream cannot be framed (length over PAYLOAD_MAX)."""


class Framer:
    """Reassembles messages from a byte stream (socket or ring).

    feed() takes any chunk; next() returns one complete message (bytes,
    header included) or None. A length over PAYLOAD_MAX raises
    ProtocolError: the stream cannot be resynchronised after that."""

    def __init__(self):
        self.buf = bytearray()
        self.need = HEADER   # bytes the current message needs in total

    def feed(self, data):
        self.buf.extend(data)

    def pending(self):
        return len(self.buf)

    def wanted(self):
        """Bytes still missing from the message being assembled."""
        n = self.need - len(self.buf)
        return n if n > 0 else 0

    def next(self):
        buf = self.buf
        n = len(buf)
        if n < HEADER:
            return None
        length = unpack_from("<I", buf, 12)[0]
        if length > PAYLOAD_MAX:
            raise ProtocolError("xenstore message length %d > %d" % (length, PAYLOAD_MAX))
        total = HEADER + length
        if n < total:
            self.need = total
            return None
        msg = bytes(buf[:total])
        if n == total:
            self.buf = bytearray()
        else:
            self.buf = buf[total:]
        self.need = HEADER
        return msg

    def reset(self):
        self.buf = bytearray()
        self.need = HEADER
