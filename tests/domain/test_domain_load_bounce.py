"""builder.load from a file that refuses to read straight into guest memory.

Linux's 9p client pins the reader's pages for large (zero-copy) reads; a privcmd
mapping of guest frames cannot be pinned, so the read fails with EFAULT having read
nothing (seen on real Xen, tests/xen). The loader then goes through a bounce buffer.
The stand-in file below fails the same way: EFAULT for any read larger than the
bounce buffer, which a direct read into a 2 MiB mapping always is. The firmware
side is mp/load_bounce.py."""
import hashlib
import struct
from errno import EFAULT, EIO

from mpfirmware import mp

MiB = 1 << 20
PIN_LIMIT = 300 * 1024   # the largest read the stand-in file lets through


def arm64_image(payload_len):
    h = bytearray(64)
    struct.pack_into("<II", h, 0, 0xFA405A4D, 0x14000000)
    struct.pack_into("<QQQ", h, 8, 0, 8 * MiB, 0b1010)
    struct.pack_into("<I", h, 0x38, 0x644D5241)
    body = hashlib.sha256(b"bounce").digest() * (payload_len // 32 + 1)
    return bytes(h) + body[:payload_len]


def test_efault_from_the_file_falls_back_to_a_bounce_buffer(tmp_path):
    data = arm64_image(3 * MiB + 12345)   # crosses the 2 MiB mapping chunks, odd tail
    p = tmp_path / "Image"
    p.write_bytes(data)
    ok, bad, bounce = mp("load_bounce.load", str(p), PIN_LIMIT, EFAULT, EIO)
    n, sha, faults, biggest, reads = ok
    assert n == len(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert faults == 1, "one EFAULT switches the whole load to the bounce buffer"
    assert biggest <= bounce <= PIN_LIMIT and reads >= len(data) // bounce
    # any other read error still names the file and leaves nothing half-done
    assert bad[0] == "ImageError" and "eio-kernel" in bad[1] and "read error" in bad[1], bad
