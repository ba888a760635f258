# Ways a bundle reaches dom0. Every one ends in Policy.install(); none is
# trusted: the signature is the only thing that makes a bundle acceptable.
#
# xenstore, for a driver domain (dom0 usually has no network):
#   dom0:  rx = XenstoreReceiver(domid)   grants /local/domain/0/policy/<domid>
#                                         to that domain (read/write)
#   guest: writes chunk/0..n-1 (base64 of CHUNK bytes each), then
#          commit = "<n> <size> <sha256 hex>"
#   dom0:  on the commit watch: assembles, checks size and digest (transfer
#          integrity only), install(), writes result = "ok <slot> <version>"
#          or "error <Exception>: <message>", removes chunk/ and commit.
# HTTP, where dom0 has a network: pull_http("http://host:port/path").
import binascii
import hashlib

from . import PolicyError, BundleError, store

CHUNK = 1024            # raw bytes per xenstore node (base64: 1368, under node-size 2048)
BASE = "/local/domain/0/policy"


def _hex(b):
    return binascii.hexlify(b).decode()


def push_chunks(data, write, base):
    """Guest side, sans-IO: write(path, value) for each chunk, then commit."""
    mv = memoryview(data)
    n = 0
    for i in range(0, len(mv), CHUNK):
        write("%s/chunk/%d" % (base, n), binascii.b2a_base64(mv[i:i + CHUNK]).strip())
        n += 1
    write(base + "/commit", "%d %d %s" % (n, len(mv), _hex(hashlib.sha256(data).digest())))
    return n


class XenstoreReceiver:
    """dom0 side: receive bundles from domain `domid` over xenstore."""

    def __init__(self, domid, policy=None, xs=None, auto=False):
        if xs is None:
            from xen import xenstore as xs
        self.xs = xs
        self.domid = domid
        self.policy = policy
        self.base = "%s/%d" % (BASE, domid)
        self.pending = False
        self.auto = auto
        self.results = []
        xs.write(self.base, "")
        xs.set_perms(self.base, ["n0", "b%d" % domid])
        self.watch = xs.watch(self.base + "/commit", self._event)

    def _event(self, path):
        self.pending = True
        if self.auto:
            self.step()

    def close(self):
        self.watch.close()

    def step(self):
        """Handle a committed transfer, if any. Returns the result text or None."""
        self.pending = False
        xs = self.xs
        try:
            commit = xs.read(self.base + "/commit")
        except OSError:
            return None
        try:
            res = "ok %s %s" % self._take(commit)
        except (PolicyError, ValueError) as e:
            res = "error %s: %s" % (type(e).__name__, e)
        finally:
            for p in (self.base + "/chunk", self.base + "/commit"):
                try:
                    xs.rm(p)
                except OSError:
                    pass
        xs.write(self.base + "/result", res)
        self.results.append(res)
        return res

    def _take(self, commit):
        pol = self.policy or store()
        try:
            n, size, digest = commit.decode().split()
            n = int(n)
            size = int(size)
        except (ValueError, UnicodeError):
            raise BundleError("xenstore transfer: commit must be '<chunks> <size> <sha256>'")
        if size < 0 or size > pol.max_bundle or n != (size + CHUNK - 1) // CHUNK:
            raise BundleError("xenstore transfer: %d bytes in %d chunks is out of bounds (limit %d)"
                              % (size, n, pol.max_bundle))
        buf = bytearray(size)
        pos = 0
        for i in range(n):
            try:
                part = binascii.a2b_base64(self.xs.read("%s/chunk/%d" % (self.base, i)))
            except OSError:
                raise BundleError("xenstore transfer: chunk %d is missing" % i)
            if pos + len(part) > size:
                raise BundleError("xenstore transfer: chunks exceed the announced size")
            buf[pos:pos + len(part)] = part
            pos += len(part)
        if pos != size:
            raise BundleError("xenstore transfer: %d of %d bytes arrived" % (pos, size))
        if _hex(hashlib.sha256(buf).digest()) != digest:
            raise BundleError("xenstore transfer: SHA-256 of the assembled bundle does not match the commit")
        st = pol.install(buf)
        return st["slot"], st["version"]


def http_get(url, max_size, timeout=30):
    """A small HTTP/1.0 GET: the body as bytes, at most max_size of it."""
    import socket
    if not url.startswith("http://"):
        raise ValueError("pull_http: only http:// URLs (the bundle is signed; TLS adds nothing to trust)")
    rest = url[7:]
    i = rest.find("/")
    hostport, path = (rest, "/") if i < 0 else (rest[:i], rest[i:])
    host, _, port = hostport.partition(":")
    port = int(port) if port else 80
    ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    s = socket.socket(ai[0], socket.SOCK_STREAM)
    try:
        try:
            s.settimeout(timeout)
        except (AttributeError, OSError):
            pass
        s.connect(ai[-1])
        s.write(("GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: modxen\r\n\r\n" % (path, hostport)).encode())
        f = s.makefile("rb") if hasattr(s, "makefile") else s
        status = f.readline().split(None, 2)
        if len(status) < 2 or status[1] != b"200":
            raise OSError("pull_http: %s answered %r" % (url, b" ".join(status).strip()))
        length = None
        while True:
            line = f.readline()
            if not line or line in (b"\r\n", b"\n"):
                break
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v.strip())
        if length is not None and length > max_size:
            raise BundleError("bundle at %s is %d bytes, larger than the limit of %d" % (url, length, max_size))
        body = bytearray()
        while True:
            chunk = f.read(2048)
            if not chunk:
                break
            body.extend(chunk)
            if len(body) > max_size:
                raise BundleError("bundle at %s is larger than the limit of %d" % (url, max_size))
        if length is not None and len(body) != length:
            raise BundleError("bundle at %s: %d of %d bytes arrived" % (url, len(body), length))
        return body
    finally:
        s.close()


def pull_http(url, policy=None):
    """Fetch a bundle over HTTP and install it."""
    pol = policy or store()
    return pol.install(http_get(url, pol.max_bundle))
