# Policy bundle format, sans-IO: parse, check and build. Shared by the
# device (xen.policy) and the host tool (tools/modxen-policy).
#
#   bundle   = ["modxen.policy/1", COSE_Sign1_Tagged, [* bstr]]
#   COSE_Sign1_Tagged = 18([protected: bstr .cbor {1: -7, ?4: kid},
#                           unprotected: {} (must be empty),
#                           payload: bstr .cbor manifest,
#                           signature: bstr (64 bytes, r||s)])
#   manifest = {"format": 1, "version": uint, "counter": uint,
#               "target": tstr, "files": [+ [name, size, sha256]],
#               ?"anchors": [+ bstr (65-byte SEC1 P-256 key)]}
#
# The signature (ES256, RFC 9052 Sig_structure "Signature1" with an empty
# external_aad) covers the protected header and the manifest. The files
# array is outside it and trusted only through the manifest's sizes and
# SHA-256 digests; nothing else outside the signature is used.
import hashlib
from . import cbor

MAGIC = "modxen.policy/1"
FORMAT = 1
ALG_ES256 = -7
COSE_SIGN1_TAG = 18
KID_LEN = 8

MAX_FILES = 64
MAX_NAME = 96
MAX_DEPTH = 4
MAX_ANCHORS = 4
MAX_TARGET = 128
U32 = 0xFFFFFFFF
_NAME_OK = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"


class PolicyError(Exception):
    """Base of every refusal by xen.policy; the message names the cause."""


class BundleError(PolicyError):
    """The bundle is malformed, truncated, oversized or inconsistent."""


class SignatureError(PolicyError):
    """The signature does not verify under the key the bundle names."""


class UnknownKeyError(SignatureError):
    """The bundle is signed by a key that is not a trust anchor."""


class RollbackError(PolicyError):
    """The bundle's security counter is below the device's."""


class TargetError(PolicyError):
    """The bundle is built for another target."""


def kid(pub):
    """Key id: the first 8 bytes of SHA-256 of the SEC1 public key."""
    return hashlib.sha256(bytes(pub)).digest()[:KID_LEN]


def hexs(b):
    return "".join("%02x" % x for x in bytes(b))


def sig_structure(protected, payload):
    return cbor.dumps(["Signature1", bytes(protected), b"", bytes(payload)])


class Bundle:
    """A parsed bundle. protected, payload and signature are bytes; files
    are memoryview slices of the input (no copy)."""

    def __init__(self, protected, payload, signature, files, kid):
        self.protected = protected
        self.payload = payload
        self.signature = signature
        self.files = files
        self.kid = kid
        self.manifest = None     # set by check()


def parse_cose(cose):
    """Parse a COSE_Sign1 (tagged or not) from a decoded item or bytes.
    Returns (protected, payload, signature, kid)."""
    if isinstance(cose, (bytes, bytearray, memoryview)):
        try:
            cose = cbor.loads(cose, tags=True)
        except cbor.CBORError as e:
            raise BundleError("COSE_Sign1: %s" % e)
    if isinstance(cose, cbor.Tag):
        if cose.tag != COSE_SIGN1_TAG:
            raise BundleError("COSE_Sign1: tag %d is not 18" % cose.tag)
        cose = cose.value
    if not isinstance(cose, list) or len(cose) != 4:
        raise BundleError("COSE_Sign1: not an array of 4 items")
    prot, unprot, payload, sig = cose
    for what, v in (("protected header", prot), ("payload", payload), ("signature", sig)):
        if not isinstance(v, (bytes, memoryview)):
            raise BundleError("COSE_Sign1: %s is not a byte string" % what)
    if unprot != {}:
        raise BundleError("COSE_Sign1: unprotected header must be empty (nothing unsigned is trusted)")
    prot = bytes(prot)
    try:
        hdr = cbor.loads(prot)
    except cbor.CBORError as e:
        raise BundleError("COSE_Sign1 protected header: %s" % e)
    if not isinstance(hdr, dict):
        raise BundleError("COSE_Sign1 protected header is not a map")
    for label in hdr:
        if label not in (1, 4):
            raise BundleError("COSE_Sign1 protected header: label %r not supported" % (label,))
    if hdr.get(1) != ALG_ES256:
        raise BundleError("COSE_Sign1: algorithm %r is not ES256 (-7)" % (hdr.get(1),))
    k = hdr.get(4)
    if k is not None and (not isinstance(k, bytes) or len(k) != KID_LEN):
        raise BundleError("COSE_Sign1: kid must be %d bytes" % KID_LEN)
    if len(sig) != 64:
        raise BundleError("COSE_Sign1: ES256 signature must be 64 bytes, got %d" % len(sig))
    return prot, bytes(payload), bytes(sig), k


def parse(buf, max_size):
    """Split a bundle into its parts. Checks structure and size only."""
    if len(buf) > max_size:
        raise BundleError("bundle is %d bytes, larger than the limit of %d" % (len(buf), max_size))
    try:
        top = cbor.loads(buf, views=True, tags=True)
    except cbor.CBORError as e:
        raise BundleError("bundle: %s" % e)
    if not isinstance(top, list) or len(top) != 3 or top[0] != MAGIC:
        raise BundleError("not a modxen policy bundle (expected [%r, COSE_Sign1, files])" % MAGIC)
    cose = top[1]
    prot, payload, sig, k = parse_cose(cose)
    files = top[2]
    if not isinstance(files, list) or len(files) > MAX_FILES:
        raise BundleError("bundle: files must be an array of at most %d byte strings" % MAX_FILES)
    for f in files:
        if not isinstance(f, memoryview):
            raise BundleError("bundle: every file must be a byte string")
    return Bundle(prot, payload, sig, files, k)


def verify(b, anchors, es256_verify):
    """Check b's signature against anchors (SEC1 keys). Returns the key."""
    tbs = sig_structure(b.protected, b.payload)
    if b.kid is not None:
        for key in anchors:
            if kid(key) == b.kid:
                if es256_verify(key, tbs, b.signature):
                    return key
                raise SignatureError("bad signature: does not verify under trust anchor %s" % hexs(b.kid))
        raise UnknownKeyError("signed by key %s, which is not a trust anchor of this device" % hexs(b.kid))
    for key in anchors:
        if es256_verify(key, tbs, b.signature):
            return key
    raise UnknownKeyError("signature verifies under no trust anchor of this device")


def check_name(name):
    if not isinstance(name, str) or not name or len(name) > MAX_NAME:
        raise BundleError("file name %r: must be text of 1..%d characters" % (name, MAX_NAME))
    parts = name.split("/")
    if len(parts) > MAX_DEPTH:
        raise BundleError("file name %r: deeper than %d levels" % (name, MAX_DEPTH))
    for p in parts:
        if not p:
            raise BundleError("file name %r: absolute or empty path component" % name)
        if p[0] == "." or p[0] == "-":
            raise BundleError("file name %r: component %r may not start with '.' or '-' (no traversal, no hidden files)" % (name, p))
        for c in p:
            if c not in _NAME_OK:
                raise BundleError("file name %r: character %r not allowed" % (name, c))


def _uint(m, key, limit):
    v = m.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0 or v > limit:
        raise BundleError("manifest: %r must be an integer in 0..%d" % (key, limit))
    return v


def decode_manifest(payload):
    """Decode and validate a manifest (the signed payload)."""
    try:
        m = cbor.loads(payload)
    except cbor.CBORError as e:
        raise BundleError("manifest: %s" % e)
    if not isinstance(m, dict):
        raise BundleError("manifest is not a map")
    for k in m:
        if k not in ("format", "version", "counter", "target", "files", "anchors"):
            raise BundleError("manifest: unknown field %r" % (k,))
    if m.get("format") != FORMAT:
        raise BundleError("manifest: format %r is not %d" % (m.get("format"), FORMAT))
    _uint(m, "version", U32)
    _uint(m, "counter", U32)
    t = m.get("target")
    if not isinstance(t, str) or not t or len(t) > MAX_TARGET:
        raise BundleError("manifest: target must be text of 1..%d characters" % MAX_TARGET)
    files = m.get("files")
    if not isinstance(files, list) or not files or len(files) > MAX_FILES:
        raise BundleError("manifest: files must list 1..%d entries" % MAX_FILES)
    seen = {}
    for e in files:
        if not isinstance(e, list) or len(e) != 3:
            raise BundleError("manifest: each file entry must be [name, size, sha256]")
        name, size, digest = e
        check_name(name)
        low = name.lower()
        if low in seen:
            raise BundleError("manifest: duplicate file name %r (names are compared case-insensitively)" % name)
        seen[low] = 1
        if not isinstance(size, int) or isinstance(size, bool) or size < 0 or size > U32:
            raise BundleError("manifest: size of %r is not a valid integer" % name)
        if not isinstance(digest, bytes) or len(digest) != 32:
            raise BundleError("manifest: sha256 of %r must be 32 bytes" % name)
    # A directory name may not also be a file name ("a" and "a/b").
    for low in seen:
        p = low.rfind("/")
        while p > 0:
            if low[:p] in seen:
                raise BundleError("manifest: %r is both a file and a directory" % low[:p])
            p = low.rfind("/", 0, p)
    if "boot.py" not in seen:
        raise BundleError("manifest: the policy has no boot.py")
    a = m.get("anchors")
    if a is not None:
        if not isinstance(a, list) or not a or len(a) > MAX_ANCHORS:
            raise BundleError("manifest: anchors must list 1..%d keys" % MAX_ANCHORS)
        for k in a:
            if not isinstance(k, bytes) or len(k) != 65 or k[0] != 4:
                raise BundleError("manifest: each anchor must be a 65-byte uncompressed P-256 key")
    return m


def check_files(m, files):
    """files (in manifest order) against the manifest's sizes and digests."""
    want = m["files"]
    if len(files) < len(want):
        raise BundleError("bundle carries %d files but the manifest lists %d (missing %r)"
                          % (len(files), len(want), want[len(files)][0]))
    if len(files) > len(want):
        raise BundleError("bundle carries %d files but the manifest lists %d (extra, unsigned data)"
                          % (len(files), len(want)))
    for (name, size, digest), data in zip(want, files):
        if len(data) != size:
            raise BundleError("file %r: %d bytes, the manifest says %d" % (name, len(data), size))
        if hashlib.sha256(data).digest() != digest:
            raise BundleError("file %r: SHA-256 does not match the manifest" % name)


def check(b, anchors, es256_verify, target, counter):
    """Everything about a parsed bundle, before anything is written:
    signature, manifest, target, counter, files. Returns the manifest."""
    verify(b, anchors, es256_verify)
    m = decode_manifest(b.payload)
    if m["target"] != target:
        raise TargetError("bundle is for target %r, this device is %r" % (m["target"], target))
    if m["counter"] < counter:
        raise RollbackError("bundle security counter %d is below the device's %d" % (m["counter"], counter))
    check_files(m, b.files)
    b.manifest = m
    return m


def build(m, files, sign, signer_kid):
    """Host side: a bundle from a manifest dict, file contents (manifest
    order) and sign(bytes) -> 64-byte r||s."""
    prot = cbor.dumps({1: ALG_ES256, 4: bytes(signer_kid)})
    payload = cbor.dumps(m)
    decode_manifest(payload)
    sig = sign(sig_structure(prot, payload))
    if len(sig) != 64:
        raise ValueError("sign() must return 64 bytes")
    cose = cbor.Tag(COSE_SIGN1_TAG, [prot, {}, payload, sig])
    return cbor.dumps([MAGIC, cose, [bytes(f) for f in files]])
