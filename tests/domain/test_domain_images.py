"""xen.images.TarFS: guest images in a tar archive held in a buffer, mounted
read-only (on a board: memory-mapped flash at /images). Archives are written
by Python's tarfile and GNU tar (the oracles); the firmware must serve their
files byte for byte, build a guest from them, and refuse damaged or unusable
archives with an error naming the member, never mounting half of one. The
firmware side is mp/image_store.py."""
import hashlib
import io
import subprocess
import tarfile
from errno import EISDIR, ENOENT, ENOTDIR, EROFS

import pytest

from mpfirmware import mp
from test_domain_create import arm64_image

def files():
    return {"Image": arm64_image(), "initrd": b"INITRD" * 5000, "dir/sub/notes.txt": b"hello\n",
            "empty": b""}


def write_tarfile(path):
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in files().items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))


def write_gnu_tar(path, tmp_path):
    src = tmp_path / "src"
    for name, data in files().items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    subprocess.run(["tar", "--format=ustar", "-cf", str(path), "-C", str(src), "."], check=True)


@pytest.mark.parametrize("writer", ["tarfile", "gnu-tar"])
def test_files_served_byte_for_byte(tmp_path, writer):
    arc = tmp_path / "images.tar"
    write_tarfile(arc) if writer == "tarfile" else write_gnu_tar(arc, tmp_path)
    r = mp("image_store.served", str(arc), ["Image", "initrd", "dir/sub/notes.txt", "empty"])
    names, d, sub, got, isdir, text = r
    assert names == ["Image", "dir", "empty", "initrd"] and d == ["sub"] and sub == ["notes.txt"]
    assert got == {p: [len(b), hashlib.sha256(b).hexdigest()] for p, b in files().items()}
    assert isdir and text == "hello\n"


def test_read_only_and_missing(tmp_path):
    arc = tmp_path / "images.tar"
    write_tarfile(arc)
    r = mp("image_store.read_only_and_missing", str(arc))
    assert r == [[EROFS, EROFS, EROFS, EROFS, ENOENT, ENOENT, EISDIR, ENOTDIR], "INITRD", "INITRD", 12, True]


def test_guest_built_from_the_store(tmp_path):
    # The builder reads kernel and initrd straight out of the mounted archive.
    arc = tmp_path / "images.tar"
    write_tarfile(arc)
    r = mp("image_store.guest_from_store", str(arc),
           {"name": "fromstore", "kernel": "/images/Image", "ramdisk": "/images/initrd", "memory": 64},
           len(arm64_image()))
    assert r == ["running", hashlib.sha256(arm64_image()).hexdigest()]


def damaged(tmp_path):
    good = tmp_path / "good.tar"
    write_tarfile(good)
    raw = good.read_bytes()
    cases = {}
    cases["truncated"] = (raw[:512 + 20000], "truncated")
    bad = bytearray(raw)
    bad[0] ^= 1                                   # name changes, checksum no longer matches
    cases["checksum"] = (bytes(bad), "bad checksum")
    cases["no-end"] = (raw[:raw.index(b"\0" * 1024, 1024)], "no end marker")

    def one(ti, data=b""):
        b = io.BytesIO()
        with tarfile.open(fileobj=b, mode="w", format=tarfile.USTAR_FORMAT) as t:
            t.addfile(ti, io.BytesIO(data) if data else None)
        return b.getvalue()
    link = tarfile.TarInfo("Image")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    cases["symlink"] = (one(link), "type '2' not supported")
    up = tarfile.TarInfo("../escape")
    up.size = 3
    cases["dotdot"] = (one(up, b"abc"), "unusable name")
    size = bytearray(raw)
    size[124:136] = b"zzzzzzzzzzz\0"
    s = sum(size[:148]) + 8 * 32 + sum(size[156:512])
    size[148:156] = b"%06o\0 " % s
    cases["size-field"] = (bytes(size), "bad size field")
    return cases


@pytest.mark.parametrize("case", ["truncated", "checksum", "no-end", "symlink", "dotdot", "size-field"])
def test_damaged_archive_refused_whole(tmp_path, case):
    data, needle = damaged(tmp_path)[case]
    arc = tmp_path / "bad.tar"
    arc.write_bytes(data)
    r = mp("image_store.damaged", str(arc))
    assert needle in r[0], r
    assert r[1] is False
