# Strict CBOR (RFC 8949) for policy bundles and state records: the subset
# modxen needs, on MicroPython and CPython alike.
#
# Decoding accepts only definite lengths, shortest-form heads, unsigned and
# negative ints up to 64 bits, byte and UTF-8 text strings, arrays, maps
# with int or text keys (no duplicates), false/true/null and tag 18
# (COSE_Sign1) where the caller allows it. Floats, other tags, indefinite
# lengths, other simple values and trailing bytes are refused with
# CBORError naming the offset. Every length is checked against the bytes
# that remain before anything is allocated. Encoding writes the same
# subset in deterministic form (maps sorted by encoded key).
import struct


class CBORError(ValueError):
    pass


class Tag:
    """A tagged item: Tag(18, [...]) is a COSE_Sign1_Tagged."""

    def __init__(self, tag, value):
        self.tag = tag
        self.value = value


MAX_DEPTH = 8
_MIN = (24, 256, 65536, 1 << 32)   # smallest argument each wider head may carry


def _head(buf, pos, end):
    if pos >= end:
        raise CBORError("cbor: truncated at offset %d" % pos)
    ib = buf[pos]
    major = ib >> 5
    ai = ib & 31
    pos += 1
    if ai < 24:
        return major, ai, pos
    if ai > 27:
        raise CBORError("cbor: indefinite or reserved length at offset %d" % (pos - 1))
    n = 1 << (ai - 24)
    if pos + n > end:
        raise CBORError("cbor: truncated at offset %d" % pos)
    if n == 1:
        arg = buf[pos]
    elif n == 2:
        arg = struct.unpack_from(">H", buf, pos)[0]
    elif n == 4:
        arg = struct.unpack_from(">I", buf, pos)[0]
    else:
        arg = struct.unpack_from(">Q", buf, pos)[0]
    if arg < _MIN[ai - 24]:
        raise CBORError("cbor: non-shortest length at offset %d" % (pos - 1))
    return major, arg, pos + n


def _item(buf, pos, end, depth, views, tags):
    start = pos
    major, arg, pos = _head(buf, pos, end)
    if major == 0:
        return arg, pos
    if major == 1:
        return -1 - arg, pos
    if major == 2 or major == 3:
        if arg > end - pos:
            raise CBORError("cbor: string of %d bytes at offset %d overruns the input" % (arg, start))
        v = memoryview(buf)[pos:pos + arg]
        if major == 3:
            try:
                v = str(bytes(v), "utf-8")
            except UnicodeError:
                raise CBORError("cbor: text at offset %d is not UTF-8" % start)
        elif not views:
            v = bytes(v)
        return v, pos + arg
    if depth >= MAX_DEPTH:
        raise CBORError("cbor: nested deeper than %d at offset %d" % (MAX_DEPTH, start))
    if major == 4:
        if arg > end - pos:
            raise CBORError("cbor: array of %d items at offset %d overruns the input" % (arg, start))
        out = []
        for _ in range(arg):
            v, pos = _item(buf, pos, end, depth + 1, views, tags)
            out.append(v)
        return out, pos
    if major == 5:
        if arg > (end - pos) // 2:
            raise CBORError("cbor: map of %d pairs at offset %d overruns the input" % (arg, start))
        out = {}
        for _ in range(arg):
            kpos = pos
            k, pos = _item(buf, pos, end, depth + 1, False, False)
            if not isinstance(k, (int, str)):
                raise CBORError("cbor: map key at offset %d is not an int or text" % kpos)
            if k in out:
                raise CBORError("cbor: duplicate map key %r at offset %d" % (k, kpos))
            out[k], pos = _item(buf, pos, end, depth + 1, views, False)
        return out, pos
    if major == 6:
        if not tags or arg != 18:
            raise CBORError("cbor: tag %d not allowed at offset %d" % (arg, start))
        v, pos = _item(buf, pos, end, depth + 1, views, False)
        return Tag(arg, v), pos
    # major 7: only false, true, null (never floats or other simple values)
    if arg == 20:
        return False, pos
    if arg == 21:
        return True, pos
    if arg == 22:
        return None, pos
    raise CBORError("cbor: float or simple value at offset %d not allowed" % start)


def loads(buf, views=False, tags=False):
    """Decode exactly one item filling all of buf. views=True returns byte
    strings as memoryview slices of buf (no copy); tags=True allows tag 18
    (COSE_Sign1) as an item or array element (never inside a map or tag)."""
    end = len(buf)
    v, pos = _item(buf, 0, end, 0, views, tags)
    if pos != end:
        raise CBORError("cbor: %d trailing bytes after the item at offset %d" % (end - pos, pos))
    return v


def _enc_head(out, major, arg):
    if arg < 24:
        out.append((major << 5) | arg)
    elif arg < 256:
        out.append((major << 5) | 24)
        out.append(arg)
    elif arg < 65536:
        out.append((major << 5) | 25)
        out.extend(struct.pack(">H", arg))
    elif arg < (1 << 32):
        out.append((major << 5) | 26)
        out.extend(struct.pack(">I", arg))
    elif arg < (1 << 64):
        out.append((major << 5) | 27)
        out.extend(struct.pack(">Q", arg))
    else:
        raise CBORError("cbor: integer out of 64-bit range")


def _enc(out, v):
    if v is False or v is True or v is None:
        out.append(0xf4 if v is False else 0xf5 if v is True else 0xf6)
    elif isinstance(v, int):
        if v >= 0:
            _enc_head(out, 0, v)
        else:
            _enc_head(out, 1, -1 - v)
    elif isinstance(v, (bytes, bytearray, memoryview)):
        _enc_head(out, 2, len(v))
        out.extend(v)
    elif isinstance(v, str):
        b = v.encode("utf-8")
        _enc_head(out, 3, len(b))
        out.extend(b)
    elif isinstance(v, (list, tuple)):
        _enc_head(out, 4, len(v))
        for x in v:
            _enc(out, x)
    elif isinstance(v, dict):
        items = []
        for k in v:
            if not isinstance(k, (int, str)):
                raise CBORError("cbor: map key %r is not an int or text" % (k,))
            kb = bytearray()
            _enc(kb, k)
            items.append((bytes(kb), k))
        items.sort()
        _enc_head(out, 5, len(items))
        for kb, k in items:
            out.extend(kb)
            _enc(out, v[k])
    elif isinstance(v, Tag):
        _enc_head(out, 6, v.tag)
        _enc(out, v.value)
    else:
        raise CBORError("cbor: cannot encode %s" % type(v).__name__)


def dumps(v):
    out = bytearray()
    _enc(out, v)
    return bytes(out)
