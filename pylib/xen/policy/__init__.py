# xen.policy: signed boot policies with A/B slots, trial boot, confirm,
# rollback and a security counter that never goes down. See docs/policy.md.
#
#   import xen.policy as p
#   p.install("/flash/new.bundle")    # or bytes; raises PolicyError, changes nothing
#   p.status()                        # {'slot': 'a', 'version': 3, 'state': 'trial', ...}
#   p.confirm()                       # the running trial is healthy
#   p.boot(timeout=60)                # what the firmware's boot runs
#
# State lives under one directory (MODXEN_STATE on the host: a directory or
# a littlefs image file; /flash/policy on the board):
#   a/, b/        the two slots: the policy's files plus .manifest (the
#                 COSE_Sign1 exactly as signed)
#   state-0, state-1
#                 state records, written alternately: CBOR map + SHA-256 of
#                 it. The complete record with the highest sequence number
#                 wins, so a torn write (power cut, FAT rename window) falls
#                 back to the other, older record and never to a mix.
import os
import hashlib
from . import cbor
from . import bundle
from .bundle import (PolicyError, BundleError, SignatureError, UnknownKeyError,
                     RollbackError, TargetError)

MAX_BUNDLE = 256 * 1024
MAX_CHAIN = 8
MANIFEST = ".manifest"
RECORDS = ("state-0", "state-1")
SLOTS = ("a", "b")
_CHUNK = 1024


class TrialError(PolicyError):
    """The trial policy failed (raised, did not verify, or was not confirmed)."""


def _exists(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False


def _isdir(p):
    try:
        return os.stat(p)[0] & 0x4000 != 0
    except OSError:
        return False


def _read(p):
    with open(p, "rb") as f:
        return f.read()


def _write(p, data):
    mv = memoryview(data)
    with open(p, "wb") as f:
        for i in range(0, len(mv), _CHUNK):
            f.write(mv[i:i + _CHUNK])


def _rmtree(p):
    for e in list(os.ilistdir(p)):
        q = p + "/" + e[0]
        if e[1] & 0x4000:
            _rmtree(q)
            os.rmdir(q)
        else:
            os.remove(q)


def _walk(p, pre, out):
    for e in os.ilistdir(p):
        n = pre + e[0]
        if e[1] & 0x4000:
            _walk(p + "/" + e[0], n + "/", out)
        else:
            out.append(n)
    return out


def _sha256_file(p):
    h = hashlib.sha256()
    n = 0
    buf = bytearray(_CHUNK)
    with open(p, "rb") as f:
        while True:
            k = f.readinto(buf)
            if not k:
                break
            h.update(memoryview(buf)[:k])
            n += k
    return n, h.digest()


def _es256():
    try:
        import _es256
        return _es256.verify
    except (ImportError, AttributeError):
        raise PolicyError("this firmware has no signature verification (built with MODXEN_VERIFY=0): "
                          "policies can be neither installed nor booted")


def _compiled_anchors():
    try:
        import _es256
        return list(_es256.policy_anchors())
    except (ImportError, AttributeError):
        return []


def _default_target():
    try:
        t = os.getenv("MODXEN_TARGET")
        if t:
            return t
    except AttributeError:
        pass
    try:
        import _xen
        return "modxen," + _xen.BACKEND
    except ImportError:
        return "modxen"


def _ticks():
    import time
    return time.ticks_ms()


class Policy:
    """The policy store under `root` (a directory on any mounted VFS)."""

    def __init__(self, root, target=None, max_bundle=MAX_BUNDLE, on_expire=None):
        self.root = root.rstrip("/") or "/"
        self.target = target or _default_target()
        self.max_bundle = max_bundle
        self.on_expire = on_expire      # called when a trial's deadline passes
        self._deadline = None           # ticks_ms by which the running trial must confirm
        self._lock = None
        self._rec_idx = None

    # ---- state records ------------------------------------------------------

    def _path(self, *parts):
        return self.root + "/" + "/".join(parts)

    def _load(self):
        best = None
        for i in range(2):
            try:
                data = _read(self._path(RECORDS[i]))
            except OSError:
                continue
            r = self._decode_record(data)
            if r is not None and (best is None or r["seq"] > best["seq"]):
                best = r
                self._rec_idx = i
        if best is None:
            self._rec_idx = None
            best = {"seq": 0, "active": None, "state": None, "previous": None,
                    "counter": 0, "tries": 0, "chain": [], "note": None}
        return best

    @staticmethod
    def _decode_record(data):
        if len(data) < 33:
            return None
        body = data[:-32]
        if hashlib.sha256(body).digest() != data[-32:]:
            return None
        try:
            r = cbor.loads(body)
        except cbor.CBORError:
            return None
        if not isinstance(r, dict):
            return None
        try:
            ok = (isinstance(r["seq"], int) and r["active"] in (None, "a", "b")
                  and r["state"] in (None, "trial", "confirmed")
                  and r["previous"] in (None, "a", "b") and isinstance(r["counter"], int)
                  and isinstance(r["tries"], int) and isinstance(r["chain"], list))
        except KeyError:
            return None
        return r if ok else None

    def _save(self, r):
        """Write r as the next record, over the older of the two files."""
        r = dict(r)
        r["seq"] = r["seq"] + 1
        body = cbor.dumps(r)
        i = 0 if self._rec_idx is None else 1 - self._rec_idx
        if not _isdir(self.root):
            self._mkdirs(self.root)
        _write(self._path(RECORDS[i]), body + hashlib.sha256(body).digest())
        self._rec_idx = i
        return r

    def _mkdirs(self, p):
        cur = "/" if p.startswith("/") else ""
        for part in p.split("/"):
            if not part:
                continue
            cur = cur + part if (not cur or cur.endswith("/")) else cur + "/" + part
            if not _isdir(cur):
                os.mkdir(cur)

    # ---- trust anchors ------------------------------------------------------

    def _anchors(self, r):
        """(current anchors, every anchor of the verified rotation chain).
        The chain starts at the compiled-in anchors; each link is a
        COSE_Sign1 manifest carrying `anchors`, signed by the set before it.
        A link that does not verify (e.g. after a firmware with other
        anchors is flashed) ends the chain there."""
        cur = _compiled_anchors()
        every = list(cur)
        es = None
        for link in r["chain"]:
            try:
                es = es or _es256()
                p, pl, sig, k = bundle.parse_cose(link)
                bundle.verify(bundle.Bundle(p, pl, sig, [], k), cur, es)
                m = bundle.decode_manifest(pl)
            except PolicyError as e:
                print("xen.policy: anchor rotation chain ends: %s" % e)
                break
            cur = m["anchors"]
            every.extend(cur)
        return cur, every

    # ---- slots --------------------------------------------------------------

    def _slot_manifest(self, slot):
        """The decoded manifest of a slot (not verified), or None."""
        try:
            p, pl, sig, k = bundle.parse_cose(_read(self._path(slot, MANIFEST)))
            return bundle.decode_manifest(pl)
        except (OSError, PolicyError):
            return None

    def verify_slot(self, slot, r=None):
        """Check a slot on disk: signature (any anchor of the verified
        chain), manifest, target, counter, every file's size and SHA-256,
        and that the slot holds no other file. Returns the manifest."""
        r = r or self._load()
        d = self._path(slot)
        try:
            cose = _read(d + "/" + MANIFEST)
        except OSError:
            raise TrialError("slot %s: no manifest (empty or partly written slot)" % slot)
        p, pl, sig, k = bundle.parse_cose(cose)
        b = bundle.Bundle(p, pl, sig, [], k)
        bundle.verify(b, self._anchors(r)[1], _es256())
        m = bundle.decode_manifest(pl)
        if m["target"] != self.target:
            raise TargetError("slot %s: built for target %r, this device is %r" % (slot, m["target"], self.target))
        if m["counter"] < r["counter"]:
            raise RollbackError("slot %s: security counter %d is below the device's %d" % (slot, m["counter"], r["counter"]))
        want = {}
        for name, size, digest in m["files"]:
            try:
                n, h = _sha256_file(d + "/" + name)
            except OSError:
                raise BundleError("slot %s: file %r is missing" % (slot, name))
            if n != size or h != digest:
                raise BundleError("slot %s: file %r does not match its manifest" % (slot, name))
            want[name] = 1
        for name in _walk(d, "", []):
            if name != MANIFEST and name not in want:
                raise BundleError("slot %s: holds %r, which the manifest does not list" % (slot, name))
        return m

    # ---- install ------------------------------------------------------------

    def _source(self, src):
        if isinstance(src, str):
            try:
                size = os.stat(src)[6]
            except OSError as e:
                raise BundleError("cannot read bundle %r: %s" % (src, e))
            if size > self.max_bundle:
                raise BundleError("bundle is %d bytes, larger than the limit of %d" % (size, self.max_bundle))
            buf = bytearray(size)
            with open(src, "rb") as f:
                n = f.readinto(buf)
            if n != size:
                raise BundleError("bundle %r: read %d of %d bytes" % (src, n, size))
            return buf
        if isinstance(src, (bytes, bytearray, memoryview)):
            return src
        raise TypeError("install() takes a path or bytes, not %s" % type(src).__name__)

    def check(self, src):
        """Everything install() checks, without writing. Returns the manifest."""
        r = self._load()
        b = bundle.parse(self._source(src), self.max_bundle)
        return bundle.check(b, self._anchors(r)[0], _es256(), self.target, r["counter"])

    def install(self, src, confirm=False):
        """Verify a bundle, write it into the inactive slot, verify it there
        and make it the trial of the next boot (confirm=True: the confirmed
        policy, for provisioning). Raises PolicyError and leaves the active
        policy as it was on any failure."""
        data = self._source(src)
        r = self._load()
        if r["state"] == "trial":
            raise TrialError("slot %s is on trial: confirm() it or reboot before installing" % r["active"])
        b = bundle.parse(data, self.max_bundle)
        data = None
        m = bundle.check(b, self._anchors(r)[0], _es256(), self.target, r["counter"])
        slot = "b" if r["active"] == "a" else "a"
        # From here on the disk changes, never the active slot. The inactive
        # slot stops being anybody's fallback before it is overwritten.
        if r["previous"] == slot:
            r["previous"] = None
            r = self._save(r)
        d = self._path(slot)
        if _isdir(d):
            if _exists(d + "/" + MANIFEST):
                os.remove(d + "/" + MANIFEST)
            _rmtree(d)
        else:
            self._mkdirs(d)
        for (name, size, digest), data in zip(m["files"], b.files):
            i = name.rfind("/")
            if i > 0:
                self._mkdirs(d + "/" + name[:i])
            _write(d + "/" + name, data)
        cose = cbor.dumps(cbor.Tag(bundle.COSE_SIGN1_TAG, [b.protected, {}, b.payload, b.signature]))
        _write(d + "/" + MANIFEST, cose)
        b = None
        m2 = self.verify_slot(slot, r)
        if m2 != m:
            raise BundleError("slot %s: manifest read back differs from the one installed" % slot)
        prev = r["active"] if r["state"] == "confirmed" else None
        r.update({"active": slot, "state": "trial", "previous": prev, "tries": 0, "note": None})
        if confirm:
            r = self._confirm_record(r, m, cose)
        self._save(r)
        return self.status()

    # ---- trial, confirm, revert ---------------------------------------------

    def _confirm_record(self, r, m, cose):
        r["state"] = "confirmed"
        r["tries"] = 0
        if m["counter"] > r["counter"]:
            r["counter"] = m["counter"]
        if "anchors" in m:
            chain = list(r["chain"]) + [cose]
            if len(chain) > MAX_CHAIN:
                raise PolicyError("trust anchors were rotated %d times already: reflash with new anchors" % MAX_CHAIN)
            r["chain"] = chain
        return r

    def confirm(self):
        """Mark the running trial good: it becomes the confirmed policy, its
        security counter becomes the device's, its anchors (if any) the
        trusted ones. A no-op on a confirmed policy."""
        lock = self._lock
        if lock:
            lock.acquire()
        try:
            r = self._load()
            if r["state"] == "confirmed":
                return self.status()
            if r["state"] != "trial":
                raise TrialError("no policy to confirm")
            slot = r["active"]
            if self._deadline is not None and _ticks_expired(self._deadline):
                self._revert(r, "slot %s not confirmed within its timeout" % slot)
                raise TrialError("trial of slot %s expired before confirm(); reverted" % slot)
            m = self.verify_slot(slot, r)
            self._deadline = None
            self._save(self._confirm_record(r, m, _read(self._path(slot, MANIFEST))))
        finally:
            if lock:
                lock.release()
        return self.status()

    def _revert(self, r, why):
        print("xen.policy: reverting: %s" % why)
        prev = r["previous"]
        r.update({"active": prev, "state": "confirmed" if prev else None,
                  "previous": None, "tries": 0, "note": why})
        self._deadline = None
        return self._save(r)

    def status(self):
        r = self._load()
        out = {"slot": r["active"], "state": r["state"], "previous": r["previous"],
               "counter": r["counter"], "target": self.target, "version": None,
               "previous_version": None, "last_error": r["note"]}
        for key, slot in (("version", r["active"]), ("previous_version", r["previous"])):
            if slot:
                m = self._slot_manifest(slot)
                if m:
                    out[key] = m["version"]
        return out

    # ---- boot ---------------------------------------------------------------

    def boot(self, timeout=None, globals=None):
        """Run the policy: the trial if one is pending and has not been
        booted before, else the confirmed one. A trial that raises, does not
        verify, or was already booted once without confirm() is reverted.
        timeout (seconds): a trial must confirm() within it. Returns the
        slot that ran."""
        r = self._load()
        if r["state"] == "trial":
            if r["tries"] >= 1:
                r = self._revert(r, "slot %s was on trial and the board restarted before confirm()" % r["active"])
            else:
                r["tries"] = 1          # from now on a reset means: revert
                r = self._save(r)
        if r["active"] is None:
            raise PolicyError("no policy installed in %s" % self.root)
        slot = r["active"]
        trial = r["state"] == "trial"
        try:
            self.verify_slot(slot, r)
        except PolicyError as e:
            if not trial:
                raise PolicyError("confirmed slot %s does not verify: %s" % (slot, e))
            self._revert(r, "trial slot %s does not verify: %s" % (slot, e))
            return self.boot(timeout, globals)
        if trial and timeout is not None:
            self._deadline = _ticks_add(timeout)
            self._arm(timeout)
        try:
            self._run(slot, globals)
        except Exception as e:
            if not trial:
                raise
            self._revert(self._load(), "trial slot %s: boot.py raised %s: %s" % (slot, type(e).__name__, e))
            return self.boot(None, globals)
        return slot

    def _run(self, slot, g):
        import sys
        d = self._path(slot)
        before = set(sys.modules)
        sys.path.insert(0, d)
        ns = {"__name__": "__main__", "__file__": d + "/boot.py"}
        if g:
            ns.update(g)
        try:
            exec(compile(_read(d + "/boot.py"), d + "/boot.py", "exec"), ns)
        except BaseException:
            # Nothing of a failed policy stays importable.
            if sys.path and sys.path[0] == d:
                sys.path.pop(0)
            for k in list(sys.modules):
                if k not in before:
                    del sys.modules[k]
            raise

    def _arm(self, timeout):
        try:
            import _thread
        except ImportError:
            return                      # confirm() still refuses after the deadline
        import time
        self._lock = self._lock or _thread.allocate_lock()
        deadline = self._deadline

        def watchdog():
            time.sleep(timeout)
            with self._lock:
                if self._deadline != deadline:
                    return              # confirmed (or re-armed) meanwhile
                r = self._load()
                if r["state"] != "trial":
                    return
                self._revert(r, "slot %s not confirmed within %s s" % (r["active"], timeout))
            if self.on_expire:
                self.on_expire()

        _thread.start_new_thread(watchdog, ())


def _ticks_add(seconds):
    import time
    return time.ticks_add(time.ticks_ms(), int(seconds * 1000))


def _ticks_expired(deadline):
    import time
    return time.ticks_diff(time.ticks_ms(), deadline) >= 0


# ---- the firmware's policy store ---------------------------------------------

_store = []


def _state_root():
    try:
        p = os.getenv("MODXEN_STATE")
    except AttributeError:
        p = None
    if not p:
        if _isdir("/flash"):
            return "/flash/policy"
        raise PolicyError("no policy state: set MODXEN_STATE to a directory or a littlefs image")
    try:
        st = os.stat(p)
    except OSError:
        st = None
    if st is not None and not st[0] & 0x4000:
        from .blockdev import mount_image
        return mount_image(p) + "/policy"
    return p


def store():
    """The Policy of this firmware (MODXEN_STATE, else /flash/policy)."""
    if not _store:
        _store.append(Policy(_state_root()))
    return _store[0]


def install(src, confirm=False):
    return store().install(src, confirm)


def check(src):
    return store().check(src)


def status():
    return store().status()


def confirm():
    return store().confirm()


def boot(timeout=None):
    return store().boot(timeout)
