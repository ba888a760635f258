# Guests for tests/console/test_repl.py to start from the REPL under test
# (xen.repl puts this folder on the path): sim guests whose threads keep
# writing, so that a test can see dom0's console service run while the REPL
# idles, runs code, or is attached to a guest.
import _thread
import time

import xen.console as xc
from conguest import Guest


def chatty(backlog=100):
    """A guest writing dots from a thread; only dom0's drains make room in
    its 2048-byte ring. Returns its domid."""
    g = Guest()
    xc.serve(g.domid, g.gfn, g.port, backlog=backlog)

    def run():
        while True:
            g.write(b'.' * 512)
            time.sleep_ms(2)
    _thread.start_new_thread(run, ())
    return g.domid


def attach_echo():
    """Guest a echoes its input upper-cased in <>, guest b chatters; attach
    the REPL's terminal to a and, after the detach, print whether b's
    console kept draining and how often a's output held <HELLO>."""
    a = Guest()
    b = Guest()
    ca = xc.serve(a.domid, a.gfn, a.port)
    cb = xc.serve(b.domid, b.gfn, b.port, backlog=64)
    a.write(b'replay-me\n')
    time.sleep_ms(20)

    def echo():
        buf = bytearray(64)
        while True:
            n = a.read(buf)
            if n:
                a.write(b'<' + bytes(buf[:n]).upper() + b'>')
            time.sleep_ms(2)

    def chatter():
        while True:
            b.write(b'b' * 100)
            time.sleep_ms(2)
    _thread.start_new_thread(echo, ())
    _thread.start_new_thread(chatter, ())
    t0 = cb.total
    xc.attach(a.domid)
    print('detached', cb.total - t0 > 5000, ca.read().count(b'<HELLO>'))
