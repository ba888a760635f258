"""Where tools look: our server and Debian's cxenstored 4.17 (under the
fakexen shim) side by side on the cases the random differential run does
not reach, plus Debian's xenstore-control against ours alone.

- the initial tree (`xenstore-ls /` on a fresh store, and after `rm /`);
- SET_PERMS naming an owner that does not exist (ENOENT);
- CONTROL, raw and through xenstore-control: help, check, log on|off,
  quota and quota-soft (read and set), memreport, print, and the errors.

The firmware side of the in-core CONTROL scenario is mp/parity_cases.py.
"""
import re
import subprocess

import pytest

from xenheaders import XEN as X     # message types from Xen's xs_wire.h
from xslib import XENSTORE_CONTROL, RawClient, mp
from xsdiff import CXenstored

CONTROL = X.XS_CONTROL
GET_QUOTA = 25      # XS_GET_QUOTA (Xen 4.21), newer than the installed headers


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
        for typ in (X.XS_DIRECTORY, X.XS_READ, X.XS_GET_PERMS):
            ours, theirs = both(pair, typ, p + b"\x00")
            assert ours == theirs, (typ, p)
    # rm / is refused by both; / is unchanged after it
    ours, theirs = tools(pair, "xenstore-rm", "/")
    assert ours[0] == theirs[0] != 0
    ours, theirs = both(pair, X.XS_RM, b"/\x00")
    assert ours == theirs == (X.XS_ERROR, b"EINVAL\x00")
    ours, theirs = tools(pair, "xenstore-ls", "-f", "/")
    assert ours == theirs and "/tool/xenstored" in ours[1]
    # the initial nodes are ordinary: they can be removed
    ours, theirs = tools(pair, "xenstore-rm", "/tool")
    assert ours == theirs and ours[0] == 0
    ours, theirs = both(pair, X.XS_DIRECTORY, b"/\x00")
    assert ours == theirs == (X.XS_DIRECTORY, b"")
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
    assert both(pair, X.XS_WRITE, b"/sp\x00v") == [(X.XS_WRITE, b"OK\x00")] * 2
    for payload in SET_PERMS_CASES:
        o, t = both(pair, X.XS_SET_PERMS, payload)
        assert o == t, (payload, o, t)
        o, t = both(pair, X.XS_GET_PERMS, b"/sp\x00")
        assert o == t, (payload, o, t)
    assert both(pair, X.XS_SET_PERMS, b"/sp\x00n5\x00")[0] == (X.XS_ERROR, b"ENOENT\x00")
    # a domain that exists (introduced on ours, known to Xen on theirs)
    # may own nodes; released, its nodes go and its entries stay, inert
    cx.set_domains([0, 5])
    for typ, payload in ((X.XS_INTRODUCE, b"5\x001234\x007\x00"),
                         (X.XS_WRITE, b"/owned\x00v"),
                         (X.XS_SET_PERMS, b"/owned\x00n5\x00"),
                         (X.XS_WRITE, b"/owned/kid\x00k"),
                         (X.XS_WRITE, b"/shared\x00v"),
                         (X.XS_SET_PERMS, b"/shared\x00n0\x00r5\x00"),
                         (X.XS_GET_PERMS, b"/owned/kid\x00"),
                         (X.XS_RELEASE, b"5\x00"),
                         (X.XS_READ, b"/owned\x00"),
                         (X.XS_GET_PERMS, b"/shared\x00"),
                         (X.XS_SET_PERMS, b"/shared\x00n0\x00r5\x00w0\x00"),
                         (X.XS_GET_PERMS, b"/shared\x00")):
        o, t = both(pair, typ, payload)
        assert o == t, (typ, payload, o, t)
    # xenstore-chmod says so on both
    o, t = tools(pair, "xenstore-chmod", "/sp", "b7")
    assert o[0] == t[0] != 0 and o[2] == t[2]


# ---------------------------------------------------------------- CONTROL
def _help_lines(text):
    return text.split("\n")


def test_control_raw_replies_match_cxenstored(pair):
    same = [
        b"check\x00", b"log\x00on\x00", b"log\x00off\x00",
        b"quota\x00", b"quota-soft\x00",
        b"quota\x00set\x00nodes\x001234\x00", b"quota\x00",
        b"quota\x00set\x00path-max\x001024\x00", b"quota\x00",
        b"quota\x00set\x00path-max\x002048\x00",
        b"quota-soft\x00set\x00memory\x001000\x00", b"quota-soft\x00",
        b"quota\x005\x00",                              # ENOENT: no such domain
        b"memreport\x00", b"print\x00hello\x00",
        # EINVAL: arguments, unknown names, unknown or unsupported commands
        b"check\x00x\x00", b"help\x00x\x00", b"log\x00\x00", b"log\x00maybe\x00",
        b"log\x00on\x00x\x00", b"quota\x00set\x00", b"quota\x00set\x00nodes\x00",
        b"quota\x00set\x00nodes\x000\x00", b"quota\x00set\x00bogus\x005\x00",
        b"quota\x00set\x00nodes\x005\x006\x00", b"quota\x000\x001\x00",
        b"quota-soft\x00set\x00nodes\x005\x00", b"quota-soft\x000\x00",
        b"memreport\x00a\x00b\x00", b"print\x00", b"bogus\x00", b"live-update\x00",
        b"", b"\x00", b"help", b"check", b"\x00check\x00",
    ]
    for payload in same:
        o, t = both(pair, CONTROL, payload)
        assert o == t, (payload, o, t)
    # a domain's usage: the same lines; node counts agree, memory is each
    # server's own accounting
    o, t = both(pair, CONTROL, b"quota\x000\x00")
    assert o[0] == t[0] == CONTROL
    mask = re.compile(rb"(memory +: +)\d+")
    assert mask.sub(rb"\1N", o[1]) == mask.sub(rb"\1N", t[1]), (o, t)
    assert o[1].startswith(b"Domain 0:\nnodes           :        3\n")
    # help: cxenstored's format, our commands, in its order; what we leave
    # out is live-update and logfile
    o, t = both(pair, CONTROL, b"help\x00")
    assert o[0] == t[0] == CONTROL and o[1].endswith(b"\n\x00") and t[1].endswith(b"\n\x00")
    ol = o[1][:-1].decode().split("\n")
    tl = t[1][:-1].decode().split("\n")
    assert [line for line in tl if line in ol] == ol
    left = [line.split("\t")[0] for line in tl if line not in ol and "\t" in line]
    assert left == ["live-update", "logfile"], left
    # an unknown transaction: ENOENT on both
    o = raw(pair[0].path, CONTROL, b"check\x00", tx=77)
    t = raw(pair[1].path, CONTROL, b"check\x00", tx=77)
    assert o == t == (X.XS_ERROR, b"ENOENT\x00")


def test_xenstore_control_matches_cxenstored(pair, sockdir):
    for args in (["check"], ["log", "on"], ["log", "off"], ["quota"], ["quota-soft"],
                 ["quota", "set", "transactions", "3"], ["quota"],
                 ["quota-soft", "set", "memory", "4096"], ["quota-soft"],
                 ["quota", "7"], ["print", "from the test"], ["memreport"]):
        o, t = xc(pair, *args)
        assert o == t, (args, o, t)
    o, t = xc(pair, "quota", "0")
    assert o[0] == t[0] == 0
    assert o[1].split("memory")[0] == t[1].split("memory")[0]
    # a memory report appended to a file: OK on both, a report in each file
    o, t = [tool(s, XENSTORE_CONTROL, "memreport", sockdir / ("mem-%d.txt" % i))
            for i, s in enumerate(pair)]
    assert o == t == (0, "OK\n", "")
    assert (sockdir / "mem-0.txt").stat().st_size > 0 and (sockdir / "mem-1.txt").stat().st_size > 0
    o, t = xc(pair, "memreport", sockdir / "no" / "such" / "dir")
    assert o[0] == t[0] == 3 and o[2].startswith("Command not supported.")
    # help: our lines are cxenstored's, in its order
    o, t = xc(pair, "help")
    assert o[0] == t[0] == 0
    assert [line for line in t[1].split("\n") if line in o[1].split("\n")] == o[1].split("\n")
    # what neither accepts: the same error, each followed by its own list
    for args in (["log", "maybe"], ["quota", "set", "nodes", "0"], ["quota", "set", "bogus", "5"],
                 ["quota-soft", "set", "nodes", "5"], ["check", "now"], ["bogus"]):
        o, t = xc(pair, *args)
        assert o[0] == t[0] == 3, (args, o, t)
        assert o[2].split("\n")[0] == t[2].split("\n")[0] == \
            "Command not supported. Valid commands are:", (args, o, t)


# ------------------------------------------- xenstore-control against ours
def test_xenstore_control_help(xsd):
    rc, out, err = tool(xsd, XENSTORE_CONTROL, "help")
    assert rc == 0, err
    assert out == ("check\t\nlog\ton|off\nmemreport\t[<file>]\nprint\t<string>\n"
                   "quota\t[set <name> <val>|<domid>]\nquota-soft\t[set <name> <val>]\nhelp\t\n\n")


def test_xenstore_control_check(xsd):
    xsd.tool("xenstore-write", "/c/a", "1", "/c/b/c", "2")
    assert tool(xsd, XENSTORE_CONTROL, "check") == (0, "OK\n", "")


def test_xenstore_control_log_on_off_traces_requests(xsd):
    assert tool(xsd, XENSTORE_CONTROL, "log", "on") == (0, "OK\n", "")
    xsd.tool("xenstore-write", "/traced", "yes")
    assert tool(xsd, XENSTORE_CONTROL, "log", "off") == (0, "OK\n", "")
    xsd.tool("xenstore-write", "/untraced", "no")
    log = xsd.logtext()
    assert "IN " in log and "WRITE" in log and "/traced yes" in log, log
    assert "OUT " in log and "(OK )" in log, log
    assert "/untraced" not in log, log
    assert "log off" in log     # the request that turned it off is traced


def test_xenstore_control_quota_read_and_set(xsd):
    rc, out, err = tool(xsd, XENSTORE_CONTROL, "quota")
    assert rc == 0 and out.startswith("Quota settings:\n"), (out, err)
    assert "nodes            :     1000 Nodes per domain\n" in out
    assert "permissions      :        5 Max. number of permissions per node\n" in out
    assert tool(xsd, XENSTORE_CONTROL, "quota", "set", "watches", "64") == (0, "OK\n", "")
    assert "watches          :       64 Watches per domain\n" in tool(xsd, XENSTORE_CONTROL, "quota")[1]
    # the daemon's own view (GET_QUOTA) agrees
    c = RawClient(xsd.path)
    assert c.call(GET_QUOTA, b"watches\x00")[3] == b"64\x00"
    c.close()
    xsd.tool("xenstore-write", "/q/a", "1")
    rc, out, err = tool(xsd, XENSTORE_CONTROL, "quota", "0")
    assert rc == 0 and out.startswith("Domain 0:\nnodes           :        5\n"), out
    assert tool(xsd, XENSTORE_CONTROL, "quota", "9")[0] == 3      # no such domain
    assert tool(xsd, XENSTORE_CONTROL, "quota", "set", "watches", "0")[0] == 3


def test_xenstore_control_quota_soft_read_and_set(xsd):
    assert tool(xsd, XENSTORE_CONTROL, "quota-soft") == (
        0, "Quota settings:\nmemory           :  2097152 Total Xenstore memory per domain "
           "(warning level)\n\n", "")
    assert tool(xsd, XENSTORE_CONTROL, "quota-soft", "set", "memory", "300000") == (0, "OK\n", "")
    assert "memory           :   300000" in tool(xsd, XENSTORE_CONTROL, "quota-soft")[1]
    assert tool(xsd, XENSTORE_CONTROL, "quota-soft", "set", "nodes", "1")[0] == 3


def test_xenstore_control_memreport(xsd, sockdir):
    xsd.tool("xenstore-write", "/m/a", "1")
    assert tool(xsd, XENSTORE_CONTROL, "memreport") == (0, "OK\n", "")
    log = xsd.logtext()
    assert "xenstore memory report" in log and "domain 0: nodes 5" in log, log
    f = sockdir / "report.txt"
    assert tool(xsd, XENSTORE_CONTROL, "memreport", f) == (0, "OK\n", "")
    assert tool(xsd, XENSTORE_CONTROL, "memreport", f) == (0, "OK\n", "")     # appends
    text = f.read_text()
    assert text.count("xenstore memory report") == 2 and "heap:" in text, text
    assert tool(xsd, XENSTORE_CONTROL, "memreport", sockdir / "no" / "x")[0] == 3


def test_xenstore_control_unsupported_is_a_clear_error(xsd):
    for args in (["logfile", "/tmp/x"], ["bogus"], ["print"]):
        rc, out, err = tool(xsd, XENSTORE_CONTROL, *args)
        assert rc == 3, (args, rc, out, err)
        assert err.startswith("Command not supported. Valid commands are:\ncheck\t\n"), (args, err)
    # live-update: the tool has its own steps and words for the EINVAL
    for args in (["live-update", "/bin/true"], ["live-update", "-a"]):
        rc, out, err = tool(xsd, XENSTORE_CONTROL, *args)
        assert rc != 0 and "Invalid argument" in err, (args, rc, out, err)
    # still serving, nothing broken
    assert tool(xsd, XENSTORE_CONTROL, "check") == (0, "OK\n", "")
    assert xsd.proc.poll() is None


def test_control_in_the_core_privileged_only_and_soft_quota_warns():
    mp("parity_cases.control_in_the_core_privileged_only_and_soft_quota_warns")
