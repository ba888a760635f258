# Shared by tests/domain's scenarios: a refusal as what pytest checks (the
# exception's type, message and classes), a digest pytest compares with its
# own hashlib, and the kernel stand-in xen.domain.arm64 plans for.
import binascii
import hashlib


def classes(t):
    """The names of t and its bases, nearest first (MicroPython has no __mro__)."""
    out = []
    while t is not None:
        out.append(t.__name__)
        b = getattr(t, '__bases__', ())
        t = b[0] if b else None
    return out


def refusal(f, *a, **k):
    """None if f(*a, **k) returns, else what it raised: [type name, message,
    names of its classes]. (mptest.fails gives an OSError's errno instead.)"""
    try:
        f(*a, **k)
    except Exception as e:
        return [type(e).__name__, str(e), classes(type(e))]
    return None


def sha(b):
    """SHA-256 of b as hex, as pytest's hashlib.sha256(...).hexdigest()."""
    return binascii.hexlify(hashlib.sha256(b).digest()).decode()


class K:
    """What arm64.build needs of a kernel image: its placement fields."""

    def __init__(self, text_offset=0, load=None, entry=None, mem_size=None):
        self.text_offset = text_offset
        self.load = load
        self.entry = entry
        self.mem_size = mem_size
