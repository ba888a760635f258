// _xen's event channels: dom0's ports as EventChannel objects, and upcalls:
// a backend calls modxen_upcall(port) from any context; one coalescing
// scheduler node brings the event to Python.
//
// Owns: the EventChannel type, the port table (a root pointer) and the
// upcall path. Must not know: what an event means (the `xen` package).
#include "modxen.h"

/******************************************************************************/
// Event channels.
//
// Upcalls: a backend calls modxen_upcall(port) from any context. It sets the
// port's bit and schedules one static scheduler node; the node's callback
// (Python context) drains the bitmap, counts the event on the port's
// EventChannel, calls its Python callback (if it has one) and then re-arms
// the port. Nothing is
// dropped: bits coalesce, and the node re-queues if an event lands while the
// callback runs.

typedef struct _modxen_evtchn_obj_t {
    mp_obj_base_t base;
    int32_t port;       // -1 once closed
    uint32_t count;     // events seen and not yet consumed
    mp_obj_t callback;  // None or callable(channel)
} modxen_evtchn_obj_t;

static uint32_t upcall_pending[XENHV_MAX_PORTS / 32];
static mp_sched_node_t upcall_node;

static mp_obj_t *port_table_slot(void) {
    return &MP_STATE_VM(modxen_ports);
}

static mp_map_t *port_map(void) {
    mp_obj_t *slot = port_table_slot();
    if (*slot == MP_OBJ_NULL) {
        *slot = mp_obj_new_dict(4);
    }
    return mp_obj_dict_get_map(*slot);
}

// Run a channel's callback. An exception it raises is printed, except a
// KeyboardInterrupt: that is a Ctrl-C meant for the code the upcall
// interrupted (it landed while the callback ran), so it is passed on.
static void upcall_call(mp_obj_t cb, mp_obj_t ch) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_call_function_1(cb, ch);
        nlr_pop();
    } else {
        mp_obj_t exc = MP_OBJ_FROM_PTR(nlr.ret_val);
        if (mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(mp_obj_get_type(exc)),
            MP_OBJ_FROM_PTR(&mp_type_KeyboardInterrupt))) {
            mp_sched_keyboard_interrupt();
        } else {
            mp_obj_print_exception(&mp_plat_print, exc);
        }
    }
}

static void upcall_run(mp_sched_node_t *node) {
    (void)node;
    if (MP_STATE_VM(modxen_ports) == MP_OBJ_NULL) {
        return;
    }
    for (size_t w = 0; w < MP_ARRAY_SIZE(upcall_pending); w++) {
        uint32_t bits = __atomic_exchange_n(&upcall_pending[w], 0, __ATOMIC_ACQ_REL);
        while (bits) {
            unsigned b = __builtin_ctz(bits);
            bits &= bits - 1;
            evtchn_port_t port = w * 32 + b;
            modxen_binding_lock();
            mp_map_elem_t *e = mp_map_lookup(port_map(), MP_OBJ_NEW_SMALL_INT(port), MP_MAP_LOOKUP);
            modxen_evtchn_obj_t *ch = e ? MP_OBJ_TO_PTR(e->value) : NULL;
            mp_obj_t cb = mp_const_none;
            if (ch != NULL) {
                ch->count++;
                cb = ch->callback;
            }
            modxen_binding_unlock();
            if (ch == NULL) {
                continue;
            }
            if (cb != mp_const_none) {
                upcall_call(cb, MP_OBJ_FROM_PTR(ch));
            }
            // Re-armed after its callback, not before: the callback's reply
            // (a notify) is not held up by the unmask's system call or
            // hypercall. Xen keeps an event that comes meanwhile pending on
            // the masked port and delivers it on the unmask. A callback that
            // closed its channel leaves nothing to re-arm.
            modxen_binding_lock();
            if (ch->port == (int32_t)port) {
                xenhv_evtchn_unmask(port);
            }
            modxen_binding_unlock();
        }
    }
}

void modxen_upcall(evtchn_port_t port) {
    if (port >= XENHV_MAX_PORTS) {
        return;
    }
    __atomic_fetch_or(&upcall_pending[port / 32], 1u << (port % 32), __ATOMIC_ACQ_REL);
    mp_sched_schedule_node(&upcall_node, upcall_run);
    xenhv_wake();
}

extern const mp_obj_type_t modxen_evtchn_type;

static modxen_evtchn_obj_t *evtchn_open(modxen_evtchn_obj_t *ch, int port) {
    if (port < 0) {
        modxen_raise_xen(port);
    }
    if (port >= XENHV_MAX_PORTS) {
        xenhv_evtchn_close(port);
        modxen_raise_errno(MP_ENOSPC);
    }
    ch->port = port;
    mp_map_lookup(port_map(), MP_OBJ_NEW_SMALL_INT(port), MP_MAP_LOOKUP_ADD_IF_NOT_FOUND)->value = MP_OBJ_FROM_PTR(ch);
    return ch;
}

static modxen_evtchn_obj_t *evtchn_new(void) {
    modxen_ensure_backend();
    port_map();   // allocate the table before the port exists
    modxen_evtchn_obj_t *ch = mp_obj_malloc(modxen_evtchn_obj_t, &modxen_evtchn_type);
    ch->port = -1;
    ch->count = 0;
    ch->callback = mp_const_none;
    return ch;
}

static modxen_evtchn_obj_t *evtchn_get_open(mp_obj_t self_in) {
    modxen_evtchn_obj_t *ch = MP_OBJ_TO_PTR(self_in);
    if (ch->port < 0) {
        modxen_raise_errno(MP_EBADF);
    }
    return ch;
}

// bind_interdomain(remote_dom, remote_port) -> EventChannel
static mp_obj_t mod_xen_bind_interdomain(mp_obj_t remote_dom, mp_obj_t remote_port) {
    modxen_evtchn_obj_t *ch = evtchn_new();
    return MP_OBJ_FROM_PTR(evtchn_open(ch,
        xenhv_evtchn_bind_interdomain(modxen_arg_domid(remote_dom), mp_obj_get_int(remote_port))));
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_bind_interdomain_obj, mod_xen_bind_interdomain);

// bind_virq(virq) -> EventChannel
static mp_obj_t mod_xen_bind_virq(mp_obj_t virq) {
    modxen_evtchn_obj_t *ch = evtchn_new();
    return MP_OBJ_FROM_PTR(evtchn_open(ch, xenhv_evtchn_bind_virq(mp_obj_get_int(virq))));
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_bind_virq_obj, mod_xen_bind_virq);

// alloc_unbound(remote_dom) -> EventChannel: a dom0 port a guest may bind to.
static mp_obj_t mod_xen_alloc_unbound(mp_obj_t remote_dom) {
    modxen_evtchn_obj_t *ch = evtchn_new();
    return MP_OBJ_FROM_PTR(evtchn_open(ch, xenhv_evtchn_alloc_unbound(modxen_arg_domid(remote_dom))));
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_alloc_unbound_obj, mod_xen_alloc_unbound);

// evtchn_alloc_unbound(dom, remote_dom) -> port number in `dom` (the
// privileged EVTCHNOP_alloc_unbound a builder uses for a guest's ports).
static mp_obj_t mod_xen_evtchn_alloc_unbound(mp_obj_t dom, mp_obj_t remote_dom) {
    struct evtchn_alloc_unbound *a = (struct evtchn_alloc_unbound *)xenhv_scratch();
    memset(a, 0, sizeof(*a));
    a->dom = modxen_arg_domid(dom);
    a->remote_dom = modxen_arg_domid(remote_dom);
    modxen_check(modxen_hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, (unsigned long)a));
    return MP_OBJ_NEW_SMALL_INT(a->port);
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_evtchn_alloc_unbound_obj, mod_xen_evtchn_alloc_unbound);

// evtchn_close(dom, port): close a port of another domain (builder rollback).
static mp_obj_t mod_xen_evtchn_close(mp_obj_t dom, mp_obj_t port) {
    // EVTCHNOP_close acts on the caller's own ports only; a foreign domain's
    // ports go away with the domain. Closing dom0's own ports goes through
    // EventChannel.close().
    struct evtchn_close *c = (struct evtchn_close *)xenhv_scratch();
    if (modxen_arg_domid(dom) != 0 && modxen_arg_domid(dom) != DOMID_SELF) {
        modxen_raise_errno(MP_EPERM);
    }
    c->port = mp_obj_get_int(port);
    modxen_check(modxen_hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_close, (unsigned long)c));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_evtchn_close_obj, mod_xen_evtchn_close);

static mp_obj_t evtchn_notify(mp_obj_t self_in) {
    modxen_check(xenhv_evtchn_notify(evtchn_get_open(self_in)->port));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(evtchn_notify_obj, evtchn_notify);

static mp_obj_t evtchn_unmask(mp_obj_t self_in) {
    modxen_check(xenhv_evtchn_unmask(evtchn_get_open(self_in)->port));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(evtchn_unmask_obj, evtchn_unmask);

// close(): idempotent, like a file. The port number is forgotten first, so a
// second close can never close a port that was reallocated meanwhile.
static mp_obj_t evtchn_close(mp_obj_t self_in) {
    modxen_evtchn_obj_t *ch = MP_OBJ_TO_PTR(self_in);
    if (ch->port < 0) {
        return mp_const_none;
    }
    int port = ch->port;
    ch->port = -1;
    ch->callback = mp_const_none;
    mp_map_lookup(port_map(), MP_OBJ_NEW_SMALL_INT(port), MP_MAP_LOOKUP_REMOVE_IF_FOUND);
    modxen_check(xenhv_evtchn_close(port));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(evtchn_close_obj, evtchn_close);

static mp_obj_t evtchn_exit(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    return evtchn_close(args[0]);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(evtchn_exit_obj, 4, 4, evtchn_exit);

// consume() -> number of events since the last consume(), and clears it.
static mp_obj_t evtchn_consume(mp_obj_t self_in) {
    modxen_evtchn_obj_t *ch = MP_OBJ_TO_PTR(self_in);
    uint32_t n = ch->count;
    ch->count = 0;
    return mp_obj_new_int_from_uint(n);
}
static MP_DEFINE_CONST_FUN_OBJ_1(evtchn_consume_obj, evtchn_consume);

static void evtchn_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    modxen_evtchn_obj_t *ch = MP_OBJ_TO_PTR(self_in);
    if (dest[0] == MP_OBJ_NULL) {
        if (attr == MP_QSTR_port) {
            dest[0] = ch->port < 0 ? mp_const_none : MP_OBJ_NEW_SMALL_INT(ch->port);
        } else if (attr == MP_QSTR_pending) {
            dest[0] = mp_obj_new_int_from_uint(ch->count);
        } else if (attr == MP_QSTR_callback) {
            dest[0] = ch->callback;
        } else {
            dest[1] = MP_OBJ_SENTINEL;   // continue lookup in locals_dict
        }
    } else if (dest[1] != MP_OBJ_NULL && attr == MP_QSTR_callback) {
        if (dest[1] != mp_const_none && !mp_obj_is_callable(dest[1])) {
            mp_raise_TypeError(MP_ERROR_TEXT("callback must be callable or None"));
        }
        ch->callback = dest[1];
        dest[0] = MP_OBJ_NULL;
    }
}

// Stream ioctl, so select.poll() and asyncio can wait for events.
static mp_uint_t evtchn_ioctl(mp_obj_t self_in, mp_uint_t request, uintptr_t arg, int *errcode) {
    modxen_evtchn_obj_t *ch = MP_OBJ_TO_PTR(self_in);
    if (request == MP_STREAM_POLL) {
        if (ch->port < 0) {
            return MP_STREAM_POLL_NVAL;
        }
        return (ch->count > 0) ? (arg & MP_STREAM_POLL_RD) : 0;
    }
    if (request == MP_STREAM_CLOSE) {
        return 0;
    }
    *errcode = MP_EINVAL;
    return MP_STREAM_ERROR;
}

static void evtchn_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    (void)kind;
    modxen_evtchn_obj_t *ch = MP_OBJ_TO_PTR(self_in);
    if (ch->port < 0) {
        mp_printf(print, "<EventChannel closed>");
    } else {
        mp_printf(print, "<EventChannel port=%d pending=%u>", (int)ch->port, (unsigned)ch->count);
    }
}

static const mp_stream_p_t evtchn_stream_p = {
    .ioctl = evtchn_ioctl,
};

LOCKED(evtchn_close);

static const mp_rom_map_elem_t evtchn_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_notify), MP_ROM_PTR(&evtchn_notify_obj) },
    { MP_ROM_QSTR(MP_QSTR_unmask), MP_ROM_PTR(&evtchn_unmask_obj) },
    { MP_ROM_QSTR(MP_QSTR_consume), MP_ROM_PTR(&evtchn_consume_obj) },
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&evtchn_close_locked) },
    { MP_ROM_QSTR(MP_QSTR___enter__), MP_ROM_PTR(&mp_identity_obj) },
    { MP_ROM_QSTR(MP_QSTR___exit__), MP_ROM_PTR(&evtchn_exit_obj) },
};
static MP_DEFINE_CONST_DICT(evtchn_locals, evtchn_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(
    modxen_evtchn_type,
    MP_QSTR_EventChannel,
    MP_TYPE_FLAG_NONE,
    print, evtchn_print,
    attr, evtchn_attr,
    protocol, &evtchn_stream_p,
    locals_dict, &evtchn_locals
    );


// wait(timeout_ms=-1): sleep until an event channel's upcall (or other
// scheduled work, or Ctrl-C) arrives or timeout_ms passes, then run the
// callbacks. Where the backend can, the interpreter's own thread takes the
// event (xenhv_wait), so a dom0 program that serves guests in a
// `while True: _xen.wait()` loop costs one wake-up per event. Not locked:
// it blocks, and other threads' calls go on meanwhile.
static mp_obj_t mod_xen_wait(size_t n_args, const mp_obj_t *args) {
    mp_int_t ms = n_args > 0 && args[0] != mp_const_none ? mp_obj_get_int(args[0]) : -1;
    if (ms < 0) {
        ms = -1;
    } else if (ms > INT32_MAX) {
        ms = INT32_MAX;
    }
    modxen_ensure_backend();
    mp_handle_pending(true);            // work already queued runs first
    MP_THREAD_GIL_EXIT();
    int rc = xenhv_wait((int)ms);
    MP_THREAD_GIL_ENTER();
    if (rc == XENHV_WAIT_BY_PORT) {
        if (ms < 0) {
            mp_event_wait_indefinite();
        } else {
            mp_event_wait_ms((mp_uint_t)ms);
        }
    } else if (rc < 0) {
        modxen_raise_xen(rc);
    }
    mp_handle_pending(true);
    return mp_const_none;
}
MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xen_wait_obj, 0, 1, mod_xen_wait);

LOCKED(mod_xen_bind_interdomain);
LOCKED(mod_xen_bind_virq);
LOCKED(mod_xen_alloc_unbound);
LOCKED(mod_xen_evtchn_alloc_unbound);
LOCKED(mod_xen_evtchn_close);
