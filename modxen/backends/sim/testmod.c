// _xensim: the test's side of the sim (guest actions, inspection, faults, raw
// hypercalls), a module of its own in sim builds. docs/sim.md lists it.
//
// Owns: every MicroPython object the sim makes. Must not know: Xen's wire
// formats; it drives the model through the other files of backends/sim/,
// taking sim_model_lock, and creates objects only with the lock released.

#include "py/runtime.h"
#include "py/objstr.h"
#include "py/objarray.h"

#include "sim.h"

/******************************************************************************/
// The test's side of the model.

// The port's errno for a Xen errno (EIO for one Xen does not name).
static int sim_errno_to_host(int xen) {
    int host = xenerrno_to_host(xen);
    return host < 0 ? EIO : host;
}

static MP_NORETURN void sim_raise(int xen_err) {
    mp_raise_OSError(sim_errno_to_host(xen_err < 0 ? -xen_err : xen_err));
}

static void sim_check(int rc) {
    if (rc < 0) {
        sim_raise(rc);
    }
}

static domid_t sim_domid(mp_obj_t o) {
    mp_int_t d = mp_obj_get_int(o);
    if (d < 0 || d > 0xffff) {
        mp_raise_ValueError(MP_ERROR_TEXT("domid out of range"));
    }
    return (domid_t)d;
}

static uint32_t sim_port_arg(mp_obj_t o) {
    mp_int_t p = mp_obj_get_int(o);
    if (p < 0 || p > 0x7fffffff) {
        mp_raise_ValueError(MP_ERROR_TEXT("port out of range"));
    }
    return (uint32_t)p;
}

// A guest's own domain: must exist and not be dying (a dying guest runs no
// code). Call with the lock held.
static int guest_domain(domid_t id, sim_domain_t **out) {
    sim_domain_t *d = sim_find_domain(id);
    if (d == NULL || d == sim.dom0) {
        return -XEN_ESRCH;
    }
    if (d->dying) {
        return -XEN_EINVAL;
    }
    *out = d;
    return 0;
}

static mp_obj_t sim_reset(void) {
    xenhv_init();
    sim_model_lock();
    sim_model_reset();
    sim_model_unlock();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(sim_reset_obj, sim_reset);

static mp_obj_t sim_set_privileged(mp_obj_t flag) {
    xenhv_init();
    sim_model_lock();
    sim.privileged = mp_obj_is_true(flag);
    sim_model_unlock();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(sim_set_privileged_obj, sim_set_privileged);

// flask(mode, labels=None): mode 'disabled' | 'permissive' | 'enforcing';
// labels: dict label -> sid replacing the default table.
static mp_obj_t sim_flask(size_t n_args, const mp_obj_t *args) {
    const char *mode = mp_obj_str_get_str(args[0]);
    int m;
    if (strcmp(mode, "disabled") == 0) {
        m = FLASK_OFF;
    } else if (strcmp(mode, "permissive") == 0) {
        m = FLASK_PERMISSIVE;
    } else if (strcmp(mode, "enforcing") == 0) {
        m = FLASK_ENFORCING;
    } else {
        mp_raise_ValueError(MP_ERROR_TEXT("flask mode must be 'disabled', 'permissive' or 'enforcing'"));
    }
    mp_map_t *map = NULL;
    if (n_args > 1 && args[1] != mp_const_none) {
        if (!mp_obj_is_type(args[1], &mp_type_dict)) {
            mp_raise_TypeError(MP_ERROR_TEXT("labels must be a dict of label -> sid"));
        }
        map = mp_obj_dict_get_map(args[1]);
        for (size_t i = 0; i < map->alloc; i++) {
            if (!mp_map_slot_is_filled(map, i)) {
                continue;
            }
            size_t len;
            const char *s = mp_obj_str_get_data(map->table[i].key, &len);
            mp_int_t sid = mp_obj_get_int(map->table[i].value);
            if (len == 0 || len >= PG || memchr(s, 0, len) != NULL) {
                mp_raise_ValueError(MP_ERROR_TEXT("bad security label"));
            }
            if (sid <= 0 || sid > 0x7fffffff) {
                mp_raise_ValueError(MP_ERROR_TEXT("sid must be a positive int"));
            }
        }
    }
    xenhv_init();
    sim_model_lock();
    sim.flask = m;
    if (map != NULL) {
        sim_labels_clear();
        for (size_t i = 0; i < map->alloc; i++) {
            if (mp_map_slot_is_filled(map, i)) {
                size_t len;
                const char *s = mp_obj_str_get_data(map->table[i].key, &len);
                sim_labels_add(s, len, (uint32_t)mp_obj_get_int(map->table[i].value));
            }
        }
    }
    sim_model_unlock();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(sim_flask_obj, 1, 2, sim_flask);

static mp_obj_t sim_flask_policy(void) {
    xenhv_init();
    sim_model_lock();
    size_t n = sim.policy_len;
    uint8_t *copy = NULL;
    if (sim.policy != NULL) {
        copy = sim_xzalloc(n);
        memcpy(copy, sim.policy, n);
    }
    sim_model_unlock();
    if (copy == NULL) {
        return mp_const_none;
    }
    mp_obj_t b = mp_const_none;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        b = mp_obj_new_bytes(copy, n);
        nlr_pop();
    } else {
        free(copy);
        nlr_jump(nlr.ret_val);
    }
    free(copy);
    return b;
}
static MP_DEFINE_CONST_FUN_OBJ_0(sim_flask_policy_obj, sim_flask_policy);

// fail(op, nth=1, errno=EIO): the nth matching call from now fails once.
static mp_obj_t sim_fail(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum { ARG_op, ARG_nth, ARG_errno };
    static const mp_arg_t allowed[] = {
        { MP_QSTR_op, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_nth, MP_ARG_INT, {.u_int = 1} },
        { MP_QSTR_errno, MP_ARG_INT, {.u_int = EIO} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args, pos_args, kw_args, MP_ARRAY_SIZE(allowed), allowed, a);
    size_t len;
    const char *op = mp_obj_str_get_data(a[ARG_op].u_obj, &len);
    sim_rule_t r;
    memset(&r, 0, sizeof(r));
    if (len == 1 && op[0] == '*') {
        r.name = -1;
    } else if (len > 2 && len < sizeof(r.prefix) && op[len - 1] == '*' && op[len - 2] == '.') {
        bool known = false;
        for (int i = 0; i < N_COUNT; i++) {
            known |= strncmp(op_names[i], op, len - 1) == 0;
        }
        if (!known) {
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("unknown hypercall class '%s'"), op);
        }
        r.name = 0;
        r.class_len = (int16_t)(len - 1);
        memcpy(r.prefix, op, len - 1);
    } else {
        r.name = -2;
        for (int i = 0; i < N_COUNT; i++) {
            if (strlen(op_names[i]) == len && memcmp(op_names[i], op, len) == 0) {
                r.name = (int16_t)i;
            }
        }
        if (r.name == -2) {
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("unknown hypercall '%s'"), op);
        }
    }
    if (a[ARG_nth].u_int < 1) {
        mp_raise_ValueError(MP_ERROR_TEXT("nth must be >= 1"));
    }
    int xerr = xenerrno_to_xen((int)a[ARG_errno].u_int);
    if (a[ARG_errno].u_int <= 0 || xerr <= 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("errno has no Xen equivalent"));
    }
    r.nth = (uint32_t)a[ARG_nth].u_int;
    r.err = xerr;
    xenhv_init();
    sim_model_lock();
    bool full = sim.nrules == MP_ARRAY_SIZE(sim.rules);
    if (!full) {
        sim.rules[sim.nrules++] = r;
    }
    sim_model_unlock();
    if (full) {
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("too many pending faults"));
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_KW(sim_fail_obj, 1, sim_fail);

// drop_wakeups(n): the next n wake signals are lost, as when one lands
// just before the interpreter blocks; the kicker must recover.
static mp_obj_t sim_drop_wakeups(mp_obj_t n) {
    sim_wake_drops = mp_obj_get_int(n);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(sim_drop_wakeups_obj, sim_drop_wakeups);

static mp_obj_t sim_fail_clear(void) {
    xenhv_init();
    sim_model_lock();
    sim.nrules = 0;
    sim_model_unlock();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(sim_fail_clear_obj, sim_fail_clear);

static mp_obj_t sim_trace(mp_obj_t on) {
    xenhv_init();
    sim_model_lock();
    sim.tracing = mp_obj_is_true(on);
    if (sim.tracing) {
        sim.ntrace = 0;
    }
    sim_model_unlock();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(sim_trace_obj, sim_trace);

static mp_obj_t sim_calls(void) {
    xenhv_init();
    mp_obj_t list = mp_obj_new_list(0, NULL);
    // The trace only grows; read it in chunks without holding the lock over
    // an allocation.
    for (size_t i = 0;; i++) {
        sim_model_lock();
        int name = i < sim.ntrace ? sim.trace[i] : -1;
        sim_model_unlock();
        if (name < 0) {
            break;
        }
        mp_obj_list_append(list, MP_OBJ_NEW_QSTR(qstr_from_str(op_names[name])));
    }
    return list;
}
static MP_DEFINE_CONST_FUN_OBJ_0(sim_calls_obj, sim_calls);

static mp_obj_t sim_console_output(void) {
    xenhv_init();
    vstr_t v;
    vstr_init(&v, 64);
    for (;;) {
        sim_model_lock();
        size_t n = sim.con_out_len;
        size_t have = v.alloc;
        if (n <= have) {
            memcpy(v.buf, sim.con_out, n);
            v.len = n;
            sim.con_out_len = 0;
            sim_model_unlock();
            break;
        }
        sim_model_unlock();
        vstr_hint_size(&v, n - v.len);
    }
    return mp_obj_new_bytes_from_vstr(&v);
}
static MP_DEFINE_CONST_FUN_OBJ_0(sim_console_output_obj, sim_console_output);

// console_input(data) -> bytes accepted (Xen's serial ring holds 128).
static mp_obj_t sim_console_input(mp_obj_t data) {
    mp_buffer_info_t b;
    mp_get_buffer_raise(data, &b, MP_BUFFER_READ);
    xenhv_init();
    sim_model_lock();
    size_t n = 0;
    while (n < b.len && sim.con_in_prod - sim.con_in_cons < SIM_SERIAL_RX) {
        sim.con_in[sim.con_in_prod % SIM_SERIAL_RX] = ((const uint8_t *)b.buf)[n];
        sim.con_in_prod++;
        n++;
    }
    if (n > 0) {
        sim_send_global_virq(VIRQ_CONSOLE);
    }
    sim_model_unlock();
    return MP_OBJ_NEW_SMALL_INT(n);
}
static MP_DEFINE_CONST_FUN_OBJ_1(sim_console_input_obj, sim_console_input);

// GuestPage: one guest frame as the guest sees it.
typedef struct {
    mp_obj_base_t base;
    uint8_t *addr;
} sim_guestpage_obj_t;

static mp_int_t guestpage_get_buffer(mp_obj_t self_in, mp_buffer_info_t *bufinfo, mp_uint_t flags) {
    sim_guestpage_obj_t *self = MP_OBJ_TO_PTR(self_in);
    (void)flags;
    if (self->addr == NULL) {
        return 1;
    }
    bufinfo->buf = self->addr;
    bufinfo->len = PG;
    bufinfo->typecode = 'B';
    return 0;
}

static mp_obj_t guestpage_close(mp_obj_t self_in) {
    sim_guestpage_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->addr != NULL) {
        // Leave inert memory behind, like dom0 mappings: a stale view reads junk.
        sim_map_inert(self->addr, 1);
        munmap(self->addr, PG);
        self->addr = NULL;
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(guestpage_close_obj, guestpage_close);

static mp_obj_t guestpage_exit(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    return guestpage_close(args[0]);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(guestpage_exit_obj, 4, 4, guestpage_exit);

static mp_obj_t guestpage_unary_op(mp_unary_op_t op, mp_obj_t self_in) {
    sim_guestpage_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (op == MP_UNARY_OP_LEN) {
        return MP_OBJ_NEW_SMALL_INT(self->addr ? PG : 0);
    }
    return MP_OBJ_NULL;
}

// g[i], g[i] = v, g[a:b] and g[a:b] = data, as a memoryview of the frame.
static mp_obj_t guestpage_subscr(mp_obj_t self_in, mp_obj_t index, mp_obj_t value) {
    sim_guestpage_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->addr == NULL) {
        mp_raise_ValueError(MP_ERROR_TEXT("guest page closed"));
    }
    mp_obj_t mv = mp_obj_new_memoryview('B' | MP_OBJ_ARRAY_TYPECODE_FLAG_RW, PG, self->addr);
    return mp_obj_subscr(mv, index, value);
}

static const mp_rom_map_elem_t guestpage_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&guestpage_close_obj) },
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&guestpage_close_obj) },
    { MP_ROM_QSTR(MP_QSTR___enter__), MP_ROM_PTR(&mp_identity_obj) },
    { MP_ROM_QSTR(MP_QSTR___exit__), MP_ROM_PTR(&guestpage_exit_obj) },
};
static MP_DEFINE_CONST_DICT(guestpage_locals, guestpage_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    sim_guestpage_type,
    MP_QSTR_GuestPage,
    MP_TYPE_FLAG_NONE,
    unary_op, guestpage_unary_op,
    subscr, guestpage_subscr,
    buffer, guestpage_get_buffer,
    locals_dict, &guestpage_locals
    );

// guest_map(domid, gfn) -> GuestPage (read/write the frame as the guest).
static mp_obj_t sim_guest_map(mp_obj_t domid_in, mp_obj_t gfn_in) {
    domid_t domid = sim_domid(domid_in);
    mp_int_t gfn = mp_obj_get_int(gfn_in);
    if (gfn < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("negative gfn"));
    }
    sim_guestpage_obj_t *o = mp_obj_malloc_with_finaliser(sim_guestpage_obj_t, &sim_guestpage_type);
    o->addr = NULL;
    xenhv_init();
    sim_model_lock();
    sim_domain_t *d;
    int rc = guest_domain(domid, &d);
    if (rc == 0) {
        long slot = sim_gfn_slot(d, (uint64_t)gfn);
        if (slot < 0) {
            rc = -XEN_EFAULT;   // the guest would fault on this address
        } else {
            void *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, d->memfd, (off_t)slot * PG);
            if (p == MAP_FAILED) {
                rc = -XEN_ENOMEM;
            } else {
                o->addr = p;
            }
        }
    }
    sim_model_unlock();
    sim_check(rc);
    return MP_OBJ_FROM_PTR(o);
}
static MP_DEFINE_CONST_FUN_OBJ_2(sim_guest_map_obj, sim_guest_map);

// Guest-side calls: the running guest `id` does `what` under the model's
// lock; an error is raised once the lock is released.
enum { GUEST_NOTIFY, GUEST_BIND, GUEST_ALLOC, GUEST_CLOSE, GUEST_SHUTDOWN };

static int guest_call(int what, domid_t id, uint32_t a, uint32_t b) {
    xenhv_init();
    sim_model_lock();
    sim_domain_t *d;
    int rc = guest_domain(id, &d);
    if (rc == 0) {
        switch (what) {
            case GUEST_NOTIFY:
                rc = sim_evt_send(d, a);
                break;
            case GUEST_BIND:
                rc = sim_evt_bind_interdomain(d, (domid_t)a, b);
                break;
            case GUEST_ALLOC:
                rc = sim_evt_alloc_unbound(d, DOMID_SELF, (domid_t)a);
                break;
            case GUEST_CLOSE:
                rc = sim_port_close(d, a);
                break;
            default:
                rc = sim_domain_shutdown(d, (int)a);
                break;
        }
    }
    sim_model_unlock();
    sim_check(rc);
    return rc;
}

static mp_obj_t sim_guest_notify(mp_obj_t domid, mp_obj_t port) {
    domid_t id = sim_domid(domid);
    guest_call(GUEST_NOTIFY, id, sim_port_arg(port), 0);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(sim_guest_notify_obj, sim_guest_notify);

static mp_obj_t sim_guest_pending(mp_obj_t domid, mp_obj_t port) {
    domid_t id = sim_domid(domid);
    uint32_t p = sim_port_arg(port);
    xenhv_init();
    sim_model_lock();
    sim_domain_t *d;
    uint32_t n = 0;
    int rc = guest_domain(id, &d);
    if (rc == 0) {
        sim_port_t *sp = sim_port_of(d, p);
        if (sp == NULL) {
            rc = -XEN_EINVAL;
        } else {
            n = sp->received;
            sp->received = 0;
            sp->pending = 0;
        }
    }
    sim_model_unlock();
    sim_check(rc);
    return mp_obj_new_int_from_uint(n);
}
static MP_DEFINE_CONST_FUN_OBJ_2(sim_guest_pending_obj, sim_guest_pending);

static mp_obj_t sim_guest_bind_interdomain(mp_obj_t domid, mp_obj_t remote_dom, mp_obj_t remote_port) {
    domid_t id = sim_domid(domid);
    domid_t rd = sim_domid(remote_dom);
    uint32_t rp = sim_port_arg(remote_port);
    return MP_OBJ_NEW_SMALL_INT(guest_call(GUEST_BIND, id, rd, rp));
}
static MP_DEFINE_CONST_FUN_OBJ_3(sim_guest_bind_interdomain_obj, sim_guest_bind_interdomain);

static mp_obj_t sim_guest_alloc_unbound(mp_obj_t domid, mp_obj_t remote_dom) {
    domid_t id = sim_domid(domid);
    domid_t rd = sim_domid(remote_dom);
    return MP_OBJ_NEW_SMALL_INT(guest_call(GUEST_ALLOC, id, rd, 0));
}
static MP_DEFINE_CONST_FUN_OBJ_2(sim_guest_alloc_unbound_obj, sim_guest_alloc_unbound);

static mp_obj_t sim_guest_close(mp_obj_t domid, mp_obj_t port) {
    domid_t id = sim_domid(domid);
    guest_call(GUEST_CLOSE, id, sim_port_arg(port), 0);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(sim_guest_close_obj, sim_guest_close);

static const char *const shutdown_names[] = {
    [SHUTDOWN_poweroff] = "poweroff",
    [SHUTDOWN_reboot] = "reboot",
    [SHUTDOWN_suspend] = "suspend",
    [SHUTDOWN_crash] = "crash",
    [SHUTDOWN_watchdog] = "watchdog",
};

static mp_obj_t sim_guest_shutdown(mp_obj_t domid, mp_obj_t reason_in) {
    domid_t id = sim_domid(domid);
    const char *reason = mp_obj_str_get_str(reason_in);
    int code = -1;
    for (size_t i = 0; i < MP_ARRAY_SIZE(shutdown_names); i++) {
        if (strcmp(reason, shutdown_names[i]) == 0) {
            code = (int)i;
        }
    }
    if (code < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("reason must be 'poweroff', 'reboot', 'suspend', 'crash' or 'watchdog'"));
    }
    guest_call(GUEST_SHUTDOWN, id, code, 0);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(sim_guest_shutdown_obj, sim_guest_shutdown);

static mp_obj_t sim_mappings(void) {
    xenhv_init();
    sim_model_lock();
    size_t n = 0;
    for (sim_map_t *m = sim.maps; m != NULL; m = m->next) {
        n++;
    }
    sim_model_unlock();
    return MP_OBJ_NEW_SMALL_INT(n);
}
static MP_DEFINE_CONST_FUN_OBJ_0(sim_mappings_obj, sim_mappings);

// domain(domid) -> dict of model internals. A snapshot is taken under the
// lock into host memory, then turned into Python objects.
typedef struct {
    sim_domain_t d;             // shallow copy; pointer members not used
    sim_vcpu_t vcpu0;
    uint32_t vcpus, online;
    uint64_t mapped;
    uint32_t nports_used;
    struct { uint32_t port; uint8_t state; uint16_t rdom; uint32_t rport; uint32_t virq; } *ports;
    sim_range_t *iomem;
    sim_mmio_t *mmio;
    uint16_t irqs[1024];
    size_t nirqs;
    const char *devices[MP_ARRAY_SIZE(sim_devices)];
    size_t ndevices;
} sim_snapshot_t;

static void snapshot_free(sim_snapshot_t *s) {
    free(s->ports);
    free(s->iomem);
    free(s->mmio);
    free(s);
}

static mp_obj_t snapshot_dict(const sim_snapshot_t *s) {
    static const char *const ecs_names[] = { "free", "reserved", "unbound", "interdomain", "virq" };
    const sim_domain_t *d = &s->d;
    mp_obj_t o = mp_obj_new_dict(32);
    #define SET(k, v) mp_obj_dict_store(o, MP_OBJ_NEW_QSTR(MP_QSTR_##k), (v))
    #define INT(v) mp_obj_new_int_from_ull((unsigned long long)(v))
    const char *state = d->dying ? "dying" : d->shut_down ? "shutdown" : d->pause_count > 0 ? "paused" : "running";
    SET(domid, INT(d->id));
    SET(state, mp_obj_new_str(state, strlen(state)));
    SET(pause_count, INT(d->pause_count));
    SET(shutdown_reason, d->shutdown_code < 0 ? mp_const_none
        : (size_t)d->shutdown_code < MP_ARRAY_SIZE(shutdown_names) && shutdown_names[d->shutdown_code]
        ? mp_obj_new_str(shutdown_names[d->shutdown_code], strlen(shutdown_names[d->shutdown_code]))
        : INT(d->shutdown_code));
    SET(dying, mp_obj_new_bool(d->dying));
    SET(max_vcpus, INT(d->max_vcpus));
    SET(vcpus, INT(s->vcpus));
    SET(vcpus_online, INT(s->online));
    if (s->vcpus > 0 && d->id != 0) {
        mp_obj_t v = mp_obj_new_dict(6);
        mp_obj_dict_store(v, MP_OBJ_NEW_QSTR(MP_QSTR_pc), INT(s->vcpu0.ctx.user_regs.pc64));
        mp_obj_dict_store(v, MP_OBJ_NEW_QSTR(MP_QSTR_x0), INT(s->vcpu0.ctx.user_regs.x0));
        mp_obj_dict_store(v, MP_OBJ_NEW_QSTR(MP_QSTR_cpsr), INT(s->vcpu0.ctx.user_regs.cpsr));
        mp_obj_dict_store(v, MP_OBJ_NEW_QSTR(MP_QSTR_sctlr), INT(s->vcpu0.ctx.sctlr));
        mp_obj_dict_store(v, MP_OBJ_NEW_QSTR(MP_QSTR_online), mp_obj_new_bool(s->vcpu0.online));
        mp_obj_dict_store(v, MP_OBJ_NEW_QSTR(MP_QSTR_initialised), mp_obj_new_bool(s->vcpu0.initialised));
        SET(vcpu0, v);
    } else {
        SET(vcpu0, mp_const_none);
    }
    SET(max_mem_kb, INT(d->max_pages * 4));
    SET(max_pages, INT(d->max_pages));
    SET(tot_pages, INT(d->id == 0 ? SIM_DOM0_PAGES : d->tot_pages));
    SET(paging_mempool, INT(d->pool_pages * PG));
    SET(address_size, INT(d->address_size));
    mp_obj_t params = mp_obj_new_dict(4);
    for (size_t i = 0; i < HVM_NR_PARAMS; i++) {
        if (d->params[i]) {
            mp_obj_dict_store(params, MP_OBJ_NEW_SMALL_INT(i), INT(d->params[i]));
        }
    }
    SET(params, params);
    mp_obj_t ports = mp_obj_new_dict(s->nports_used);
    for (size_t i = 0; i < s->nports_used; i++) {
        const char *name = ecs_names[s->ports[i].state];
        mp_obj_t t[3] = { mp_obj_new_str(name, strlen(name)), mp_const_none, mp_const_none };
        size_t n = 1;
        if (s->ports[i].state == ECS_UNBOUND) {
            t[1] = INT(s->ports[i].rdom);
            n = 2;
        } else if (s->ports[i].state == ECS_INTERDOMAIN) {
            t[1] = INT(s->ports[i].rdom);
            t[2] = INT(s->ports[i].rport);
            n = 3;
        } else if (s->ports[i].state == ECS_VIRQ) {
            t[1] = INT(s->ports[i].virq);
            n = 2;
        }
        mp_obj_dict_store(ports, MP_OBJ_NEW_SMALL_INT(s->ports[i].port), mp_obj_new_tuple(n, t));
    }
    SET(ports, ports);
    SET(max_evtchn_port, INT(d->max_evtchn_port));
    SET(mapped, INT(s->mapped));
    mp_obj_t iomem = mp_obj_new_list(0, NULL);
    for (size_t i = 0; i < d->iomem.n; i++) {
        mp_obj_t t[2] = { INT(s->iomem[i].first), INT(s->iomem[i].last) };
        mp_obj_list_append(iomem, mp_obj_new_tuple(2, t));
    }
    SET(iomem, iomem);
    mp_obj_t mmio = mp_obj_new_list(0, NULL);
    for (size_t i = 0; i < d->nmmio; i++) {
        mp_obj_t t[3] = { INT(s->mmio[i].gfn), INT(s->mmio[i].mfn), INT(s->mmio[i].nr) };
        mp_obj_list_append(mmio, mp_obj_new_tuple(3, t));
    }
    SET(mmio, mmio);
    mp_obj_t irqs = mp_obj_new_list(0, NULL);
    for (size_t i = 0; i < s->nirqs; i++) {
        mp_obj_list_append(irqs, INT(s->irqs[i]));
    }
    SET(irqs, irqs);
    mp_obj_t devs = mp_obj_new_list(0, NULL);
    for (size_t i = 0; i < s->ndevices; i++) {
        mp_obj_list_append(devs, mp_obj_new_str(s->devices[i], strlen(s->devices[i])));
    }
    SET(devices, devs);
    SET(ssidref, INT(d->ssid));
    SET(gic_version, INT(d->gic_version));
    SET(nr_spis, INT(d->nr_spis));
    SET(max_grant_frames, INT(d->max_grant_frames));
    SET(max_maptrack_frames, INT(d->max_maptrack_frames));
    SET(handle, mp_obj_new_bytes(d->handle, sizeof(d->handle)));
    SET(flags, INT(d->cdf));
    SET(cacheflushes, INT(d->cacheflushes));
    #undef SET
    #undef INT
    return o;
}

static mp_obj_t sim_domain(mp_obj_t domid_in) {
    domid_t id = sim_domid(domid_in);
    xenhv_init();
    sim_snapshot_t *s = sim_xzalloc(sizeof(*s));
    sim_model_lock();
    sim_domain_t *d = sim_find_domain(id);
    if (d != NULL) {
        s->d = *d;
        if (d != sim.dom0 && d->max_vcpus > 0) {
            s->vcpu0 = d->vcpus[0];
            for (uint32_t v = 0; v < d->max_vcpus; v++) {
                s->vcpus += d->vcpus[v].created;
                s->online += d->vcpus[v].created && d->vcpus[v].online;
            }
        } else if (d == sim.dom0) {
            s->vcpus = s->online = SIM_NR_CPUS;
        }
        for (uint32_t i = 0; i < d->nslots; i++) {
            s->mapped += d->slot_refs[i];
        }
        s->ports = sim_xzalloc(d->nports * sizeof(*s->ports));
        for (uint32_t p = 0; p < d->nports; p++) {
            const sim_port_t *sp = &d->ports[p];
            if (sp->state != ECS_FREE && sp->state != ECS_RESERVED) {
                s->ports[s->nports_used].port = p;
                s->ports[s->nports_used].state = sp->state;
                s->ports[s->nports_used].rdom = sp->rdom;
                s->ports[s->nports_used].rport = sp->rport;
                s->ports[s->nports_used].virq = sp->virq;
                s->nports_used++;
            }
        }
        s->iomem = sim_xzalloc(d->iomem.n * sizeof(*s->iomem));
        memcpy(s->iomem, d->iomem.r, d->iomem.n * sizeof(*s->iomem));
        s->mmio = sim_xzalloc(d->nmmio * sizeof(*s->mmio));
        memcpy(s->mmio, d->mmio, d->nmmio * sizeof(*s->mmio));
        for (size_t i = 0; i < MP_ARRAY_SIZE(sim.irq_owner); i++) {
            if (sim.irq_owner[i] == id) {
                s->irqs[s->nirqs++] = (uint16_t)i;
            }
        }
        for (size_t i = 0; i < MP_ARRAY_SIZE(sim_devices); i++) {
            if (sim_devices[i].owner == id) {
                s->devices[s->ndevices++] = sim_devices[i].path;
            }
        }
    }
    sim_model_unlock();
    if (d == NULL) {
        snapshot_free(s);
        sim_raise(XEN_ESRCH);
    }
    mp_obj_t o = MP_OBJ_NULL;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        o = snapshot_dict(s);
        nlr_pop();
    } else {
        snapshot_free(s);
        nlr_jump(nlr.ret_val);
    }
    snapshot_free(s);
    return o;
}
static MP_DEFINE_CONST_FUN_OBJ_1(sim_domain_obj, sim_domain);

// devices() -> dict of the modelled device-tree nodes: path -> (behind the
// IOMMU, owner domid or None).
static mp_obj_t sim_devices_fn(void) {
    xenhv_init();
    int owners[MP_ARRAY_SIZE(sim_devices)];
    sim_model_lock();
    for (size_t i = 0; i < MP_ARRAY_SIZE(sim_devices); i++) {
        owners[i] = sim_devices[i].owner;
    }
    sim_model_unlock();
    mp_obj_t o = mp_obj_new_dict(MP_ARRAY_SIZE(sim_devices));
    for (size_t i = 0; i < MP_ARRAY_SIZE(sim_devices); i++) {
        mp_obj_t t[2] = {
            mp_obj_new_bool(sim_devices[i].protected),
            owners[i] < 0 ? mp_const_none : MP_OBJ_NEW_SMALL_INT(owners[i]),
        };
        mp_obj_dict_store(o, mp_obj_new_str(sim_devices[i].path, strlen(sim_devices[i].path)),
            mp_obj_new_tuple(2, t));
    }
    return o;
}
static MP_DEFINE_CONST_FUN_OBJ_0(sim_devices_obj, sim_devices_fn);

// Raw ABI access for tests: the scratch area and a bare hypercall, so a
// test can marshal structs the binding never sends (wrong interface
// versions, bad guest handles, sub-ops the binding does not use).
static mp_obj_t sim_scratch_addr(void) {
    return mp_obj_new_int_from_ull((uintptr_t)sim_scratch);
}
static MP_DEFINE_CONST_FUN_OBJ_0(sim_scratch_addr_obj, sim_scratch_addr);

static size_t scratch_range(mp_obj_t off_in, size_t n) {
    mp_int_t off = mp_obj_get_int(off_in);
    if (off < 0 || (size_t)off > XENHV_SCRATCH_SIZE || n > XENHV_SCRATCH_SIZE - (size_t)off) {
        mp_raise_ValueError(MP_ERROR_TEXT("outside the scratch area"));
    }
    return (size_t)off;
}

static mp_obj_t sim_scratch_write(mp_obj_t off_in, mp_obj_t data) {
    mp_buffer_info_t b;
    mp_get_buffer_raise(data, &b, MP_BUFFER_READ);
    size_t off = scratch_range(off_in, b.len);
    memcpy(sim_scratch + off, b.buf, b.len);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(sim_scratch_write_obj, sim_scratch_write);

static mp_obj_t sim_scratch_read(mp_obj_t off_in, mp_obj_t n_in) {
    mp_int_t n = mp_obj_get_int(n_in);
    if (n < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("negative size"));
    }
    size_t off = scratch_range(off_in, (size_t)n);
    return mp_obj_new_bytes(sim_scratch + off, (size_t)n);
}
static MP_DEFINE_CONST_FUN_OBJ_2(sim_scratch_read_obj, sim_scratch_read);

// hypercall(op, a1=0, ..., a5=0) -> the raw return value (negative Xen errno
// on failure; nothing is raised).
static mp_obj_t sim_hypercall(size_t n_args, const mp_obj_t *args) {
    unsigned long a[5] = { 0, 0, 0, 0, 0 };
    for (size_t i = 1; i < n_args; i++) {
        a[i - 1] = (unsigned long)mp_obj_int_get_uint_checked(args[i]);
    }
    long rc = xenhv_hypercall((unsigned int)mp_obj_get_int(args[0]), a[0], a[1], a[2], a[3], a[4]);
    return mp_obj_new_int_from_ll(rc);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(sim_hypercall_obj, 1, 6, sim_hypercall);

static const mp_rom_map_elem_t sim_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__xensim) },
    { MP_ROM_QSTR(MP_QSTR_reset), MP_ROM_PTR(&sim_reset_obj) },
    { MP_ROM_QSTR(MP_QSTR_set_privileged), MP_ROM_PTR(&sim_set_privileged_obj) },
    { MP_ROM_QSTR(MP_QSTR_flask), MP_ROM_PTR(&sim_flask_obj) },
    { MP_ROM_QSTR(MP_QSTR_flask_policy), MP_ROM_PTR(&sim_flask_policy_obj) },
    { MP_ROM_QSTR(MP_QSTR_fail), MP_ROM_PTR(&sim_fail_obj) },
    { MP_ROM_QSTR(MP_QSTR_fail_clear), MP_ROM_PTR(&sim_fail_clear_obj) },
    { MP_ROM_QSTR(MP_QSTR_trace), MP_ROM_PTR(&sim_trace_obj) },
    { MP_ROM_QSTR(MP_QSTR_calls), MP_ROM_PTR(&sim_calls_obj) },
    { MP_ROM_QSTR(MP_QSTR_console_output), MP_ROM_PTR(&sim_console_output_obj) },
    { MP_ROM_QSTR(MP_QSTR_console_input), MP_ROM_PTR(&sim_console_input_obj) },
    { MP_ROM_QSTR(MP_QSTR_guest_map), MP_ROM_PTR(&sim_guest_map_obj) },
    { MP_ROM_QSTR(MP_QSTR_guest_notify), MP_ROM_PTR(&sim_guest_notify_obj) },
    { MP_ROM_QSTR(MP_QSTR_guest_pending), MP_ROM_PTR(&sim_guest_pending_obj) },
    { MP_ROM_QSTR(MP_QSTR_drop_wakeups), MP_ROM_PTR(&sim_drop_wakeups_obj) },
    { MP_ROM_QSTR(MP_QSTR_guest_bind_interdomain), MP_ROM_PTR(&sim_guest_bind_interdomain_obj) },
    { MP_ROM_QSTR(MP_QSTR_guest_alloc_unbound), MP_ROM_PTR(&sim_guest_alloc_unbound_obj) },
    { MP_ROM_QSTR(MP_QSTR_guest_close), MP_ROM_PTR(&sim_guest_close_obj) },
    { MP_ROM_QSTR(MP_QSTR_guest_shutdown), MP_ROM_PTR(&sim_guest_shutdown_obj) },
    { MP_ROM_QSTR(MP_QSTR_domain), MP_ROM_PTR(&sim_domain_obj) },
    { MP_ROM_QSTR(MP_QSTR_mappings), MP_ROM_PTR(&sim_mappings_obj) },
    { MP_ROM_QSTR(MP_QSTR_devices), MP_ROM_PTR(&sim_devices_obj) },
    { MP_ROM_QSTR(MP_QSTR_GuestPage), MP_ROM_PTR(&sim_guestpage_type) },
    { MP_ROM_QSTR(MP_QSTR_scratch_addr), MP_ROM_PTR(&sim_scratch_addr_obj) },
    { MP_ROM_QSTR(MP_QSTR_scratch_write), MP_ROM_PTR(&sim_scratch_write_obj) },
    { MP_ROM_QSTR(MP_QSTR_scratch_read), MP_ROM_PTR(&sim_scratch_read_obj) },
    { MP_ROM_QSTR(MP_QSTR_hypercall), MP_ROM_PTR(&sim_hypercall_obj) },
};
static MP_DEFINE_CONST_DICT(sim_globals, sim_globals_table);

const mp_obj_module_t mp_module_xensim = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&sim_globals,
};

MP_REGISTER_MODULE(MP_QSTR__xensim, mp_module_xensim);

