"""_es256.verify (mbedTLS) against signatures made by `cryptography`,
and the strict CBOR of xen.policy against cbor2."""
import os

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives import hashes

from policylib import sec1, es256, load_key, TEST_KEY


def test_es256_verify_agrees_with_cryptography(firmware):
    cases = []
    key = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    for i in range(12):
        msg = os.urandom(i * 37)
        sig = es256(key, msg)
        cases.append((sec1(key).hex(), msg.hex(), sig.hex(), True))
        bad = bytearray(sig)
        bad[i % 64] ^= 0x80
        cases.append((sec1(key).hex(), msg.hex(), bytes(bad).hex(), False))
        cases.append((sec1(other).hex(), msg.hex(), sig.hex(), False))
        cases.append((sec1(key).hex(), (msg + b"!").hex(), sig.hex(), False))
    n = 32
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    sig = es256(key, b"m")
    for r, s in ((0, 1), (1, 0), (order, int.from_bytes(sig[32:], "big")),
                 (int.from_bytes(sig[:32], "big"), order)):
        cases.append((sec1(key).hex(), b"m".hex(), (r.to_bytes(n, "big") + s.to_bytes(n, "big")).hex(), False))
    got = firmware.json(
        "import _es256, binascii\nu = binascii.unhexlify\nemit([_es256.verify(u(k), u(m), u(s)) for k, m, s, _ in %r])"
        % (cases,))
    assert got == [c[3] for c in cases]


@pytest.mark.parametrize("key,sig,msg", [
    ("b'\\x04' + b'\\x00' * 64", "b'\\x01' * 64", "point is not on P-256"),
    ("b'\\x02' + b'\\x01' * 32", "b'\\x01' * 64", "65-byte uncompressed"),
    ("PUB", "b'\\x01' * 63", "64 bytes"),
    ("PUB[:-1]", "b'\\x01' * 64", "65-byte uncompressed"),
])
def test_es256_verify_refuses_malformed_input(firmware, key, sig, msg):
    pub = sec1(load_key(TEST_KEY))
    out = firmware.run("import _es256\nPUB = %r\ntry:\n _es256.verify(%s, b'm', %s)\n"
                       "except ValueError as e:\n print('@@ERR', e)\n" % (pub, key, sig))
    assert "@@ERR" in out and msg.split()[-1] in out, out


def test_compiled_anchor_is_the_test_key(firmware):
    got = firmware.json("import _es256\nemit([k.hex() for k in _es256.policy_anchors()])")
    assert got == [sec1(load_key(TEST_KEY)).hex()]


GOOD = [0, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1, -1, -24, -25, -2**64,
        b"", b"\x00" * 300, "", "h\u00e9", [], [1, [2, [3]]], {}, {"b": 1, "a": 2, 3: None, -1: True},
        False, True, None]


def test_cbor_encoding_matches_cbor2_canonical(firmware):
    # RFC 8949 core deterministic: what cbor2 writes with canonical=True
    # (maps here have keys whose encodings sort the same in both orderings)
    got = firmware.json(
        "from xen.policy import cbor\nimport binascii\n"
        "emit([binascii.hexlify(cbor.dumps(v)).decode() for v in %r])" % (GOOD,))
    want = [cbor2.dumps(v, canonical=True).hex() for v in GOOD]
    assert got == want


def test_cbor_round_trip(firmware):
    got = firmware.json(
        "from xen.policy import cbor\nimport binascii\n"
        "emit([cbor.loads(cbor.dumps(v)) == v for v in %r])" % (GOOD,))
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


def test_cbor_strict_refusals(firmware):
    got = firmware.json(
        "from xen.policy import cbor\nimport binascii\nout = {}\n"
        "for h in %r:\n"
        "    try:\n        cbor.loads(binascii.unhexlify(h)); out[h] = 'ACCEPTED'\n"
        "    except cbor.CBORError as e:\n        out[h] = str(e)\n"
        "emit(out)" % (list(BAD),))
    for h, why in BAD.items():
        assert why in got[h], (h, got[h])
