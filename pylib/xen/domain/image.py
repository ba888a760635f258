# Kernel and ramdisk images: arm64 Image, Image.gz, legacy uImage (none/gzip)
# and raw initrds, from a path or any readable object.  Images stream into a
# destination buffer (mapped guest memory) with readinto(); nothing is copied
# whole into the heap.  Sans-IO apart from opening a path.
import io
import struct

try:
    from binascii import crc32
except ImportError:  # a port without binascii.crc32: slow but correct
    _T = (0, 0x1DB71064, 0x3B6E20C8, 0x26D930AC, 0x76DC4190, 0x6B6B51F4, 0x4DB26158, 0x5005713C,
          0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C, 0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C)

    def crc32(data, crc=0):
        crc ^= 0xFFFFFFFF
        for b in data:
            crc ^= b
            crc = (crc >> 4) ^ _T[crc & 15]
            crc = (crc >> 4) ^ _T[crc & 15]
        return crc ^ 0xFFFFFFFF


ARM64_MAGIC = 0x644D5241  # "ARM\x64", little-endian u32 at 0x38
UIMAGE_MAGIC = 0x27051956
IH_ARCH_ARM64 = 22
IH_TYPE_KERNEL, IH_TYPE_RAMDISK, IH_TYPE_KERNEL_NOLOAD = 2, 3, 14
IH_COMP_NONE, IH_COMP_GZIP = 0, 1
EFAULT = 14
HDR = 64  # both the arm64 Image header and the uImage header are 64 bytes


class ImageError(ValueError):
    # .name: the file (or stream) the problem is in
    def __init__(self, name, msg):
        super().__init__(name + ": " + msg)
        self.name = name


def _readfull(f, buf):
    # fill buf from f; -> bytes read (short only at EOF)
    mv = memoryview(buf)
    got = 0
    while got < len(buf):
        n = f.readinto(mv[got:])
        if not n:
            break
        got += n
    return got


# io.IOBase gives Python streams the C stream protocol deflate needs; ports
# built without it can still load raw images.
_IOBase = getattr(io, "IOBase", object)


class _Src(_IOBase):
    # A readable stream for deflate and CRC: replays `head`, reads at most
    # `limit` bytes of `f`, and keeps the CRC-32 of what passed through.
    def __init__(self, f, head=b"", limit=None, crc=False):
        self.f = f
        self.head = head
        self.hpos = 0
        self.limit = limit
        self.pos = 0
        self.crc = 0 if crc else None
        self._rd = getattr(f, "readinto", None)

    def readinto(self, b):
        n = len(b)
        if self.limit is not None and n > self.limit - self.pos:
            n = self.limit - self.pos
            b = memoryview(b)[:n]
        if n <= 0:
            return 0
        h = len(self.head) - self.hpos
        if h > 0:
            k = min(h, n)
            b[:k] = self.head[self.hpos : self.hpos + k]
            self.hpos += k
        elif self._rd is not None:
            k = self._rd(b) or 0
        else:  # read() only: bounded chunks, never the whole image in the heap
            d = self.f.read(min(n, 16384))
            k = len(d) if d else 0
            b[:k] = d
        if k and self.crc is not None:
            self.crc = crc32(memoryview(b)[:k], self.crc)
        self.pos += k
        return k


class Image:
    # Attributes the domain builder uses:
    #   kind        'Image', 'Image.gz', 'uImage', 'uImage+gzip', 'ramdisk', 'uImage-ramdisk'
    #   text_offset arm64 Image text_offset (None for uImage and ramdisks)
    #   image_size  arm64 Image image_size (0 if not given), flags: arm64 Image flags
    #   load, entry uImage load/entry address (None otherwise)
    #   mem_size    bytes the image occupies in guest memory, None if unknown
    #   size        payload bytes when known before loading, else None
    # Read the payload with readinto()/load_into(); checks run as data streams.
    def __init__(self, name):
        self.name = name
        self.kind = None
        self.text_offset = None
        self.image_size = 0
        self.flags = 0
        self.load = None
        self.entry = None
        self.mem_size = None
        self.size = None
        self._file = None
        self._body = None
        self._head = b""
        self._hpos = 0
        self._pos = 0
        self._limit = None
        self._limit_why = ""
        self._done = False
        self._src = None
        self._dcrc = None
        self._usize = None
        self._gz = False
        self._wbits = 0

    def _err(self, msg):
        self.close()
        return ImageError(self.name, msg)

    # -- streaming
    def readinto(self, b):
        if self._done:
            return 0
        n = len(b)
        if self._limit is not None:
            left = self._limit - self._pos
            if left <= 0:
                if self._body_read(bytearray(1)):
                    raise self._err("image data larger than " + self._limit_why)
                self._finish()
                return 0
            if n > left:
                b = memoryview(b)[:left]
                n = left
        h = len(self._head) - self._hpos
        if h > 0:
            k = min(h, n)
            b[:k] = self._head[self._hpos : self._hpos + k]
            self._hpos += k
        else:
            k = self._body_read(b)
        if not k:
            self._finish()
            return 0
        self._pos += k
        return k

    def _body_read(self, b):
        try:
            return self._body.readinto(b) or 0
        except EOFError:
            raise self._err("truncated gzip data")
        except OSError as e:
            if not self._gz:
                if e.args and e.args[0] == EFAULT:
                    # the destination cannot take a zero-copy read (e.g. a
                    # foreign mapping under a 9p file); nothing was read:
                    # the caller may retry through a bounce buffer
                    raise
                raise self._err("read error (" + str(e) + ")")
            raise self._err("corrupt gzip data (" + ("CRC mismatch" if e.args[0] == 22 else str(e)) + ")")

    def _finish(self):
        self._done = True
        if self._usize is not None:
            src = self._src
            if src.pos < self._usize:  # drain what the decompressor left (padding)
                scratch = bytearray(256)
                while src.readinto(scratch):
                    pass
            if src.pos < self._usize:
                raise self._err("truncated uImage data (got %d of %d bytes)" % (src.pos, self._usize))
            if src.crc != self._dcrc:
                raise self._err("uImage data CRC mismatch (0x%08x, header says 0x%08x)" % (src.crc, self._dcrc))
        if self.size is not None and self._pos != self.size and self._usize is None:
            raise self._err("truncated: got %d of %d bytes" % (self._pos, self.size))
        self.close()

    def load_into(self, dest):
        # stream the whole payload into dest (a writable buffer, e.g. mapped
        # guest memory); -> bytes written.  Larger than dest is an error.
        mv = memoryview(dest)
        total = 0
        while True:
            if total == len(mv):
                if not self._done and self.readinto(bytearray(1)):
                    raise self._err("image larger than the %d bytes available for it" % len(mv))
                break
            n = self.readinto(mv[total:])
            if not n:
                break
            total += n
        return total

    def close(self):
        f = self._file
        self._file = None
        if f is not None:
            f.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def _open(src, name):
    # -> (Image, stream, size or None)
    size = None
    if isinstance(src, str):
        name = name or src
        try:
            import os

            st = os.stat(src)
            if st[0] & 0o170000 == 0o040000:
                raise ImageError(name, "is a directory")
            size = st[6]
            f = open(src, "rb")
        except OSError as e:
            raise ImageError(name, "cannot open (" + str(e) + ")")
    else:
        f = src
        name = name or "<stream>"
        if not hasattr(f, "readinto") and not hasattr(f, "read"):
            raise ImageError(name, "not a readable object")
        if not hasattr(f, "readinto"):
            f = _Src(f)
    img = Image(name)
    if isinstance(src, str):
        img._file = f
    return img, f, size


def _gunzip(img, stream):
    # The window is 1 << wbits bytes of heap: 32 KiB for ordinary gzip files.
    # Images compressed with a smaller window (zlib wbits 16+9..16+14) can be
    # opened with window_bits=9..14 to fit a small heap.
    try:
        import deflate
    except ImportError:
        raise img._err("gzip image, but this firmware has no deflate module")
    if _IOBase is object:
        raise img._err("gzip image, but this firmware has no io.IOBase for deflate")
    img._body = deflate.DeflateIO(stream, deflate.GZIP, img._wbits)
    img._gz = True


def _arm64_header(img, h, what):
    # parse a 64-byte arm64 Image header in h; False if the magic is absent
    if struct.unpack_from("<I", h, 0x38)[0] != ARM64_MAGIC:
        return False
    img.text_offset, img.image_size, img.flags = struct.unpack_from("<QQQ", h, 8)
    if img.flags & 1:
        raise img._err(what + " is big-endian; only little-endian arm64 kernels boot here")
    if img.text_offset & 0xFFF or img.text_offset >= 0x200000:
        raise img._err(what + " text_offset 0x%x is not a 4 KiB-aligned offset below 2 MiB" % img.text_offset)
    return True


def open_kernel(src, name=None, window_bits=0):
    # Parse the kernel's headers; -> Image ready to stream.  ImageError names the problem.
    # window_bits: gzip window to allocate (0 = what the stream needs, 32 KiB).
    img, f, size = _open(src, name)
    img._wbits = window_bits
    h = bytearray(HDR)
    got = _readfull(f, h)
    if got >= 2 and h[0] == 0x1F and h[1] == 0x8B:
        img.kind = "Image.gz"
        _gunzip(img, _Src(f, bytes(h[:got])))
        hh = bytearray(HDR)
        if _readfull_gz(img, hh) < HDR or not _arm64_header(img, hh, "Image.gz content"):
            raise img._err("gzip content is not an arm64 Image (no 'ARM\\x64' magic)")
        img._head = hh
        if img.image_size:
            img.mem_size = img.image_size
            img._limit = img.image_size
            img._limit_why = "its image_size (%d)" % img.image_size
        return img
    if got < HDR:
        raise img._err("truncated header (%d bytes)" % got)
    if struct.unpack_from(">I", h, 0)[0] == UIMAGE_MAGIC:
        _uimage(img, f, h, size, kernel=True)
        return img
    if not _arm64_header(img, h, "Image"):
        raise img._err("not a kernel image (no arm64 Image, gzip or uImage magic)")
    img.kind = "Image"
    img._head = h
    img._body = f
    if size is not None:
        if img.image_size and size > img.image_size:
            raise img._err("file of %d bytes is larger than its image_size (%d)" % (size, img.image_size))
        img.size = size
        img._limit = size
        img._limit_why = "the file"
    elif img.image_size:
        img._limit = img.image_size
        img._limit_why = "its image_size (%d)" % img.image_size
    img.mem_size = img.image_size or size
    return img


def _readfull_gz(img, buf):
    mv = memoryview(buf)
    got = 0
    while got < len(buf):
        n = img._body_read(mv[got:])
        if not n:
            break
        got += n
    return got


def _uimage(img, f, h, size, kernel):
    (magic, hcrc, _t, dsize, load, ep, dcrc, _os, arch, typ, comp) = struct.unpack_from(">7I4B", h, 0)
    chk = bytearray(h)
    chk[4:8] = b"\0\0\0\0"
    if crc32(chk) != hcrc:
        raise img._err("uImage header CRC mismatch")
    if kernel:
        if typ not in (IH_TYPE_KERNEL, IH_TYPE_KERNEL_NOLOAD):
            raise img._err("uImage type %d is not a kernel" % typ)
        if arch != IH_ARCH_ARM64:
            raise img._err("uImage architecture %d is not arm64 (%d)" % (arch, IH_ARCH_ARM64))
    elif typ != IH_TYPE_RAMDISK:
        raise img._err("uImage type %d is not a ramdisk" % typ)
    if comp not in (IH_COMP_NONE, IH_COMP_GZIP):
        raise img._err("uImage compression %d not supported (none or gzip only)" % comp)
    if size is not None and size - HDR < dsize:
        raise img._err("truncated uImage data (file has %d of %d bytes)" % (size - HDR, dsize))
    img._usize = dsize
    img._dcrc = dcrc
    img._src = _Src(f, limit=dsize, crc=True)
    if kernel:
        img.load = load
        img.entry = ep
    if comp == IH_COMP_GZIP:
        img.kind = "uImage+gzip" if kernel else "uImage-ramdisk+gzip"
        _gunzip(img, img._src)
        if kernel:
            hh = bytearray(HDR)
            n = _readfull_gz(img, hh)
            img._head = hh[:n]
            if n == HDR and _arm64_header(img, hh, "uImage content"):
                img.mem_size = img.image_size or None
                img._limit = img.image_size or None
                img._limit_why = "its image_size (%d)" % img.image_size
            img.text_offset = None
    else:
        img.kind = "uImage" if kernel else "uImage-ramdisk"
        img._body = img._src
        img.size = dsize
        img.mem_size = dsize
        if kernel:
            hh = bytearray(min(HDR, dsize))
            n = _readfull(img._src, hh)
            img._head = hh[:n]
            if n == HDR and _arm64_header(img, hh, "uImage content") and img.image_size:
                if dsize > img.image_size:
                    raise img._err("uImage data of %d bytes is larger than its image_size (%d)"
                                   % (dsize, img.image_size))
                img.mem_size = img.image_size
            img.text_offset = None
    if kernel and not (img.load <= img.entry):
        raise img._err("uImage entry 0x%x below its load address 0x%x" % (img.entry, img.load))


def open_ramdisk(src, name=None, size=None):
    # An initrd/initramfs, loaded as it is (a uImage ramdisk is unwrapped and
    # checked).  The size must be known before loading: it goes into the DTB.
    img, f, fsize = _open(src, name)
    if fsize is None:
        fsize = size
    if fsize is None and hasattr(f, "seek"):
        try:
            here = f.tell()
            fsize = f.seek(0, 2) - here
            f.seek(here)
        except (OSError, AttributeError):
            fsize = None
    if fsize is None:
        raise img._err("size of the ramdisk stream unknown: pass size=")
    h = bytearray(min(HDR, fsize))
    got = _readfull(f, h)
    if got >= HDR and struct.unpack_from(">I", h, 0)[0] == UIMAGE_MAGIC:
        _uimage(img, f, h, fsize, kernel=False)
        if img.size is None:
            raise img._err("a gzip-compressed uImage ramdisk has no size before loading; use the raw initrd")
        return img
    if fsize == 0:
        raise img._err("empty ramdisk")
    img.kind = "ramdisk"
    img._head = h[:got]
    img._body = f
    img.size = fsize
    img.mem_size = fsize
    img._limit = fsize
    img._limit_why = "the given size (%d)" % fsize
    return img
