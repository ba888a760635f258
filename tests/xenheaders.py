"""Xen's own names for the numbers tests put on the wire: hypercall numbers,
sub-ops, interface versions, xenstore message types, read from the public
headers the host build uses (Debian's libxen-dev, /usr/include/xen). Tests
pass these to their MicroPython scenarios instead of writing raw numbers, so
the oracle is Xen's header, not a number somebody here typed.

    from xenheaders import XEN
    XEN.__HYPERVISOR_xsm_op, XEN.FLASK_GETENFORCE, XEN.XS_WRITE

Every header below is read once; a name is the first numeric #define (or
enum member) of that name, so a compatibility redefinition further down a
header (xen.h's old event_channel_op) does not replace the current one."""
import re
from pathlib import Path

INCLUDE = Path("/usr/include/xen")
HEADERS = ("xen.h", "domctl.h", "sysctl.h", "memory.h", "event_channel.h", "hvm/params.h",
           "hvm/hvm_op.h", "xsm/flask_op.h", "io/xs_wire.h", "io/console.h", "vcpu.h",
           "grant_table.h", "version.h", "arch-arm.h", "sched.h", "physdev.h")

_DEFINE = re.compile(r"^\s*#\s*define\s+(\w+)\s+(.+?)\s*(?:/\*.*)?$")
_ENUM = re.compile(r"enum\s+\w*\s*\{(.*?)\}", re.S)


def _value(expr, known):
    expr = re.sub(r"xen_mk_u?l?long\((\w+)\)", r"\1", expr)
    expr = re.sub(r"(\b0[xX][0-9a-fA-F]+|\b\d+)[uUlL]+\b", r"\1", expr)
    if not re.fullmatch(r"[\w\s()|&<>+\-~*]+", expr):
        return None
    try:
        v = eval(expr, {"__builtins__": {}}, dict(known))
    except Exception:
        return None
    return v if isinstance(v, int) else None


def _read():
    known = {}
    missing = [h for h in HEADERS if not (INCLUDE / h).is_file()]
    if missing:
        raise FileNotFoundError("Xen public headers missing under %s: %s (install libxen-dev)"
                                % (INCLUDE, ", ".join(missing)))
    for h in HEADERS:
        text = (INCLUDE / h).read_text(errors="replace")
        for line in text.splitlines():
            m = _DEFINE.match(line)
            if m and m.group(1) not in known:
                v = _value(m.group(2), known)
                if v is not None:
                    known[m.group(1)] = v
        for body in _ENUM.findall(re.sub(r"/\*.*?\*/", "", text, flags=re.S)):
            nxt = 0
            for item in body.split(","):
                item = re.sub(r"#.*", "", item).strip()
                if not item:
                    continue
                name, _, expr = item.partition("=")
                name = name.strip()
                if expr.strip():
                    v = _value(expr.strip(), known)
                    if v is None:
                        break
                    nxt = v
                known.setdefault(name, nxt)
                nxt += 1
    return known


class _Names:
    def __init__(self):
        self._known = None

    def __getattr__(self, name):
        if name.startswith("_") and not name.startswith("__HYPERVISOR"):
            raise AttributeError(name)
        if self._known is None:
            self._known = _read()
        try:
            return self._known[name]
        except KeyError:
            raise AttributeError("%s is not defined in Xen's public headers under %s"
                                 % (name, INCLUDE)) from None


XEN = _Names()
