"""_es256.verify (mbedTLS) against signatures made by `cryptography`,
and the strict CBOR of xen.policy against cbor2. The firmware side is
mp/policy_verify.py."""
import os
from binascii import unhexlify

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from mpfirmware import mp
from policylib import sec1, es256, load_key, TEST_KEY


def test_es256_verify_agrees_with_cryptography():
    cases = []
    key = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    for i in range(12):
        msg = os.urandom(i * 37)
        sig = es256(key, msg)
        cases.append((sec1(key), msg, sig, True))
        bad = bytearray(sig)
        bad[i % 64] ^= 0x80
        cases.append((sec1(key), msg, bytes(bad), False))
        cases.append((sec1(other), msg, sig, False))
        cases.append((sec1(key), msg + b"!", sig, False))
    n = 32
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    sig = es256(key, b"m")
    for r, s in ((0, 1), (1, 0), (order, int.from_bytes(sig[32:], "big")),
                 (int.from_bytes(sig[:32], "big"), order)):
        cases.append((sec1(key), b"m", r.to_bytes(n, "big") + s.to_bytes(n, "big"), False))
    got = mp("policy_verify.verify", [c[:3] for c in cases])
    assert got == [c[3] for c in cases]


PUB = sec1(load_key(TEST_KEY))
# (test id, public key, signature, what the refusal says)
MALFORMED = [
    ("b'\\x04' + b'\\x00' * 64-b'\\x01' * 64-point is not on P-256",
     b"\x04" + b"\x00" * 64, b"\x01" * 64, "point is not on P-256"),
    ("b'\\x02' + b'\\x01' * 32-b'\\x01' * 64-65-byte uncompressed",
     b"\x02" + b"\x01" * 32, b"\x01" * 64, "65-byte uncompressed"),
    ("PUB-b'\\x01' * 63-64 bytes", PUB, b"\x01" * 63, "64 bytes"),
    ("PUB[:-1]-b'\\x01' * 64-65-byte uncompressed", PUB[:-1], b"\x01" * 64, "65-byte uncompressed"),
]


@pytest.mark.parametrize("key,sig,msg", [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_es256_verify_refuses_malformed_input(key, sig, msg):
    r = mp("policy_verify.verify_refuses", key, b"m", sig)
    assert r is not None and r[0] == "ValueError" and msg.split()[-1] in r[1], r


def test_compiled_anchor_is_the_test_key():
    assert mp("policy_verify.anchors") == [PUB]


GOOD = [0, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1, -1, -24, -25, -2**64,
        b"", b"\x00" * 300, "", "h\u00e9", [], [1, [2, [3]]], {}, {"b": 1, "a": 2, 3: None, -1: True},
        False, True, None]


def wire(v):
    """v for mp(): maps as {'map': [[key, value], ...]}, since JSON objects
    have only text keys (mp/policy_verify.py's value() undoes it)."""
    if isinstance(v, dict):
        return {"map": [[wire(k), wire(x)] for k, x in v.items()]}
    if isinstance(v, list):
        return [wire(x) for x in v]
    return v


def test_cbor_encoding_matches_cbor2_canonical():
    # RFC 8949 core deterministic: what cbor2 writes with canonical=True
    # (maps here have keys whose encodings sort the same in both orderings)
    got = mp("policy_verify.encodings", wire(GOOD))
    want = [cbor2.dumps(v, canonical=True) for v in GOOD]
    assert got == want


def test_cbor_round_trip():
    got = mp("policy_verify.round_trips", wire(GOOD))
    assert got == [True] * len(GOOD)


BAD = {
    "1f": "indefinite",
    "": "truncated",
    "18": "truncated",
    "1817": "non-shortest",            # 23 in two bytes
    "190017": "non-shortest",
    "5f": "indefinite",
    "9f": "indefinite",
    "f93c00": "float",
    "fb3ff0000000000000": "float",
    "f7": "float or simple",           # undefined
    "c11a514b67b0": "tag 1 not allowed",
    "d818": "tag 24 not allowed",
    "a2616101616102": "duplicate map key",
    "a1f601": "not an int or text",
    "0000": "trailing",
    "5a7fffffff": "overruns",
    "9b0000000100000000": "overruns",
    "9b00000000ffffffff": "non-shortest",
    "62c328": "not UTF-8",
    "8181818181818181818100": "nested deeper",
}


def test_cbor_strict_refusals():
    got = dict(zip(BAD, mp("policy_verify.refusals", [unhexlify(h) for h in BAD])))
    for h, why in BAD.items():
        assert why in got[h], (h, got[h])
