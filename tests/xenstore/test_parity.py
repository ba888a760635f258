"""Where tools look: our server and Debian's cxenstored 4.17 (under the
fakexen shim) side by side on the cases the random differential run does
not reach, plus Debian's xenstore-control against ours alone.

- the initial tree (`xenstore-ls /` on a fresh store, and after `rm /`);
- SET_PERMS naming an owner that does not exist (ENOENT).
"""
import subprocess

import pytest

from xslib import XENSTORE_CONTROL, RawClient
from xsdiff import CXenstored



@pytest.fixture
def pair(xsd, sockdir):
    """(ours, cxenstored): fresh servers; cxenstored traces to a file, as
    its `log` and `memreport` commands need one."""
    cx = CXenstored(sockdir / "cx", args=("-T", str(sockdir / "cx-trace.log")))
    yield xsd, cx
    cx.stop()


def raw(path, typ, payload, tx=0):
    c = RawClient(path)
    try:
        t, r, x, body = c.call(typ, payload, tx)
        return t, body
    finally:
        c.close()


def both(pair, typ, payload):
    return [raw(s.path, typ, payload) for s in pair]


def tool(server, *argv):
    p = subprocess.run([str(a) for a in argv], capture_output=True, env=server.env, timeout=30)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def tools(pair, *argv):
    return [tool(s, *argv) for s in pair]


def xc(pair, *args):
    return tools(pair, XENSTORE_CONTROL, *args)


# ------------------------------------------------------------ initial tree
def test_initial_tree_matches_cxenstored(pair):
    for argv in (["xenstore-ls", "/"], ["xenstore-ls", "-p", "/"], ["xenstore-ls", "-f", "/"],
                 ["xenstore-list", "/"], ["xenstore-read", "/tool/xenstored"]):
        ours, theirs = tools(pair, *argv)
        assert ours == theirs, argv
    ours, theirs = tools(pair, "xenstore-ls", "-f", "/")
    assert ours[1] == '/tool = ""\n/tool/xenstored = ""\n'
    for p in (b"/", b"/tool", b"/tool/xenstored"):
        for typ in (1, 2, 3):          # DIRECTORY, READ, GET_PERMS
            ours, theirs = both(pair, typ, p + b"\x00")
            assert ours == theirs, (typ, p)
    # rm / is refused by both; / is unchanged after it
    ours, theirs = tools(pair, "xenstore-rm", "/")
    assert ours[0] == theirs[0] != 0
    ours, theirs = both(pair, 13, b"/\x00")
    assert ours == theirs == (16, b"EINVAL\x00")
    ours, theirs = tools(pair, "xenstore-ls", "-f", "/")
    assert ours == theirs and "/tool/xenstored" in ours[1]
    # the initial nodes are ordinary: they can be removed
    ours, theirs = tools(pair, "xenstore-rm", "/tool")
    assert ours == theirs and ours[0] == 0
    ours, theirs = both(pair, 1, b"/\x00")
    assert ours == theirs == (1, b"")
    ours, theirs = tools(pair, "xenstore-ls", "/")
    assert ours == theirs


# ------------------------------------------------------- SET_PERMS owners
SET_PERMS_CASES = [
    b"/sp\x00n5\x00",               # owner does not exist
    b"/sp\x00b5\x00r0\x00",
    b"/sp\x00n0\x00r5\x00",         # others may name any domain
    b"/sp\x00r0\x00w5\x00b70000\x00",
    b"/sp\x00n70000\x00",           # reserved owner
    b"/sp\x00n0\x00",
    b"/missing\x00n5\x00",          # the owner is checked before the path
    b"/missing\x00n0\x00",
    b"bad path\x00n5\x00",
    b"@releaseDomain\x00n5\x00",    # special nodes too
    b"@introduceDomain\x00n0\x00r5\x00",
    b"@releaseDomain\x00n0\x00",
]


def test_set_perms_owner_must_exist_matches_cxenstored(pair):
    ours, cx = pair
    assert both(pair, 11, b"/sp\x00v") == [(11, b"OK\x00")] * 2
    for payload in SET_PERMS_CASES:
        o, t = both(pair, 14, payload)
        assert o == t, (payload, o, t)
        o, t = both(pair, 3, b"/sp\x00")
        assert o == t, (payload, o, t)
    assert both(pair, 14, b"/sp\x00n5\x00")[0] == (16, b"ENOENT\x00")
    # xenstore-chmod says so on both
    o, t = tools(pair, "xenstore-chmod", "/sp", "b7")
    assert o[0] == t[0] != 0 and o[2] == t[2]


