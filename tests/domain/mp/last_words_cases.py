# tests/domain/test_domain_last_words.py's firmware side: a guest writes its
# last line into its console ring and dies without notifying dom0; the final
# drain must still catch it, in every way a domain can go.
import xen
import _xen
from xen import xl
import _xensim as sim
import _xenring
from simdom import domids, settle as _settle

OUT = _xenring.CONSOLE_OUT


def settle(n=5):
    _settle(n, 2)


class GuestConsole:
    """The guest's side of its console page: write output, maybe notify."""

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


def last_line_then_shutdown(cfg, reason):
    """The guest says a line, then its last one unannounced, and shuts down
    for reason: [dead, its console, console closed, domains left]."""
    dom = xen.domain_create(cfg)
    g = GuestConsole(dom)
    g.say(b'booted\n')
    settle()
    g.say(b'LAST-WORDS-' + reason.encode() + b'\n', notify=False)   # printed, never announced
    sim.guest_shutdown(dom.domid, reason)
    wait_gone(dom)
    return [dom.dead, dom.console.read().decode(), dom.console.closed, domids()]


def restarted(cfg):
    """[the old console's history, a new domid, the new console's text]."""
    dom = xen.domain_create(cfg)
    g = GuestConsole(dom)
    g.say(b'first life\n')
    settle()
    g.say(b'LAST-BEFORE-POWEROFF\n', notify=False)
    sim.guest_shutdown(dom.domid, 'poweroff')
    wait_gone(dom)
    new = xen.get_dom0().by_name('g')
    g2 = GuestConsole(new)
    g2.say(b'second life\n')
    settle()
    return [dom.console.history().decode(), new.domid != dom.domid, new.console.read().decode()]


def destroyed_and_failed_build(cfg, cfg_failing, eio):
    """xl destroy drains; a build whose unpause fails (eio) leaves nothing:
    [the destroyed console, the BuildError names unpause, domains left]."""
    dom = xen.domain_create(cfg)
    g = GuestConsole(dom)
    g.say(b'BEFORE-DESTROY\n', notify=False)
    xl.destroy('g')
    a = dom.console.read().decode()
    # a build that fails after the console is served: its drained output is in the log
    sim.fail('domctl.unpausedomain', 1, eio)
    b = ''
    try:
        xen.domain_create(cfg_failing)
    except xen.BuildError as e:
        b = str(e)
    return [a, 'unpause' in b, domids()]


def dead_consoles_bounded(cfg, keep):
    """Five domains die with keep dead consoles kept: [(name, history) kept,
    the oldest dropped, the newest's name]."""
    xen.start(dead_consoles=keep)
    for i in range(5):
        d = xen.domain_create(dict(cfg, name='g%d' % i))
        GuestConsole(d).say(b'I am g%d\n' % i, notify=False)
        d.destroy()
    kept = [(d.name, d.console.history().decode()) for d in xen.get_dom0().dead]
    return [kept, xen.get_dom0().dead_domain('g0') is None, xen.get_dom0().dead_domain('g4').name]


def xl_console_of_dead(cfg):
    """xl console of a crashed domain (run with printout: xl prints)."""
    dom = xen.domain_create(cfg)
    g = GuestConsole(dom)
    g.say(b'Kernel panic - not syncing: sysrq triggered crash\n', notify=False)
    sim.guest_shutdown(dom.domid, 'crash')
    wait_gone(dom)
    xl.console('g')


def crash_log(logdir, cfg):
    """The crash log's text after the guest crashed with a line unannounced."""
    xen.start(crash_logdir=logdir)
    dom = xen.domain_create(cfg)
    g = GuestConsole(dom)
    g.say(b'oops: panic text\n', notify=False)
    sim.guest_shutdown(dom.domid, 'crash')
    wait_gone(dom)
    return open(logdir + '/console-%d.log' % dom.domid).read()
