"""xen.images.TarFS: guest images in a tar archive held in a buffer, mounted
read-only (on a board: memory-mapped flash at /images). Archives are written
by Python's tarfile and GNU tar (the oracles); the firmware must serve their
files byte for byte, build a guest from them, and refuse damaged or unusable
archives with an error naming the member, never mounting half of one."""
import hashlib
import io
import subprocess
import tarfile

import pytest

from test_domain_create import PRE, arm64_image

MOUNT = """
import vfs, os, hashlib, binascii
from xen.images import TarFS, ArchiveError
buf = open(%r, 'rb').read()
vfs.mount(TarFS(buf), '/images')
def sha(p):
    h = hashlib.sha256()
    with open(p, 'rb') as f:
        b = bytearray(1000)
        while True:
            n = f.readinto(b)
            if not n:
                break
            h.update(b[:n])
    return binascii.hexlify(h.digest()).decode()
"""


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
def test_files_served_byte_for_byte(mp, tmp_path, writer):
    arc = tmp_path / "images.tar"
    write_tarfile(arc) if writer == "tarfile" else write_gnu_tar(arc, tmp_path)
    r = mp.json(MOUNT % str(arc) + """
emit([sorted(os.listdir('/images')), os.listdir('/images/dir'), os.listdir('/images/dir/sub'),
      {p: [os.stat('/images/' + p)[6], sha(('/images/' + p))] for p in ('Image', 'initrd', 'dir/sub/notes.txt', 'empty')},
      os.stat('/images/dir')[0] & 0x4000 != 0, open('/images/dir/sub/notes.txt').read()])
""")
    names, d, sub, got, isdir, text = r
    assert names == ["Image", "dir", "empty", "initrd"] and d == ["sub"] and sub == ["notes.txt"]
    assert got == {p: [len(b), hashlib.sha256(b).hexdigest()] for p, b in files().items()}
    assert isdir and text == "hello\n"


def test_read_only_and_missing(mp, tmp_path):
    arc = tmp_path / "images.tar"
    write_tarfile(arc)
    r = mp.json(MOUNT % str(arc) + """
def errno_of(f, *a):
    try:
        f(*a)
    except OSError as e:
        return e.errno
out = [errno_of(open, '/images/new', 'wb'), errno_of(open, '/images/Image', 'r+b'),
       errno_of(os.remove, '/images/Image'), errno_of(os.mkdir, '/images/x'),
       errno_of(open, '/images/nope', 'rb'), errno_of(os.stat, '/images/nope'),
       errno_of(open, '/images/dir', 'rb'), errno_of(os.listdir, '/images/Image')]
f = open('/images/initrd', 'rb'); f.seek(-6, 2); tail = f.read(); f.seek(6); mid = f.read(6)
emit([out, tail.decode(), mid.decode(), f.tell(), sha('/images/Image') == sha('/images/Image')])
""")
    assert r == [[30, 30, 30, 30, 2, 2, 21, 20], "INITRD", "INITRD", 12, True]


def test_guest_built_from_the_store(mp, tmp_path):
    # The builder reads kernel and initrd straight out of the mounted archive.
    arc = tmp_path / "images.tar"
    write_tarfile(arc)
    r = mp.json(PRE + MOUNT % str(arc) + """
d = xen.domain_create({'name': 'fromstore', 'kernel': '/images/Image', 'ramdisk': '/images/initrd',
                       'memory': 64})
out = bytearray()
addr, n = 0x40000000, %d
while n:
    pg = memoryview(sim.guest_map(d.domid, addr >> 12))
    k = min(n, 4096)
    out += pg[:k]; addr += k; n -= k
emit([d.info()['state'], binascii.hexlify(hashlib.sha256(out).digest()).decode()])
""" % len(arm64_image()))
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
def test_damaged_archive_refused_whole(mp, tmp_path, case):
    data, needle = damaged(tmp_path)[case]
    arc = tmp_path / "bad.tar"
    arc.write_bytes(data)
    r = mp.json("""
import vfs, os
from xen.images import TarFS, ArchiveError
try:
    vfs.mount(TarFS(open(%r, 'rb').read()), '/images')
    res = 'mounted'
except ArchiveError as e:
    res = str(e)
try:
    os.listdir('/images')
    left = True
except OSError:
    left = False
emit([res, left])
""" % str(arc))
    assert needle in r[0], r
    assert r[1] is False
