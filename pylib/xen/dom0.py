# xen.dom0: the one object that owns this dom0's state (xen.get_dom0()).
#
# Owns: the xenstore server and dom0's own connection to it, the guest rings
# it serves, the guest consoles, the domains built here (live, and the
# newest dead ones for their consoles), VIRQ_DOM_EXC, and the options given
# to xen.start().
# Must not know: how a domain is built (xen.domain.builder plans and
# executes; this object only attaches what it built), how the store answers
# (xen.xenstore.store) or how a console page is drained (xen.console).
#
# domain_create flows one way:
#   config -> builder.plan(c, view) -> builder.execute(plan) -> attach(built)
#   -> builder.finish(built)
# and teardown is the reverse of attach, then the domain goes.
import time
import _xen
from xen import xenstore
from xen.console import Console
from xen.xenstore import ring as _ring
from xen.domain import builder, entries, lifecycle
from xen.domain.lifecycle import Domain, home

# xenstore ring page (struct xenstore_domain_interface): evtchn_port (Xen
# 4.21+) after the rings, their indices, server_features, connection, error
_XS_EVTCHN_PORT = 2076
_XS_CONNECTION = 2068     # ... its connection field: XENSTORE_RECONNECT = 1
# console page (struct xencons_interface): connection flag (Xen 4.21+)
_CONS_CONNECTION = 3088
_NO_PFN = 0xFFFFFFFFFFFFFFFF    # HVM_PARAM_STORE_PFN of a legacy boot-time domain (4.21+)
# What a boot-time domain does on shutdown unless the boot policy says
# otherwise; "restart" needs the policy to name its images (boot_domains).
BOOT_DEFAULTS = {"on_poweroff": "destroy", "on_reboot": "destroy", "on_crash": "destroy"}
DEAD_KEEP = 8           # torn-down domains whose consoles stay readable
_ESRCH = 3
_ENOENT = 2
_EEXIST = 17


class AdoptError(builder.DomainError):
    """Adopting a boot-time domain failed at `step`; the domain is as it was."""

    def __init__(self, domid, name, step, cause):
        self.domid = domid
        self.step = step
        self.cause = cause
        super().__init__("boot-time domain %s (%d): %s failed: %s; left as it was"
                         % (name, domid, step, builder.describe(cause)))


class _Client(xenstore.Client):
    """dom0's own xenstore client. A change it makes may fire watches of
    guests; those events go out on their rings at once (else a guest would
    see them only when it next wrote to its ring: a shutdown request would
    wait for the guest to say something)."""

    def __init__(self, store, send_queued):
        super().__init__(store)
        self._send_queued = send_queued

    def call(self, typ, payload, tx=0):
        try:
            return xenstore.Client.call(self, typ, payload, tx)
        finally:
            if self.store.dirty:
                self._send_queued()


class Dom0:
    """This dom0: made once (xen.get_dom0()); xen.start() brings its
    services up."""

    def __init__(self):
        self.options = {}
        self._abi = None
        self._version = None
        self.running = False
        self.store = None       # the XenStore core
        self.xs = None          # dom0's own client of it
        self.rings = {}         # domid -> (Ring, Mapping, EventChannel)
        self.consoles = {}      # domid -> Console
        self.domains = {}       # domid -> Domain, built here or adopted
        self.boot_only = {}     # domid -> Domain: boot-time domains without xenstore (listed, not touched)
        self.dead = []          # torn-down Domains, oldest first
        self.exc = None         # VIRQ_DOM_EXC
        self.exc_handlers = []  # fn(), called on every VIRQ_DOM_EXC before the domains' actions

    # ---- services
    def start(self, **options):
        """Bring the services up (idempotent; the first call's options stay):
        refuse a Xen release this firmware does not speak, start the xenstore
        server, bind VIRQ_DOM_EXC. Returns self."""
        if self.running:
            return self
        # OSError(EOPNOTSUPP, "Xen 4.23 (domctl 0x19) is newer ...") before
        # anything is bound; the version is asked now, once, not in a build
        self.abi
        self.version
        self.options = options
        self.xenstore(options.get("quotas"))
        self.exc = _xen.bind_virq(_xen.VIRQ_DOM_EXC)
        self.exc.callback = self._dom_exc
        self.running = True
        if options.get("adopt", True):
            for e in self.adopt()[1]:
                print("xen: %s" % e)
        return self

    def stop(self):
        if not self.running:
            return
        self.running = False
        for domid in list(self.rings):
            self._drop_ring(domid)
        self.exc.close()

    def serve(self, seconds=None):
        """Serve the guests (xenstore rings, consoles, domain exits) for
        `seconds` (None: for ever): dom0 sleeps until each event and runs its
        callbacks (_xen.wait), on the interpreter's own thread where the
        backend allows. What a dom0 program calls when it has nothing else to
        do; Ctrl-C ends it with KeyboardInterrupt."""
        wait = _xen.wait
        if seconds is None:
            while True:
                wait(-1)
        end = time.ticks_add(time.ticks_ms(), int(seconds * 1000))
        while True:
            left = time.ticks_diff(end, time.ticks_ms())
            if left <= 0:
                return
            wait(left)

    @property
    def abi(self):
        """The running Xen release (_xen.abi(), asked once)."""
        if self._abi is None:
            self._abi = _xen.abi()
        return self._abi

    @property
    def version(self):
        """(major, minor) of the hypervisor, asked once."""
        if self._version is None:
            self._version = _xen.version()[:2]
        return self._version

    # ---- xenstore
    def xenstore(self, quotas=None):
        """dom0's client of the xenstore server, which is made on first use."""
        if self.xs is None:
            import gc
            if gc.threshold() < 0:
                gc.threshold(max(xenstore.GC_THRESHOLD, (gc.mem_free() + gc.mem_alloc()) // 4))
            self.store = xenstore.XenStore(quotas, domain_exists=_domain_exists, write_file=_append)
            self.xs = _Client(self.store, self._send_queued)
        return self.xs

    def _send_queued(self):
        """Flush what the core queued for connections other than dom0's own
        (watch events fired by another connection's change)."""
        flushed = False
        for conn in self.store.drain_dirty():
            io = conn.io
            # a ring whose replies are all out (the one just served) has
            # nothing to flush
            if io is not None and io is not self.xs and conn.out:
                io.flush()
                flushed = True
        if flushed:
            # a flush serves the ring's requests too, and may use up its
            # budget
            self._round_robin()

    def introduce(self, domid, gfn, port):
        self.xs.introduce(domid, gfn, port)
        self.pump()

    def release(self, domid):
        if self.store.domains.get(domid) is not None:
            try:
                self.xs.release(domid)
            except OSError as e:
                if e.errno != _ENOENT:
                    raise
        self.pump()
        self._drop_ring(domid)

    def pump(self):
        """Carry out what the xenstore core asked for (map and serve a ring
        on INTRODUCE, let it go on RELEASE)."""
        acts = self.store.actions
        while acts:
            a = acts.pop(0)
            if a[0] == "introduce":
                self._serve_ring(a[1], a[2], a[3])
            elif a[0] == "release":
                self._drop_ring(a[1])

    def share(self, domid, gfn, port, port_field=None):
        """A guest's shared page and event channel: (Mapping, EventChannel);
        nothing stays mapped if the bind fails. With `port_field`, a non-zero
        u32 at that offset of the page is the port instead."""
        m = _xen.map(domid, gfn)
        try:
            if port_field is not None:
                port = int.from_bytes(m[port_field:port_field + 4], "little") or port
            ch = _xen.bind_interdomain(domid, port)
        except Exception:
            m.close()
            raise
        return m, ch

    def _serve_ring(self, domid, gfn, port):
        if domid in self.rings:
            return
        # Xen 4.21+ writes the port into the page of a domain it built
        # (dom0less); a non-zero one wins, as in cxenstored.
        field = _XS_EVTCHN_PORT if "xs_evtchn_port" in self.abi["features"] else None
        m, ch = self.share(domid, gfn, port, field)
        try:
            r = _ring.attach(self.store, domid, memoryview(m), ch.notify)
        except Exception:
            ch.close()
            m.close()
            raise
        self.rings[domid] = (r, m, ch)
        ch.callback = self._ring_callback(r)
        ch.callback(ch)

    def _ring_callback(self, r):
        # The upcall of one guest's store ring: once per guest request, so
        # it does no more than it must (no lookup, no list per event).
        store = self.store
        conn = r.conn

        def on_event(ch):
            # (the channel's event count is not consumed: nothing reads it,
            # and that would be one more call before the reply)
            r.service()
            if r.busy:
                self._round_robin()
            d = store.dirty
            # events this guest's requests fired for other guests (its own
            # connection stays listed while its replies are all out: no
            # drain per request for it)
            if d and (len(d) > 1 or d[0] is not conn or conn.out):
                self._send_queued()
            if store.actions:
                self.pump()
        return on_event

    def _round_robin(self):
        # Serve every ring that still has work (its last pass used up its
        # budget, in its event or in a flush), a bounded budget each per
        # pass, so one flooding guest cannot starve the others.
        busy = [e[0] for e in self.rings.values() if e[0].busy]
        while busy:
            for r in busy:
                r.busy = False
                r.service()
            busy = [e[0] for e in self.rings.values() if e[0].busy]

    def _drop_ring(self, domid):
        ent = self.rings.pop(domid, None)
        if ent is None:
            return
        r, m, ch = ent
        ch.close()
        m.close()

    # ---- consoles
    def serve_console(self, domid, gfn, port, **kw):
        """Serve domain `domid`'s console page (see xen.console.serve)."""
        old = self.consoles.get(domid)
        if old is not None and not old.closed:
            raise OSError(_EEXIST, "domain %d already has a console" % domid)
        page, ch = self.share(domid, gfn, port)
        try:
            c = Console(domid, page, ch, **kw)
        except Exception:
            ch.close()
            page.close()
            raise
        if "cons_connection" in self.abi["features"]:
            # Xen 4.21+: a page Xen set up says "disconnected" until its
            # backend serves it
            page[_CONS_CONNECTION] = 0
        self.consoles[domid] = c
        c.service()
        return c

    def close_console(self, domid):
        c = self.consoles.pop(domid, None)
        if c is not None:
            c.close()

    # ---- domains: what plan() may ask
    def name_in_use(self, name):
        """domid of a domain with that name (built here or known to xenstore)."""
        d = self.by_name(name)
        if d is not None:
            return d.domid
        if name == "Domain-0":
            return 0
        try:
            ids = self.xs.ls("/local/domain")
        except OSError:
            return None
        for i in ids:
            try:
                if self.xs.read("/local/domain/%s/name" % i).decode() == name:
                    return int(i)
            except OSError:
                pass
        return None

    def backend_id(self, name):
        """domid of a running domain built here with that name, or None."""
        d = self.by_name(name)
        return d.domid if d is not None and d.alive() else None

    def sid(self, label):
        return _xen.flask_context_to_sid(label)

    # ---- domains: create, attach, teardown
    def create(self, cfg, paused=False):
        """domain_create: plan -> execute -> attach -> finish."""
        self.start()
        c = builder.load_config(cfg)
        self._wait_backends(c)
        built = builder.execute(builder.plan(c, self))
        try:
            detach = self.attach(built)
        except builder.BuildError:
            built.abandon()
            raise
        try:
            builder.finish(built, paused)
        except Exception:
            detach()
            built.abandon()
            raise
        dom = Domain(built.domid, c["name"], c, built.facts, owner=self)
        dom.source = cfg
        dom.detach = detach
        dom.console = self.consoles.get(built.domid)
        self.domains[dom.domid] = dom
        return dom

    def attach(self, built):
        """Give a built domain its services: its xenstore entries, the
        xenstore ring (introduce), its console. Returns detach(), which undoes
        exactly that, in reverse (a list of the errors it met)."""
        f = built.facts
        domid = built.domid
        undo = builder.Undo()
        step = "xenstore entries"
        try:
            undo.push(entries.remove, self.xs, domid, f["uuid"], f["backend_dirs"])
            entries.write(self.xs, f, f["vcpus"], f["maxvcpus"], built.entries)
            step = "xenstore introduce"
            undo.push(self.release, domid)
            self.introduce(domid, f["store_gfn"], f["store_port"])
            if self.options.get("consoles", True) and f["console_port"] is not None:
                step = "console"
                undo.push(self.close_console, domid)
                self.serve_console(domid, f["console_gfn"], f["console_port"],
                                   **self.options.get("console", {}))
        except Exception as e:
            undo.run()
            raise builder.BuildError(built.name, step, e)
        return undo.run

    def teardown(self, dom):
        """Everything dom0 holds for the domain goes (console drained once
        more, xenstore ring and entries), then the domain itself."""
        if dom.closing:
            return
        dom.closing = True
        self.domains.pop(dom.domid, None)
        errors = dom.detach() if dom.detach is not None else []
        try:
            _destroy_quiet(dom.domid)
        except Exception as e:
            errors.append(e)
        self._bury(dom)
        if errors:
            raise errors[0]

    def _wait_backends(self, c, timeout_ms=30000):
        # A guest starts only after the domains it depends on are running.
        t0 = time.ticks_ms()
        for name in c["depends_on"]:
            if self.name_in_use(name) is None:
                raise builder.DomainError("domain %s: backend domain %r does not exist"
                                          % (c["name"], name))
            while True:
                d = self.by_name(name)
                if d is not None and d.alive() and lifecycle.state_of(_xen.getdomaininfo(d.domid)) \
                        in ("running", "blocked", "idle"):
                    break
                if time.ticks_diff(time.ticks_ms(), t0) > timeout_ms:
                    raise builder.DomainError("domain %s: backend domain %r is not running"
                                              % (c["name"], name))
                time.sleep_ms(10)

    # ---- boot-time (dom0less) domains
    def adopt(self):
        """Adopt the domains Xen built at boot (dom0less) that nobody has set
        up: give those with a xenstore event channel (xen,enhanced) their
        xenstore page where Xen left that to dom0 (4.17-4.20, and 4.21's
        legacy mode), their entries, the introduction and their PV console
        if they have one; list the others. Never pauses a domain or changes
        its memory but for that page. Names and on_* come from the
        boot_domains option ({domid: {"name": ..., "on_crash": ...}}), else
        "dom0less-<domid>". Returns ([adopted Domain], [AdoptError]): a
        failed adoption leaves its domain as it was."""
        self.start()
        adopted, errors = [], []
        for info in _xen.domain_list():
            domid = info["domid"]
            if domid == 0 or info["dying"] or domid in self.domains or domid in self.boot_only:
                continue
            if self.xs.exists(home(domid)):
                continue        # set up by someone else: not ours to touch
            try:
                adopted.append(self._adopt(info))
            except AdoptError as e:
                errors.append(e)
        return adopted, errors

    def _adopt(self, info):
        domid = info["domid"]
        c = dict(BOOT_DEFAULTS)
        c.update(self.options.get("boot_domains", {}).get(domid, {}))
        name = c.get("name") or "dom0less-%d" % domid
        c["name"] = name
        dom = Domain(domid, name, c, None, owner=self)
        dom.source = c if c.get("kernel") else None    # restartable only with images
        port = _xen.hvm_get_param(domid, _xen.HVM_PARAM_STORE_EVTCHN)
        if not port:
            # no xen,enhanced: no xenstore, no PV console; listed, not touched
            self.boot_only[domid] = dom
            return dom
        undo = builder.Undo()
        step = "xenstore page"
        try:
            gfn = _xen.hvm_get_param(domid, _xen.HVM_PARAM_STORE_PFN)
            if gfn in (0, _NO_PFN):
                gfn = self._give_store_page(domid, info, gfn, undo)
            con_gfn = _xen.hvm_get_param(domid, _xen.HVM_PARAM_CONSOLE_PFN)
            con_port = _xen.hvm_get_param(domid, _xen.HVM_PARAM_CONSOLE_EVTCHN) if con_gfn else 0
            h = info["handle"]
            uuid = builder.uuid4() if h == bytes(16) else _uuid_str(h)
            facts = {"name": name, "domid": domid, "uuid": uuid,
                     "maxmem_kb": info["max_pages"] * 4, "mem_kb": info["tot_pages"] * 4,
                     "store_port": port, "store_gfn": gfn,
                     "console_port": con_port or None, "console_gfn": con_gfn or None,
                     "start_time": "%d" % time.time(), "vcpus": info["nr_online_vcpus"],
                     "maxvcpus": info["max_vcpu_id"] + 1, "backend_dirs": ()}
            step = "attach"
            dom.detach = self.attach(builder.Built(name, domid, facts, [], None, None))
            undo.push(dom.detach)
            # its xenbus waits for word from dom0 (late xenstore)
            self.rings[domid][2].notify()
        except Exception as e:
            undo.run()
            raise AdoptError(domid, name, step, e)
        dom.facts = facts
        dom.console = self.consoles.get(domid)
        if dom.console is None:
            print("xen: %s (%d) has no PV console: its vpl011 output is on Xen's console" % (name, domid))
        self.domains[domid] = dom
        return dom

    def _give_store_page(self, domid, info, old_pfn, undo):
        """The xenstore page Xen left to dom0, as init-dom0less gives it: one
        more page of allowance, the page at the magic frame, zeroed, marked
        RECONNECT, then HVM_PARAM_STORE_PFN (the guest's signal)."""
        gfn = (_xen.GUEST_MAGIC_BASE >> 12) + builder.XENSTORE_OFF
        max_kb = info["max_pages"] * 4
        _xen.max_mem(domid, max_kb + 4)
        undo.push(_xen.max_mem, domid, max_kb)
        _xen.populate_physmap(domid, [gfn])
        undo.push(_xen.decrease_reservation, domid, [gfn])
        with _xen.map(domid, gfn) as m:
            memoryview(m)[:] = bytes(len(m))
            m[_XS_CONNECTION] = 1
        undo.push(_xen.hvm_set_param, domid, _xen.HVM_PARAM_STORE_PFN, old_pfn)
        _xen.hvm_set_param(domid, _xen.HVM_PARAM_STORE_PFN, gfn)
        return gfn

    # ---- domains: lookups
    def by_name(self, name):
        for d in self.domains.values():
            if d.name == name:
                return d
        return None

    def all_domains(self):
        out = []
        for i in _xen.domain_list():
            d = self.domains.get(i["domid"])
            if d is None:
                d = self.boot_only.get(i["domid"])
            if d is None:
                d = Domain(i["domid"], "Domain-0" if i["domid"] == 0 else self._xs_name(i["domid"]))
            out.append(d)
        return out

    def _xs_name(self, domid):
        try:
            return self.xenstore().read(home(domid) + "/name").decode()
        except OSError:
            return "(domain %d)" % domid

    def dead_domain(self, name_or_domid):
        """The newest torn-down domain of that name or id, or None."""
        for d in reversed(self.dead):
            if d.name == name_or_domid or d.domid == name_or_domid:
                return d
        return None

    def _bury(self, dom):
        """Keep a torn-down domain (for its console), within the bound."""
        dom.dead = True
        if dom.console is None:
            return
        keep = self.options.get("dead_consoles", DEAD_KEEP)
        if dom in self.dead:
            self.dead.remove(dom)
        self.dead.append(dom)
        while len(self.dead) > keep:
            self.dead.pop(0)

    # ---- domain exceptions (VIRQ_DOM_EXC)
    def _dom_exc(self, ch):
        ch.consume()
        for fn in list(self.exc_handlers):
            fn()
        self.on_exception()

    def _changed(self):
        """The ids of the domains whose state changed since the last
        VIRQ_DOM_EXC, from Xen 4.21's get_domain_state; None where Xen cannot
        tell (before 4.21, or dom0 does not hold VIRQ_DOM_EXC): then every
        domain is looked at."""
        if "domain_state" not in self.abi["features"]:
            return None
        ids = set()
        try:
            while True:
                s = _xen.get_domain_state()
                if s is None:
                    return ids
                ids.add(s["domid"])
        except OSError:
            return None     # marks taken so far are covered by looking at all

    def on_exception(self):
        """Look at the domains built here that changed state, and carry out
        their on_poweroff / on_reboot / on_crash."""
        changed = self._changed()
        for dom in list(self.domains.values()):
            if dom.preserved or dom.closing:
                continue
            if changed is not None and dom.domid not in changed:
                continue
            try:
                i = _xen.getdomaininfo(dom.domid)
            except OSError:
                # gone behind our back: release what dom0 still holds
                try:
                    self.teardown(dom)
                except Exception as e:
                    print("xen: teardown of %s failed: %s" % (dom.name, builder.describe(e)))
                continue
            if not i["shutdown"] or i["dying"]:
                continue
            reason = lifecycle.reasons().get(i["shutdown_reason"], "crash")
            if reason == "suspend":
                continue
            if dom.console is not None:
                dom.console.service()       # what it printed last, before anything goes
                if reason in ("crash", "watchdog"):
                    self._crash_log(dom)
            key = {"poweroff": "on_poweroff", "reboot": "on_reboot"}.get(reason, "on_crash")
            action = dom.cfg[key] if dom.cfg else "destroy"
            try:
                self._apply(dom, action, reason)
            except Exception as e:
                print("xen: %s of %s after %s failed: %s" % (action, dom.name, reason, builder.describe(e)))

    def _crash_log(self, dom):
        # The crash output in the domain's log file, before the domain goes:
        # the console's own log has it already when logdir is set; otherwise
        # the backlog is written to crash_logdir (default /flash on a board).
        c = dom.console
        if c.logging:
            return
        d = self.options.get("crash_logdir")
        if d is None and _xen.BACKEND == "zephyr":
            d = "/flash"
        if d is None:
            return
        try:
            c.save("%s/console-%d.log" % (d, dom.domid))
        except OSError as e:
            print("xen: crash log of %s not written: %s" % (dom.name, builder.describe(e)))

    def _apply(self, dom, action, reason=None):
        if action == "preserve":
            dom.preserved = True
            return
        if action == "rename-restart":
            # the dead incarnation stays, under a new name; a new one starts
            old = dom.name
            dom.name = "%s-%d" % (old, dom.domid)
            dom.preserved = True
            self.xs.write(home(dom.domid) + "/name", dom.name)
            new = self.create(dom.source)
            print("xen: %s renamed %s, restarted as domain %d" % (old, dom.name, new.domid))
            return
        self.teardown(dom)
        if action == "restart" and dom.source is None:
            print("xen: %s is a boot-time domain whose images the boot policy does not name:"
                  " destroyed, not restarted" % dom.name)
            return
        if action == "restart":
            # paused until the old output is carried over, so it comes first
            new = self.create(dom.source, paused=True)
            if new.console is not None and dom.console is not None:
                new.console.carry(dom.console.history() + b"\n--- %s: domain %d %s; restarted as domain %d ---\n"
                                  % (new.name.encode(), dom.domid, (reason or "shutdown").encode(), new.domid))
            new.unpause()
            print("xen: %s restarted as domain %d" % (new.name, new.domid))


def _uuid_str(h):
    x = "".join("%02x" % b for b in h)
    return "%s-%s-%s-%s-%s" % (x[:8], x[8:12], x[12:16], x[16:20], x[20:])


def _destroy_quiet(domid):
    try:
        _xen.destroydomain(domid)
    except OSError as e:
        if e.errno != _ESRCH:       # already gone
            raise
    builder.wait_gone(domid)


def _domain_exists(domid):
    """The hypervisor's answer for the store's SET_PERMS: ESRCH means no;
    any other failure to ask is raised (the request then fails with EIO
    rather than deciding on a guess)."""
    try:
        _xen.getdomaininfo(domid)
    except OSError as e:
        if e.errno == _ESRCH:
            return False
        raise
    return True


def _append(path, text):
    """CONTROL memreport FILE: append, as cxenstored does."""
    with open(path, "a") as f:
        f.write(text)
