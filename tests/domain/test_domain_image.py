# Kernel/ramdisk images (xen.domain.image): test images are built here with
# CPython's zlib/gzip, the firmware parses and streams them (mp/image_cases.py).
import gzip
import hashlib
import os
import struct
import zlib

import pytest

from mpfirmware import mp

MiB = 1 << 20
# the heap beyond the kernel for test_small_window_gzip_in_small_heap: room for
# a 1 KiB gzip window, not for the default 32 KiB one (24 KiB, plus 4 KiB for
# mp()'s runner and mp/heap_cases.py)
HEAP_MARGIN = 28 * 1024


def arm64_image(payload_len=300_000, text_offset=0, image_size=1 * MiB, flags=0b1010, seed=1):
    h = bytearray(64)
    struct.pack_into("<II", h, 0, 0xFA405A4D, 0x14000000)  # "MZ..." + a branch, as real Images
    struct.pack_into("<QQQ", h, 8, text_offset, image_size, flags)
    struct.pack_into("<I", h, 0x38, 0x644D5241)
    rnd = hashlib.sha256(bytes([seed])).digest() * (payload_len // 32 + 1)
    return bytes(h) + rnd[:payload_len]


def uimage(data, load=0x40000000, entry=0x40000000, typ=2, arch=22, comp=0, name=b"linux"):
    h = bytearray(64)
    struct.pack_into(">7I4B", h, 0, 0x27051956, 0, 0x5F000000, len(data), load, entry,
                     zlib.crc32(data), 5, arch, typ, comp)
    h[32:32 + len(name)] = name
    struct.pack_into(">I", h, 4, zlib.crc32(bytes(h)))
    return bytes(h) + data


def sha(b):
    return hashlib.sha256(b).hexdigest()


def write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


def test_arm64_image(tmp_path):
    img = arm64_image(text_offset=0x80000)
    p = write(tmp_path, "Image", img)
    r = mp("image_cases.arm64_kernel", p, 2 * MiB, heap=16 * MiB)
    assert r[:8] == ["Image", 0x80000, MiB, 0b1010, MiB, len(img), None, None]
    assert r[8:] == [len(img), sha(img)]


def test_image_gz_and_streams(tmp_path):
    img = arm64_image()
    p = write(tmp_path, "Image.gz", gzip.compress(img))
    r = mp("image_cases.gzip_file_and_stream", p, 2 * MiB, heap=16 * MiB)
    assert r[0] == ["Image.gz", MiB, None, len(img), sha(img)]
    assert r[1] == ["Image.gz", "gz-stream", len(img), sha(img)]


def test_read_only_objects(tmp_path):
    img = arm64_image(payload_len=100_000)
    p = write(tmp_path, "Image", img)
    r = mp("image_cases.read_only_object", p, MiB, heap=16 * MiB)
    assert r == [None, MiB, len(img), sha(img)]


@pytest.mark.parametrize("comp", [0, 1])
def test_uimage(tmp_path, comp):
    img = arm64_image(payload_len=200_000)
    data = img if comp == 0 else gzip.compress(img)
    u = uimage(data, load=0x40080000, entry=0x40080000, comp=comp)
    # trailing bytes after the data must not be read as part of the image
    p = write(tmp_path, "uImage", u + b"\xee" * 100)
    r = mp("image_cases.uimage_kernel", p, 2 * MiB, heap=16 * MiB)
    assert r == [["uImage", "uImage+gzip"][comp], 0x40080000, 0x40080000, MiB, None, len(img), sha(img)]


def test_uimage_without_inner_header(tmp_path):
    data = os.urandom(5000)
    p = write(tmp_path, "zephyr.uImage", uimage(data, load=0x40000000, entry=0x40000100))
    r = mp("image_cases.bare_uimage", p, 8192, heap=16 * MiB)
    assert r == [5000, 5000, 0x40000100, 5000, sha(data)]


def test_ramdisks(tmp_path):
    rd = os.urandom(70_000)
    p = write(tmp_path, "initrd", rd)
    pu = write(tmp_path, "initrd.uImage", uimage(rd, typ=3, load=0, entry=0))
    r = mp("image_cases.ramdisks", p, pu, 100000, heap=16 * MiB)
    assert r == [["ramdisk", 70000, 70000, sha(rd)]] * 2 + [["uImage-ramdisk", 70000, 70000, sha(rd)]]


def kernel_error(src, room=2 * MiB, opener="open_kernel", stream=False):
    """(type name, message) of what image.<opener>(src) and loading it
    into room bytes raised; with stream, src is a file read into a stream."""
    r = mp("image_cases.load_error", opener, src, room, stream, heap=16 * MiB)
    assert r is not None, "nothing raised"
    return r[0], r[1]


def test_kernel_errors(tmp_path):
    good = arm64_image(payload_len=50_000)
    gz = gzip.compress(good)
    be = bytearray(good)
    struct.pack_into("<Q", be, 24, 0b1011)
    odd = bytearray(good)
    struct.pack_into("<Q", odd, 8, 0x1234)
    big = bytearray(good)
    struct.pack_into("<Q", big, 16, 1000)  # image_size smaller than the file
    gzbig = gzip.compress(bytes(big))
    gzcrc = bytearray(gz)
    gzcrc[-8] ^= 0xFF
    u = uimage(good)
    uhcrc = bytearray(u)
    uhcrc[40] ^= 1  # inside the name: header CRC no longer matches
    udcrc = bytearray(u)
    udcrc[1000] ^= 1
    cases = [
        ("short", good[:30], "truncated header (30 bytes)"),
        ("junk", b"\x00" * 200, "not a kernel image (no arm64 Image, gzip or uImage magic)"),
        ("be", bytes(be), "Image is big-endian"),
        ("odd", bytes(odd), "text_offset 0x1234 is not a 4 KiB-aligned offset below 2 MiB"),
        ("big", bytes(big), "file of 50064 bytes is larger than its image_size (1000)"),
        ("trunc.gz", gz[: len(gz) // 2], "truncated gzip data"),
        ("crc.gz", bytes(gzcrc), "corrupt gzip data (CRC mismatch)"),
        ("notimage.gz", gzip.compress(b"\x00" * 5000), "gzip content is not an arm64 Image"),
        ("big.gz", gzbig, "image data larger than its image_size (1000)"),
        ("hcrc.uImage", bytes(uhcrc), "uImage header CRC mismatch"),
        ("dcrc.uImage", bytes(udcrc), "uImage data CRC mismatch"),
        ("trunc.uImage", u[:-100], "truncated uImage data (file has %d of %d bytes)" % (len(good) - 100, len(good))),
        ("arch.uImage", uimage(good, arch=2), "uImage architecture 2 is not arm64 (22)"),
        ("type.uImage", uimage(good, typ=3), "uImage type 3 is not a kernel"),
        ("lzma.uImage", uimage(good, comp=3), "uImage compression 3 not supported"),
        ("entry.uImage", uimage(good, load=0x40200000, entry=0x40000000), "entry 0x40000000 below its load"),
    ]
    for fname, data, needle in cases:
        p = write(tmp_path, fname, data)
        name, msg = kernel_error(p)
        assert name == "ImageError", (fname, msg)
        assert msg.startswith(p + ": "), msg
        assert needle in msg, (fname, msg)


def test_stream_truncation_and_room(tmp_path):
    good = arm64_image(payload_len=50_000)
    u = uimage(good)
    p = write(tmp_path, "u", u[:-100])
    # the size of a stream is not known up front: truncation shows up while loading
    name, msg = kernel_error(p, stream=True)
    assert name == "ImageError" and "truncated uImage data (got %d of %d bytes)" % (len(good) - 100, len(good)) in msg
    assert msg.startswith("<stream>: ")
    p = write(tmp_path, "Image", good)
    name, msg = kernel_error(p, room=4096)
    assert name == "ImageError" and "image larger than the 4096 bytes available for it" in msg
    name, msg = kernel_error(write(tmp_path, "gz", gzip.compress(good)), room=10000, stream=True)
    assert "image larger than the 10000 bytes available" in msg
    name, msg = kernel_error(str(tmp_path / "missing"))
    assert name == "ImageError" and "missing: cannot open" in msg
    name, msg = kernel_error(12345)
    assert name == "ImageError" and "<stream>: not a readable object" in msg


def test_ramdisk_errors(tmp_path):
    rd = os.urandom(3000)
    name, msg, _ = mp("image_cases.unsized_ramdisk", write(tmp_path, "rd", rd))
    assert name == "ImageError" and "size of the ramdisk stream unknown: pass size=" in msg
    # with a size given, a short stream is reported as truncated
    name, msg, _ = mp("image_cases.unsized_ramdisk", write(tmp_path, "rd", rd), 4000, 5000)
    assert name == "ImageError" and msg == "rd: truncated: got 3000 of 4000 bytes"
    name, msg = kernel_error(write(tmp_path, "empty", b""), opener="open_ramdisk")
    assert name == "ImageError" and "empty ramdisk" in msg
    name, msg = kernel_error(write(tmp_path, "k.uImage", uimage(rd, typ=2)), opener="open_ramdisk")
    assert name == "ImageError" and "uImage type 2 is not a ramdisk" in msg
    name, msg = kernel_error(write(tmp_path, "rd.bin", rd), room=1000, opener="open_ramdisk")
    assert "image larger than the 1000 bytes available" in msg


def test_load_fills_large_destination(tmp_path):
    # A 24 MiB raw Image loads whole into a larger destination (the throughput
    # of this path is measured by bench/domain.py, not asserted here).
    img = arm64_image(payload_len=24 * MiB, image_size=32 * MiB)
    p = write(tmp_path, "Image", img)
    n, digest = mp("image_cases.large_load", p, 32 * MiB, heap=80 * MiB)
    assert n == len(img) and digest == sha(img)


def test_small_window_gzip_in_small_heap(tmp_path):
    # A kernel gzip'ed with a 1 KiB window decompresses with window_bits=10 on a
    # heap far too small for the default 32 KiB window.
    img = arm64_image(payload_len=60_000)
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + 10)
    p = write(tmp_path, "Image.gz", c.compress(img) + c.flush())
    heap = len(img) + HEAP_MARGIN
    assert mp("heap_cases.gzip_window", p, len(img), 10, heap=heap) == [len(img), sha(img)]
    r = mp("heap_cases.gzip_window", p, len(img), 0, heap=heap)
    assert r[0] == "MemoryError", r
