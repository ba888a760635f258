# modxen's dom0 boot on Zephyr. Frozen as main.py: MicroPython's port runs it
# after _boot.py has mounted /flash. It runs the installed boot policy, then
# the REPL; Ctrl-D there is a soft reset that keeps the dom0 services.
import sys
import os
import _xen
import _xenboard

_modules = set(sys.modules)
_path = list(sys.path)


def _check_abi():
    # A Xen release this firmware does not speak is named now, once, not
    # found later as an EACCES from some domctl. The REPL still starts.
    try:
        _xen.abi()
        return True
    except OSError as e:
        print("modxen: %s; dom0 services and the boot policy are not started" % e.args[-1])
        return False


def _boot():
    try:
        import xen.policy
        if xen.policy.status()["slot"] is None:
            # A board fresh from the build (and QEMU, whose /flash is in RAM, on
            # every boot): nothing went wrong, so no traceback.
            print("modxen: no boot policy installed (/flash/policy is empty); starting the REPL. "
                  "To install one: mpremote fs cp BUNDLE :policy.bundle, then "
                  "xen.policy.install('policy.bundle', confirm=True) (docs/policy.md).")
            return
        xen.policy.boot()
    except Exception as e:
        print("modxen: boot policy not run:")
        sys.print_exception(e)


def _mount_images():
    # The board's guest image store (a tar archive in memory-mapped flash),
    # read-only at /images: xl.cfg kernel/ramdisk paths can name its files.
    store = _xenboard.image_store()
    if store is None:
        return
    try:
        import vfs
        from xen.images import TarFS
        vfs.mount(TarFS(store), "/images")
    except Exception as e:
        # one line: a damaged or foreign archive is a fact about the flash
        print("modxen: image store (%d bytes) not mounted: %s: %s" % (len(store), type(e).__name__, e))
        return
    if not os.listdir("/images"):
        # QEMU without the pflash drive reads the bank as zeros: an archive
        # with no member, which is mounted but holds nothing to boot
        print("modxen: the image store (%d bytes) is empty: /images has no files "
              "(on QEMU: -drive if=pflash,unit=1,format=raw,readonly=on,file=images.img)" % len(store))


def _soft_reset():
    import vfs
    for _, where in vfs.mount():
        if where not in ("/", "/flash", "/images"):
            try:
                vfs.umount(where)
            except OSError:
                pass
    try:
        os.chdir("/flash")
    except OSError:
        pass
    sys.path[:] = _path
    for name in list(sys.modules):
        if name not in _modules and name.split(".")[0] not in ("xen", "asyncio"):
            del sys.modules[name]


_mount_images()
if _check_abi():
    _boot()
_xenboard.repl_run(_soft_reset)
