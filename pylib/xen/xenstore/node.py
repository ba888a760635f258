# xenstore's data model: nodes, permissions, connections, transactions'
# records and per-domain accounting, with the byte helpers of the children
# lists. Plain data and pure functions.
#
# Owns: the layout of a node ([value, perms, children, generation]), the
# permission encoding, Tree, Domain, Conn, Tx. Must not know: requests (the
# core in store.py), watches or transactions' rules.
from . import wire
try:
    from micropython import const   # names below become literals when compiled
except ImportError:
    def const(x):
        return x

_packet = wire.packet
_parse = wire.parse

_path_ok = wire.path_ok
_tail = wire.tail
_child_add = wire.child_add
_child_del = wire.child_del

# Node layout (a 4-list keeps the heap per node small):
V = const(0)    # value (bytes)
P = const(1)    # perms: tuple of ints, (domid << 2) | mode; [0] = owner + default
C = const(2)    # children: their names as on the wire, b"name\0name\0...", in
                # insertion order. One bytes object (a leaf holds the shared
                # b""), or past _CHUNK bytes a list of such chunks, so that a
                # wide directory never needs one large block nor copies it per
                # change. A chunk list belongs to one node (copies copy it).
G = const(3)    # generation of the last change
_CHUNK = const(256)
_PMAX = const(4096)     # wire.PAYLOAD_MAX

# Permission modes.
PERM_NONE = const(0)
PERM_READ = const(1)
PERM_WRITE = const(2)
PERM_BOTH = const(3)
_MODE_OF = {110: 0, 114: 1, 119: 2, 98: 3}    # n r w b
# An entry (not the owner) that named a domain which did not exist when it
# was set: shown by GET_PERMS, never matches a domid (cxenstored's
# XS_PERM_IGNORE), so a domain created later with that id gains nothing.
_IGNORE = const(1 << 34)        # above (domid << 2) | mode for any u32 domid
_LETTER = (b"n", b"r", b"w", b"b")

DOMID_LIMIT = const(0x7FF0)   # DOMID_FIRST_RESERVED
SPECIAL = (b"@introduceDomain", b"@releaseDomain")

# cxenstored's defaults. Names follow newer Xen's GET/SET_QUOTA.
QUOTA_DEFAULTS = {
    "nodes": 1000,                # nodes owned per domain
    "node-size": 2048,            # value + perms + child names, bytes
    "watches": 128,               # per domain
    "transactions": 10,           # open at once per domain
    "transaction-nodes": 1024,    # nodes touched by one transaction
    "outstanding": 20,            # requests whose reply is not consumed
    "permissions": 5,             # entries per node
    "memory": 2621440,            # bytes per domain
    "path-max": wire.REL_PATH_MAX,
}

# Soft quotas: crossing one only logs a warning (cxenstored's quota-soft).
SOFT_DEFAULTS = {
    "memory": 2097152,            # bytes per domain
}

_QNAMES = {}
for _k in QUOTA_DEFAULTS:
    _QNAMES[_k.encode()] = _k
del _k

_OK = b"OK\x00"
_DIGITS = b"0123456789"


# Types whose tx_id selects a transaction.
_TXOPS = set((wire.READ, wire.WRITE, wire.DIRECTORY, wire.DIRECTORY_PART,
              wire.MKDIR, wire.RM, wire.GET_PERMS, wire.SET_PERMS,
              wire.TRANSACTION_END, wire.TRANSACTION_START, wire.CONTROL))


class XsError(Exception):
    """An error for the wire: args[0] is the xsd_errors name (bytes)."""


def _err(name):
    return XsError(name)


def _uint(b, limit=0xFFFFFFFF):
    """Strict decimal parse: digits only, no sign, no blanks."""
    if not b or len(b) > 10:
        raise XsError(b"EINVAL")
    for c in b:
        if c < 48 or c > 57:
            raise XsError(b"EINVAL")
    v = int(b)
    if v > limit:
        raise XsError(b"EINVAL")
    return v


def _onearg(payload):
    """The single NUL-terminated string that must fill the payload."""
    i = payload.find(b"\x00")
    if i < 0 or i != len(payload) - 1:
        raise XsError(b"EINVAL")
    return payload[:i]


# Children lists (see C above).
def _blob(ch):
    """The children as one bytes object, as DIRECTORY sends them."""
    if type(ch) is list:
        return b"".join(ch)
    return ch


def _clen(ch, type=type, list=list, len=len):
    if type(ch) is list:
        n = 0
        for c in ch:
            n += len(c)
        return n
    return len(ch)


def _names(ch):
    """The child names, as a list."""
    if not ch:
        return []
    return _blob(ch)[:-1].split(b"\x00")


def _find(blob, key):
    """Offset of the entry key (b"name\0") in a chunk, or -1."""
    if blob.startswith(key):
        return 0
    i = blob.find(b"\x00" + key)
    return i + 1 if i >= 0 else -1


def _has_child(ch, name):
    key = name + b"\x00"
    if type(ch) is list:
        for c in ch:
            if _find(c, key) >= 0:
                return True
        return False
    return _find(ch, key) >= 0


def _with_child(ch, name, type=type, list=list, len=len, _child_add=_child_add):
    """ch with `name` added at the end (a chunk list: in place)."""
    if type(ch) is list:
        last = ch[-1]
        if len(last) + len(name) < _CHUNK:
            ch[-1] = _child_add(last, name)
        else:
            ch.append(_child_add(b"", name))
        return ch
    if not ch or len(ch) + len(name) < _CHUNK:
        return _child_add(ch, name)
    return [ch, _child_add(b"", name)]


def _without_child(ch, name, type=type, list=list, _child_del=_child_del):
    """ch with `name` taken out (ch itself if it is not there; a chunk
    list: in place, or one bytes object once all fits one chunk)."""
    if type(ch) is list:
        key = name + b"\x00"
        for j in range(len(ch)):
            c = ch[j]
            i = _find(c, key)
            if i >= 0:
                c = c[:i] + c[i + len(key):]
                if c:
                    ch[j] = c
                else:
                    del ch[j]
                # Back to one bytes object once it fits a chunk again.
                return ch if len(ch) > 1 and _clen(ch) > _CHUNK else b"".join(ch)
        return ch
    return _child_del(ch, name)


def _args(payload, count):
    """Exactly `count` NUL-terminated strings."""
    n = len(payload)
    if not n or payload[n - 1] != 0:
        raise XsError(b"EINVAL")
    parts = payload[:n - 1].split(b"\x00")
    if len(parts) != count:
        raise XsError(b"EINVAL")
    return parts


def perms_to_wire(perms):
    out = []
    for p in perms:
        out.append(_LETTER[p & 3] + (b"%d" % ((p >> 2) & 0xFFFFFFFF)) + b"\x00")
    return b"".join(out)


def perms_from_strings(items):
    """[b"r0", b"w3"] -> tuple; EINVAL on anything malformed."""
    if not items:
        raise XsError(b"EINVAL")
    out = []
    for s in items:
        if len(s) < 2:
            raise XsError(b"EINVAL")
        m = _MODE_OF.get(s[0])
        if m is None:
            raise XsError(b"EINVAL")
        d = _uint(s[1:])       # any u32, as cxenstored (may name a future domid)
        out.append((d << 2) | m)
    return tuple(out)


# The initial tree: (path, children), parents first.
INITIAL = ((b"/", b"tool\x00"), (b"/tool", b"xenstored\x00"), (b"/tool/xenstored", b""))

SHARDS = 64     # the path dict is split: no huge contiguous table to grow


class Tree:
    """path -> node, as SHARDS dicts chosen by hash(path): a large store
    never needs one big contiguous allocation (MicroPython's heap does not
    move objects, so a single dict's growth fails early on a fragmented
    heap). Hot paths index self.sh directly."""

    def __init__(self):
        self.sh = [{} for _ in range(SHARDS)]

    def get(self, p):
        return self.sh[hash(p) & (SHARDS - 1)].get(p)

    def __getitem__(self, p):
        return self.sh[hash(p) & (SHARDS - 1)][p]

    def __setitem__(self, p, n):
        self.sh[hash(p) & (SHARDS - 1)][p] = n

    def __delitem__(self, p):
        del self.sh[hash(p) & (SHARDS - 1)][p]

    def __contains__(self, p):
        return p in self.sh[hash(p) & (SHARDS - 1)]

    def __len__(self):
        n = 0
        for d in self.sh:
            n += len(d)
        return n

    def __iter__(self):
        for d in self.sh:
            for p in d:
                yield p


class Domain:
    """Accounting and lifecycle of one domid."""

    def __init__(self, domid):
        self.domid = domid
        self.nodes = 0          # nodes owned
        self.mem = 0            # bytes: owned nodes + queued output + watches
        self.watches = 0
        self.trans = 0
        self.introduced = False
        self.conn = None        # ring connection, once introduced
        self.gfn = None
        self.port = None
        self.target = -1        # SET_TARGET: acts for this domid
        self.features = 0
        self.quota = None       # per-domain overrides: dict or None
        self.dropped = 0        # watch events dropped for this domain
        self.hits = {}          # quota name -> hits


class Conn:
    """One client connection as the core sees it.

    out: queued packets (bytes) for the transport to send; nreplies counts
    the replies (not events) among them."""

    def __init__(self, store, domid, priv, kind):
        self.store = store
        self.domid = domid
        self.priv = priv
        self.kind = kind        # "socket", "ring", "local"
        self.prefix = b"/local/domain/%d/" % domid
        self.dom = store._domain(domid)
        self.out = []
        self.outbytes = 0
        self.nreplies = 0
        self.watches = {}       # (abs path, token) -> given path
        self.trans = {}         # tx id -> Tx
        self.next_tx = 1
        self.closed = False
        self.io = None          # transport object (has flush())
        self.dirty = False      # listed in XenStore.dirty

    def pop(self):
        """Take the next queued packet (transport side)."""
        pkt = self.out.pop(0)
        n = len(pkt)
        self.outbytes -= n
        self.dom.mem -= n
        if pkt[0] != wire.WATCH_EVENT:
            self.nreplies -= 1
        return pkt

    def take_bytes(self):
        """Take every queued packet at once, as one bytes object (the
        queue list is kept: no allocation but the joined bytes)."""
        out = self.out
        n = len(out)
        if not n:
            return b""
        data = out[0] if n == 1 else b"".join(out)
        out.clear()
        self.dom.mem -= self.outbytes
        self.outbytes = 0
        self.nreplies = 0
        return data

    def take_all(self):
        """Take every queued packet at once."""
        out = self.out
        if not out:
            return out
        self.out = []
        self.dom.mem -= self.outbytes
        self.outbytes = 0
        self.nreplies = 0
        return out


class Tx:
    failed = None               # error name that makes the commit fail
    known = None                # domid -> exists, asked once per transaction

    def __init__(self, txid):
        self.id = txid
        self.reads = {}         # path -> node object seen (None: missing)
        self.writes = {}        # path -> node copy, or None (deleted)
        self.events = []        # (kind, path, perms before) in order
        self.dn = {}            # domid -> node count delta


def _revoked(perms, domid):
    """perms with the entries (after the owner) naming domid marked
    _IGNORE, or None if there are none."""
    out = None
    for i in range(1, len(perms)):
        if perms[i] >> 2 == domid:
            if out is None:
                out = list(perms)
            out[i] = perms[i] | _IGNORE
    return None if out is None else tuple(out)


def _big(b):
    if not b or len(b) > 20:
        raise XsError(b"EINVAL")
    for c in b:
        if c < 48 or c > 57:
            raise XsError(b"EINVAL")
    v = int(b)
    if v >= 1 << 64:
        raise XsError(b"EINVAL")
    return v


def _log(msg):
    import sys
    sys.stderr.write(msg + "\n")
