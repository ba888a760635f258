"""Nothing a guest says is lost: the console ring is drained one last time on
VIRQ_DOM_EXC and in every teardown (destroy, on_poweroff, on_reboot, on_crash,
a failed build), a dead domain's console stays readable (bounded), a
restarted domain's console carries the old output after a separator line,
and crash output reaches a log file. On the sim, on every release.

The guest here writes its last line into its console ring and dies *without*
notifying dom0, the case a real guest hits when it powers off right after
printing: only the final drain can see that line."""
import pytest

from domain.test_domain_create import arm64_image


@pytest.fixture
def kernel(tmp_path):
    k = tmp_path / "Image"
    k.write_bytes(arm64_image())
    return str(k)


PRE = """
import xen, _xen, time
from xen import xl
import _xensim as sim
import _xenring
OUT = _xenring.CONSOLE_OUT
def settle(n=5):
    for _ in range(n):
        time.sleep_ms(2)
class GuestConsole:
    # the guest's side of its console page: write output, maybe notify
    def __init__(self, dom):
        self.d = dom.domid
        self.page = sim.guest_map(self.d, _xen.hvm_get_param(self.d, _xen.HVM_PARAM_CONSOLE_PFN))
        self.port = _xen.hvm_get_param(self.d, _xen.HVM_PARAM_CONSOLE_EVTCHN)
        self.prod = _xenring.indices(self.page, OUT)[1]
    def say(self, data, notify=True):
        n = _xenring.write(self.page, OUT, self.prod, data, 0)
        self.prod = (self.prod + n) & 0xFFFFFFFF
        if notify:
            sim.guest_notify(self.d, self.port)
def wait_gone(dom):
    for _ in range(200):
        settle(1)
        if not dom.alive():
            return
    raise AssertionError('domain %d still there' % dom.domid)
"""


def cfg(kernel, **kw):
    c = {"name": "g", "kernel": kernel, "memory": 32}
    c.update(kw)
    return repr(c)


@pytest.mark.parametrize("reason,key", [("poweroff", "on_poweroff"), ("crash", "on_crash"),
                                        ("reboot", "on_reboot")])
def test_last_line_before_shutdown_reaches_dom0_on_destroy(mp, kernel, reason, key):
    r = mp.json(PRE + """
dom = xen.domain_create(%s)
g = GuestConsole(dom)
g.say(b'booted\\n'); settle()
g.say(b'LAST-WORDS-%s\\n', notify=False)      # printed, never announced
sim.guest_shutdown(dom.domid, '%s')
wait_gone(dom)
emit([dom.dead, dom.console.read().decode(), dom.console.closed, [i['domid'] for i in _xen.domain_list()]])
""" % (cfg(kernel, **{key: "destroy"}), reason, reason))
    dead, text, closed, ids = r
    assert dead and closed and ids == [0]
    assert text == "booted\nLAST-WORDS-%s\n" % reason


def test_last_line_then_restart_keeps_old_output_after_a_separator(mp, kernel):
    r = mp.json(PRE + """
dom = xen.domain_create(%s)
g = GuestConsole(dom)
g.say(b'first life\\n'); settle()
g.say(b'LAST-BEFORE-POWEROFF\\n', notify=False)
sim.guest_shutdown(dom.domid, 'poweroff')
wait_gone(dom)
new = xen.get_dom0().by_name('g')
g2 = GuestConsole(new)
g2.say(b'second life\\n'); settle()
emit([dom.console.history().decode(), new.domid != dom.domid, new.console.read().decode()])
""" % cfg(kernel, on_poweroff="restart"))
    old, renewed, now = r
    assert old == "first life\nLAST-BEFORE-POWEROFF\n"
    assert renewed
    sep = "--- g: domain 1 poweroff; restarted as domain 2 ---"
    assert now == "first life\nLAST-BEFORE-POWEROFF\n\n%s\nsecond life\n" % sep


def test_explicit_destroy_drains_and_a_failed_build_leaves_nothing(mp, kernel, tmp_path):
    r = mp.json(PRE + """
dom = xen.domain_create(%s)
g = GuestConsole(dom)
g.say(b'BEFORE-DESTROY\\n', notify=False)
xl.destroy('g')
a = dom.console.read().decode()
# a build that fails after the console is served: its drained output is in the log
sim.fail('domctl.unpausedomain', 1, 5)
try:
    xen.domain_create(%s)
except xen.BuildError as e:
    b = str(e)
emit([a, 'unpause' in b, [i['domid'] for i in _xen.domain_list()]])
""" % (cfg(kernel), cfg(kernel, name="h")))
    assert r == ["BEFORE-DESTROY\n", True, [0]]


def test_dead_consoles_are_bounded_oldest_dropped(mp, kernel):
    r = mp.json(PRE + """
xen.start(dead_consoles=3)
for i in range(5):
    d = xen.domain_create(dict(%s, name='g%%d' %% i))
    GuestConsole(d).say(b'I am g%%d\\n' %% i, notify=False)
    d.destroy()
kept = [(d.name, d.console.history().decode()) for d in xen.get_dom0().dead]
emit([kept, xen.get_dom0().dead_domain('g0') is None, xen.get_dom0().dead_domain('g4').name])
""" % cfg(kernel))
    kept, g0_dropped, newest = r
    assert kept == [["g2", "I am g2\n"], ["g3", "I am g3\n"], ["g4", "I am g4\n"]]
    assert g0_dropped and newest == "g4"


def test_xl_console_replays_a_dead_domain(mp, kernel):
    out = mp.run(PRE + """
dom = xen.domain_create(%s)
g = GuestConsole(dom)
g.say(b'Kernel panic - not syncing: sysrq triggered crash\\n', notify=False)
sim.guest_shutdown(dom.domid, 'crash')
wait_gone(dom)
xl.console('g')
""" % cfg(kernel, on_crash="destroy"))
    assert "[domain g (1) is dead; its last output:]\nKernel panic - not syncing: sysrq triggered crash\n" in out
    assert "[end of domain g's console]" in out


def test_crash_output_lands_in_the_log_before_teardown(mp, kernel, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    r = mp.json(PRE + """
xen.start(crash_logdir=%r)
dom = xen.domain_create(%s)
g = GuestConsole(dom)
g.say(b'oops: panic text\\n', notify=False)
sim.guest_shutdown(dom.domid, 'crash')
wait_gone(dom)
emit(open(%r + '/console-%%d.log' %% dom.domid).read())
""" % (str(logs), cfg(kernel, on_crash="destroy"), str(logs)))
    assert r == "oops: panic text\n"
