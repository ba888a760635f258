// _xen: the Xen hypervisor interface for MicroPython.
//
// This file is the binding's core: Xen's errors as OSError, the binding lock,
// bringing the backend up and finding the running Xen release (abi.c), the
// hypervisor's version and dom0 console, and the module table. The hypercall
// families live beside it, each marshalling Xen's own public structs into the
// scratch area: domctl.c, sysctl.c, memory.c (Mapping), evtchn.c
// (EventChannel, upcalls), flask.c. Policy (domain building, xenstore,
// consoles) lives in the frozen `xen` package.
//
// Must not know: how a hypercall is issued or frames are mapped (xenhv.h,
// the backends).

#include "modxen.h"
#include "xenerrno.h"

#if !MICROPY_ENABLE_SCHEDULER || !MICROPY_SCHEDULER_STATIC_NODES
#error "_xen needs MICROPY_ENABLE_SCHEDULER and MICROPY_SCHEDULER_STATIC_NODES=1"
#endif

/******************************************************************************/
// Errors: Xen's errno numbering mapped to this port's, from Xen's own table.

static int host_errno(long xen_err) {
    int host = xenerrno_to_host(xen_err);
    return host < 0 ? MP_EIO : host;
}

static const char *errno_name(mp_int_t host) {
    return xenerrno_name(host);
}

// _xen.errorcode: host errno -> Xen's name for it, for every Xen error (the
// errno module of a small port knows only a few names). A read-only mapping
// over the table above: errorcode[n], errorcode.get(n, default), n in errorcode.
static mp_obj_t errorcode_subscr(mp_obj_t self_in, mp_obj_t index, mp_obj_t value) {
    (void)self_in;
    if (value != MP_OBJ_SENTINEL) {
        return MP_OBJ_NULL;
    }
    const char *n = mp_obj_is_int(index) ? errno_name(mp_obj_get_int(index)) : NULL;
    if (n == NULL) {
        mp_raise_type_arg(&mp_type_KeyError, index);
    }
    return mp_obj_new_str(n, strlen(n));
}

static mp_obj_t errorcode_get(size_t n_args, const mp_obj_t *args) {
    const char *n = mp_obj_is_int(args[1]) ? errno_name(mp_obj_get_int(args[1])) : NULL;
    if (n == NULL) {
        return n_args > 2 ? args[2] : mp_const_none;
    }
    return mp_obj_new_str(n, strlen(n));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(errorcode_get_obj, 2, 3, errorcode_get);

static mp_obj_t errorcode_binary_op(mp_binary_op_t op, mp_obj_t lhs, mp_obj_t rhs) {
    if (op == MP_BINARY_OP_CONTAINS) {
        return mp_obj_new_bool(mp_obj_is_int(rhs) && errno_name(mp_obj_get_int(rhs)) != NULL);
    }
    (void)lhs;
    return MP_OBJ_NULL;
}

static const mp_rom_map_elem_t errorcode_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_get), MP_ROM_PTR(&errorcode_get_obj) },
};
static MP_DEFINE_CONST_DICT(errorcode_locals, errorcode_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    errorcode_type,
    MP_QSTR_ErrorNames,
    MP_TYPE_FLAG_NONE,
    subscr, errorcode_subscr,
    binary_op, errorcode_binary_op,
    locals_dict, &errorcode_locals
    );

static const mp_obj_base_t errorcode_obj = { &errorcode_type };

// OSError(errno) when MicroPython can name the errno itself (it prints
// "[Errno 2] ENOENT"), else OSError(errno, 'ENAME') from Xen's table.
MP_NORETURN void modxen_raise_errno(int host) {
    const char *n = errno_name(host);
    if (n == NULL || mp_errno_to_str(MP_OBJ_NEW_SMALL_INT(host)) != MP_QSTRnull) {
        mp_raise_OSError(host);
    }
    mp_obj_t args[2] = { MP_OBJ_NEW_SMALL_INT(host), mp_obj_new_str(n, strlen(n)) };
    nlr_raise(mp_obj_new_exception_args(&mp_type_OSError, 2, args));
}

// OSError(errno, message): an error whose errno alone would not say what is wrong.
MP_NORETURN void modxen_raise_errno_msg(int host, vstr_t *msg) {
    mp_obj_t args[2] = { MP_OBJ_NEW_SMALL_INT(host), mp_obj_new_str_from_vstr(msg) };
    nlr_raise(mp_obj_new_exception_args(&mp_type_OSError, 2, args));
}

MP_NORETURN void modxen_raise_xen(long rc) {
    modxen_raise_errno(host_errno(-rc));
}

long modxen_check(long rc) {
    if (rc < 0) {
        modxen_raise_xen(rc);
    }
    return rc;
}

/******************************************************************************/
// The Xen release this dom0 runs under, asked once (xen_version) when the
// backend comes up. Every domctl and sysctl then speaks that release's
// interface version and layouts (abi.c). A release outside the table is
// refused by every domctl and sysctl, and by abi(), with one message.

static uint16_t abi_major, abi_minor;
static uint8_t abi_domctl_seen;     // an unknown release's domctl version, found by probing

// Which domctl interface version an unknown release accepts: the one that
// does not get EACCES for a getdomaininfo of dom0.
static uint8_t probe_domctl_version(void) {
    for (unsigned v = 0x10; v < 0x40; v++) {
        struct xen_domctl *op = (struct xen_domctl *)xenhv_scratch();
        memset(op, 0, sizeof(*op));
        op->cmd = XEN_DOMCTL_getdomaininfo;
        op->interface_version = v;
        op->domain = 0;
        if (xenhv_hypercall(__HYPERVISOR_domctl, (unsigned long)op, 0, 0, 0, 0) != -XEN_EACCES) {
            return v;
        }
    }
    return 0;
}

static void abi_detect(void) {
    long v = xenhv_hypercall(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0);
    if (v < 0) {
        modxen_raise_xen(v);
    }
    abi_major = (v >> 16) & 0xffff;
    abi_minor = v & 0xffff;
    modxen_running = modxen_release(abi_major, abi_minor);
    if (modxen_running == NULL) {
        abi_domctl_seen = probe_domctl_version();
    }
}

void modxen_ensure_backend(void) {
    static bool up;
    if (!up) {
        modxen_check(xenhv_init());
        abi_detect();
        up = true;
    }
}

// The running release's row; an unsupported release raises
// OSError(EOPNOTSUPP, "Xen 4.23 (domctl 0x19) is newer than this firmware (4.17-4.22)").
const modxen_release_t *modxen_abi_current(void) {
    modxen_ensure_backend();
    if (modxen_running != NULL) {
        return modxen_running;
    }
    const modxen_release_t *lo = &modxen_releases[0], *hi = &modxen_releases[modxen_nreleases - 1];
    bool newer = abi_major > hi->major || (abi_major == hi->major && abi_minor > hi->minor);
    bool older = abi_major < lo->major || (abi_major == lo->major && abi_minor < lo->minor);
    vstr_t vs;
    vstr_init(&vs, 96);
    vstr_printf(&vs, "Xen %u.%u (domctl 0x%x) is %s this firmware (%u.%u-%u.%u)",
        abi_major, abi_minor, abi_domctl_seen,
        newer ? "newer than" : older ? "older than" : "a release unknown to",
        lo->major, lo->minor, hi->major, hi->minor);
    modxen_raise_errno_msg(MP_EOPNOTSUPP, &vs);
}

long modxen_hypercall(unsigned int op, unsigned long a1, unsigned long a2) {
    modxen_ensure_backend();
    return xenhv_hypercall(op, a1, a2, 0, 0, 0);
}

domid_t modxen_arg_domid(mp_obj_t o) {
    mp_int_t d = mp_obj_get_int(o);
    if (d < 0 || d > 0xffff) {
        mp_raise_ValueError(MP_ERROR_TEXT("domid out of range"));
    }
    return (domid_t)d;
}

// Frame numbers, addresses and sizes: any non-negative int up to 2**64-1.
_Static_assert(sizeof(mp_uint_t) >= sizeof(uint64_t), "64-bit ports only");
uint64_t modxen_arg_u64(mp_obj_t o) {
    if (!mp_obj_is_int(o)) {
        mp_raise_TypeError(MP_ERROR_TEXT("expected an int"));
    }
    if (mp_obj_int_sign(o) < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("negative value"));
    }
    return mp_obj_int_get_uint_checked(o);
}

mp_obj_t modxen_new_u64(uint64_t v) {
    return mp_obj_new_int_from_ull(v);
}

/******************************************************************************/
// The binding lock. The hypercall scratch area and the port table are shared
// by every thread; calls into _xen from several Python threads (the unix port
// has no GIL) take this recursive lock. Module functions are wrapped once, in
// the globals table, by `locked_fun` objects.

#if MICROPY_PY_THREAD
static mp_thread_mutex_t binding_mutex;
static void *volatile binding_owner;
static unsigned binding_depth;

void modxen_binding_lock(void) {
    void *me = mp_thread_get_state();
    if (binding_owner == me) {
        binding_depth++;
        return;
    }
    MP_THREAD_GIL_EXIT();
    mp_thread_mutex_lock(&binding_mutex, 1);
    MP_THREAD_GIL_ENTER();
    binding_owner = me;
    binding_depth = 1;
}

void modxen_binding_unlock(void) {
    if (--binding_depth == 0) {
        binding_owner = NULL;
        mp_thread_mutex_unlock(&binding_mutex);
    }
}
#else
void modxen_binding_lock(void) {
}
void modxen_binding_unlock(void) {
}
#endif

static mp_obj_t locked_fun_call(mp_obj_t self_in, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    const locked_fun_obj_t *self = MP_OBJ_TO_PTR(self_in);
    modxen_binding_lock();
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t ret = mp_call_function_n_kw(MP_OBJ_FROM_PTR(self->fun), n_args, n_kw, args);
        nlr_pop();
        modxen_binding_unlock();
        return ret;
    }
    modxen_binding_unlock();
    nlr_jump(nlr.ret_val);
}

MP_DEFINE_CONST_OBJ_TYPE(
    modxen_locked_fun_type,
    MP_QSTR_function,
    MP_TYPE_FLAG_BINDS_SELF,
    call, locked_fun_call
    );


/******************************************************************************/
// Hypervisor information.

static mp_obj_t mod_xen_version(void) {
    long v = modxen_check(modxen_hypercall(__HYPERVISOR_xen_version, XENVER_version, 0));
    char *extra = (char *)xenhv_scratch();
    memset(extra, 0, sizeof(xen_extraversion_t));
    modxen_check(modxen_hypercall(__HYPERVISOR_xen_version, XENVER_extraversion, (unsigned long)extra));
    extra[sizeof(xen_extraversion_t) - 1] = 0;
    mp_obj_t t[3] = {
        MP_OBJ_NEW_SMALL_INT((v >> 16) & 0xffff),
        MP_OBJ_NEW_SMALL_INT(v & 0xffff),
        mp_obj_new_str(extra, strlen(extra)),
    };
    return mp_obj_new_tuple(3, t);
}
static MP_DEFINE_CONST_FUN_OBJ_0(mod_xen_version_obj, mod_xen_version);

// abi() -> dict: the running release, the interface versions in use, whether
// that release was verified on real Xen or only against the sim, its
// features beyond 4.17, and every release this firmware speaks.
static const char *const abi_feature_names[] = {
    "sve", "tee_ffa", "dominfo_exact", "altp2m", "altp2m_nr", "arm_sci",
    "domain_state", "xs_evtchn_port", "cons_connection", "domid_any",
};

static mp_obj_t release_str(unsigned major, unsigned minor) {
    vstr_t vs;
    vstr_init(&vs, 8);
    vstr_printf(&vs, "%u.%u", major, minor);
    return mp_obj_new_str_from_vstr(&vs);
}

static mp_obj_t verified_str(const modxen_release_t *r) {
    return MP_OBJ_NEW_QSTR(r->verified == ABI_VERIFIED_REAL ? MP_QSTR_real : MP_QSTR_sim);
}

static mp_obj_t mod_xen_abi(void) {
    const modxen_release_t *r = modxen_abi_current();
    mp_obj_t d = mp_obj_new_dict(8);
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_release), release_str(r->major, r->minor));
    mp_obj_t ver[2] = { MP_OBJ_NEW_SMALL_INT(r->major), MP_OBJ_NEW_SMALL_INT(r->minor) };
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_version), mp_obj_new_tuple(2, ver));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_domctl), MP_OBJ_NEW_SMALL_INT(r->domctl));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_sysctl), MP_OBJ_NEW_SMALL_INT(r->sysctl));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_verified), verified_str(r));
    mp_obj_t feats = mp_obj_new_list(0, NULL);
    for (size_t i = 0; i < MP_ARRAY_SIZE(abi_feature_names); i++) {
        if (r->features & (1u << i)) {
            mp_obj_list_append(feats, mp_obj_new_str_from_cstr(abi_feature_names[i]));
        }
    }
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_features), feats);
    mp_obj_t rels = mp_obj_new_list(0, NULL);
    for (size_t i = 0; i < modxen_nreleases; i++) {
        const modxen_release_t *x = &modxen_releases[i];
        mp_obj_t t[4] = { release_str(x->major, x->minor), MP_OBJ_NEW_SMALL_INT(x->domctl),
                          MP_OBJ_NEW_SMALL_INT(x->sysctl), verified_str(x) };
        mp_obj_list_append(rels, mp_obj_new_tuple(4, t));
    }
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_releases), rels);
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_0(mod_xen_abi_obj, mod_xen_abi);

void modxen_dict_set(mp_obj_t d, qstr key, mp_obj_t value) {
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(key), value);
}

/******************************************************************************/
// console_io: dom0's own console.

static mp_obj_t mod_xen_console_write(mp_obj_t data) {
    mp_buffer_info_t b;
    mp_get_buffer_raise(data, &b, MP_BUFFER_READ);
    const size_t room = XENHV_SCRATCH_SIZE;
    for (size_t off = 0; off < b.len;) {
        size_t n = b.len - off < room ? b.len - off : room;
        memcpy(xenhv_scratch(), (const uint8_t *)b.buf + off, n);
        modxen_ensure_backend();
        modxen_check(xenhv_hypercall(__HYPERVISOR_console_io, CONSOLEIO_write, n,
            (unsigned long)xenhv_scratch(), 0, 0));
        off += n;
    }
    return mp_obj_new_int_from_uint(b.len);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_console_write_obj, mod_xen_console_write);

// console_read(max=256) -> bytes (possibly empty; never blocks)
static mp_obj_t mod_xen_console_read(size_t n_args, const mp_obj_t *args) {
    mp_int_t max = n_args > 0 ? mp_obj_get_int(args[0]) : 256;
    if (max <= 0 || max > XENHV_SCRATCH_SIZE) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad read size"));
    }
    modxen_ensure_backend();
    long n = modxen_check(xenhv_hypercall(__HYPERVISOR_console_io, CONSOLEIO_read, max,
        (unsigned long)xenhv_scratch(), 0, 0));
    if (n > max) {
        modxen_raise_errno(MP_EIO);
    }
    return mp_obj_new_bytes(xenhv_scratch(), n);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xen_console_read_obj, 0, 1, mod_xen_console_read);

/******************************************************************************/
// The module.

static mp_obj_t mod_xen___init__(void) {
    #if MICROPY_PY_THREAD
    static bool done;
    if (!done) {
        mp_thread_mutex_init(&binding_mutex);
        done = true;
    }
    #endif
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(mod_xen___init___obj, mod_xen___init__);

// BACKEND: the backend's own name (xenhv_backend_name), through the
// module's __getattr__ since a ROM table cannot hold a str of another file's
// length. Only misses come here.
static mp_obj_t mod_xen___getattr__(mp_obj_t attr) {
    if (mp_obj_str_get_qstr(attr) == MP_QSTR_BACKEND) {
        return mp_obj_new_str_via_qstr(xenhv_backend_name, strlen(xenhv_backend_name));
    }
    return MP_OBJ_NULL;
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen___getattr___obj, mod_xen___getattr__);

#define C(name) { MP_ROM_QSTR(MP_QSTR_##name), MP_ROM_INT(name) }

static LOCKED(mod_xen_version);
static LOCKED(mod_xen_abi);
static LOCKED(mod_xen_console_write);
static LOCKED(mod_xen_console_read);

static const mp_rom_map_elem_t mp_module_xen_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__xen) },
    { MP_ROM_QSTR(MP_QSTR___init__), MP_ROM_PTR(&mod_xen___init___obj) },
    { MP_ROM_QSTR(MP_QSTR___getattr__), MP_ROM_PTR(&mod_xen___getattr___obj) },
    { MP_ROM_QSTR(MP_QSTR_errorcode), MP_ROM_PTR(&errorcode_obj) },
    { MP_ROM_QSTR(MP_QSTR_Mapping), MP_ROM_PTR(&modxen_mapping_type) },
    { MP_ROM_QSTR(MP_QSTR_EventChannel), MP_ROM_PTR(&modxen_evtchn_type) },

    // hypervisor
    { MP_ROM_QSTR(MP_QSTR_version), MP_ROM_PTR(&mod_xen_version_locked) },
    { MP_ROM_QSTR(MP_QSTR_abi), MP_ROM_PTR(&mod_xen_abi_locked) },
    { MP_ROM_QSTR(MP_QSTR_physinfo), MP_ROM_PTR(&mod_xen_physinfo_locked) },
    { MP_ROM_QSTR(MP_QSTR_domain_list), MP_ROM_PTR(&mod_xen_domain_list_locked) },
    { MP_ROM_QSTR(MP_QSTR_readconsole), MP_ROM_PTR(&mod_xen_readconsole_locked) },
    // domctl
    { MP_ROM_QSTR(MP_QSTR_createdomain), MP_ROM_PTR(&mod_xen_createdomain_locked) },
    { MP_ROM_QSTR(MP_QSTR_destroydomain), MP_ROM_PTR(&mod_xen_destroydomain_locked) },
    { MP_ROM_QSTR(MP_QSTR_pausedomain), MP_ROM_PTR(&mod_xen_pausedomain_locked) },
    { MP_ROM_QSTR(MP_QSTR_unpausedomain), MP_ROM_PTR(&mod_xen_unpausedomain_locked) },
    { MP_ROM_QSTR(MP_QSTR_getdomaininfo), MP_ROM_PTR(&mod_xen_getdomaininfo_locked) },
    { MP_ROM_QSTR(MP_QSTR_get_domain_state), MP_ROM_PTR(&mod_xen_get_domain_state_locked) },
    { MP_ROM_QSTR(MP_QSTR_max_vcpus), MP_ROM_PTR(&mod_xen_max_vcpus_locked) },
    { MP_ROM_QSTR(MP_QSTR_max_mem), MP_ROM_PTR(&mod_xen_max_mem_locked) },
    { MP_ROM_QSTR(MP_QSTR_set_address_size), MP_ROM_PTR(&mod_xen_set_address_size_locked) },
    { MP_ROM_QSTR(MP_QSTR_setvcpucontext), MP_ROM_PTR(&mod_xen_setvcpucontext_locked) },
    { MP_ROM_QSTR(MP_QSTR_getvcpucontext), MP_ROM_PTR(&mod_xen_getvcpucontext_locked) },
    { MP_ROM_QSTR(MP_QSTR_get_paging_mempool_size), MP_ROM_PTR(&mod_xen_get_paging_mempool_size_locked) },
    { MP_ROM_QSTR(MP_QSTR_set_paging_mempool_size), MP_ROM_PTR(&mod_xen_set_paging_mempool_size_locked) },
    { MP_ROM_QSTR(MP_QSTR_iomem_permission), MP_ROM_PTR(&mod_xen_iomem_permission_locked) },
    { MP_ROM_QSTR(MP_QSTR_memory_mapping), MP_ROM_PTR(&mod_xen_memory_mapping_locked) },
    { MP_ROM_QSTR(MP_QSTR_bind_pt_irq), MP_ROM_PTR(&mod_xen_bind_pt_irq_locked) },
    { MP_ROM_QSTR(MP_QSTR_assign_device), MP_ROM_PTR(&mod_xen_assign_device_locked) },
    { MP_ROM_QSTR(MP_QSTR_cacheflush), MP_ROM_PTR(&mod_xen_cacheflush_locked) },
    // memory
    { MP_ROM_QSTR(MP_QSTR_populate_physmap), MP_ROM_PTR(&mod_xen_populate_physmap_locked) },
    { MP_ROM_QSTR(MP_QSTR_decrease_reservation), MP_ROM_PTR(&mod_xen_decrease_reservation_locked) },
    { MP_ROM_QSTR(MP_QSTR_map), MP_ROM_PTR(&mod_xen_map_locked) },
    // HVM params
    { MP_ROM_QSTR(MP_QSTR_hvm_get_param), MP_ROM_PTR(&mod_xen_hvm_get_param_locked) },
    { MP_ROM_QSTR(MP_QSTR_hvm_set_param), MP_ROM_PTR(&mod_xen_hvm_set_param_locked) },
    // event channels
    { MP_ROM_QSTR(MP_QSTR_bind_interdomain), MP_ROM_PTR(&mod_xen_bind_interdomain_locked) },
    { MP_ROM_QSTR(MP_QSTR_bind_virq), MP_ROM_PTR(&mod_xen_bind_virq_locked) },
    { MP_ROM_QSTR(MP_QSTR_wait), MP_ROM_PTR(&mod_xen_wait_obj) },
    { MP_ROM_QSTR(MP_QSTR_alloc_unbound), MP_ROM_PTR(&mod_xen_alloc_unbound_locked) },
    { MP_ROM_QSTR(MP_QSTR_evtchn_alloc_unbound), MP_ROM_PTR(&mod_xen_evtchn_alloc_unbound_locked) },
    { MP_ROM_QSTR(MP_QSTR_evtchn_close), MP_ROM_PTR(&mod_xen_evtchn_close_locked) },
    // XSM
    { MP_ROM_QSTR(MP_QSTR_flask_context_to_sid), MP_ROM_PTR(&mod_xen_flask_context_to_sid_locked) },
    { MP_ROM_QSTR(MP_QSTR_flask_sid_to_context), MP_ROM_PTR(&mod_xen_flask_sid_to_context_locked) },
    { MP_ROM_QSTR(MP_QSTR_flask_getenforce), MP_ROM_PTR(&mod_xen_flask_getenforce_locked) },
    { MP_ROM_QSTR(MP_QSTR_flask_setenforce), MP_ROM_PTR(&mod_xen_flask_setenforce_locked) },
    { MP_ROM_QSTR(MP_QSTR_flask_relabel_domain), MP_ROM_PTR(&mod_xen_flask_relabel_domain_locked) },
    { MP_ROM_QSTR(MP_QSTR_flask_load), MP_ROM_PTR(&mod_xen_flask_load_locked) },
    // console
    { MP_ROM_QSTR(MP_QSTR_console_write), MP_ROM_PTR(&mod_xen_console_write_locked) },
    { MP_ROM_QSTR(MP_QSTR_console_read), MP_ROM_PTR(&mod_xen_console_read_locked) },

    // Constants, under Xen's own names.
    { MP_ROM_QSTR(MP_QSTR_PAGE_SIZE), MP_ROM_INT(PAGE_SIZE_XEN) },
    C(DOMID_FIRST_RESERVED), C(DOMID_SELF),
    C(XEN_DOMCTL_CDF_hvm), C(XEN_DOMCTL_CDF_hap), C(XEN_DOMCTL_CDF_iommu),
    C(XEN_DOMCTL_CDF_xs_domain), C(XEN_DOMCTL_CDF_vpmu),
    C(XEN_DOMCTL_CONFIG_GIC_NATIVE), C(XEN_DOMCTL_CONFIG_GIC_V2), C(XEN_DOMCTL_CONFIG_GIC_V3),
    C(XEN_DOMCTL_CONFIG_TEE_NONE), C(XEN_DOMCTL_CONFIG_TEE_OPTEE),
    { MP_ROM_QSTR(MP_QSTR_XEN_DOMCTL_CONFIG_TEE_FFA), MP_ROM_INT(MODXEN_TEE_FFA) },
    C(XEN_DOMCTL_DEV_RDM_RELAXED),
    C(SHUTDOWN_poweroff), C(SHUTDOWN_reboot), C(SHUTDOWN_suspend), C(SHUTDOWN_crash),
    C(SHUTDOWN_watchdog), C(SHUTDOWN_soft_reset),
    C(VIRQ_DOM_EXC), C(VIRQ_CONSOLE), C(VIRQ_TIMER), C(VIRQ_DEBUG),
    C(HVM_PARAM_CALLBACK_IRQ), C(HVM_PARAM_STORE_PFN), C(HVM_PARAM_STORE_EVTCHN),
    C(HVM_PARAM_CONSOLE_PFN), C(HVM_PARAM_CONSOLE_EVTCHN), C(HVM_NR_PARAMS),
    C(PSR_GUEST64_INIT), C(SCTLR_GUEST_INIT),
    C(GUEST_RAM0_BASE), C(GUEST_RAM0_SIZE), C(GUEST_RAM1_BASE), C(GUEST_RAM1_SIZE),
    C(GUEST_MAGIC_BASE), C(GUEST_MAGIC_SIZE), C(GUEST_GNTTAB_BASE), C(GUEST_GNTTAB_SIZE),
    C(GUEST_GICD_BASE), C(GUEST_GICD_SIZE), C(GUEST_GICC_BASE), C(GUEST_GICC_SIZE),
    C(GUEST_GICV3_GICD_BASE), C(GUEST_GICV3_GICD_SIZE), C(GUEST_GICV3_GICR0_BASE),
    C(GUEST_GICV3_GICR0_SIZE), C(GUEST_PL011_BASE), C(GUEST_PL011_SIZE),
    C(GUEST_TIMER_VIRT_PPI), C(GUEST_TIMER_PHYS_S_PPI), C(GUEST_TIMER_PHYS_NS_PPI),
    C(GUEST_EVTCHN_PPI), C(GUEST_VPL011_SPI), C(GUEST_MAX_VCPUS), C(GUEST_PHANDLE_GIC),
    C(DT_IRQ_TYPE_EDGE_RISING), C(DT_IRQ_TYPE_LEVEL_HIGH), C(DT_IRQ_TYPE_LEVEL_LOW),

};
#undef C
static MP_DEFINE_CONST_DICT(mp_module_xen_globals, mp_module_xen_globals_table);

const mp_obj_module_t mp_module_xen = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&mp_module_xen_globals,
};

MP_REGISTER_MODULE(MP_QSTR__xen, mp_module_xen);
MP_REGISTER_ROOT_POINTER(mp_obj_t modxen_ports);
