// _xen's system control: what the hypervisor says about the machine and
// about every domain (physinfo, getdomaininfolist), Xen's console ring
// (readconsole), in the running release's sysctl interface version.
//
// Owns: the sysctls. Must not know: any backend, any policy.
#include "modxen.h"

static struct xen_sysctl *sysctl_begin(uint32_t cmd) {
    struct xen_sysctl *op;
    uint8_t version = modxen_abi_current()->sysctl;
    op = (struct xen_sysctl *)xenhv_scratch();
    memset(op, 0, sizeof(*op));
    op->cmd = cmd;
    op->interface_version = version;
    return op;
}

static mp_obj_t mod_xen_physinfo(void) {
    struct xen_sysctl *op = sysctl_begin(XEN_SYSCTL_physinfo);
    modxen_check(modxen_hypercall(__HYPERVISOR_sysctl, (unsigned long)op, 0));
    struct xen_sysctl_physinfo *pi = &op->u.physinfo;
    mp_obj_t d = mp_obj_new_dict(10);
    modxen_dict_set(d, MP_QSTR_nr_cpus, mp_obj_new_int_from_uint(pi->nr_cpus));
    modxen_dict_set(d, MP_QSTR_max_cpu_id, mp_obj_new_int_from_uint(pi->max_cpu_id));
    modxen_dict_set(d, MP_QSTR_nr_nodes, mp_obj_new_int_from_uint(pi->nr_nodes));
    modxen_dict_set(d, MP_QSTR_threads_per_core, mp_obj_new_int_from_uint(pi->threads_per_core));
    modxen_dict_set(d, MP_QSTR_cores_per_socket, mp_obj_new_int_from_uint(pi->cores_per_socket));
    modxen_dict_set(d, MP_QSTR_cpu_khz, mp_obj_new_int_from_uint(pi->cpu_khz));
    modxen_dict_set(d, MP_QSTR_total_pages, modxen_new_u64(pi->total_pages));
    modxen_dict_set(d, MP_QSTR_free_pages, modxen_new_u64(pi->free_pages));
    modxen_dict_set(d, MP_QSTR_scrub_pages, modxen_new_u64(pi->scrub_pages));
    modxen_dict_set(d, MP_QSTR_max_mfn, modxen_new_u64(pi->max_mfn));
    modxen_dict_set(d, MP_QSTR_capabilities, mp_obj_new_int_from_uint(pi->capabilities));
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_0(mod_xen_physinfo_obj, mod_xen_physinfo);

// domain_list(first=0, max=1024): every domain with id >= first.
static mp_obj_t mod_xen_domain_list(size_t n_args, const mp_obj_t *args) {
    domid_t first = n_args > 0 ? modxen_arg_domid(args[0]) : 0;
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
        modxen_check(modxen_hypercall(__HYPERVISOR_sysctl, (unsigned long)op, 0));
        uint32_t got = op->u.getdomaininfolist.num_domains;
        if (got > want) {
            modxen_raise_errno(MP_EIO);
        }
        domid_t last = first;
        for (uint32_t i = 0; i < got; i++) {
            mp_obj_list_append(list, modxen_domaininfo_dict(&buf[i]));
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

// readconsole(index=None, max=...) -> (bytes, next_index): Xen's console ring
// (its own messages, and what domains without a PV console print through
// vpl011 or console_io). index=None reads from the oldest byte Xen still
// holds; else from that index (a next_index from before), if still held.
// At most max bytes (default and limit: the scratch area less its first page).
static mp_obj_t mod_xen_readconsole(size_t n_args, const mp_obj_t *args) {
    const size_t room = XENHV_SCRATCH_SIZE - 4096;
    mp_int_t max = n_args > 1 ? mp_obj_get_int(args[1]) : (mp_int_t)room;
    if (max < 0 || (size_t)max > room) {
        mp_raise_ValueError(MP_ERROR_TEXT("readconsole: max out of range"));
    }
    struct xen_sysctl *op = sysctl_begin(XEN_SYSCTL_readconsole);
    char *buf = (char *)(xenhv_scratch() + 4096);
    if (n_args > 0 && args[0] != mp_const_none) {
        op->u.readconsole.incremental = 1;
        op->u.readconsole.index = (uint32_t)mp_obj_get_int_truncated(args[0]);
    }
    set_xen_guest_handle(op->u.readconsole.buffer, buf);
    op->u.readconsole.count = (uint32_t)max;
    modxen_check(modxen_hypercall(__HYPERVISOR_sysctl, (unsigned long)op, 0));
    uint32_t got = op->u.readconsole.count;
    if (got > (uint32_t)max) {
        modxen_raise_errno(MP_EIO);
    }
    mp_obj_t t[2] = { mp_obj_new_bytes((const byte *)buf, got),
                      mp_obj_new_int_from_uint(op->u.readconsole.index) };
    return mp_obj_new_tuple(2, t);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xen_readconsole_obj, 0, 2, mod_xen_readconsole);

LOCKED(mod_xen_physinfo);
LOCKED(mod_xen_readconsole);
LOCKED(mod_xen_domain_list);
