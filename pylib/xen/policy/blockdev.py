# A littlefs image file as the policy store of the host firmware
# (MODXEN_STATE=path/to/state.img): the same file system the board keeps on
# its storage partition, through MicroPython's block-device protocol.
import os
import vfs

BLOCK = 512
MOUNT = "/policy-state"


class FileBlockDev:
    """Extended block-device protocol over a file (size: a whole number of blocks)."""

    def __init__(self, path):
        self.f = open(path, "r+b")
        self.f.seek(0, 2)
        self.count = self.f.tell() // BLOCK

    def readblocks(self, n, buf, off=0):
        self.f.seek(n * BLOCK + off)
        self.f.readinto(buf)

    def writeblocks(self, n, buf, off=0):
        self.f.seek(n * BLOCK + off)
        self.f.write(buf)
        self.f.flush()

    def ioctl(self, op, arg):
        if op == 4:         # block count
            return self.count
        if op == 5:         # block size
            return BLOCK
        if op == 3:         # sync
            self.f.flush()
            return 0
        if op == 6:         # erase: littlefs rewrites whole blocks itself
            return 0
        return None


def _blank(bd):
    buf = bytearray(BLOCK)
    bd.readblocks(0, buf)
    return all(x == 0 for x in buf) or all(x == 0xFF for x in buf)


def mount_image(path, at=MOUNT):
    """Mount the littlefs image at `path` (formatting it if blank) and
    return the mount point."""
    from . import PolicyError
    bd = FileBlockDev(path)
    if bd.count < 16:
        raise PolicyError("%s: a littlefs image needs at least %d bytes" % (path, 16 * BLOCK))
    try:
        fs = vfs.VfsLfs2(bd)
    except OSError:
        if not _blank(bd):
            raise PolicyError("%s: neither a littlefs image nor blank; not formatting it" % path)
        vfs.VfsLfs2.mkfs(bd)
        fs = vfs.VfsLfs2(bd)
    vfs.mount(fs, at)
    return at
