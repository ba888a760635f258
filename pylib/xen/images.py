# Guest images in a tar archive held in a buffer, as a read-only filesystem.
#
# On a board the buffer is memory-mapped flash (_xenboard.image_store(): a
# "modxen,image-store" devicetree node) and the frozen main.py mounts it at
# /images, so xl.cfg kernel/ramdisk paths name its files and the builder reads
# them straight from flash into guest memory: no copy in the heap, whatever
# the image's size. Any buffer works (bytes on the host firmware).
#
#   vfs.mount(TarFS(buf), "/images")
#   xen.domain_create({"kernel": "/images/Image", ...})
#
# The archive is ustar (what `tar --format=ustar` and Python's tarfile write):
# regular files and directories; other members (links, devices, pax or GNU
# extension headers) are refused when mounting, naming the member. Every
# header checksum and every size is checked against the buffer before
# anything is served; a damaged archive is never mounted half.
import errno

_BLOCK = 512
_S_IFDIR = 0x4000
_S_IFREG = 0x8000
# MicroPython's errno module lacks these two; the numbers are py/mperrno.h's
_EROFS = 30
_ENOTDIR = 20


class ArchiveError(ValueError):
    """The buffer is not a usable tar archive; the message names the member."""


def _octal(field, what, off):
    s = bytes(field).rstrip(b"\0 ").lstrip(b" ")
    try:
        return int(s, 8) if s else 0
    except ValueError:
        raise ArchiveError("tar header at offset %d: bad %s field %r" % (off, what, s))


def _parse(buf):
    # -> {path: (offset, size)} for files, set of directories
    files = {}
    dirs = {""}
    n = len(buf)
    off = 0
    while True:
        if off + _BLOCK > n:
            raise ArchiveError("truncated archive: no end marker before offset %d" % n)
        h = buf[off:off + _BLOCK]
        if not any(h):
            break
        total = sum(h) - sum(h[148:156]) + 8 * 32
        if total != _octal(h[148:156], "checksum", off):
            raise ArchiveError("tar header at offset %d: bad checksum" % off)
        name = bytes(h[0:100]).split(b"\0")[0]
        if bytes(h[257:262]) == b"ustar":
            prefix = bytes(h[345:500]).split(b"\0")[0]
            if prefix:
                name = prefix + b"/" + name
        try:
            name = name.decode()
        except UnicodeError:
            raise ArchiveError("tar header at offset %d: name is not UTF-8" % off)
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if not parts and h[156] == 0x35:  # the archive's own root, "./"
            off += _BLOCK
            continue
        if not parts or ".." in parts:
            raise ArchiveError("tar member %r: unusable name" % name)
        path = "/".join(parts)
        size = _octal(h[124:136], "size", off)
        kind = h[156]
        data = off + _BLOCK
        end = data + (size + _BLOCK - 1) // _BLOCK * _BLOCK
        if kind in (0x30, 0):            # '0' or NUL: regular file
            if data + size > n:
                raise ArchiveError("tar member %r: %d bytes, archive truncated" % (path, size))
            files[path] = (data, size)
        elif kind == 0x35:               # '5': directory
            dirs.add(path)
            end = data
        else:
            raise ArchiveError("tar member %r: type %r not supported (files and directories only)"
                               % (path, chr(kind)))
        for i in range(1, len(parts)):
            dirs.add("/".join(parts[:i]))
        off = end
    for p in files:
        if p in dirs:
            raise ArchiveError("tar member %r is both a file and a directory" % p)
    return files, dirs


class ImageFile:
    """A file of the archive: readinto/read/seek/tell over the buffer."""

    def __init__(self, buf, off, size):
        self._mv = memoryview(buf)[off:off + size]
        self._pos = 0

    def readinto(self, b):
        n = min(len(b), len(self._mv) - self._pos)
        if n <= 0:
            return 0
        b[:n] = self._mv[self._pos:self._pos + n]
        self._pos += n
        return n

    def read(self, n=-1):
        left = len(self._mv) - self._pos
        if n is None or n < 0 or n > left:
            n = left
        out = bytes(self._mv[self._pos:self._pos + n])
        self._pos += n
        return out

    def seek(self, off, whence=0):
        base = (0, self._pos, len(self._mv))[whence]
        if base + off < 0:
            raise OSError(errno.EINVAL)
        self._pos = base + off
        return self._pos

    def tell(self):
        return self._pos

    def close(self):
        self._mv = memoryview(b"")

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


class TarFS:
    """A read-only MicroPython filesystem (for vfs.mount) over a tar archive."""

    def __init__(self, buf):
        self._buf = buf
        self._files, self._dirs = _parse(memoryview(buf))
        self._cwd = ""

    def _rel(self, path):
        if not path.startswith("/"):
            path = self._cwd + "/" + path
        return "/".join(p for p in path.split("/") if p not in ("", "."))

    # vfs protocol
    def mount(self, readonly, mkfs):
        if mkfs:
            raise OSError(_EROFS)

    def umount(self):
        pass

    def open(self, path, mode="r"):
        if any(c in mode for c in "wax+"):
            raise OSError(_EROFS)
        p = self._rel(path)
        if p in self._dirs:
            raise OSError(errno.EISDIR)
        if p not in self._files:
            raise OSError(errno.ENOENT)
        off, size = self._files[p]
        f = ImageFile(self._buf, off, size)
        if "b" not in mode:
            import io
            return io.StringIO(f.read().decode())
        return f

    def stat(self, path):
        p = self._rel(path)
        if p in self._files:
            return (_S_IFREG, 0, 0, 0, 0, 0, self._files[p][1], 0, 0, 0)
        if p in self._dirs:
            return (_S_IFDIR, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        raise OSError(errno.ENOENT)

    def ilistdir(self, path):
        d = self._rel(path)
        if d not in self._dirs:
            raise OSError(errno.ENOENT if d not in self._files else _ENOTDIR)
        pre = d + "/" if d else ""
        for p in sorted(self._dirs):
            if p and p.startswith(pre) and "/" not in p[len(pre):]:
                yield (p[len(pre):], _S_IFDIR, 0, 0)
        for p in sorted(self._files):
            if p.startswith(pre) and "/" not in p[len(pre):]:
                yield (p[len(pre):], _S_IFREG, 0, self._files[p][1])

    def chdir(self, path):
        p = self._rel(path)
        if p not in self._dirs:
            raise OSError(errno.ENOENT)
        self._cwd = "/" + p if p else ""

    def getcwd(self):
        return self._cwd or "/"

    def statvfs(self, path):
        return (_BLOCK, _BLOCK, len(self._buf) // _BLOCK, 0, 0, 0, 0, 0, 0, 255)

    def _rofs(self, *a):
        raise OSError(_EROFS)

    mkdir = rmdir = remove = rename = _rofs
