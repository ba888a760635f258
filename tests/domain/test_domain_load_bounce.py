"""builder.load from a file that refuses to read straight into guest memory.

Linux's 9p client pins the reader's pages for large (zero-copy) reads; a privcmd
mapping of guest frames cannot be pinned, so the read fails with EFAULT having read
nothing (seen on real Xen, tests/xen). The loader then goes through a bounce buffer.
The stand-in file below fails the same way: EFAULT for any read larger than the
bounce buffer, which a direct read into a 2 MiB mapping always is."""
import hashlib
import struct

MiB = 1 << 20


def arm64_image(payload_len):
    h = bytearray(64)
    struct.pack_into("<II", h, 0, 0xFA405A4D, 0x14000000)
    struct.pack_into("<QQQ", h, 8, 0, 8 * MiB, 0b1010)
    struct.pack_into("<I", h, 0x38, 0x644D5241)
    body = hashlib.sha256(b"bounce").digest() * (payload_len // 32 + 1)
    return bytes(h) + body[:payload_len]


CODE = """
import _xen, hashlib, binascii
from xen.domain import builder, image

class PinningFile:
    # EFAULT (nothing read) for reads above `zc` bytes, like 9p into a foreign mapping
    def __init__(self, path, zc, errno_=14):
        self.f = open(path, 'rb')
        self.zc = zc
        self.errno_ = errno_
        self.faults = 0
        self.after = []
    def readinto(self, b):
        if len(b) > self.zc:
            self.faults += 1
            raise OSError(self.errno_)
        if self.faults:
            self.after.append(len(b))
        return self.f.readinto(b)
    def close(self):
        self.f.close()

def guest_sha(domid, addr, n):
    h = hashlib.sha256()
    while n:
        with _xen.map(domid, addr >> 12) as m:
            off = addr & 4095
            k = min(n, 4096 - off)
            h.update(bytes(memoryview(m)[off:off + k]))
        addr += k
        n -= k
    return binascii.hexlify(h.digest()).decode()

def fresh():
    d = _xen.createdomain()
    _xen.max_vcpus(d, 1)
    _xen.max_mem(d, 16 * 1024)
    _xen.populate_physmap(d, range(0x40000, 0x40000 + 2048))
    return d

d = fresh()
src = PinningFile(%(path)r, 300 * 1024)
img = image.open_kernel(src, name='ninep-kernel')
n = builder.load(d, img, 0x40000000, 8 << 20)
ok = [n, guest_sha(d, 0x40000000, n), src.faults, max(src.after), len(src.after)]
_xen.destroydomain(d)

d = fresh()
src = PinningFile(%(path)r, 300 * 1024, 5)
img = image.open_kernel(src, name='eio-kernel')
try:
    builder.load(d, img, 0x40000000, 8 << 20)
    bad = None
except Exception as e:
    bad = [type(e).__name__, str(e)]
_xen.destroydomain(d)
emit([ok, bad, builder.BOUNCE])
"""


def test_efault_from_the_file_falls_back_to_a_bounce_buffer(mp, tmp_path):
    data = arm64_image(3 * MiB + 12345)   # crosses the 2 MiB mapping chunks, odd tail
    p = tmp_path / "Image"
    p.write_bytes(data)
    ok, bad, bounce = mp.json(CODE % {"path": str(p)})
    n, sha, faults, biggest, reads = ok
    assert n == len(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert faults == 1, "one EFAULT switches the whole load to the bounce buffer"
    assert biggest <= bounce <= 300 * 1024 and reads >= len(data) // bounce
    # any other read error still names the file and leaves nothing half-done
    assert bad[0] == "ImageError" and "eio-kernel" in bad[1] and "read error" in bad[1], bad
