# The firmware's half of tests/mpfirmware.py's mp(): it imports a test
# folder's scenario module, calls one function with the arguments pytest
# sent, and prints the result as one JSON line for pytest to read.
#
# bytes travel both ways as {"bytes": "<hex>"} (JSON has no bytes); tuples
# arrive as lists. Anything a scenario raises is left to propagate: the
# firmware prints the traceback and exits non-zero, and the test fails with it.
#
# Owns: the call convention and the bytes encoding. Must not know: any test.
import json
import sys
from binascii import hexlify, unhexlify

MARK = "@@mp-result@@"


def encode(o):
    if isinstance(o, (bytes, bytearray, memoryview)):
        return {"bytes": hexlify(bytes(o)).decode()}
    if isinstance(o, (list, tuple)):
        return [encode(x) for x in o]
    if isinstance(o, dict):
        return {k: encode(v) for k, v in o.items()}
    return o


def decode(o):
    if isinstance(o, dict):
        if len(o) == 1 and "bytes" in o:
            return unhexlify(o["bytes"])
        return {k: decode(v) for k, v in o.items()}
    if isinstance(o, list):
        return [decode(x) for x in o]
    return o


def fails(f, *a, **k):
    """What calling f raised, for a scenario that expects a refusal:
    None if nothing, else [type name, errno] for an OSError and
    [type name, message] for anything else."""
    try:
        f(*a, **k)
    except OSError as e:
        return [type(e).__name__, e.errno]
    except Exception as e:
        return [type(e).__name__, str(e)]
    return None


def errno_of(f, *a, **k):
    """None if f(*a, **k) succeeds, the errno of the OSError it raises."""
    try:
        f(*a, **k)
    except OSError as e:
        return e.errno
    return None


def main(module, func, args, kwargs):
    m = __import__(module)
    r = getattr(m, func)(*decode(json.loads(args)), **decode(json.loads(kwargs)))
    sys.stdout.write(MARK + json.dumps(encode(r)) + "\n")
