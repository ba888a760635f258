"""`make run-sim`, driven through a terminal: the host firmware's REPL on the simulated
Xen. The README's first steps work there too, except that no guest code runs (its
console stays silent): create, list, destroy from the same "First steps" block, and a
1 KB line pasted in one write into the friendly REPL arrives whole (the console input
path of the host REPL)."""
import os
import re

from test_make_run import Terminal, first_steps, ROOT


def test_run_sim_first_steps_and_paste():
    t = Terminal(["make", "--no-print-directory", "run-sim"], dict(os.environ, TERM="xterm"))
    try:
        t.expect(b">>> ", 600, "run-sim's first prompt")
        os.write(t.fd, b"s = '" + b"0123456789" * 100 + b"'; print('pasted', len(s), s[-12:])\r")
        t.expect(b"pasted 1000 890123456789", 30, "a pasted 1 KB line")
        t.expect(b">>> ", 10, "the prompt after the pasted line")
        listings = []
        for kind, text, expected in first_steps():
            if kind != "py" or text.startswith("xl.console("):
                continue     # no guest code runs on the sim
            t.type(text.encode() + b"\r")
            out = t.expect(b"\n>>> ", 60, text)
            assert "Error" not in out, out
            if text.startswith("xl.create("):
                assert re.search(r"created demo \(domain \d+\)", out), out
            if text.startswith("xl.list()"):
                listings.append([l.split()[0] for l in out.splitlines()[1:] if l.strip() and not l.startswith("Name")])
        assert "demo" in listings[0] and listings[-1] == ["Domain-0"], listings
    finally:
        t.close()
        os.waitpid(t.pid, 0)
