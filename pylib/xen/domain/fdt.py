# Flattened device tree (DTB, version 17): a streaming writer and a small reader.
# Sans-IO: bytes in, bytes out.  Layout of a blob:
#   header (10 x u32 BE) | memory reservation block (u64 pairs, 0/0 ends it)
#   | structure block (tokens) | strings block (NUL-terminated property names)
import struct

MAGIC = 0xD00DFEED
_BEGIN, _END, _PROP, _NOP, _FINISH = 1, 2, 3, 4, 9
_HDR = ">10I"
_HDR_SIZE = 40
_NODE_CH = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,._+-@"
_PROP_CH = _NODE_CH[:-1] + "?#"
MAX_DEPTH = 32


class FdtError(ValueError):
    pass


def _pad4(n):
    return (n + 3) & ~3


class Writer:
    # Emit nodes depth-first: begin(name) ... props ... children ... end().
    # The first begin() must be the root, named "".
    def __init__(self, reserve=(), phandles_from=1):
        self._s = bytearray()
        self._strs = bytearray()
        self._soff = {}
        self._depth = 0
        self._closed = False
        self._rsv = list(reserve)
        self._next_ph = phandles_from
        self._used_ph = {}

    # -- structure
    def begin(self, name):
        if self._closed:
            raise FdtError("tree already closed")
        if self._depth == 0:
            if name != "":
                raise FdtError("the root node must be named ''")
        else:
            if not name:
                raise FdtError("empty node name")
            for c in name:
                if c not in _NODE_CH:
                    raise FdtError("bad character " + repr(c) + " in node name " + repr(name))
        if self._depth >= MAX_DEPTH:
            raise FdtError("tree deeper than " + str(MAX_DEPTH))
        b = name.encode()
        s = self._s
        s.extend(struct.pack(">I", _BEGIN))
        s.extend(b)
        s.extend(bytes(_pad4(len(b) + 1) - len(b)))
        self._depth += 1

    def end(self):
        if self._depth == 0:
            raise FdtError("end() without begin()")
        self._s.extend(struct.pack(">I", _END))
        self._depth -= 1
        if self._depth == 0:
            self._closed = True

    # -- properties
    def raw(self, name, data):
        if self._depth == 0:
            raise FdtError("property " + repr(name) + " outside a node")
        off = self._soff.get(name)
        if off is None:
            if not name:
                raise FdtError("empty property name")
            for c in name:
                if c not in _PROP_CH:
                    raise FdtError("bad character " + repr(c) + " in property name " + repr(name))
            off = len(self._strs)
            self._strs.extend(name.encode())
            self._strs.append(0)
            self._soff[name] = off
        n = len(data)
        s = self._s
        s.extend(struct.pack(">III", _PROP, n, off))
        s.extend(data)
        s.extend(bytes(_pad4(n) - n))

    def empty(self, name):
        self.raw(name, b"")

    def u32(self, name, *vals):
        b = bytearray(4 * len(vals))
        for i, v in enumerate(vals):
            if not 0 <= v <= 0xFFFFFFFF:
                raise FdtError(name + ": " + str(v) + " does not fit a u32 cell")
            struct.pack_into(">I", b, 4 * i, v)
        self.raw(name, b)

    def u64(self, name, *vals):
        b = bytearray(8 * len(vals))
        for i, v in enumerate(vals):
            if not 0 <= v <= 0xFFFFFFFFFFFFFFFF:
                raise FdtError(name + ": " + str(v) + " does not fit a u64")
            struct.pack_into(">Q", b, 8 * i, v)
        self.raw(name, b)

    def string(self, name, *strs):
        # one string, or a string list
        b = bytearray()
        for x in strs:
            e = x.encode()
            if 0 in e:
                raise FdtError(name + ": NUL inside a string")
            b.extend(e)
            b.append(0)
        self.raw(name, b)

    def cells(self, name, pairs, ac=2, sc=2):
        # 'reg'-style property: (address, size) pairs in ac/sc cells each
        vals = []
        for a, z in pairs:
            for v, n in ((a, ac), (z, sc)):
                if v >> (32 * n):
                    raise FdtError(name + ": " + hex(v) + " does not fit " + str(n) + " cells")
                for k in range(n - 1, -1, -1):
                    vals.append((v >> (32 * k)) & 0xFFFFFFFF)
        self.u32(name, *vals)

    def prop(self, name, value):
        # by Python type: int -> u32, str -> string, list of str -> string list,
        # list of int -> u32 cells, bytes-like -> raw, True/None -> empty
        if value is True or value is None:
            self.raw(name, b"")
        elif isinstance(value, int):
            self.u32(name, value)
        elif isinstance(value, str):
            self.string(name, value)
        elif isinstance(value, (list, tuple)):
            if value and isinstance(value[0], str):
                self.string(name, *value)
            else:
                self.u32(name, *value)
        else:
            self.raw(name, value)

    # -- phandles
    def alloc_phandle(self):
        while self._next_ph in self._used_ph:
            self._next_ph += 1
        if self._next_ph > 0xFFFFFFFE:
            raise FdtError("out of phandles")
        ph = self._next_ph
        self._next_ph += 1
        return ph

    def _claim(self, ph):
        if not 1 <= ph <= 0xFFFFFFFE:
            raise FdtError("phandle " + str(ph) + " out of range")
        if self._used_ph.get(ph):
            raise FdtError("phandle " + str(ph) + " used twice")
        self._used_ph[ph] = True

    def phandle(self, ph=None):
        # give the current node a phandle (a fresh one if ph is None); returns it
        if ph is None:
            ph = self.alloc_phandle()
        self._claim(ph)
        self.u32("phandle", ph)
        return ph

    def reserve_phandle(self, ph):
        # keep ph from alloc_phandle() and from copied nodes, for a node written
        # later with phandle(ph)
        self._used_ph.setdefault(ph, False)

    def node(self, n, name=None):
        # copy a parsed Node (and its subtree) into the tree being written
        self.begin(n.name if name is None else name)
        seen = None
        for pname, val in n.props:
            if pname in ("phandle", "linux,phandle") and len(val) == 4:
                ph = struct.unpack(">I", val)[0]
                if ph != seen:
                    if self._used_ph.get(ph) is not None:
                        raise FdtError("phandle " + str(ph) + " of node " + repr(n.name) + " clashes")
                    self._used_ph[ph] = True
                    seen = ph
            self.raw(pname, val)
        for c in n.children:
            self.node(c)
        self.end()

    # -- output
    def finish(self, boot_cpuid=0):
        if not self._closed:
            raise FdtError("tree not closed (" + str(self._depth) + " open nodes)")
        rsv_off = _HDR_SIZE  # already 8-aligned
        struct_off = rsv_off + 16 * (len(self._rsv) + 1)
        struct_size = len(self._s) + 4
        strings_off = struct_off + struct_size
        total = strings_off + len(self._strs)
        out = bytearray(total)
        struct.pack_into(_HDR, out, 0, MAGIC, total, struct_off, strings_off, rsv_off,
                         17, 16, boot_cpuid, len(self._strs), struct_size)
        o = rsv_off
        for a, z in self._rsv:
            struct.pack_into(">QQ", out, o, a, z)
            o += 16
        out[struct_off : struct_off + len(self._s)] = self._s
        struct.pack_into(">I", out, strings_off - 4, _FINISH)
        out[strings_off:] = self._strs
        return out


# ---------------------------------------------------------------- reader


class Node:
    def __init__(self, name):
        self.name = name
        self.props = []  # [(name, bytes)]
        self.children = []

    def prop(self, name, default=None):
        for k, v in self.props:
            if k == name:
                return v
        return default

    def u32(self, name, i=0):
        v = self.prop(name)
        if v is None or len(v) < 4 * (i + 1):
            raise FdtError(self.name + ": no u32 cell " + str(i) + " in " + repr(name))
        return struct.unpack_from(">I", v, 4 * i)[0]

    def strings(self, name):
        v = self.prop(name)
        if v is None:
            return []
        if v[-1:] != b"\x00":
            raise FdtError(self.name + ": " + repr(name) + " is not a string")
        return [str(x, "utf-8") for x in bytes(v[:-1]).split(b"\x00")]

    def child(self, name):
        for c in self.children:
            if c.name == name:
                return c
        # a name without unit address matches 'name@...'
        for c in self.children:
            if "@" not in name and c.name.split("@")[0] == name:
                return c
        return None

    def find(self, path):
        n = self
        for part in path.split("/"):
            if part:
                n = n.child(part)
                if n is None:
                    return None
        return n


def header(blob):
    # -> dict of the header fields; FdtError if it is not a usable DTB
    if len(blob) < _HDR_SIZE:
        raise FdtError("truncated header (" + str(len(blob)) + " bytes)")
    (magic, total, soff, stroff, rsvoff, ver, lastc, cpu, strsize, ssize) = struct.unpack_from(_HDR, blob, 0)
    if magic != MAGIC:
        raise FdtError("bad magic 0x%08x" % magic)
    if ver < 16 or lastc > 17:
        raise FdtError("unsupported version %d (last compatible %d)" % (ver, lastc))
    if total > len(blob):
        raise FdtError("truncated: totalsize %d but only %d bytes" % (total, len(blob)))
    if ver < 17:
        ssize = stroff - soff if stroff > soff else total - soff
    for what, off, size in (("structure", soff, ssize), ("strings", stroff, strsize),
                            ("reservation map", rsvoff, 16)):
        if off < _HDR_SIZE or off + size > total:
            raise FdtError(what + " block outside the blob")
    if soff & 3 or rsvoff & 7:
        raise FdtError("misaligned block")
    return {"totalsize": total, "off_dt_struct": soff, "off_dt_strings": stroff,
            "off_mem_rsvmap": rsvoff, "version": ver, "last_comp_version": lastc,
            "boot_cpuid_phys": cpu, "size_dt_strings": strsize, "size_dt_struct": ssize}


def _cstr(mv, off, end, what):
    i = off
    while i < end and mv[i]:
        i += 1
    if i >= end:
        raise FdtError("unterminated " + what + " at offset " + str(off))
    return str(bytes(mv[off:i]), "utf-8"), i + 1


def parse(blob):
    # DTB -> root Node; root.reserved = [(address, size)]
    h = header(blob)
    mv = memoryview(blob)
    rsv = []
    o = h["off_mem_rsvmap"]
    while True:
        if o + 16 > h["totalsize"]:
            raise FdtError("unterminated reservation map")
        a, z = struct.unpack_from(">QQ", mv, o)
        o += 16
        if a == 0 and z == 0:
            break
        rsv.append((a, z))
    o = h["off_dt_struct"]
    end = o + h["size_dt_struct"]
    sbase = h["off_dt_strings"]
    send = sbase + h["size_dt_strings"]
    stack = []
    root = None
    while True:
        if o + 4 > end:
            raise FdtError("structure block ends without FDT_END")
        tok = struct.unpack_from(">I", mv, o)[0]
        o += 4
        if tok == _BEGIN:
            name, o = _cstr(mv, o, end, "node name")
            o = _pad4(o)
            n = Node(name)
            if stack:
                stack[-1].children.append(n)
            elif root is not None:
                raise FdtError("second root node")
            else:
                root = n
            if len(stack) >= MAX_DEPTH:
                raise FdtError("tree deeper than " + str(MAX_DEPTH))
            stack.append(n)
        elif tok == _END:
            if not stack:
                raise FdtError("unbalanced FDT_END_NODE at offset " + str(o - 4))
            stack.pop()
        elif tok == _PROP:
            if not stack:
                raise FdtError("property outside a node at offset " + str(o - 4))
            if o + 8 > end:
                raise FdtError("truncated property at offset " + str(o - 4))
            ln, noff = struct.unpack_from(">II", mv, o)
            o += 8
            if o + ln > end:
                raise FdtError("property value past the structure block at offset " + str(o))
            if sbase + noff >= send:
                raise FdtError("property name offset %d outside the strings block" % noff)
            pname, _ = _cstr(mv, sbase + noff, send, "property name")
            stack[-1].props.append((pname, bytes(mv[o : o + ln])))
            o = _pad4(o + ln)
        elif tok == _NOP:
            pass
        elif tok == _FINISH:
            break
        else:
            raise FdtError("bad token 0x%x at offset %d" % (tok, o - 4))
    if stack or root is None:
        raise FdtError("unbalanced nodes")
    root.reserved = rsv
    return root
