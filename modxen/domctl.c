// _xen's domain control: the domctls a toolstack uses, each built from
// Xen's own structs in the hypercall scratch area, in the interface version
// and layout of the running release (abi.c).
//
// Owns: createdomain (the table-driven tail), the domain life-cycle domctls,
// vcpu contexts, device and I/O-memory passthrough, get_domain_state.
// Must not know: how a hypercall is issued (xenhv.h) or what a domain is for
// (the frozen `xen` package).
//
// Alike on purpose: the small domctls (max_vcpus, max_mem, set_address_size,
// ...) are five lines each of the same shape, one function per Python name as
// MicroPython's bindings are written; each sets a different field of Xen's
// union, which a macro would hide.
#include "modxen.h"

// One getdomaininfo record as a dict. The layout is shared by the domctl and
// the sysctl list.
mp_obj_t modxen_domaininfo_dict(const struct xen_domctl_getdomaininfo *di) {
    mp_obj_t d = mp_obj_new_dict(20);
    uint32_t f = di->flags;
    modxen_dict_set(d, MP_QSTR_domid, MP_OBJ_NEW_SMALL_INT(di->domain));
    modxen_dict_set(d, MP_QSTR_flags, mp_obj_new_int_from_uint(f));
    modxen_dict_set(d, MP_QSTR_dying, mp_obj_new_bool(f & XEN_DOMINF_dying));
    modxen_dict_set(d, MP_QSTR_hvm, mp_obj_new_bool(f & XEN_DOMINF_hvm_guest));
    modxen_dict_set(d, MP_QSTR_shutdown, mp_obj_new_bool(f & XEN_DOMINF_shutdown));
    modxen_dict_set(d, MP_QSTR_paused, mp_obj_new_bool(f & XEN_DOMINF_paused));
    modxen_dict_set(d, MP_QSTR_blocked, mp_obj_new_bool(f & XEN_DOMINF_blocked));
    modxen_dict_set(d, MP_QSTR_running, mp_obj_new_bool(f & XEN_DOMINF_running));
    modxen_dict_set(d, MP_QSTR_shutdown_reason, (f & XEN_DOMINF_shutdown)
        ? MP_OBJ_NEW_SMALL_INT((f >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask)
        : mp_const_none);
    modxen_dict_set(d, MP_QSTR_tot_pages, modxen_new_u64(di->tot_pages));
    modxen_dict_set(d, MP_QSTR_max_pages, modxen_new_u64(di->max_pages));
    modxen_dict_set(d, MP_QSTR_outstanding_pages, modxen_new_u64(di->outstanding_pages));
    modxen_dict_set(d, MP_QSTR_shr_pages, modxen_new_u64(di->shr_pages));
    modxen_dict_set(d, MP_QSTR_paged_pages, modxen_new_u64(di->paged_pages));
    modxen_dict_set(d, MP_QSTR_cpu_time, modxen_new_u64(di->cpu_time));
    modxen_dict_set(d, MP_QSTR_nr_online_vcpus, mp_obj_new_int_from_uint(di->nr_online_vcpus));
    modxen_dict_set(d, MP_QSTR_max_vcpu_id, mp_obj_new_int_from_uint(di->max_vcpu_id));
    modxen_dict_set(d, MP_QSTR_ssidref, mp_obj_new_int_from_uint(di->ssidref));
    modxen_dict_set(d, MP_QSTR_handle, mp_obj_new_bytes(di->handle, sizeof(di->handle)));
    modxen_dict_set(d, MP_QSTR_cpupool, mp_obj_new_int_from_uint(di->cpupool));
    modxen_dict_set(d, MP_QSTR_gpaddr_bits, MP_OBJ_NEW_SMALL_INT(di->gpaddr_bits));
    return d;
}

/******************************************************************************/
// domctl

static struct xen_domctl *domctl_begin(uint32_t cmd, domid_t domid) {
    uint8_t version = modxen_abi_current()->domctl;
    struct xen_domctl *op = (struct xen_domctl *)xenhv_scratch();
    memset(op, 0, sizeof(*op));
    op->cmd = cmd;
    op->interface_version = version;
    op->domain = domid;
    return op;
}

static long domctl_do(struct xen_domctl *op) {
    return modxen_hypercall(__HYPERVISOR_domctl, (unsigned long)op, 0);
}

// Values newer headers name and 4.17's do not.
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

    const modxen_release_t *rel = modxen_abi_current();
    domid_t domid = modxen_arg_domid(mp_obj_new_int(a[ARG_domid].u_int));
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
    modxen_check(domctl_do(op));
    if (out != mp_const_none) {
        // What Xen resolved (GIC_NATIVE becomes the host's version).
        modxen_dict_set(out, MP_QSTR_gic_version, MP_OBJ_NEW_SMALL_INT(arch[ABI_ARCH_GIC]));
        modxen_dict_set(out, MP_QSTR_tee_type, MP_OBJ_NEW_SMALL_INT(get_u16(arch + ABI_ARCH_TEE)));
        modxen_dict_set(out, MP_QSTR_nr_spis, mp_obj_new_int_from_uint(get_u32(arch + ABI_ARCH_NR_SPIS)));
        modxen_dict_set(out, MP_QSTR_clock_frequency, mp_obj_new_int_from_uint(get_u32(arch + ABI_ARCH_CLOCK)));
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
    const modxen_release_t *rel = modxen_abi_current();
    if (!(rel->features & ABI_DOMAIN_STATE)) {
        vstr_t vs;
        vstr_init(&vs, 48);
        vstr_printf(&vs, "Xen %u.%u has no get_domain_state", rel->major, rel->minor);
        modxen_raise_errno_msg(MP_EOPNOTSUPP, &vs);
    }
    domid_t domid = (n_args > 0 && args[0] != mp_const_none) ? modxen_arg_domid(args[0]) : DOMID_INVALID;
    struct xen_domctl *op = domctl_begin(MODXEN_DOMCTL_get_domain_state, domid);
    op->interface_version = 0;  // a stable domctl: always 0
    long rc = domctl_do(op);
    if (rc == -XEN_ENOENT && domid == DOMID_INVALID) {
        return mp_const_none;
    }
    modxen_check(rc);
    // struct xen_domctl_get_domain_state: u16 state, u16 caps, u32 pad, u64 unique_id
    const uint8_t *u = (const uint8_t *)&op->u;
    uint16_t state = get_u16(u), caps = get_u16(u + 2);
    uint64_t unique;
    memcpy(&unique, u + 8, sizeof(unique));
    mp_obj_t d = mp_obj_new_dict(8);
    modxen_dict_set(d, MP_QSTR_domid, MP_OBJ_NEW_SMALL_INT(op->domain));
    modxen_dict_set(d, MP_QSTR_exist, mp_obj_new_bool(state & 1));
    modxen_dict_set(d, MP_QSTR_shutdown, mp_obj_new_bool(state & 2));
    modxen_dict_set(d, MP_QSTR_dying, mp_obj_new_bool(state & 4));
    modxen_dict_set(d, MP_QSTR_dead, mp_obj_new_bool(state & 8));
    modxen_dict_set(d, MP_QSTR_control, mp_obj_new_bool(caps & 1));
    modxen_dict_set(d, MP_QSTR_hardware, mp_obj_new_bool(caps & 2));
    modxen_dict_set(d, MP_QSTR_xenstore, mp_obj_new_bool(caps & 4));
    modxen_dict_set(d, MP_QSTR_unique_id, modxen_new_u64(unique));
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xen_get_domain_state_obj, 0, 1, mod_xen_get_domain_state);

// The domctls that take only a domain.
static mp_obj_t simple_domctl(mp_obj_t domid, uint32_t cmd) {
    modxen_check(domctl_do(domctl_begin(cmd, modxen_arg_domid(domid))));
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
    domid_t domid = modxen_arg_domid(domid_in);
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_getdomaininfo, domid);
    modxen_check(domctl_do(op));
    // Xen 4.17 answers with the first domain whose id is >= the one asked for.
    if (op->u.getdomaininfo.domain != domid) {
        modxen_raise_errno(MP_ESRCH);
    }
    return modxen_domaininfo_dict(&op->u.getdomaininfo);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_getdomaininfo_obj, mod_xen_getdomaininfo);

static mp_obj_t mod_xen_max_vcpus(mp_obj_t domid, mp_obj_t n) {
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_max_vcpus, modxen_arg_domid(domid));
    op->u.max_vcpus.max = mp_obj_get_int(n);
    modxen_check(domctl_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_max_vcpus_obj, mod_xen_max_vcpus);

static mp_obj_t mod_xen_max_mem(mp_obj_t domid, mp_obj_t kb) {
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_max_mem, modxen_arg_domid(domid));
    op->u.max_mem.max_memkb = modxen_arg_u64(kb);
    modxen_check(domctl_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_max_mem_obj, mod_xen_max_mem);

static mp_obj_t mod_xen_set_address_size(mp_obj_t domid, mp_obj_t bits) {
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_set_address_size, modxen_arg_domid(domid));
    op->u.address_size.size = mp_obj_get_int(bits);
    modxen_check(domctl_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_set_address_size_obj, mod_xen_set_address_size);

static mp_obj_t mod_xen_get_paging_mempool_size(mp_obj_t domid) {
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_get_paging_mempool_size, modxen_arg_domid(domid));
    modxen_check(domctl_do(op));
    return modxen_new_u64(op->u.paging_mempool.size);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_get_paging_mempool_size_obj, mod_xen_get_paging_mempool_size);

static mp_obj_t mod_xen_set_paging_mempool_size(mp_obj_t domid, mp_obj_t size) {
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_set_paging_mempool_size, modxen_arg_domid(domid));
    op->u.paging_mempool.size = modxen_arg_u64(size);
    modxen_check(domctl_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_set_paging_mempool_size_obj, mod_xen_set_paging_mempool_size);

// iomem_permission(domid, first_mfn, nr_mfns, allow=True)
static mp_obj_t mod_xen_iomem_permission(size_t n_args, const mp_obj_t *args) {
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_iomem_permission, modxen_arg_domid(args[0]));
    op->u.iomem_permission.first_mfn = modxen_arg_u64(args[1]);
    op->u.iomem_permission.nr_mfns = modxen_arg_u64(args[2]);
    op->u.iomem_permission.allow_access = n_args > 3 ? mp_obj_is_true(args[3]) : 1;
    modxen_check(domctl_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xen_iomem_permission_obj, 3, 4, mod_xen_iomem_permission);

// memory_mapping(domid, first_gfn, first_mfn, nr_mfns, add=True)
static mp_obj_t mod_xen_memory_mapping(size_t n_args, const mp_obj_t *args) {
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_memory_mapping, modxen_arg_domid(args[0]));
    op->u.memory_mapping.first_gfn = modxen_arg_u64(args[1]);
    op->u.memory_mapping.first_mfn = modxen_arg_u64(args[2]);
    op->u.memory_mapping.nr_mfns = modxen_arg_u64(args[3]);
    op->u.memory_mapping.add_mapping = (n_args > 4 && !mp_obj_is_true(args[4]))
        ? DPCI_REMOVE_MAPPING : DPCI_ADD_MAPPING;
    modxen_check(domctl_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xen_memory_mapping_obj, 4, 5, mod_xen_memory_mapping);

// bind_pt_irq(domid, irq): route a physical SPI to the guest 1:1 (Arm).
static mp_obj_t mod_xen_bind_pt_irq(mp_obj_t domid, mp_obj_t irq_in) {
    mp_int_t irq = mp_obj_get_int(irq_in);
    if (irq < 32 || irq > 1019) {
        mp_raise_ValueError(MP_ERROR_TEXT("irq must be an SPI (32..1019)"));
    }
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_bind_pt_irq, modxen_arg_domid(domid));
    op->u.bind_pt_irq.machine_irq = irq;
    op->u.bind_pt_irq.irq_type = PT_IRQ_TYPE_SPI;
    op->u.bind_pt_irq.u.spi.spi = irq;
    modxen_check(domctl_do(op));
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
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_assign_device, modxen_arg_domid(args[0]));
    char *buf = (char *)xenhv_scratch() + 4096;
    memcpy(buf, path, len);
    buf[len] = 0;
    op->u.assign_device.dev = XEN_DOMCTL_DEV_DT;
    op->u.assign_device.flags = n_args > 2 ? mp_obj_get_int(args[2]) : 0;
    set_xen_guest_handle(op->u.assign_device.u.dt.path, buf);
    op->u.assign_device.u.dt.size = len;
    modxen_check(domctl_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xen_assign_device_obj, 2, 3, mod_xen_assign_device);

static mp_obj_t mod_xen_cacheflush(mp_obj_t domid, mp_obj_t start_pfn, mp_obj_t nr_pfns) {
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_cacheflush, modxen_arg_domid(domid));
    op->u.cacheflush.start_pfn = modxen_arg_u64(start_pfn);
    op->u.cacheflush.nr_pfns = modxen_arg_u64(nr_pfns);
    modxen_check(domctl_do(op));
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
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_setvcpucontext, modxen_arg_domid(domid));
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
        uint64_t v = modxen_arg_u64(regs->table[i].value);
        memcpy((uint8_t *)ctx + vcpu_regs[j].offset, &v, sizeof(v));
    }
    op->u.vcpucontext.vcpu = mp_obj_get_int(vcpu);
    set_xen_guest_handle(op->u.vcpucontext.ctxt, ctx);
    modxen_check(domctl_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(mod_xen_setvcpucontext_obj, mod_xen_setvcpucontext);

static mp_obj_t mod_xen_getvcpucontext(mp_obj_t domid, mp_obj_t vcpu) {
    struct xen_domctl *op = domctl_begin(XEN_DOMCTL_getvcpucontext, modxen_arg_domid(domid));
    struct vcpu_guest_context *ctx = (struct vcpu_guest_context *)(xenhv_scratch() + 4096);
    memset(ctx, 0, sizeof(*ctx));
    op->u.vcpucontext.vcpu = mp_obj_get_int(vcpu);
    set_xen_guest_handle(op->u.vcpucontext.ctxt, ctx);
    modxen_check(domctl_do(op));
    mp_obj_t d = mp_obj_new_dict(MP_ARRAY_SIZE(vcpu_regs) + 1);
    for (size_t j = 0; j < MP_ARRAY_SIZE(vcpu_regs); j++) {
        uint64_t v;
        memcpy(&v, (uint8_t *)ctx + vcpu_regs[j].offset, sizeof(v));
        modxen_dict_set(d, vcpu_regs[j].name, modxen_new_u64(v));
    }
    modxen_dict_set(d, MP_QSTR_online, mp_obj_new_bool(ctx->flags & VGCF_online));
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_getvcpucontext_obj, mod_xen_getvcpucontext);


LOCKED(mod_xen_createdomain);
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
