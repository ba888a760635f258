// _xen: the Xen hypervisor interface for MicroPython.
//
// This file is the binding. It marshals Xen's own public structs (xenabi.h)
// into the hypercall scratch area and hands them to the backend through
// xenhv.h. It turns Xen errors into OSError, exposes guest frames as buffer
// objects and delivers event-channel upcalls to Python through one coalescing
// scheduler node. Policy (domain building, xenstore, consoles) lives in the
// frozen `xen` package.

#include <string.h>
#include <errno.h>

#include "py/runtime.h"
#include "py/mphal.h"
#include "py/objstr.h"
#include "py/stream.h"
#include "py/mperrno.h"
#include "py/objint.h"
#include "py/mpthread.h"
#include "py/objarray.h"
#include "py/gc.h"

// MicroPython renamed NORETURN to MP_NORETURN after 1.25.
#ifndef MP_NORETURN
#define MP_NORETURN NORETURN
#endif

#include "xenhv.h"
#include "abi.h"       // the Xen releases this firmware speaks
#include "ring.h"        // guest byte rings (ring.c)
#include "repl_unix.h"   // host REPL terminal (repl_unix.c, unix builds)
#include "verify.h"   // issue 7: es256_verify, policy_anchors (verify.c)
#include "xsframe.h"  // xenstore wire framing (xsframe.c)

#if !MICROPY_ENABLE_SCHEDULER || !MICROPY_SCHEDULER_STATIC_NODES
#error "_xen needs MICROPY_ENABLE_SCHEDULER and MICROPY_SCHEDULER_STATIC_NODES=1"
#endif

#ifndef XEN_PAGE_SHIFT
#define XEN_PAGE_SHIFT 12
#endif
#define PAGE_SIZE_XEN (1u << XEN_PAGE_SHIFT)

#if MODXEN_BACKEND_SIM
#define BACKEND_QSTR MP_QSTR_sim
#elif MODXEN_BACKEND_LINUX
#define BACKEND_QSTR MP_QSTR_linux
#else
#define BACKEND_QSTR MP_QSTR_zephyr
#endif

/******************************************************************************/
// Errors: Xen's errno numbering mapped to this port's, from Xen's own table.

// Xen's errno table, expanded from Xen's own header. Names are kept as C
// strings: qstrs made inside a header's expansion confuse newer
// MicroPython's qstr scanner, and strings cost no RAM.
typedef struct {
    uint8_t xen;
    uint8_t host;
    const char *name;
} errno_map_t;

static const errno_map_t errno_map[] = {
    #define XEN_ERRNO(name, value) { value, name, #name },
    #if defined(MODXEN_ZEPHYR_XEN_HEADERS)
    #include <zephyr/xen/public/errno.h>
    #else
    #include <xen/errno.h>
    #endif
    #undef XEN_ERRNO
};

// The same header once more, the default way: the XEN_Exxx constants.
#if defined(MODXEN_ZEPHYR_XEN_HEADERS)
#include <zephyr/xen/public/errno.h>
#else
#include <xen/errno.h>
#endif

static int host_errno(long xen_err) {
    for (size_t i = 0; i < MP_ARRAY_SIZE(errno_map); i++) {
        if (errno_map[i].xen == xen_err) {
            return errno_map[i].host;
        }
    }
    return MP_EIO;
}

static const char *errno_name(mp_int_t host) {
    for (size_t i = 0; i < MP_ARRAY_SIZE(errno_map); i++) {
        if (errno_map[i].host == host) {
            return errno_map[i].name;
        }
    }
    return NULL;
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
static MP_NORETURN void raise_errno(int host) {
    const char *n = errno_name(host);
    if (n == NULL || mp_errno_to_str(MP_OBJ_NEW_SMALL_INT(host)) != MP_QSTRnull) {
        mp_raise_OSError(host);
    }
    mp_obj_t args[2] = { MP_OBJ_NEW_SMALL_INT(host), mp_obj_new_str(n, strlen(n)) };
    nlr_raise(mp_obj_new_exception_args(&mp_type_OSError, 2, args));
}

// OSError(errno, message): an error whose errno alone would not say what is wrong.
static MP_NORETURN void raise_errno_msg(int host, vstr_t *msg) {
    mp_obj_t args[2] = { MP_OBJ_NEW_SMALL_INT(host), mp_obj_new_str_from_vstr(msg) };
    nlr_raise(mp_obj_new_exception_args(&mp_type_OSError, 2, args));
}

static MP_NORETURN void raise_xen(long rc) {
    raise_errno(host_errno(-rc));
}

static long check(long rc) {
    if (rc < 0) {
        raise_xen(rc);
    }
    return rc;
}

/******************************************************************************/
// The Xen release this dom0 runs under, asked once (xen_version) when the
// backend comes up. Every domctl and sysctl then speaks that release's
// interface version and layouts (abi.c). A release outside the table is
// refused by every domctl and sysctl, and by abi(), with one message.

static const modxen_release_t *abi_row;
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
        raise_xen(v);
    }
    abi_major = (v >> 16) & 0xffff;
    abi_minor = v & 0xffff;
    abi_row = modxen_release(abi_major, abi_minor);
    modxen_running = abi_row;
    if (abi_row == NULL) {
        abi_domctl_seen = probe_domctl_version();
    }
}

static void ensure_backend(void) {
    static bool up;
    if (!up) {
        check(xenhv_init());
        abi_detect();
        up = true;
    }
}

// The running release's row; an unsupported release raises
// OSError(EOPNOTSUPP, "Xen 4.23 (domctl 0x19) is newer than this firmware (4.17-4.22)").
static const modxen_release_t *abi_current(void) {
    ensure_backend();
    if (abi_row != NULL) {
        return abi_row;
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
    raise_errno_msg(MP_EOPNOTSUPP, &vs);
}

static long hypercall(unsigned int op, unsigned long a1, unsigned long a2) {
    ensure_backend();
    return xenhv_hypercall(op, a1, a2, 0, 0, 0);
}

static domid_t arg_domid(mp_obj_t o) {
    mp_int_t d = mp_obj_get_int(o);
    if (d < 0 || d > 0xffff) {
        mp_raise_ValueError(MP_ERROR_TEXT("domid out of range"));
    }
    return (domid_t)d;
}

// Frame numbers, addresses and sizes: any non-negative int up to 2**64-1.
_Static_assert(sizeof(mp_uint_t) >= sizeof(uint64_t), "64-bit ports only");
static uint64_t arg_u64(mp_obj_t o) {
    if (!mp_obj_is_int(o)) {
        mp_raise_TypeError(MP_ERROR_TEXT("expected an int"));
    }
    if (mp_obj_int_sign(o) < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("negative value"));
    }
    return mp_obj_int_get_uint_checked(o);
}

static mp_obj_t new_u64(uint64_t v) {
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

static void binding_lock(void) {
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

static void binding_unlock(void) {
    if (--binding_depth == 0) {
        binding_owner = NULL;
        mp_thread_mutex_unlock(&binding_mutex);
    }
}
#else
static inline void binding_lock(void) {
}
static inline void binding_unlock(void) {
}
#endif

typedef struct _locked_fun_obj_t {
    mp_obj_base_t base;
    mp_rom_obj_t fun;
} locked_fun_obj_t;

static mp_obj_t locked_fun_call(mp_obj_t self_in, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    const locked_fun_obj_t *self = MP_OBJ_TO_PTR(self_in);
    binding_lock();
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t ret = mp_call_function_n_kw(MP_OBJ_FROM_PTR(self->fun), n_args, n_kw, args);
        nlr_pop();
        binding_unlock();
        return ret;
    }
    binding_unlock();
    nlr_jump(nlr.ret_val);
}

static MP_DEFINE_CONST_OBJ_TYPE(
    locked_fun_type,
    MP_QSTR_function,
    MP_TYPE_FLAG_BINDS_SELF,
    call, locked_fun_call
    );

#define LOCKED(f) static const locked_fun_obj_t f##_locked = { { &locked_fun_type }, MP_ROM_PTR(&f##_obj) }

/******************************************************************************/
// Hypervisor information.

static mp_obj_t mod_xen_version(void) {
    long v = check(hypercall(__HYPERVISOR_xen_version, XENVER_version, 0));
    char *extra = (char *)xenhv_scratch();
    memset(extra, 0, sizeof(xen_extraversion_t));
    check(hypercall(__HYPERVISOR_xen_version, XENVER_extraversion, (unsigned long)extra));
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
    const modxen_release_t *r = abi_current();
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

static struct xen_sysctl *sysctl_begin(uint32_t cmd) {
    struct xen_sysctl *op;
    uint8_t version = abi_current()->sysctl;
    op = (struct xen_sysctl *)xenhv_scratch();
    memset(op, 0, sizeof(*op));
    op->cmd = cmd;
    op->interface_version = version;
    return op;
}

static void dict_set(mp_obj_t d, qstr key, mp_obj_t value) {
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(key), value);
}

static mp_obj_t mod_xen_physinfo(void) {
    struct xen_sysctl *op = sysctl_begin(XEN_SYSCTL_physinfo);
    check(hypercall(__HYPERVISOR_sysctl, (unsigned long)op, 0));
    struct xen_sysctl_physinfo *pi = &op->u.physinfo;
    mp_obj_t d = mp_obj_new_dict(10);
    dict_set(d, MP_QSTR_nr_cpus, mp_obj_new_int_from_uint(pi->nr_cpus));
    dict_set(d, MP_QSTR_max_cpu_id, mp_obj_new_int_from_uint(pi->max_cpu_id));
    dict_set(d, MP_QSTR_nr_nodes, mp_obj_new_int_from_uint(pi->nr_nodes));
    dict_set(d, MP_QSTR_threads_per_core, mp_obj_new_int_from_uint(pi->threads_per_core));
    dict_set(d, MP_QSTR_cores_per_socket, mp_obj_new_int_from_uint(pi->cores_per_socket));
    dict_set(d, MP_QSTR_cpu_khz, mp_obj_new_int_from_uint(pi->cpu_khz));
    dict_set(d, MP_QSTR_total_pages, new_u64(pi->total_pages));
    dict_set(d, MP_QSTR_free_pages, new_u64(pi->free_pages));
    dict_set(d, MP_QSTR_scrub_pages, new_u64(pi->scrub_pages));
    dict_set(d, MP_QSTR_max_mfn, new_u64(pi->max_mfn));
    dict_set(d, MP_QSTR_capabilities, mp_obj_new_int_from_uint(pi->capabilities));
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_0(mod_xen_physinfo_obj, mod_xen_physinfo);

// One getdomaininfo record as a dict. The layout is shared by the domctl and
// the sysctl list.
static mp_obj_t domaininfo_dict(const struct xen_domctl_getdomaininfo *di) {
    mp_obj_t d = mp_obj_new_dict(20);
    uint32_t f = di->flags;
    dict_set(d, MP_QSTR_domid, MP_OBJ_NEW_SMALL_INT(di->domain));
    dict_set(d, MP_QSTR_flags, mp_obj_new_int_from_uint(f));
    dict_set(d, MP_QSTR_dying, mp_obj_new_bool(f & XEN_DOMINF_dying));
    dict_set(d, MP_QSTR_hvm, mp_obj_new_bool(f & XEN_DOMINF_hvm_guest));
    dict_set(d, MP_QSTR_shutdown, mp_obj_new_bool(f & XEN_DOMINF_shutdown));
    dict_set(d, MP_QSTR_paused, mp_obj_new_bool(f & XEN_DOMINF_paused));
    dict_set(d, MP_QSTR_blocked, mp_obj_new_bool(f & XEN_DOMINF_blocked));
    dict_set(d, MP_QSTR_running, mp_obj_new_bool(f & XEN_DOMINF_running));
    dict_set(d, MP_QSTR_shutdown_reason, (f & XEN_DOMINF_shutdown)
        ? MP_OBJ_NEW_SMALL_INT((f >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask)
        : mp_const_none);
    dict_set(d, MP_QSTR_tot_pages, new_u64(di->tot_pages));
    dict_set(d, MP_QSTR_max_pages, new_u64(di->max_pages));
    dict_set(d, MP_QSTR_outstanding_pages, new_u64(di->outstanding_pages));
    dict_set(d, MP_QSTR_shr_pages, new_u64(di->shr_pages));
    dict_set(d, MP_QSTR_paged_pages, new_u64(di->paged_pages));
    dict_set(d, MP_QSTR_cpu_time, new_u64(di->cpu_time));
    dict_set(d, MP_QSTR_nr_online_vcpus, mp_obj_new_int_from_uint(di->nr_online_vcpus));
    dict_set(d, MP_QSTR_max_vcpu_id, mp_obj_new_int_from_uint(di->max_vcpu_id));
    dict_set(d, MP_QSTR_ssidref, mp_obj_new_int_from_uint(di->ssidref));
    dict_set(d, MP_QSTR_handle, mp_obj_new_bytes(di->handle, sizeof(di->handle)));
    dict_set(d, MP_QSTR_cpupool, mp_obj_new_int_from_uint(di->cpupool));
    dict_set(d, MP_QSTR_gpaddr_bits, MP_OBJ_NEW_SMALL_INT(di->gpaddr_bits));
    return d;
}

// domain_list(first=0, max=1024): every domain with id >= first.
static mp_obj_t mod_xen_domain_list(size_t n_args, const mp_obj_t *args) {
    domid_t first = n_args > 0 ? arg_domid(args[0]) : 0;
    mp_int_t max = n_args > 1 ? mp_obj_get_int(args[1]) : DOMID_FIRST_RESERVED;
    mp_obj_t list = mp_obj_new_list(0, NULL);
    const size_t room = (XENHV_SCRATCH_SIZE - 4096) / sizeof(struct xen_domctl_getdomaininfo);
    while (max > 0 && first < DOMID_FIRST_RESERVED) {
        struct xen_sysctl *op = sysctl_begin(XEN_SYSCTL_getdomaininfolist);
        struct xen_domctl_getdomaininfo *buf =
            (struct xen_domctl_getdomaininfo *)(xenhv_scratch() + 4096);
        uint32_t want = (size_t)max < room ? (uint32_t)max : (uint32_t)room;
        op->u.getdomaininfolist.first_domain = first;
        op->u.getdomaininfolist.max_domains = want;
        set_xen_guest_handle(op->u.getdomaininfolist.buffer, buf);
        check(hypercall(__HYPERVISOR_sysctl, (unsigned long)op, 0));
        uint32_t got = op->u.getdomaininfolist.num_domains;
        if (got > want) {
            raise_errno(MP_EIO);
        }
        domid_t last = first;
        for (uint32_t i = 0; i < got; i++) {
            mp_obj_list_append(list, domaininfo_dict(&buf[i]));
            last = buf[i].domain;
        }
        if (got < want) {
            break;
        }
        max -= got;
        first = last + 1;
    }
    return list;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xen_domain_list_obj, 0, 2, mod_xen_domain_list);

/******************************************************************************/
// domctl

static struct xen_domctl *domctl_begin(uint32_t cmd, domid_t domid) {
    uint8_t version = abi_current()->domctl;
    struct xen_domctl *op = (struct xen_domctl *)xenhv_scratch();
    memset(op, 0, sizeof(*op));
    op->cmd = cmd;
    op->interface_version = version;
    op->domain = domid;
    return op;
}

static long domctl_do(struct xen_domctl *op) {
    return hypercall(__HYPERVISOR_domctl, (unsigned long)op, 0);
}

// Unaligned-safe little-endian fields of a struct laid out by the release table.
static void put_u16(uint8_t *p, uint16_t v) {
    memcpy(p, &v, sizeof(v));
}
static void put_u32(uint8_t *p, uint32_t v) {
    memcpy(p, &v, sizeof(v));
}
static uint16_t get_u16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}
static uint32_t get_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

// Values newer headers name and 4.17's do not.
#define MODXEN_TEE_FFA 2            // XEN_DOMCTL_CONFIG_TEE_FFA (4.18)
#define MODXEN_DOMID_ANY 0x7ff5     // DOMID_ANY (4.22)

static mp_obj_t mod_xen_createdomain(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum {
        ARG_domid, ARG_flags, ARG_max_vcpus, ARG_max_evtchn_port, ARG_max_grant_frames,
        ARG_max_maptrack_frames, ARG_ssidref, ARG_handle, ARG_gic_version, ARG_tee_type,
        ARG_nr_spis, ARG_grant_version, ARG_cpupool_id, ARG_sve_vl, ARG_altp2m, ARG_out,
    };
    static const mp_arg_t allowed[] = {
        { MP_QSTR_domid, MP_ARG_INT, {.u_int = 0} },
        { MP_QSTR_flags, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap} },
        { MP_QSTR_max_vcpus, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 1} },
        { MP_QSTR_max_evtchn_port, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 1023} },
        { MP_QSTR_max_grant_frames, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 64} },
        { MP_QSTR_max_maptrack_frames, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 1024} },
        { MP_QSTR_ssidref, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 0} },
        { MP_QSTR_handle, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_gic_version, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = XEN_DOMCTL_CONFIG_GIC_NATIVE} },
        { MP_QSTR_tee_type, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = XEN_DOMCTL_CONFIG_TEE_NONE} },
        { MP_QSTR_nr_spis, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 0} },
        { MP_QSTR_grant_version, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 1} },
        { MP_QSTR_cpupool_id, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 0} },
        { MP_QSTR_sve_vl, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 0} },
        { MP_QSTR_altp2m, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 0} },
        { MP_QSTR_out, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args, pos_args, kw_args, MP_ARRAY_SIZE(allowed), allowed, a);

    const modxen_release_t *rel = abi_current();
    domid_t domid = arg_domid(mp_obj_new_int(a[ARG_domid].u_int));
    // A field this release does not have cannot be asked for.
    const struct { uint16_t feature; uint8_t arg; qstr name; } needs[] = {
        { ABI_SVE, ARG_sve_vl, MP_QSTR_sve_vl },
        { ABI_ALTP2M, ARG_altp2m, MP_QSTR_altp2m },
    };
    for (size_t i = 0; i < MP_ARRAY_SIZE(needs); i++) {
        if (a[needs[i].arg].u_int != 0 && !(rel->features & needs[i].feature)) {
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("Xen %u.%u has no createdomain %q"),
                rel->major, rel->minor, needs[i].name);
        }
    }
    if (a[ARG_tee_type].u_int == MODXEN_TEE_FFA && !(rel->features & ABI_TEE_FFA)) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("Xen %u.%u has no FF-A TEE mediator"),
            rel->major, rel->minor);
    }
    // 0 asks Xen to choose; from 4.22 that is DOMID_ANY (0 would mean dom0).
    if (domid == 0 && (rel->features & ABI_DOMID_ANY)) {
        domid = MODXEN_DOMID_ANY;
    }
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_createdomain, domid);
    struct xen_domctl_createdomain *c = &op->u.createdomain;
    // The prefix up to grant_opts is the same in every release.
    c->flags = a[ARG_flags].u_int;
    c->max_vcpus = a[ARG_max_vcpus].u_int;
    c->max_evtchn_port = a[ARG_max_evtchn_port].u_int;
    c->max_grant_frames = a[ARG_max_grant_frames].u_int;
    c->max_maptrack_frames = a[ARG_max_maptrack_frames].u_int;
    c->ssidref = a[ARG_ssidref].u_int;
    c->grant_opts = XEN_DOMCTL_GRANT_version(a[ARG_grant_version].u_int);
    // The rest where this release puts it (abi.c).
    uint8_t *cd = (uint8_t *)c;
    uint8_t *arch = cd + rel->cd_vmtrace + 8;
    if (rel->features & ABI_ALTP2M) {
        // {u32 opts} until 4.20, {u16 opts, u16 nr} after: opts is the low half either way
        put_u16(cd + ABI_CD_ALTP2M, a[ARG_altp2m].u_int);
    }
    put_u32(cd + rel->cd_vmtrace + 4, a[ARG_cpupool_id].u_int);
    arch[ABI_ARCH_GIC] = a[ARG_gic_version].u_int;
    if (rel->features & ABI_SVE) {
        arch[ABI_ARCH_SVE] = a[ARG_sve_vl].u_int;
    }
    put_u16(arch + ABI_ARCH_TEE, a[ARG_tee_type].u_int);
    put_u32(arch + ABI_ARCH_NR_SPIS, a[ARG_nr_spis].u_int);
    if (a[ARG_handle].u_obj != mp_const_none) {
        mp_buffer_info_t h;
        mp_get_buffer_raise(a[ARG_handle].u_obj, &h, MP_BUFFER_READ);
        if (h.len != sizeof(c->handle)) {
            mp_raise_ValueError(MP_ERROR_TEXT("handle must be 16 bytes"));
        }
        memcpy(c->handle, h.buf, sizeof(c->handle));
    }
    mp_obj_t out = a[ARG_out].u_obj;
    if (out != mp_const_none && !mp_obj_is_type(out, &mp_type_dict)) {
        mp_raise_TypeError(MP_ERROR_TEXT("out must be a dict"));
    }
    check(domctl_do(op));
    if (out != mp_const_none) {
        // What Xen resolved (GIC_NATIVE becomes the host's version).
        dict_set(out, MP_QSTR_gic_version, MP_OBJ_NEW_SMALL_INT(arch[ABI_ARCH_GIC]));
        dict_set(out, MP_QSTR_tee_type, MP_OBJ_NEW_SMALL_INT(get_u16(arch + ABI_ARCH_TEE)));
        dict_set(out, MP_QSTR_nr_spis, mp_obj_new_int_from_uint(get_u32(arch + ABI_ARCH_NR_SPIS)));
        dict_set(out, MP_QSTR_clock_frequency, mp_obj_new_int_from_uint(get_u32(arch + ABI_ARCH_CLOCK)));
    }
    return MP_OBJ_NEW_SMALL_INT(op->domain);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(mod_xen_createdomain_obj, 0, mod_xen_createdomain);

// get_domain_state(domid=None): Xen 4.21's stable domctl. With a domid, that
// domain's state; with None, the next domain whose state changed since it
// was last asked for (its change mark is cleared), or None when none is
// left. Only the domain bound to VIRQ_DOM_EXC may ask without a domid.
#define MODXEN_DOMCTL_get_domain_state 90
static mp_obj_t mod_xen_get_domain_state(size_t n_args, const mp_obj_t *args) {
    const modxen_release_t *rel = abi_current();
    if (!(rel->features & ABI_DOMAIN_STATE)) {
        vstr_t vs;
        vstr_init(&vs, 48);
        vstr_printf(&vs, "Xen %u.%u has no get_domain_state", rel->major, rel->minor);
        raise_errno_msg(MP_EOPNOTSUPP, &vs);
    }
    domid_t domid = (n_args > 0 && args[0] != mp_const_none) ? arg_domid(args[0]) : DOMID_INVALID;
    struct xen_domctl *op = domctl_begin(MODXEN_DOMCTL_get_domain_state, domid);
    op->interface_version = 0;  // a stable domctl: always 0
    long rc = domctl_do(op);
    if (rc == -XEN_ENOENT && domid == DOMID_INVALID) {
        return mp_const_none;
    }
    check(rc);
    // struct xen_domctl_get_domain_state: u16 state, u16 caps, u32 pad, u64 unique_id
    const uint8_t *u = (const uint8_t *)&op->u;
    uint16_t state = get_u16(u), caps = get_u16(u + 2);
    uint64_t unique;
    memcpy(&unique, u + 8, sizeof(unique));
    mp_obj_t d = mp_obj_new_dict(8);
    dict_set(d, MP_QSTR_domid, MP_OBJ_NEW_SMALL_INT(op->domain));
    dict_set(d, MP_QSTR_exist, mp_obj_new_bool(state & 1));
    dict_set(d, MP_QSTR_shutdown, mp_obj_new_bool(state & 2));
    dict_set(d, MP_QSTR_dying, mp_obj_new_bool(state & 4));
    dict_set(d, MP_QSTR_dead, mp_obj_new_bool(state & 8));
    dict_set(d, MP_QSTR_control, mp_obj_new_bool(caps & 1));
    dict_set(d, MP_QSTR_hardware, mp_obj_new_bool(caps & 2));
    dict_set(d, MP_QSTR_xenstore, mp_obj_new_bool(caps & 4));
    dict_set(d, MP_QSTR_unique_id, new_u64(unique));
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xen_get_domain_state_obj, 0, 1, mod_xen_get_domain_state);

// The domctls that take only a domain.
static mp_obj_t simple_domctl(mp_obj_t domid, uint32_t cmd) {
    check(domctl_do(domctl_begin(cmd, arg_domid(domid))));
    return mp_const_none;
}

static mp_obj_t mod_xen_destroydomain(mp_obj_t domid) {
    return simple_domctl(domid, XEN_DOMCTL_destroydomain);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_destroydomain_obj, mod_xen_destroydomain);

static mp_obj_t mod_xen_pausedomain(mp_obj_t domid) {
    return simple_domctl(domid, XEN_DOMCTL_pausedomain);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_pausedomain_obj, mod_xen_pausedomain);

static mp_obj_t mod_xen_unpausedomain(mp_obj_t domid) {
    return simple_domctl(domid, XEN_DOMCTL_unpausedomain);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_unpausedomain_obj, mod_xen_unpausedomain);

static mp_obj_t mod_xen_getdomaininfo(mp_obj_t domid_in) {
    domid_t domid = arg_domid(domid_in);
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_getdomaininfo, domid);
    check(domctl_do(op));
    // Xen 4.17 answers with the first domain whose id is >= the one asked for.
    if (op->u.getdomaininfo.domain != domid) {
        raise_errno(MP_ESRCH);
    }
    return domaininfo_dict(&op->u.getdomaininfo);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_getdomaininfo_obj, mod_xen_getdomaininfo);

static mp_obj_t mod_xen_max_vcpus(mp_obj_t domid, mp_obj_t n) {
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_max_vcpus, arg_domid(domid));
    op->u.max_vcpus.max = mp_obj_get_int(n);
    check(domctl_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_max_vcpus_obj, mod_xen_max_vcpus);

static mp_obj_t mod_xen_max_mem(mp_obj_t domid, mp_obj_t kb) {
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_max_mem, arg_domid(domid));
    op->u.max_mem.max_memkb = arg_u64(kb);
    check(domctl_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_max_mem_obj, mod_xen_max_mem);

static mp_obj_t mod_xen_set_address_size(mp_obj_t domid, mp_obj_t bits) {
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_set_address_size, arg_domid(domid));
    op->u.address_size.size = mp_obj_get_int(bits);
    check(domctl_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_set_address_size_obj, mod_xen_set_address_size);

static mp_obj_t mod_xen_get_paging_mempool_size(mp_obj_t domid) {
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_get_paging_mempool_size, arg_domid(domid));
    check(domctl_do(op));
    return new_u64(op->u.paging_mempool.size);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_get_paging_mempool_size_obj, mod_xen_get_paging_mempool_size);

static mp_obj_t mod_xen_set_paging_mempool_size(mp_obj_t domid, mp_obj_t size) {
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_set_paging_mempool_size, arg_domid(domid));
    op->u.paging_mempool.size = arg_u64(size);
    check(domctl_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_set_paging_mempool_size_obj, mod_xen_set_paging_mempool_size);

// iomem_permission(domid, first_mfn, nr_mfns, allow=True)
static mp_obj_t mod_xen_iomem_permission(size_t n_args, const mp_obj_t *args) {
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_iomem_permission, arg_domid(args[0]));
    op->u.iomem_permission.first_mfn = arg_u64(args[1]);
    op->u.iomem_permission.nr_mfns = arg_u64(args[2]);
    op->u.iomem_permission.allow_access = n_args > 3 ? mp_obj_is_true(args[3]) : 1;
    check(domctl_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xen_iomem_permission_obj, 3, 4, mod_xen_iomem_permission);

// memory_mapping(domid, first_gfn, first_mfn, nr_mfns, add=True)
static mp_obj_t mod_xen_memory_mapping(size_t n_args, const mp_obj_t *args) {
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_memory_mapping, arg_domid(args[0]));
    op->u.memory_mapping.first_gfn = arg_u64(args[1]);
    op->u.memory_mapping.first_mfn = arg_u64(args[2]);
    op->u.memory_mapping.nr_mfns = arg_u64(args[3]);
    op->u.memory_mapping.add_mapping = (n_args > 4 && !mp_obj_is_true(args[4]))
        ? DPCI_REMOVE_MAPPING : DPCI_ADD_MAPPING;
    check(domctl_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xen_memory_mapping_obj, 4, 5, mod_xen_memory_mapping);

// bind_pt_irq(domid, irq): route a physical SPI to the guest 1:1 (Arm).
static mp_obj_t mod_xen_bind_pt_irq(mp_obj_t domid, mp_obj_t irq_in) {
    mp_int_t irq = mp_obj_get_int(irq_in);
    if (irq < 32 || irq > 1019) {
        mp_raise_ValueError(MP_ERROR_TEXT("irq must be an SPI (32..1019)"));
    }
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_bind_pt_irq, arg_domid(domid));
    op->u.bind_pt_irq.machine_irq = irq;
    op->u.bind_pt_irq.irq_type = PT_IRQ_TYPE_SPI;
    op->u.bind_pt_irq.u.spi.spi = irq;
    check(domctl_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_bind_pt_irq_obj, mod_xen_bind_pt_irq);

// assign_device(domid, dt_path, flags=0): pass a device-tree node through.
static mp_obj_t mod_xen_assign_device(size_t n_args, const mp_obj_t *args) {
    size_t len;
    const char *path = mp_obj_str_get_data(args[1], &len);
    if (len == 0 || len >= 4096) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad device-tree path"));
    }
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_assign_device, arg_domid(args[0]));
    char *buf = (char *)xenhv_scratch() + 4096;
    memcpy(buf, path, len);
    buf[len] = 0;
    op->u.assign_device.dev = XEN_DOMCTL_DEV_DT;
    op->u.assign_device.flags = n_args > 2 ? mp_obj_get_int(args[2]) : 0;
    set_xen_guest_handle(op->u.assign_device.u.dt.path, buf);
    op->u.assign_device.u.dt.size = len;
    check(domctl_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xen_assign_device_obj, 2, 3, mod_xen_assign_device);

static mp_obj_t mod_xen_cacheflush(mp_obj_t domid, mp_obj_t start_pfn, mp_obj_t nr_pfns) {
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_cacheflush, arg_domid(domid));
    op->u.cacheflush.start_pfn = arg_u64(start_pfn);
    op->u.cacheflush.nr_pfns = arg_u64(nr_pfns);
    check(domctl_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(mod_xen_cacheflush_obj, mod_xen_cacheflush);

// vcpu registers by name: one table, used both ways.
typedef struct {
    qstr name;
    uint16_t offset;
} reg_desc_t;

#define REG(n, field) { MP_QSTR_##n, offsetof(struct vcpu_guest_context, field) }
static const reg_desc_t vcpu_regs[] = {
    REG(x0, user_regs.x0), REG(x1, user_regs.x1), REG(x2, user_regs.x2), REG(x3, user_regs.x3),
    REG(x4, user_regs.x4), REG(x5, user_regs.x5), REG(x6, user_regs.x6), REG(x7, user_regs.x7),
    REG(x8, user_regs.x8), REG(x9, user_regs.x9), REG(x10, user_regs.x10), REG(x11, user_regs.x11),
    REG(x12, user_regs.x12), REG(x13, user_regs.x13), REG(x14, user_regs.x14), REG(x15, user_regs.x15),
    REG(x16, user_regs.x16), REG(x17, user_regs.x17), REG(x18, user_regs.x18), REG(x19, user_regs.x19),
    REG(x20, user_regs.x20), REG(x21, user_regs.x21), REG(x22, user_regs.x22), REG(x23, user_regs.x23),
    REG(x24, user_regs.x24), REG(x25, user_regs.x25), REG(x26, user_regs.x26), REG(x27, user_regs.x27),
    REG(x28, user_regs.x28), REG(x29, user_regs.x29), REG(x30, user_regs.x30),
    REG(pc, user_regs.pc64), REG(cpsr, user_regs.cpsr), REG(spsr_el1, user_regs.spsr_el1),
    REG(sp_el0, user_regs.sp_el0), REG(sp_el1, user_regs.sp_el1), REG(elr_el1, user_regs.elr_el1),
    REG(sctlr, sctlr), REG(ttbcr, ttbcr), REG(ttbr0, ttbr0), REG(ttbr1, ttbr1),
};
#undef REG

// setvcpucontext(domid, vcpu, regs): regs is a dict of register name -> value.
// Unnamed registers are 0, except cpsr (PSR_GUEST64_INIT) and sctlr
// (SCTLR_GUEST_INIT). The vcpu is brought online unless regs['online'] is false.
static mp_obj_t mod_xen_setvcpucontext(mp_obj_t domid, mp_obj_t vcpu, mp_obj_t regs_in) {
    mp_map_t *regs = mp_obj_dict_get_map(regs_in);
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_setvcpucontext, arg_domid(domid));
    struct vcpu_guest_context *ctx = (struct vcpu_guest_context *)(xenhv_scratch() + 4096);
    memset(ctx, 0, sizeof(*ctx));
    ctx->user_regs.cpsr = PSR_GUEST64_INIT;
    ctx->sctlr = SCTLR_GUEST_INIT;
    ctx->flags = VGCF_online;
    for (size_t i = 0; i < regs->alloc; i++) {
        if (!mp_map_slot_is_filled(regs, i)) {
            continue;
        }
        qstr key = mp_obj_str_get_qstr(regs->table[i].key);
        if (key == MP_QSTR_online) {
            ctx->flags = mp_obj_is_true(regs->table[i].value) ? VGCF_online : 0;
            continue;
        }
        size_t j = 0;
        while (j < MP_ARRAY_SIZE(vcpu_regs) && vcpu_regs[j].name != key) {
            j++;
        }
        if (j == MP_ARRAY_SIZE(vcpu_regs)) {
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("unknown register '%q'"), key);
        }
        uint64_t v = arg_u64(regs->table[i].value);
        memcpy((uint8_t *)ctx + vcpu_regs[j].offset, &v, sizeof(v));
    }
    op->u.vcpucontext.vcpu = mp_obj_get_int(vcpu);
    set_xen_guest_handle(op->u.vcpucontext.ctxt, ctx);
    check(domctl_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(mod_xen_setvcpucontext_obj, mod_xen_setvcpucontext);

static mp_obj_t mod_xen_getvcpucontext(mp_obj_t domid, mp_obj_t vcpu) {
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_getvcpucontext, arg_domid(domid));
    struct vcpu_guest_context *ctx = (struct vcpu_guest_context *)(xenhv_scratch() + 4096);
    memset(ctx, 0, sizeof(*ctx));
    op->u.vcpucontext.vcpu = mp_obj_get_int(vcpu);
    set_xen_guest_handle(op->u.vcpucontext.ctxt, ctx);
    check(domctl_do(op));
    mp_obj_t d = mp_obj_new_dict(MP_ARRAY_SIZE(vcpu_regs) + 1);
    for (size_t j = 0; j < MP_ARRAY_SIZE(vcpu_regs); j++) {
        uint64_t v;
        memcpy(&v, (uint8_t *)ctx + vcpu_regs[j].offset, sizeof(v));
        dict_set(d, vcpu_regs[j].name, new_u64(v));
    }
    dict_set(d, MP_QSTR_online, mp_obj_new_bool(ctx->flags & VGCF_online));
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_getvcpucontext_obj, mod_xen_getvcpucontext);

/******************************************************************************/
// Memory.

// Frame-number arguments. Any iterable is turned into a list first, so no
// Python code (a generator, and with it a scheduled upcall) can run once the
// scratch area is being filled.
static void frames_arg(mp_obj_t arg, size_t *n, mp_obj_t **items) {
    if (!mp_obj_is_type(arg, &mp_type_list) && !mp_obj_is_type(arg, &mp_type_tuple)) {
        arg = mp_call_function_1(MP_OBJ_FROM_PTR(&mp_type_list), arg);
    }
    mp_obj_get_array(arg, n, items);
    for (size_t i = 0; i < *n; i++) {
        arg_u64((*items)[i]);   // validate every element up front
    }
}

// populate_physmap(domid, gfns, order=0) -> number of extents populated.
// Raises OSError(ENOMEM) if Xen populated fewer extents than asked for (the
// ones it did populate stay; destroying the domain releases them).
static mp_obj_t mod_xen_populate_physmap(size_t n_args, const mp_obj_t *args) {
    domid_t domid = arg_domid(args[0]);
    mp_int_t order = n_args > 2 ? mp_obj_get_int(args[2]) : 0;
    if (order < 0 || order > 18) {
        mp_raise_ValueError(MP_ERROR_TEXT("extent order out of range"));
    }
    size_t count;
    mp_obj_t *items;
    frames_arg(args[1], &count, &items);
    size_t total = 0;
    const size_t room = (XENHV_SCRATCH_SIZE - 4096) / sizeof(xen_pfn_t);
    for (size_t off = 0; off < count;) {
        size_t n = count - off < room ? count - off : room;
        struct xen_memory_reservation *r = (struct xen_memory_reservation *)xenhv_scratch();
        xen_pfn_t *frames = (xen_pfn_t *)(xenhv_scratch() + 4096);
        for (size_t i = 0; i < n; i++) {
            frames[i] = arg_u64(items[off + i]);
        }
        memset(r, 0, sizeof(*r));
        set_xen_guest_handle(r->extent_start, frames);
        r->nr_extents = n;
        r->extent_order = order;
        r->mem_flags = 0;
        r->domid = domid;
        long rc = check(hypercall(__HYPERVISOR_memory_op, XENMEM_populate_physmap, (unsigned long)r));
        total += rc;
        if ((size_t)rc < n) {
            raise_errno(MP_ENOMEM);
        }
        off += n;
    }
    return mp_obj_new_int_from_uint(total);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xen_populate_physmap_obj, 2, 3, mod_xen_populate_physmap);

// Mapping: guest frames mapped into dom0, with the buffer protocol.
typedef struct _modxen_mapping_obj_t {
    mp_obj_base_t base;
    void *addr;      // NULL once the address range is given back
    size_t npages;
    bool mapped;     // foreign frames still referenced
    bool writable;
} modxen_mapping_obj_t;

static void mapping_unmap(modxen_mapping_obj_t *self) {
    if (self->mapped) {
        self->mapped = false;
        check(xenhv_unmap_foreign(self->addr, self->npages));
    }
}

static mp_obj_t mapping_close(mp_obj_t self_in) {
    mapping_unmap(MP_OBJ_TO_PTR(self_in));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(mapping_close_obj, mapping_close);

static mp_obj_t mapping_del(mp_obj_t self_in) {
    modxen_mapping_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->mapped) {
        self->mapped = false;
        xenhv_unmap_foreign(self->addr, self->npages);
    }
    if (self->addr != NULL) {
        xenhv_release_va(self->addr, self->npages);
        self->addr = NULL;
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(mapping_del_obj, mapping_del);

static mp_obj_t mapping_exit(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    return mapping_close(args[0]);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mapping_exit_obj, 4, 4, mapping_exit);

static mp_int_t mapping_get_buffer(mp_obj_t self_in, mp_buffer_info_t *bufinfo, mp_uint_t flags) {
    modxen_mapping_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (!self->mapped || ((flags & MP_BUFFER_WRITE) && !self->writable)) {
        return 1;
    }
    bufinfo->buf = self->addr;
    bufinfo->len = self->npages * PAGE_SIZE_XEN;
    bufinfo->typecode = 'B';
    return 0;
}

static mp_obj_t mapping_unary_op(mp_unary_op_t op, mp_obj_t self_in) {
    modxen_mapping_obj_t *self = MP_OBJ_TO_PTR(self_in);
    switch (op) {
        case MP_UNARY_OP_LEN:
            return MP_OBJ_NEW_SMALL_INT(self->mapped ? self->npages * PAGE_SIZE_XEN : 0);
        case MP_UNARY_OP_BOOL:
            return mp_obj_new_bool(self->mapped);
        default:
            return MP_OBJ_NULL;
    }
}

// m[i], m[a:b], m[a:b] = data: the bytes of the mapped frames.
static mp_obj_t mapping_subscr(mp_obj_t self_in, mp_obj_t index, mp_obj_t value) {
    modxen_mapping_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (value == MP_OBJ_NULL) {
        return MP_OBJ_NULL;   // no deletion
    }
    if (!self->mapped) {
        mp_raise_ValueError(MP_ERROR_TEXT("mapping is closed"));
    }
    if (value != MP_OBJ_SENTINEL && !self->writable) {
        mp_raise_TypeError(MP_ERROR_TEXT("mapping is read-only"));
    }
    mp_obj_t mv = mp_obj_new_memoryview('B' | (self->writable ? MP_OBJ_ARRAY_TYPECODE_FLAG_RW : 0),
        self->npages * PAGE_SIZE_XEN, self->addr);
    if (value == MP_OBJ_SENTINEL) {
        mp_obj_t r = mp_obj_subscr(mv, index, MP_OBJ_SENTINEL);
        if (mp_obj_is_int(r)) {
            return r;
        }
        // a slice is copied out: no hidden view may outlive the mapping
        mp_buffer_info_t b;
        mp_get_buffer_raise(r, &b, MP_BUFFER_READ);
        return mp_obj_new_bytes(b.buf, b.len);
    }
    mp_obj_subscr(mv, index, value);
    return mp_const_none;
}

static void mapping_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    (void)kind;
    modxen_mapping_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_printf(print, "<Mapping %u pages%s>", (unsigned)self->npages, self->mapped ? "" : " closed");
}

static const mp_rom_map_elem_t mapping_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&mapping_close_obj) },
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&mapping_del_obj) },
    { MP_ROM_QSTR(MP_QSTR___enter__), MP_ROM_PTR(&mp_identity_obj) },
    { MP_ROM_QSTR(MP_QSTR___exit__), MP_ROM_PTR(&mapping_exit_obj) },
};
static MP_DEFINE_CONST_DICT(mapping_locals, mapping_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    modxen_mapping_type,
    MP_QSTR_Mapping,
    MP_TYPE_FLAG_NONE,
    print, mapping_print,
    unary_op, mapping_unary_op,
    subscr, mapping_subscr,
    buffer, mapping_get_buffer,
    locals_dict, &mapping_locals
    );

// map(domid, gfns, writable=True) -> Mapping. gfns is one frame number or an
// iterable of them; the frames appear contiguously in dom0.
static mp_obj_t mod_xen_map(size_t n_args, const mp_obj_t *args) {
    domid_t domid = arg_domid(args[0]);
    bool writable = n_args > 2 ? mp_obj_is_true(args[2]) : true;
    const size_t room = (XENHV_SCRATCH_SIZE - 4096) / (sizeof(xen_pfn_t) + sizeof(int));
    size_t n;
    mp_obj_t one, *items;
    if (mp_obj_is_int(args[1])) {
        one = args[1];
        items = &one;
        n = 1;
        arg_u64(one);
    } else {
        frames_arg(args[1], &n, &items);
    }
    if (n == 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("no frames to map"));
    }
    if (n > room) {
        mp_raise_ValueError(MP_ERROR_TEXT("too many frames in one mapping"));
    }
    // Allocate the object first so a MemoryError cannot strand a mapping.
    modxen_mapping_obj_t *m = mp_obj_malloc_with_finaliser(modxen_mapping_obj_t, &modxen_mapping_type);
    m->addr = NULL;
    m->npages = n;
    m->mapped = false;
    m->writable = writable;
    ensure_backend();
    void *addr;
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        xen_pfn_t *gfns = (xen_pfn_t *)xenhv_scratch();
        for (size_t i = 0; i < n; i++) {
            gfns[i] = arg_u64(items[i]);
        }
        rc = xenhv_map_foreign(domid, gfns, (int *)(gfns + n), n, writable, &addr);
        if (rc != -XEN_ENOMEM || attempt > 0) {
            break;
        }
        // A closed mapping keeps its address range until it is collected (a
        // stale view must not reach another guest's frames): when the backend
        // is out of ranges, collect and try once more.
        gc_collect();
    }
    check(rc);
    m->addr = addr;
    m->mapped = true;
    return MP_OBJ_FROM_PTR(m);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xen_map_obj, 2, 3, mod_xen_map);

/******************************************************************************/
// HVM parameters.

static struct xen_hvm_param *hvm_param_begin(mp_obj_t domid, mp_obj_t index) {
    struct xen_hvm_param *p = (struct xen_hvm_param *)xenhv_scratch();
    memset(p, 0, sizeof(*p));
    p->domid = arg_domid(domid);
    mp_int_t i = mp_obj_get_int(index);
    if (i < 0 || i >= HVM_NR_PARAMS) {
        mp_raise_ValueError(MP_ERROR_TEXT("HVM param index out of range"));
    }
    p->index = i;
    return p;
}

static mp_obj_t mod_xen_hvm_get_param(mp_obj_t domid, mp_obj_t index) {
    struct xen_hvm_param *p = hvm_param_begin(domid, index);
    check(hypercall(__HYPERVISOR_hvm_op, HVMOP_get_param, (unsigned long)p));
    return new_u64(p->value);
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_hvm_get_param_obj, mod_xen_hvm_get_param);

static mp_obj_t mod_xen_hvm_set_param(mp_obj_t domid, mp_obj_t index, mp_obj_t value) {
    uint64_t v = arg_u64(value);
    struct xen_hvm_param *p = hvm_param_begin(domid, index);
    p->value = v;
    check(hypercall(__HYPERVISOR_hvm_op, HVMOP_set_param, (unsigned long)p));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(mod_xen_hvm_set_param_obj, mod_xen_hvm_set_param);

/******************************************************************************/
// Event channels.
//
// Upcalls: a backend calls modxen_upcall(port) from any context. It sets the
// port's bit and schedules one static scheduler node; the node's callback
// (Python context) drains the bitmap, counts the event on the port's
// EventChannel, re-arms the port and calls its Python callback. Nothing is
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
            binding_lock();
            mp_map_elem_t *e = mp_map_lookup(port_map(), MP_OBJ_NEW_SMALL_INT(port), MP_MAP_LOOKUP);
            modxen_evtchn_obj_t *ch = e ? MP_OBJ_TO_PTR(e->value) : NULL;
            mp_obj_t cb = mp_const_none;
            if (ch != NULL) {
                ch->count++;
                cb = ch->callback;
                xenhv_evtchn_unmask(port);
            }
            binding_unlock();
            if (cb != mp_const_none) {
                upcall_call(cb, MP_OBJ_FROM_PTR(ch));
            }
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
        raise_xen(port);
    }
    if (port >= XENHV_MAX_PORTS) {
        xenhv_evtchn_close(port);
        raise_errno(MP_ENOSPC);
    }
    ch->port = port;
    mp_map_lookup(port_map(), MP_OBJ_NEW_SMALL_INT(port), MP_MAP_LOOKUP_ADD_IF_NOT_FOUND)->value = MP_OBJ_FROM_PTR(ch);
    return ch;
}

static modxen_evtchn_obj_t *evtchn_new(void) {
    ensure_backend();
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
        raise_errno(MP_EBADF);
    }
    return ch;
}

// bind_interdomain(remote_dom, remote_port) -> EventChannel
static mp_obj_t mod_xen_bind_interdomain(mp_obj_t remote_dom, mp_obj_t remote_port) {
    modxen_evtchn_obj_t *ch = evtchn_new();
    return MP_OBJ_FROM_PTR(evtchn_open(ch,
        xenhv_evtchn_bind_interdomain(arg_domid(remote_dom), mp_obj_get_int(remote_port))));
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
    return MP_OBJ_FROM_PTR(evtchn_open(ch, xenhv_evtchn_alloc_unbound(arg_domid(remote_dom))));
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_alloc_unbound_obj, mod_xen_alloc_unbound);

// evtchn_alloc_unbound(dom, remote_dom) -> port number in `dom` (the
// privileged EVTCHNOP_alloc_unbound a builder uses for a guest's ports).
static mp_obj_t mod_xen_evtchn_alloc_unbound(mp_obj_t dom, mp_obj_t remote_dom) {
    struct evtchn_alloc_unbound *a = (struct evtchn_alloc_unbound *)xenhv_scratch();
    memset(a, 0, sizeof(*a));
    a->dom = arg_domid(dom);
    a->remote_dom = arg_domid(remote_dom);
    check(hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, (unsigned long)a));
    return MP_OBJ_NEW_SMALL_INT(a->port);
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_evtchn_alloc_unbound_obj, mod_xen_evtchn_alloc_unbound);

// evtchn_close(dom, port): close a port of another domain (builder rollback).
static mp_obj_t mod_xen_evtchn_close(mp_obj_t dom, mp_obj_t port) {
    // EVTCHNOP_close acts on the caller's own ports only; a foreign domain's
    // ports go away with the domain. Closing dom0's own ports goes through
    // EventChannel.close().
    struct evtchn_close *c = (struct evtchn_close *)xenhv_scratch();
    if (arg_domid(dom) != 0 && arg_domid(dom) != DOMID_SELF) {
        raise_errno(MP_EPERM);
    }
    c->port = mp_obj_get_int(port);
    check(hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_close, (unsigned long)c));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_evtchn_close_obj, mod_xen_evtchn_close);

static mp_obj_t evtchn_notify(mp_obj_t self_in) {
    check(xenhv_evtchn_notify(evtchn_get_open(self_in)->port));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(evtchn_notify_obj, evtchn_notify);

static mp_obj_t evtchn_unmask(mp_obj_t self_in) {
    check(xenhv_evtchn_unmask(evtchn_get_open(self_in)->port));
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
    check(xenhv_evtchn_close(port));
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

/******************************************************************************/
// XSM / FLASK.

static struct xen_flask_op *flask_begin(uint32_t cmd) {
    struct xen_flask_op *op = (struct xen_flask_op *)xenhv_scratch();
    memset(op, 0, sizeof(*op));
    op->cmd = cmd;
    op->interface_version = XEN_FLASK_INTERFACE_VERSION;
    return op;
}

static long flask_do(struct xen_flask_op *op) {
    return hypercall(__HYPERVISOR_xsm_op, (unsigned long)op, 0);
}

// flask_context_to_sid(label) -> sid
static mp_obj_t mod_xen_flask_context_to_sid(mp_obj_t label) {
    size_t len;
    const char *s = mp_obj_str_get_data(label, &len);
    if (len == 0 || len >= 4096 || memchr(s, 0, len)) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad security label"));
    }
    struct xen_flask_op *op = flask_begin(FLASK_CONTEXT_TO_SID);
    char *buf = (char *)xenhv_scratch() + 4096;
    memcpy(buf, s, len);
    buf[len] = 0;
    op->u.sid_context.size = len + 1;
    set_xen_guest_handle(op->u.sid_context.context, buf);
    check(flask_do(op));
    return mp_obj_new_int_from_uint(op->u.sid_context.sid);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_flask_context_to_sid_obj, mod_xen_flask_context_to_sid);

// flask_sid_to_context(sid) -> label
static mp_obj_t mod_xen_flask_sid_to_context(mp_obj_t sid) {
    struct xen_flask_op *op = flask_begin(FLASK_SID_TO_CONTEXT);
    char *buf = (char *)xenhv_scratch() + 4096;
    const uint32_t room = 4096;
    memset(buf, 0, room);
    op->u.sid_context.sid = mp_obj_get_int(sid);
    op->u.sid_context.size = room;
    set_xen_guest_handle(op->u.sid_context.context, buf);
    check(flask_do(op));
    uint32_t n = op->u.sid_context.size;
    if (n > room) {
        raise_errno(MP_E2BIG);
    }
    while (n > 0 && buf[n - 1] == 0) {
        n--;
    }
    return mp_obj_new_str(buf, n);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_flask_sid_to_context_obj, mod_xen_flask_sid_to_context);

static mp_obj_t mod_xen_flask_getenforce(void) {
    return MP_OBJ_NEW_SMALL_INT(check(flask_do(flask_begin(FLASK_GETENFORCE))));
}
static MP_DEFINE_CONST_FUN_OBJ_0(mod_xen_flask_getenforce_obj, mod_xen_flask_getenforce);

static mp_obj_t mod_xen_flask_setenforce(mp_obj_t mode) {
    struct xen_flask_op *op = flask_begin(FLASK_SETENFORCE);
    op->u.enforce.enforcing = mp_obj_get_int(mode);
    check(flask_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_flask_setenforce_obj, mod_xen_flask_setenforce);

static mp_obj_t mod_xen_flask_relabel_domain(mp_obj_t domid, mp_obj_t sid) {
    struct xen_flask_op *op = flask_begin(FLASK_RELABEL_DOMAIN);
    op->u.relabel.domid = arg_domid(domid);
    op->u.relabel.sid = mp_obj_get_int(sid);
    check(flask_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_flask_relabel_domain_obj, mod_xen_flask_relabel_domain);

// flask_load(policy): load a compiled policy (bytes-like).
static mp_obj_t mod_xen_flask_load(mp_obj_t policy) {
    mp_buffer_info_t b;
    mp_get_buffer_raise(policy, &b, MP_BUFFER_READ);
    if (b.len == 0 || b.len > XENHV_SCRATCH_SIZE - 4096) {
        raise_errno(MP_E2BIG);
    }
    struct xen_flask_op *op = flask_begin(FLASK_LOAD);
    char *buf = (char *)xenhv_scratch() + 4096;
    memcpy(buf, b.buf, b.len);
    set_xen_guest_handle(op->u.load.buffer, buf);
    op->u.load.size = b.len;
    check(flask_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_flask_load_obj, mod_xen_flask_load);

/******************************************************************************/
// console_io: dom0's own console.

static mp_obj_t mod_xen_console_write(mp_obj_t data) {
    mp_buffer_info_t b;
    mp_get_buffer_raise(data, &b, MP_BUFFER_READ);
    const size_t room = XENHV_SCRATCH_SIZE;
    for (size_t off = 0; off < b.len;) {
        size_t n = b.len - off < room ? b.len - off : room;
        memcpy(xenhv_scratch(), (const uint8_t *)b.buf + off, n);
        ensure_backend();
        check(xenhv_hypercall(__HYPERVISOR_console_io, CONSOLEIO_write, n,
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
    ensure_backend();
    long n = check(xenhv_hypercall(__HYPERVISOR_console_io, CONSOLEIO_read, max,
        (unsigned long)xenhv_scratch(), 0, 0));
    if (n > max) {
        raise_errno(MP_EIO);
    }
    return mp_obj_new_bytes(xenhv_scratch(), n);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xen_console_read_obj, 0, 1, mod_xen_console_read);

/******************************************************************************/
// Interrupting the interpreter (host builds: a REPL on a pty, a daemon that
// must stop on SIGTERM).

// interrupt_main(): raise KeyboardInterrupt in the main thread at its next
// pending check (e.g. Ctrl-C read by a REPL's reader).
static mp_obj_t mod_xen_interrupt_main(void) {
    mp_sched_keyboard_interrupt();
    xenhv_wake();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(mod_xen_interrupt_main_obj, mod_xen_interrupt_main);

#if MODXEN_BACKEND_SIM || MODXEN_BACKEND_LINUX
#include <signal.h>

static void catch_signal_handler(int sig) {
    (void)sig;
    mp_sched_keyboard_interrupt();
}

// catch_signal(signum): deliver that signal (e.g. SIGTERM) as KeyboardInterrupt.
static mp_obj_t mod_xen_catch_signal(mp_obj_t signum) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = catch_signal_handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(mp_obj_get_int(signum), &sa, NULL) != 0) {
        raise_errno(errno);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_catch_signal_obj, mod_xen_catch_signal);
#endif

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

#if MODXEN_BACKEND_SIM
extern const mp_obj_module_t modxen_sim_module;
#endif

#define C(name) { MP_ROM_QSTR(MP_QSTR_##name), MP_ROM_INT(name) }

LOCKED(mod_xen_version);
LOCKED(mod_xen_physinfo);
LOCKED(mod_xen_domain_list);
LOCKED(mod_xen_createdomain);
LOCKED(mod_xen_abi);
LOCKED(mod_xen_get_domain_state);
LOCKED(mod_xen_destroydomain);
LOCKED(mod_xen_pausedomain);
LOCKED(mod_xen_unpausedomain);
LOCKED(mod_xen_getdomaininfo);
LOCKED(mod_xen_max_vcpus);
LOCKED(mod_xen_max_mem);
LOCKED(mod_xen_set_address_size);
LOCKED(mod_xen_setvcpucontext);
LOCKED(mod_xen_getvcpucontext);
LOCKED(mod_xen_get_paging_mempool_size);
LOCKED(mod_xen_set_paging_mempool_size);
LOCKED(mod_xen_iomem_permission);
LOCKED(mod_xen_memory_mapping);
LOCKED(mod_xen_bind_pt_irq);
LOCKED(mod_xen_assign_device);
LOCKED(mod_xen_cacheflush);
LOCKED(mod_xen_populate_physmap);
LOCKED(mod_xen_map);
LOCKED(mod_xen_hvm_get_param);
LOCKED(mod_xen_hvm_set_param);
LOCKED(mod_xen_bind_interdomain);
LOCKED(mod_xen_bind_virq);
LOCKED(mod_xen_alloc_unbound);
LOCKED(mod_xen_evtchn_alloc_unbound);
LOCKED(mod_xen_evtchn_close);
LOCKED(mod_xen_flask_context_to_sid);
LOCKED(mod_xen_flask_sid_to_context);
LOCKED(mod_xen_flask_getenforce);
LOCKED(mod_xen_flask_setenforce);
LOCKED(mod_xen_flask_relabel_domain);
LOCKED(mod_xen_flask_load);
LOCKED(mod_xen_console_write);
LOCKED(mod_xen_console_read);

static const mp_rom_map_elem_t mp_module_xen_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__xen) },
    { MP_ROM_QSTR(MP_QSTR___init__), MP_ROM_PTR(&mod_xen___init___obj) },
    { MP_ROM_QSTR(MP_QSTR_BACKEND), MP_ROM_QSTR(BACKEND_QSTR) },
    { MP_ROM_QSTR(MP_QSTR_errorcode), MP_ROM_PTR(&errorcode_obj) },
    #if MODXEN_BACKEND_SIM
    { MP_ROM_QSTR(MP_QSTR_sim), MP_ROM_PTR(&modxen_sim_module) },
    #endif
    { MP_ROM_QSTR(MP_QSTR_Mapping), MP_ROM_PTR(&modxen_mapping_type) },
    { MP_ROM_QSTR(MP_QSTR_EventChannel), MP_ROM_PTR(&modxen_evtchn_type) },

    // hypervisor
    { MP_ROM_QSTR(MP_QSTR_version), MP_ROM_PTR(&mod_xen_version_locked) },
    { MP_ROM_QSTR(MP_QSTR_abi), MP_ROM_PTR(&mod_xen_abi_locked) },
    { MP_ROM_QSTR(MP_QSTR_physinfo), MP_ROM_PTR(&mod_xen_physinfo_locked) },
    { MP_ROM_QSTR(MP_QSTR_domain_list), MP_ROM_PTR(&mod_xen_domain_list_locked) },
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
    { MP_ROM_QSTR(MP_QSTR_map), MP_ROM_PTR(&mod_xen_map_locked) },
    // HVM params
    { MP_ROM_QSTR(MP_QSTR_hvm_get_param), MP_ROM_PTR(&mod_xen_hvm_get_param_locked) },
    { MP_ROM_QSTR(MP_QSTR_hvm_set_param), MP_ROM_PTR(&mod_xen_hvm_set_param_locked) },
    // event channels
    { MP_ROM_QSTR(MP_QSTR_bind_interdomain), MP_ROM_PTR(&mod_xen_bind_interdomain_locked) },
    { MP_ROM_QSTR(MP_QSTR_bind_virq), MP_ROM_PTR(&mod_xen_bind_virq_locked) },
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
    // guest byte rings (ring.c) and the host REPL terminal (repl_unix.c)
    MODXEN_RING_GLOBALS
    MODXEN_REPL_GLOBALS
    // xenstore wire framing (xsframe.c)
    MODXEN_XSFRAME_GLOBALS
    // boot-policy signatures (verify.c; empty when MODXEN_VERIFY=0)
    MODXEN_VERIFY_GLOBALS
    // interpreter control
    { MP_ROM_QSTR(MP_QSTR_interrupt_main), MP_ROM_PTR(&mod_xen_interrupt_main_obj) },
    #if MODXEN_BACKEND_SIM || MODXEN_BACKEND_LINUX
    { MP_ROM_QSTR(MP_QSTR_catch_signal), MP_ROM_PTR(&mod_xen_catch_signal_obj) },
    #endif

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
