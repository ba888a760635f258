"""tools/modxen-policy and tools/policy-anchors-h, checked against an
independent COSE reading (cbor2 + cryptography) and against the firmware
(mp/policydev.py)."""
import hashlib
import subprocess
import sys

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.exceptions import InvalidSignature

from mpfirmware import mp
from policylib import ROOT, TEST_PUB, tool, policy_files


@pytest.fixture
def src(tmp_path):
    d = tmp_path / "pol"
    (d / "lib").mkdir(parents=True)
    for n, b in policy_files(4).items():
        (d / n).write_bytes(b)
    (d / "lib" / "net.py").write_bytes(b"X = 1\n")
    return d


def test_keygen_writes_a_p256_pair_and_refuses_to_overwrite(tmp_path):
    tool("keygen", tmp_path / "k")
    key = serialization.load_pem_private_key((tmp_path / "k" / "policy.key").read_bytes(), None)
    pub = serialization.load_pem_public_key((tmp_path / "k" / "policy.pub").read_bytes())
    assert key.curve.name == "secp256r1" and key.public_key() == pub
    assert (tmp_path / "k" / "policy.key").stat().st_mode & 0o077 == 0
    p = tool("keygen", tmp_path / "k", check=False)
    assert p.returncode == 1 and "refusing to overwrite" in p.stderr


def test_sign_verify_inspect(tmp_path, src):
    tool("keygen", tmp_path / "k")
    out = tmp_path / "p.bundle"
    tool("sign", "--key", tmp_path / "k" / "policy.key", "--version", 4, "--counter", 2,
         "--target", "modxen,board-x", src, out)
    p = tool("verify", "--pub", tmp_path / "k" / "policy.pub", out)
    assert "OK" in p.stdout and "version 4, counter 2, target modxen,board-x, 3 files" in p.stdout
    p = tool("inspect", out)
    assert "lib/net.py" in p.stdout and "signature NOT checked" in p.stdout and "MISMATCH" not in p.stdout
    # another key does not verify it
    p = tool("verify", "--pub", TEST_PUB, out, check=False)
    assert p.returncode == 1 and "UnknownKeyError" in p.stderr
    # a flipped file byte is found
    data = bytearray(out.read_bytes())
    i = data.index(b"X = 1")
    data[i] ^= 1
    out.write_bytes(bytes(data))
    p = tool("verify", "--pub", tmp_path / "k" / "policy.pub", out, check=False)
    assert p.returncode == 1 and "lib/net.py" in p.stderr and "SHA-256" in p.stderr
    assert "MISMATCH" in tool("inspect", out).stdout


def test_sign_refuses_a_directory_without_boot_py_and_bad_names(tmp_path, src):
    (src / "boot.py").unlink()
    p = tool("sign", "--key", ROOT / "keys/test-only/policy.key", "--version", 1, "--counter", 1,
             src, tmp_path / "x", check=False)
    assert p.returncode == 1 and "boot.py" in p.stderr
    (src / "boot.py").write_bytes(b"pass\n")
    (src / ".hidden").write_bytes(b"x")
    p = tool("sign", "--key", ROOT / "keys/test-only/policy.key", "--version", 1, "--counter", 1,
             src, tmp_path / "x", check=False)
    assert p.returncode == 1 and ".hidden" in p.stderr and not (tmp_path / "x").exists()


def test_bundle_is_standard_cose_sign1(tmp_path, src):
    """Read the bundle with a general CBOR library and check the ES256
    signature over RFC 9052's Sig_structure with `cryptography` alone."""
    out = tmp_path / "p.bundle"
    tool("sign", "--key", ROOT / "keys/test-only/policy.key", "--version", 4, "--counter", 2, src, out)
    magic, cose, files = cbor2.loads(out.read_bytes())
    assert magic == "modxen.policy/1" and isinstance(cose, cbor2.CBORTag) and cose.tag == 18
    prot, unprot, payload, sig = cose.value
    assert cbor2.loads(prot)[1] == -7 and unprot == {} and len(sig) == 64
    tbs = cbor2.dumps(["Signature1", prot, b"", payload])
    pub = serialization.load_pem_public_key(TEST_PUB.read_bytes())
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    pub.verify(der, tbs, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        pub.verify(der, tbs + b"x", ec.ECDSA(hashes.SHA256()))
    m = cbor2.loads(payload)
    assert m["version"] == 4 and m["counter"] == 2 and m["target"] == "modxen,sim"
    assert [e[0] for e in m["files"]] == ["boot.py", "helper.py", "lib/net.py"]
    for (name, size, digest), data in zip(m["files"], files):
        assert len(data) == size and hashlib.sha256(data).digest() == digest
    # kid: first 8 bytes of SHA-256 of the SEC1 key
    sec1 = pub.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    assert cbor2.loads(prot)[4] == hashlib.sha256(sec1).digest()[:8]


def test_tool_bundle_installs_on_the_firmware(tmp_path, src):
    out = tmp_path / "p.bundle"
    tool("sign", "--key", ROOT / "keys/test-only/policy.key", "--version", 4, "--counter", 2, src, out)
    got = mp("policydev.install_and_boot", str(out), env={"MODXEN_STATE": str(tmp_path / "st")})
    assert got["version"] == 4 and got["state"] == "trial"
    assert (tmp_path / "st" / "a" / "lib" / "net.py").read_bytes() == b"X = 1\n"


def anchors_h(*args):
    return subprocess.run([sys.executable, str(ROOT / "tools" / "policy-anchors-h"), *map(str, args)],
                          capture_output=True, text=True, timeout=30)


def test_anchors_header(tmp_path):
    out = tmp_path / "a.h"
    assert anchors_h(out, TEST_PUB).returncode == 0
    text = out.read_text()
    assert "#define MODXEN_POLICY_ANCHOR_COUNT 1" in text
    pub = serialization.load_pem_public_key(TEST_PUB.read_bytes())
    sec1 = pub.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    got = bytes(int(x.rstrip(","), 16) for x in text.split() if x.startswith("0x"))
    assert got == sec1
    # unchanged content: file not rewritten (no needless firmware rebuild)
    mtime = out.stat().st_mtime_ns
    assert anchors_h(out, TEST_PUB).returncode == 0 and out.stat().st_mtime_ns == mtime


def test_anchors_header_refuses_other_curves(tmp_path):
    k = ec.generate_private_key(ec.SECP384R1())
    p = tmp_path / "p384.pub"
    p.write_bytes(k.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo))
    r = anchors_h(tmp_path / "a.h", p)
    assert r.returncode != 0 and "not an uncompressed P-256 public key" in r.stderr
    assert not (tmp_path / "a.h").exists()
