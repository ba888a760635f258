# tests/policy/test_policy_transports.py's firmware side: a bundle pushed
# over xenstore by a driver domain (a sim guest on a xenstore ring, through
# tests/mp/xsguest.py) and pulled over HTTP, on the store
# MODXEN_STATE names.
import xen.policy as P
from xen import xenstore as xs
from xen.xenstore import ring as R
from xen.policy import transport as T
from xen.policy.transport import XenstoreReceiver, push_chunks

from xsguest import Guest


def read(path):
    with open(path, 'rb') as f:
        return f.read()


class Driver:
    """Driver domain `domid` writing into dom0's receiver for it."""

    def __init__(self, domid, xs_write):
        self.xs_write = xs_write      # xs_wire.h's XS_WRITE: a write's reply type
        self.g = guest(domid)
        self.rx = XenstoreReceiver(domid, policy=P.store())
        xs.pump()
        self.rx.pending = False       # the watch's first event fires on registration

    def writer(self):
        g = self.g

        def w(path, value):
            if isinstance(value, str):
                value = value.encode()
            t, b = g.write(path.encode(), value)
            if t != self.xs_write:
                raise OSError('guest write %s: %r' % (path, b))
        return w

    def result(self):
        return self.g.read((self.rx.base + '/result').encode())[1].decode()

    def send(self, data, tamper=None):
        w = self.writer()
        if tamper:
            w = tamper(w)
        push_chunks(data, w, self.rx.base)
        xs.pump()
        assert self.rx.pending, 'dom0 saw no commit'
        self.rx.step()
        return self.result()


def guest(domid):
    xs.introduce(domid, 1000 + domid, 10 + domid)
    g = Guest()
    g.server = R.attach(xs.server(), domid, g.page, g.notify)
    return g


def xenstore_transfer(path, xs_write):
    d = Driver(5, xs_write)
    r = d.send(read(path))
    st = P.status()
    return [r, st['slot'], st['state'], st['version'], xs.ls(d.rx.base)]


def drop_chunk(w):
    def f(path, value):
        if not path.endswith('/chunk/1'):
            w(path, value)
    return f


def bad_digest(w):
    def f(path, value):
        if path.endswith('/commit'):
            value = value[:-4] + 'beef'
        w(path, value)
    return f


def xenstore_refusals(paths, xs_write):
    """The unknown-key, wrong-target and padded bundles in paths: what the
    guest reads back for each refusal."""
    d = Driver(5, xs_write)
    b = [read(p) for p in paths]
    out = [d.send(b[0]), d.send(b[1])]
    out.append(d.send(b[2], drop_chunk))
    out.append(d.send(b[2], bad_digest))
    # an absurd announced size is refused before any chunk is read
    d.writer()(d.rx.base + '/commit', '99999 99999999 00')
    xs.pump()
    d.rx.step()
    out.append(d.result())
    # another guest may not write into domain 5's area
    g6 = guest(6)
    out.append(g6.write((d.rx.base + '/commit').encode(), b'1 1 00')[1].decode())
    return out


def http_refusals(url, names):
    out = []
    for name in names:
        try:
            T.pull_http(url + '/' + name)
            out.append('ACCEPTED')
        except (P.PolicyError, OSError) as e:
            out.append(type(e).__name__ + ': ' + str(e))
    out.append(P.status()['slot'])
    return out


def http_pull(url):
    return T.pull_http(url)
