"""Helpers for the boot-policy tests: an independent bundle builder (cbor2 +
cryptography, not the device's own code, so the two implementations check
each other), the test-only key, a second key the firmware does not trust,
and a Device that runs mp/ scenarios with a fresh MODXEN_STATE."""
import hashlib
import subprocess
import sys
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from mpfirmware import mp

ROOT = Path(__file__).resolve().parent.parent.parent
MP = Path(__file__).resolve().parent / "mp"
TOOL = ROOT / "tools" / "modxen-policy"
TEST_KEY = ROOT / "keys" / "test-only" / "policy.key"
TEST_PUB = ROOT / "keys" / "test-only" / "policy.pub"
TARGET = "modxen,sim"


def load_key(path):
    return serialization.load_pem_private_key(Path(path).read_bytes(), password=None)


def sec1(key):
    pub = key.public_key() if hasattr(key, "public_key") else key
    return pub.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def kid(key):
    return hashlib.sha256(sec1(key)).digest()[:8]


def es256(key, data):
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def make_bundle(files, version=1, counter=1, target=TARGET, key=None, *, entries=None,
                manifest=None, protected=None, unprotected=None, carried=None, anchors=None,
                with_kid=True):
    """A bundle built independently of the device code. files: {name: bytes}
    (order kept). entries/manifest/protected/unprotected/carried override
    the honest values, to make hostile bundles that are still validly signed."""
    key = key or load_key(TEST_KEY)
    names = list(files)
    if entries is None:
        entries = [[n, len(files[n]), hashlib.sha256(files[n]).digest()] for n in names]
    m = {"format": 1, "version": version, "counter": counter, "target": target, "files": entries}
    if anchors is not None:
        m["anchors"] = anchors
    if manifest:
        m.update(manifest)
    payload = cbor2.dumps(m)
    hdr = {1: -7}
    if with_kid:
        hdr[4] = kid(key)
    prot = cbor2.dumps(hdr) if protected is None else protected
    tbs = cbor2.dumps(["Signature1", prot, b"", payload])
    cose = cbor2.CBORTag(18, [prot, unprotected or {}, payload, es256(key, tbs)])
    body = [files[n] for n in names] if carried is None else carried
    return cbor2.dumps(["modxen.policy/1", cose, body])


def policy_files(version, body=None, extra=None):
    """A policy whose boot.py prints its version and checks that its helper
    module comes from the same bundle (so a mix of two versions is seen)."""
    boot = body if body is not None else (
        "import helper\n"
        "assert helper.V == %d, 'mixed policy: helper %%r' %% helper.V\n"
        "print('@@BOOTED', %d)\n" % (version, version))
    f = {"boot.py": boot.encode(), "helper.py": b"V = %d\n" % version}
    if extra:
        f.update(extra)
    return f


@pytest.fixture(scope="session")
def other_key():
    return ec.generate_private_key(ec.SECP256R1())


class Device:
    """The firmware with one MODXEN_STATE, one process per call (the
    firmware side is mp/policydev.py)."""

    def __init__(self, state, tmp):
        self.state = state
        self.tmp = tmp
        self.n = 0

    def put(self, data, name=None):
        self.n += 1
        p = self.tmp / (name or "b%d.bundle" % self.n)
        p.write_bytes(data)
        return p

    def call(self, target, *args, env=None, **kw):
        """mp(target, *args) from tests/policy/mp with this device's state."""
        e = {"MODXEN_STATE": str(self.state)}
        e.update(env or {})
        return mp(target, *args, env=e, helpers=MP, **kw)

    def install(self, data, confirm=False):
        """install(); returns {'ok': status} or {'error': class, 'msg': text}."""
        return self.call("policydev.install", str(self.put(data)), confirm)

    def status(self):
        return self.call("policydev.status")

    def confirm(self):
        return self.call("policydev.confirm")

    def boot(self, timeout=None):
        """boot(); returns (booted versions printed, status after, printed text)."""
        r = self.call("policydev.boot", timeout)
        return r["booted"], r["status"], r["out"]

    def boot_refused(self):
        """boot() that must refuse: (the PolicyError's text, printed text)."""
        err, out = self.call("policydev.boot_refused")
        return err, out

    def snapshot(self):
        snap = {}
        for p in sorted(self.state.rglob("*")):
            if p.is_file():
                snap[str(p.relative_to(self.state))] = p.read_bytes()
        return snap


@pytest.fixture
def dev(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    return Device(state, tmp_path)


@pytest.fixture
def v1dev(dev):
    """A device with version 1 (counter 1) installed and confirmed."""
    r = dev.install(make_bundle(policy_files(1), version=1, counter=1))
    assert "ok" in r, r
    booted, st, _ = dev.boot()
    assert booted == [1]
    assert dev.confirm()["state"] == "confirmed"
    return dev


def tool(*args, check=True):
    p = subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True,
                       timeout=60, cwd=str(ROOT))
    if check and p.returncode != 0:
        raise AssertionError("modxen-policy %s failed:\n%s%s" % (args, p.stdout, p.stderr))
    return p
