# Domain configuration: xl.cfg-syntax parser and one-table validator.
# Sans-IO apart from load(), which only reads the file.  See docs/domain.md.


class ConfigError(ValueError):
    # .key: the offending key (or None), .line: 1-based line in the file (or None)
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


# ---------------------------------------------------------------- parser

_IDCH = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
_ESC = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _number(s):
    # strtol(s, 0) as xl does: 0x.. hex, 0.. octal, else decimal
    try:
        if len(s) > 2 and s[1] in "xX" and s[0] == "0":
            return int(s[2:], 16)
        if len(s) > 1 and s[0] == "0":
            return int(s[1:], 8)
        return int(s, 10)
    except ValueError:
        return None


def _lines(text):
    # lines of a string without splitting it all at once
    i = 0
    while i < len(text):
        j = text.find("\n", i)
        j = len(text) if j < 0 else j + 1
        yield text[i:j]
        i = j


def _tokens(src, err):
    # src: iterable of lines.  Yields (kind, value, line); kinds: id num str = += [ ] , ; nl eof
    line = 0
    for text in src:
        line += 1
        i = 0
        n = len(text)
        while i < n:
            c = text[i]
            if c == "\n" or c == "#":
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
                    if i >= n or text[i] == "\n":
                        raise err("unterminated string", line)
                    ch = text[i]
                    if ch == c:
                        i += 1
                        break
                    if ch == "\\":
                        i += 1
                        e = text[i : i + 1]
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
                    else:
                        buf.append(ch)
                        i += 1
                yield ("str", "".join(buf), line)
            elif c in _IDCH:
                j = i
                while j < n and (text[j] in _IDCH or text[j] == "."):
                    j += 1
                word = text[i:j]
                if c in "0123456789":
                    v = _number(word)
                    if v is None:
                        raise err("bad number " + repr(word), line)
                    yield ("num", v, line)
                else:
                    if "." in word:
                        raise err("bad name " + repr(word), line)
                    yield ("id", word, line)
                i = j
            else:
                raise err("unexpected character " + repr(c), line)
        yield ("nl", None, line)
    yield ("eof", None, line)


def parse(text, fname=None):
    # xl.cfg text (a str, or an iterable of lines such as an open file) ->
    # (dict of raw values, dict key -> line).  Values are int, str or list of
    # int/str.  A later `key = v` replaces an earlier one, `key += v` appends
    # (lists) or concatenates (strings), as xl does.
    def err(msg, line, key=None):
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
        key = val
        kline = line
        kind, _, line = next(toks)
        if kind not in ("=", "+="):
            raise err("expected '=' after the name", line, key)
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
                    raise err("bad list", line, key)
        elif kind not in ("str", "num"):
            raise err("expected a value", line, key)
        if append and key in out:
            old = out[key]
            if isinstance(old, list):
                old.extend(val if isinstance(val, list) else [val])
                val = old
            elif isinstance(old, str) and isinstance(val, str):
                val = old + val
            else:
                raise err("'+=' needs a list or string", line, key)
        out[key] = val
        lines[key] = kline
        tok = next(toks)
        if tok[0] not in ("nl", ";", "eof"):
            raise err("expected end of line after the value", tok[2], key)
    return out, lines


def load(path):
    # Read, parse and validate an xl.cfg file.
    try:
        f = open(path)
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
    if [len(p) for p in parts] != [8, 4, 4, 4, 12]:
        raise ValueError("not a UUID")
    for p in parts:
        int(p, 16)


def _check_path(s):
    if not s.startswith("/"):
        raise ValueError("device-tree path must start with '/'")


def _parse_iomem(s):
    # 'START,NUM[@GFN]', hex page numbers
    start, sep, rest = s.partition(",")
    num, at, gfn = rest.partition("@")
    try:
        r = {"start": int(start.strip(), 16), "number": int(num.strip(), 16)}
        r["gfn"] = int(gfn.strip(), 16) if at else r["start"]
    except ValueError:
        raise ValueError("expected 'START,NUM[@GFN]' in hex, got " + repr(s))
    if not sep or r["number"] < 1:
        raise ValueError("expected 'START,NUM[@GFN]' with NUM >= 1, got " + repr(s))
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
        r[k] = v
    mac = r.get("mac")
    if mac is not None:
        o = mac.split(":")
        try:
            if len(o) != 6 or [x for x in o if len(x) != 2 or int(x, 16) < 0]:
                raise ValueError
        except ValueError:
            raise ValueError("bad mac " + repr(mac))
    for k in ("mtu", "devid"):
        if k in r:
            try:
                r[k] = int(r[k])
            except (ValueError, TypeError):
                raise ValueError("vif " + k + " must be a number")
    return r


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
            r[k] = s[k]
    else:
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
    return r


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
    if not isinstance(v, str):
        raise TypeError
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
        if not isinstance(v, str):
            raise TypeError
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
            if not v:
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
        if not isinstance(v, str):
            raise TypeError
        if not lo <= len(v) <= hi:
            raise ValueError("length must be " + str(lo) + ".." + str(hi))
        return v
    if kind == "u":
        if not isinstance(v, str):
            raise TypeError
        _check_uuid(v)
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
    elif cfg["root"] is not None or cfg["extra"] is not None:
        k = "root" if cfg["root"] is not None else "extra"
        raise _key_error("cannot be combined with cmdline", k, lines, fname)
    if cfg["passthrough"] == "disabled" and (cfg["dtdev"]):
        raise _key_error("dtdev needs passthrough enabled", "passthrough", lines, fname)
    if cfg["seclabel"] is None and cfg["init_seclabel"] is not None:
        raise _key_error("needs seclabel as well", "init_seclabel", lines, fname)
    deps = cfg["depends_on"]
    for dev in cfg["vif"] + cfg["disk"]:
        b = dev.get("backend")
        if b and b not in deps and b != "0" and b != "Domain-0":
            try:
                check_name(b)
            except ValueError as e:
                k = "vif" if dev in cfg["vif"] else "disk"
                raise _key_error("backend " + repr(b) + ": " + e.args[0], k, lines, fname)
            deps.append(b)
    if cfg["name"] in deps:
        raise _key_error("a domain cannot depend on itself", "depends_on", lines, fname)
    return cfg


_KIND_NAMES = {"n": "number", "s": "string", "e": "string", "f": "path", "l": "string or number",
               "u": "UUID string", "p": "list of strings", "i": "list of numbers",
               "D": "list of strings", "v": "list of strings", "d": "list of strings",
               "m": "list of strings"}


def doc():
    # [(name, default, doc)] for help texts and docs/domain.md
    return [(e[0], e[4], e[5]) for e in KEYS]
