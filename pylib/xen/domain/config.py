# Domain configuration: xl.cfg-syntax parser and one-table validator.
# Sans-IO apart from load(), which only reads the file.  See docs/domain.md.


class ConfigError(ValueError):
    # .key: the offending key (or None), .line: 1-based line in the file (or
    # None), .fname: the file (None for a dict)
    def __init__(self, msg, key=None, line=None, fname=None):
        where = ""
        if fname is not None:
            where = fname + ":"
            if line is not None:
                where += str(line) + ":"
            where += " "
        elif line is not None:
            where = "line " + str(line) + ": "
        if key is not None:
            msg = key + ": " + msg
        super().__init__(where + msg)
        self.key = key
        self.line = line
        self.fname = fname


# ---------------------------------------------------------------- parser

_IDCH = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
_ESC = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


_HEX = "0123456789abcdefABCDEF"


def _digits(s, base):
    # int(s, base) for a non-empty string of plain ASCII digits only (int()
    # itself takes signs, spaces and underscores), at most 64 of them (no
    # setting needs more; converting a huge one takes long), else None
    if not s or len(s) > 64:
        return None
    ok = _HEX[:base] if base <= 10 else _HEX
    for c in s:
        if c not in ok:
            return None
    try:
        return int(s, base)
    except (ValueError, OverflowError):  # OverflowError: a board without long ints
        return None


def _number(s):
    # strtol(s, 0) as xl does: 0x.. hex, 0.. octal, else decimal
    if len(s) > 2 and s[1] in "xX" and s[0] == "0":
        return _digits(s[2:], 16)
    if len(s) > 1 and s[0] == "0":
        return _digits(s[1:], 8)
    return _digits(s, 10)


def _decode(raw):
    # a line of the file as str; a line that is not UTF-8 becomes a 1-tuple:
    # the text before its first bad byte, found one character at a time
    # (linear in the line's length).
    try:
        return raw.decode()
    except UnicodeError:
        pass
    i = 0
    while i < len(raw):
        c = raw[i]
        n = 1 if c < 0x80 else 2 if 0xC0 <= c < 0xE0 else 3 if 0xE0 <= c < 0xF0 else 4 if 0xF0 <= c < 0xF8 else 0
        try:
            if not n or i + n > len(raw):
                break
            raw[i:i + n].decode()
        except UnicodeError:
            break
        i += n
    return (raw[:i].decode(),)


def _short(s):
    return repr(s) if len(s) <= 40 else repr(s[:40]) + "..."


def _lines(text):
    # lines of a string without splitting it all at once
    i = 0
    while i < len(text):
        j = text.find("\n", i)
        j = len(text) if j < 0 else j + 1
        yield text[i:j]
        i = j


MAX_LINE = 4096


def _tokens(src, err):
    # src: iterable of lines.  Yields (kind, value, line); kinds: id num str = += [ ] , ; nl eof
    line = 0
    for text in src:
        line += 1
        if isinstance(text, bytes):
            text = _decode(text)
        cut = None  # why the line ends before its end
        if isinstance(text, tuple):
            text, cut = text[0], "not UTF-8 text"
        if len(text) > MAX_LINE:
            # (indexing a str is linear in MicroPython: long lines cost squared)
            text, cut = text[:MAX_LINE], "line longer than %d characters" % MAX_LINE
        i = 0
        n = len(text)
        while i < n:
            c = text[i]
            if c == "\n" or c == "#":
                cut = None  # the rest is a comment
                break
            elif c in " \t\r\f\v":
                i += 1
            elif c in "=[],;":
                yield (c, None, line)
                i += 1
            elif c == "+" and text[i + 1 : i + 2] == "=":
                yield ("+=", None, line)
                i += 2
            elif c == "'" or c == '"':
                i += 1
                buf = []
                while True:
                    # the plain run up to the closing quote or a backslash, in one slice
                    q = text.find(c, i)
                    bs = text.find("\\", i, q if q >= 0 else n)
                    j = q if bs < 0 else bs
                    if j < 0 or "\n" in text[i:j]:
                        raise err(cut or "unterminated string", line)
                    buf.append(text[i:j])
                    i = j + 1
                    if j == q:
                        break
                    e = text[i : i + 1]  # after a backslash
                    if e in _ESC:
                        buf.append(_ESC[e])
                        i += 1
                    elif e == "x":
                        v = _number("0x" + text[i + 1 : i + 3])
                        if v is None or len(text[i + 1 : i + 3]) != 2:
                            raise err("bad \\x escape in string", line)
                        buf.append(chr(v))
                        i += 3
                    elif e and e in "01234567":
                        j = i
                        while j < n and j < i + 3 and text[j] in "01234567":
                            j += 1
                        buf.append(chr(int(text[i:j], 8)))
                        i = j
                    else:
                        raise err("unknown escape \\" + e + " in string", line)
                yield ("str", "".join(buf), line)
            elif c in _IDCH:
                j = i
                while j < n and (text[j] in _IDCH or text[j] == "."):
                    j += 1
                word = text[i:j]
                if c in "0123456789":
                    v = _number(word)
                    if v is None:
                        raise err("bad number " + _short(word), line)
                    yield ("num", v, line)
                else:
                    if "." in word:
                        raise err("bad name " + _short(word), line)
                    yield ("id", word, line)
                i = j
            else:
                raise err("unexpected character " + repr(c), line)
        if cut:
            raise err(cut, line)
        yield ("nl", None, line)
    yield ("eof", None, line)


def parse(text, fname=None):
    # xl.cfg text (a str, or an iterable of lines such as an open file, str or
    # bytes) -> (dict of raw values, dict key -> line).  Values are int, str or
    # list of int/str.  A later `key = v` replaces an earlier one, `key += v`
    # appends (lists) or concatenates (strings), as xl does.  Every error
    # names the line and, from the setting's name on, the setting.
    cur = [None]  # the setting being read

    def err(msg, line, key=None):
        key = key or cur[0]
        if key is None:
            msg += " (where a setting name should start)"
        return ConfigError(msg, key, line, fname)

    toks = _tokens(_lines(text) if isinstance(text, str) else text, err)
    out = {}
    lines = {}
    tok = next(toks)
    while tok[0] != "eof":
        kind, val, line = tok
        if kind == "nl" or kind == ";":
            tok = next(toks)
            continue
        if kind != "id":
            raise err("expected a setting name", line)
        key = cur[0] = val
        kline = line
        kind, _, line = next(toks)
        if kind not in ("=", "+="):
            raise err("expected '=' after the name", line)
        append = kind == "+="
        kind, val, line = next(toks)
        if kind == "[":
            val = []
            want_item = True
            while True:
                kind, v, line = next(toks)
                if kind == "nl":
                    continue
                if kind == "]":
                    break
                if want_item and kind in ("str", "num"):
                    val.append(v)
                    want_item = False
                elif not want_item and kind == ",":
                    want_item = True
                else:
                    raise err("bad list", line)
        elif kind not in ("str", "num"):
            raise err("expected a value", line)
        if append and key in out:
            old = out[key]
            if isinstance(old, list):
                old.extend(val if isinstance(val, list) else [val])
                val = old
            elif isinstance(old, str) and isinstance(val, str):
                val = old + val
            else:
                raise err("'+=' needs a list or string", line)
        out[key] = val
        lines[key] = kline
        tok = next(toks)
        if tok[0] not in ("nl", ";", "eof"):
            raise err("expected end of line after the value", tok[2])
        cur[0] = None
    return out, lines


def load(path):
    # Read, parse and validate an xl.cfg file.
    try:
        f = open(path, "rb")  # bytes: a line that is not UTF-8 is an error naming it
    except OSError as e:
        raise ConfigError("cannot read config file (" + str(e) + ")", None, None, path)
    try:
        raw, lines = parse(f, path)
    finally:
        f.close()
    return validate(raw, lines, path)


# ---------------------------------------------------------------- the table

# (name, kind, lo, hi, default, doc).  Kinds:
#  n int in [lo, hi]          s str, length in [lo, hi]       e one of lo
#  f file: path (or, in a dict, a readable object)           l seclabel: str or ssidref int
#  u uuid string  p list of DT paths  i list of ints in [lo, hi]  D list of domain names
#  v vif specs    d disk specs         m iomem specs
# hi on list kinds is the maximum number of items.
KEYS = (
    ("name", "s", 1, 64, None, "domain name (required): [A-Za-z0-9_.-], not all digits"),
    ("type", "e", ("pvh",), None, "pvh", "guest type; Arm guests are always pvh"),
    ("uuid", "u", None, None, None, "domain handle; a random v4 UUID if absent"),
    ("memory", "n", 1, 1 << 20, 128, "initial RAM in MiB"),
    ("maxmem", "n", 1, 1 << 20, None, "maximum RAM in MiB (default: memory)"),
    ("vcpus", "n", 1, 128, 1, "vCPUs online at boot"),
    ("maxvcpus", "n", 1, 128, None, "vCPUs the domain may have (default: vcpus)"),
    ("kernel", "f", None, None, None, "kernel image: arm64 Image, Image.gz or uImage (required)"),
    ("ramdisk", "f", None, None, None, "initrd/initramfs, loaded raw (or a uImage ramdisk)"),
    ("cmdline", "s", 0, 2047, None, "kernel command line; replaces root and extra"),
    ("root", "s", 0, 2047, None, "becomes 'root=<value>' at the start of the command line"),
    ("extra", "s", 0, 2047, None, "appended to the command line"),
    ("device_tree", "f", None, None, None, "partial device tree (DTB) for passthrough nodes"),
    ("dtdev", "p", 0, 64, (), "host device-tree paths assigned to the guest"),
    ("irqs", "i", 32, 1019, (), "host SPIs routed 1:1 to the guest"),
    ("iomem", "m", 0, 64, (), "'START,NUM[@GFN]' hex page ranges mapped into the guest"),
    ("passthrough", "e", ("default", "disabled", "enabled", "share_pt", "sync_pt"), None, "default",
     "IOMMU use; default enables it when dtdev is set"),
    ("seclabel", "l", 1, 255, None, "XSM label (or numeric ssidref) of the running domain"),
    ("init_seclabel", "l", 1, 255, None, "XSM label used while building; relabel to seclabel after"),
    ("gic_version", "e", ("native", "v2", "v3"), None, "native", "virtual GIC version"),
    ("tee", "e", ("none", "optee"), None, "none", "TEE mediator; optee adds a firmware/optee node"),
    ("max_grant_frames", "n", 1, 4096, 64, "grant table frames"),
    ("max_maptrack_frames", "n", 0, 1 << 20, 1024, "maptrack frames"),
    ("max_event_channels", "n", 1, 131072, 1023, "highest event channel port + 1"),
    ("on_poweroff", "e", ("destroy", "restart", "preserve", "rename-restart"), None, "destroy",
     "action when the guest powers off"),
    ("on_reboot", "e", ("destroy", "restart", "preserve", "rename-restart"), None, "restart",
     "action when the guest reboots"),
    ("on_crash", "e", ("destroy", "restart", "preserve", "rename-restart"), None, "destroy",
     "action when the guest crashes"),
    ("vif", "v", 0, 32, (), "network interfaces, xl vif spec strings"),
    ("disk", "d", 0, 32, (), "block devices, xl disk spec strings"),
    ("depends_on", "D", 0, 16, (), "domains that must be running before this one starts;"
     " backend= of every vif and disk is added automatically"),
)

_NAMECH = _IDCH + ".-"
DOM0_NAME = "Domain-0"


def _key_error(msg, key, lines, fname):
    return ConfigError(msg, key, lines.get(key) if lines else None, fname)


def _tname(v):
    if isinstance(v, str):
        return "string"
    if isinstance(v, int):
        return "number"
    if isinstance(v, (list, tuple)):
        return "list"
    return type(v).__name__


def check_name(s):
    # Raise ValueError unless s is a valid domain name.
    if not 1 <= len(s) <= 64:
        raise ValueError("must be 1 to 64 characters")
    for c in s:
        if c not in _NAMECH:
            raise ValueError("character " + repr(c) + " not allowed")
    if _number(s) is not None and s[0] in "0123456789":
        raise ValueError("must not be a number")


def _check_uuid(s):
    parts = s.split("-")
    if [len(p) for p in parts] != [8, 4, 4, 4, 12] or [p for p in parts if _digits(p, 16) is None]:
        raise ValueError("not a UUID")


def _str(v):
    # a string value: every one ends up as a C string (a path, a xenstore
    # node, a DT property), where a NUL would silently cut it
    if not isinstance(v, str):
        raise TypeError
    if "\x00" in v:
        raise ValueError("contains a NUL byte")
    return v


def _check_path(s):
    if not s.startswith("/"):
        raise ValueError("device-tree path must start with '/'")


MAX_FRAME = 1 << 52  # page frames of a 64-bit physical address space


def _hexnum(s):
    s = s.strip()
    if s[:2] in ("0x", "0X"):
        s = s[2:]
    return _digits(s, 16)


def _parse_iomem(s):
    # 'START,NUM[@GFN]', hex page numbers
    start, sep, rest = s.partition(",")
    num, at, gfn = rest.partition("@")
    r = {"start": _hexnum(start), "number": _hexnum(num)}
    r["gfn"] = _hexnum(gfn) if at else r["start"]
    if None in r.values() or not sep:
        raise ValueError("expected 'START,NUM[@GFN]' in hex, got " + repr(s))
    if r["number"] < 1:
        raise ValueError("expected 'START,NUM[@GFN]' with NUM >= 1, got " + repr(s))
    if r["start"] + r["number"] > MAX_FRAME or r["gfn"] + r["number"] > MAX_FRAME:
        raise ValueError("page range beyond 2^52 frames in " + repr(s))
    return r


_VIF_KEYS = ("mac", "bridge", "backend", "ip", "script", "type", "vifname", "model",
             "rate", "gatewaydev", "mtu", "devid", "trusted", "untrusted")


def _parse_vif(s):
    # 'key=value,key=value' -> dict
    r = {}
    if isinstance(s, dict):
        items = list(s.items())
    else:
        items = []
        for part in s.split(","):
            part = part.strip()
            if not part:
                continue
            k, eq, v = part.partition("=")
            items.append((k.strip(), v.strip() if eq else ""))
    for k, v in items:
        if k not in _VIF_KEYS:
            raise ValueError("unknown vif option " + repr(k))
        if not (isinstance(v, int) and k in _VIF_NUMBERS):
            _str(v)
        r[k] = v
    mac = r.get("mac")
    if mac is not None:
        o = mac.split(":")
        if len(o) != 6 or [x for x in o if len(x) != 2 or _digits(x, 16) is None]:
            raise ValueError("bad mac " + repr(mac))
    for k in _VIF_NUMBERS:
        if k in r:
            lo, hi = _VIF_NUMBERS[k]
            v = r[k] if isinstance(r[k], int) else _digits(r[k], 10)
            if v is None or not lo <= v <= hi:
                raise ValueError("vif " + k + " must be a number in " + str(lo) + ".." + str(hi))
            r[k] = v
    return r


_VIF_NUMBERS = {"mtu": (68, 65535), "devid": (0, 0x7FFFFFFF)}


_DISK_KEYS = ("target", "format", "vdev", "access", "devtype", "backend", "backendtype",
              "script", "discard", "no-discard", "direct-io-safe", "trusted", "untrusted")
_FORMATS = ("raw", "qcow", "qcow2", "vhd", "qed")
_ACCESS = {"r": "ro", "ro": "ro", "w": "rw", "rw": "rw"}


def _parse_disk(s):
    # xl disk spec: positional 'target,format,vdev,access' (4), 'target,vdev,access' (3),
    # 'target,vdev' (2) mixed with key=value; 'target=' takes the rest of the string.
    r = {}
    pos = []
    if isinstance(s, dict):
        for k in s:
            v = s[k]
            if not isinstance(v, bool):
                _str(v)
            r[k] = v
    else:
        _str(s)
        rest = s
        while rest:
            part, sep, rest = rest.partition(",")
            p = part.strip()
            if p.startswith("target="):
                r["target"] = (p + sep + rest)[7:].strip()
                break
            k, eq, v = p.partition("=")
            if eq and k.strip() in _DISK_KEYS:
                r[k.strip()] = v.strip()
            elif p in ("discard", "no-discard", "direct-io-safe"):
                r[p] = True
            elif eq:
                raise ValueError("unknown disk option " + repr(k.strip()))
            else:
                pos.append(p)
    for k in r:
        if k not in _DISK_KEYS:
            raise ValueError("unknown disk option " + repr(k))
    names = (("target", "format", "vdev", "access"), ("target", "vdev", "access"),
             ("target", "vdev"), ("vdev",))
    if len(pos) > 4:
        raise ValueError("too many positional disk parameters")
    if pos:
        for k, v in zip(names[4 - len(pos)], pos):
            if k in r:
                raise ValueError("disk " + k + " given twice")
            r[k] = v
    t = r.get("target", "")
    # legacy prefixes on the target: phy:, file:, tap:[aio:], <format>:
    while True:
        pfx, colon, after = t.partition(":")
        if not colon or "/" in pfx:
            break
        if pfx == "phy":
            r.setdefault("backendtype", "phy")
        elif pfx == "tap" or pfx == "tap2":
            r.setdefault("backendtype", "tap")
        elif pfx == "file" or pfx == "aio":
            r.setdefault("format", "raw")
        elif pfx in _FORMATS:
            r.setdefault("format", pfx)
        else:
            break
        t = after
    r["target"] = t
    vdev = r.get("vdev")
    if not vdev:
        raise ValueError("disk needs a vdev")
    v, colon, dt = vdev.partition(":")
    if colon:
        r["vdev"] = v
        r["devtype"] = dt
    r["access"] = _ACCESS.get(r.get("access", "rw"))
    if r["access"] is None:
        raise ValueError("disk access must be r, ro, w or rw")
    r.setdefault("format", "raw")
    if r["format"] not in _FORMATS:
        raise ValueError("unknown disk format " + repr(r["format"]))
    r.setdefault("devtype", "disk")
    if r["devtype"] not in ("disk", "cdrom"):
        raise ValueError("disk devtype must be disk or cdrom")
    if r.get("backendtype", "phy") not in ("phy", "qdisk", "tap"):
        raise ValueError("unknown backendtype " + repr(r["backendtype"]))
    if not r["target"] and r["devtype"] != "cdrom":
        raise ValueError("disk needs a target")
    vdev_number(r["vdev"])
    return r


def vdev_number(vdev):
    """Linux's encoding of a virtual disk name (xvda -> 51712), with libxl's
    limits; ValueError for anything else."""
    for prefix, major, disks, parts in (("xvd", 202, 1 << 20, 256), ("sd", 8, 16, 16), ("hd", 3, 16, 16)):
        if vdev.startswith(prefix):
            rest = vdev[len(prefix):]
            letters = ""
            while rest and "a" <= rest[0] <= "z":
                letters += rest[0]
                rest = rest[1:]
            part = _digits(rest, 10) if rest else 0
            if not letters or part is None or len(letters) > 5:
                break
            disk = 0
            for ch in letters:
                disk = disk * 26 + (ord(ch) - 96)
            disk -= 1
            if disk >= disks or part >= parts:
                break
            if disk < 16 and part < 16:
                return (major << 8) | (disk << 4) | part
            return (1 << 28) | (disk << 8) | part
    n = _digits(vdev, 10)
    if n is not None and n <= 0x7FFFFFFF:
        return n
    raise ValueError("vdev %r: not an xvd, sd or hd name (or a device number)" % vdev)


def _check_item(kind, lo, hi, v):
    # one list item -> normalised item, or ValueError
    if kind == "i":
        if not isinstance(v, int):
            raise TypeError
        if not lo <= v <= hi:
            raise ValueError(str(v) + " out of range " + str(lo) + ".." + str(hi))
        return v
    if kind == "v":
        if not isinstance(v, (str, dict)):
            raise TypeError
        return _parse_vif(v)
    if kind == "d":
        if not isinstance(v, (str, dict)):
            raise TypeError
        return _parse_disk(v)
    if kind == "m":
        if isinstance(v, dict):
            return _parse_iomem("%x,%x@%x" % (v["start"], v["number"], v.get("gfn", v["start"])))
        if not isinstance(v, str):
            raise TypeError
        return _parse_iomem(v)
    _str(v)
    if kind == "p":
        _check_path(v)
    else:  # D
        check_name(v)
    return v


def _check(kind, lo, hi, v):
    # -> normalised value, or TypeError (wrong type) / ValueError (bad value)
    if kind == "n":
        if not isinstance(v, int):
            raise TypeError
        if not lo <= v <= hi:
            raise ValueError(str(v) + " out of range " + str(lo) + ".." + str(hi))
        return v
    if kind == "s":
        _str(v)
        if not lo <= len(v) <= hi:
            raise ValueError("length must be " + str(lo) + ".." + str(hi))
        return v
    if kind == "e":
        if not isinstance(v, str):
            raise TypeError
        if v not in lo:
            raise ValueError(repr(v) + " is not one of " + ", ".join(lo))
        return v
    if kind == "f":
        if isinstance(v, str):
            if not _str(v):
                raise ValueError("empty path")
            return v
        if hasattr(v, "readinto") or hasattr(v, "read"):
            return v
        raise TypeError
    if kind == "l":
        if isinstance(v, int):
            if not 0 <= v <= 0xFFFFFFFF:
                raise ValueError("ssidref out of range")
            return v
        _str(v)
        if not lo <= len(v) <= hi:
            raise ValueError("length must be " + str(lo) + ".." + str(hi))
        return v
    if kind == "u":
        _check_uuid(_str(v))
        return v.lower()
    # list kinds: a single item is accepted as a one-item list, as xl does
    if not isinstance(v, (list, tuple)):
        v = [v]
    if len(v) > (128 if kind == "i" else hi):
        raise ValueError("too many items")
    return [_check_item(kind, lo, hi, x) for x in v]


def validate(raw, lines=None, fname=None):
    # dict (from parse() or the user) -> normalised dict with every table key.
    if not isinstance(raw, dict):
        raise ConfigError("configuration must be a dict or a file path")
    for key in raw:
        for ent in KEYS:
            if ent[0] == key:
                break
        else:
            raise _key_error("unknown setting", key, lines, fname)
    cfg = {}
    for name, kind, lo, hi, default, doc in KEYS:
        v = raw.get(name)
        if v is None:
            cfg[name] = list(default) if isinstance(default, tuple) else default
            continue
        try:
            cfg[name] = _check(kind, lo, hi, v)
        except TypeError:
            raise _key_error("wrong type " + _tname(v) + " (expected " + _KIND_NAMES[kind] + ")",
                             name, lines, fname)
        except ValueError as e:
            raise _key_error(str(e.args[0]) if e.args else "bad value", name, lines, fname)
    # cross-key rules
    if cfg["name"] is None:
        raise _key_error("required setting missing", "name", lines, fname)
    try:
        check_name(cfg["name"])
    except ValueError as e:
        raise _key_error(e.args[0], "name", lines, fname)
    if cfg["name"] == DOM0_NAME:
        raise _key_error("'Domain-0' is the control domain's own name", "name", lines, fname)
    if cfg["kernel"] is None:
        raise _key_error("required setting missing", "kernel", lines, fname)
    if cfg["maxmem"] is None:
        cfg["maxmem"] = cfg["memory"]
    elif cfg["maxmem"] < cfg["memory"]:
        raise _key_error("smaller than memory (" + str(cfg["memory"]) + ")", "maxmem", lines, fname)
    if cfg["maxvcpus"] is None:
        cfg["maxvcpus"] = cfg["vcpus"]
    elif cfg["maxvcpus"] < cfg["vcpus"]:
        raise _key_error("smaller than vcpus (" + str(cfg["vcpus"]) + ")", "maxvcpus", lines, fname)
    if cfg["cmdline"] is None:
        parts = []
        if cfg["root"]:
            parts.append("root=" + cfg["root"])
        if cfg["extra"]:
            parts.append(cfg["extra"])
        cfg["cmdline"] = " ".join(parts)
        if len(cfg["cmdline"]) > 2047:
            raise _key_error("the command line root=<root> <extra> is longer than 2047 characters",
                             "extra" if cfg["extra"] else "root", lines, fname)
    elif cfg["root"] is not None or cfg["extra"] is not None:
        k = "root" if cfg["root"] is not None else "extra"
        raise _key_error("cannot be combined with cmdline", k, lines, fname)
    if cfg["passthrough"] == "disabled" and (cfg["dtdev"]):
        raise _key_error("dtdev needs passthrough enabled", "passthrough", lines, fname)
    if cfg["seclabel"] is None and cfg["init_seclabel"] is not None:
        raise _key_error("needs seclabel as well", "init_seclabel", lines, fname)
    # the same device twice (what devices.plan numbers them by)
    seen = {}
    for i, v in enumerate(cfg["vif"]):
        devid = v.get("devid", i)
        if devid in seen:
            raise _key_error("devid %d used twice" % devid, "vif", lines, fname)
        seen[devid] = 1
    seen = {}
    for d in cfg["disk"]:
        n = vdev_number(d["vdev"])
        if n in seen:
            raise _key_error("vdev %s is the same device as %s" % (d["vdev"], seen[n]), "disk", lines, fname)
        seen[n] = d["vdev"]
    # the control domain is always running: nothing to wait for
    deps = cfg["depends_on"] = [d for d in cfg["depends_on"] if d != DOM0_NAME]
    if cfg["name"] in deps:
        raise _key_error("a domain cannot depend on itself", "depends_on", lines, fname)
    for k in ("vif", "disk"):
        for dev in cfg[k]:
            b = dev.get("backend")
            if b and b not in deps and b != "0" and b != DOM0_NAME:
                try:
                    check_name(b)
                except ValueError as e:
                    raise _key_error("backend " + repr(b) + ": " + e.args[0], k, lines, fname)
                if b == cfg["name"]:
                    raise _key_error("backend " + repr(b) + ": a domain cannot depend on itself",
                                     k, lines, fname)
                deps.append(b)
    return cfg


_KIND_NAMES = {"n": "number", "s": "string", "e": "string", "f": "path", "l": "string or number",
               "u": "UUID string", "p": "list of strings", "i": "list of numbers",
               "D": "list of strings", "v": "list of strings", "d": "list of strings",
               "m": "list of strings"}


def doc():
    # [(name, default, doc)] for help texts and docs/domain.md
    return [(e[0], e[4], e[5]) for e in KEYS]
