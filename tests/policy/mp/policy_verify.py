# tests/policy/test_policy_verify.py's firmware side: _es256.verify
# (mbedTLS) on signatures `cryptography` made, the compiled-in anchors, and
# xen.policy's strict CBOR on values and encodings cbor2 checks.
import _es256
from xen.policy import cbor

import mptest


def verify(cases):
    """cases: [public key, message, signature]: verify()'s answer for each."""
    return [_es256.verify(k, m, s) for k, m, s in cases]


def verify_refuses(key, msg, sig):
    return mptest.fails(_es256.verify, key, msg, sig)


def anchors():
    return list(_es256.policy_anchors())


def value(o):
    """A value from the test: maps arrive as {'map': [[key, value], ...]}
    (JSON objects have only text keys)."""
    if isinstance(o, dict):
        return dict((value(k), value(v)) for k, v in o['map'])
    if isinstance(o, list):
        return [value(x) for x in o]
    return o


def encodings(values):
    return [cbor.dumps(value(v)) for v in values]


def round_trips(values):
    out = []
    for v in values:
        v = value(v)
        out.append(cbor.loads(cbor.dumps(v)) == v)
    return out


def refusals(encoded):
    """cbor.loads() of each: 'ACCEPTED' or the CBORError's text."""
    out = []
    for b in encoded:
        try:
            cbor.loads(b)
            out.append('ACCEPTED')
        except cbor.CBORError as e:
            out.append(str(e))
    return out
