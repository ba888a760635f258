// The sim's domctl decoder: reads Xen's struct xen_domctl as the acted
// release lays it out, applies Xen's rules and copies results back where Xen
// does.
//
// Owns: the domctl wire format and per-op checks. Must not know: how pages,
// ports or labels are kept (memory.c, evtchn.c, flask.c), or MicroPython
// objects.

#include "sim.h"

/******************************************************************************/
// Hypercall: domctl.

static int domctl_name(uint32_t cmd) {
    switch (cmd) {
        #define D(c) case XEN_DOMCTL_##c: return N_DOMCTL_##c;
        D(createdomain) D(destroydomain) D(pausedomain) D(unpausedomain) D(resumedomain)
        D(getdomaininfo) D(max_vcpus) D(max_mem) D(setvcpucontext) D(getvcpucontext)
        D(getvcpuinfo) D(setdomainhandle) D(set_address_size) D(get_address_size)
        D(get_paging_mempool_size) D(set_paging_mempool_size) D(iomem_permission)
        D(memory_mapping) D(bind_pt_irq) D(unbind_pt_irq) D(assign_device) D(deassign_device)
        D(test_assign_device) D(cacheflush) D(subscribe)
        #undef D
        case 90:    // XEN_DOMCTL_get_domain_state (4.21), unknown to 4.17's headers
            return N_DOMCTL_get_domain_state;
        default:
            return N_DOMCTL_other;
    }
}

void sim_fill_domaininfo(const sim_domain_t *d, struct xen_domctl_getdomaininfo *info) {
    memset(info, 0, sizeof(*info));
    info->domain = d->id;
    info->max_vcpu_id = XEN_INVALID_MAX_VCPU_ID;
    uint32_t flags = 0, online = 0;
    uint32_t nv = d == sim.dom0 ? SIM_NR_CPUS : d->max_vcpus;
    bool runnable = d == sim.dom0
        || (d->pause_count == 0 && !d->shut_down && !d->dying);
    for (uint32_t v = 0; v < nv; v++) {
        if (d != sim.dom0 && !d->vcpus[v].created) {
            continue;
        }
        info->max_vcpu_id = v;
        if (d == sim.dom0 || d->vcpus[v].online) {
            online++;
            if (runnable) {
                flags |= XEN_DOMINF_running;
            }
        }
    }
    info->nr_online_vcpus = online;
    info->flags = flags
        | (d->dying ? XEN_DOMINF_dying : 0)
        | (d->shut_down ? XEN_DOMINF_shutdown : 0)
        | (d->pause_count > 0 ? XEN_DOMINF_paused : 0)
        | ((d->cdf & XEN_DOMCTL_CDF_xs_domain) ? XEN_DOMINF_xs_domain : 0)
        | XEN_DOMINF_hvm_guest | XEN_DOMINF_hap
        // Xen shifts its 32-bit shutdown code, SHUTDOWN_CODE_INVALID (~0u)
        // included, into the flags.
        | ((d->shutdown_code < 0 ? ~0u : (uint32_t)d->shutdown_code) << XEN_DOMINF_shutdownshift);
    info->ssidref = sim.flask != FLASK_OFF ? d->ssid : 0;
    info->tot_pages = d == sim.dom0 ? SIM_DOM0_PAGES : d->tot_pages;
    info->max_pages = d == sim.dom0 ? UINT32_MAX : d->max_pages;
    info->shared_info_frame = 0x38000u + d->id;
    memcpy(info->handle, d->handle, sizeof(info->handle));
    info->cpupool = 0;
    info->gpaddr_bits = SIM_IPA_BITS;
}

static bool psr64_ok(uint64_t psr) {
    if (psr & PSR_MODE_BIT) {
        return false;
    }
    switch (psr & PSR_MODE_MASK) {
        case PSR_MODE_EL1h:
        case PSR_MODE_EL1t:
        case PSR_MODE_EL0t:
            return true;
        default:
            return false;
    }
}

static bool psr32_ok(uint32_t psr) {
    switch (psr & PSR_MODE_MASK) {
        case PSR_MODE_USR:
        case PSR_MODE_FIQ:
        case PSR_MODE_IRQ:
        case PSR_MODE_SVC:
        case PSR_MODE_ABT:
        case PSR_MODE_UND:
        case PSR_MODE_SYS:
            return true;
        default:
            return false;
    }
}

static int set_vcpu_context(sim_domain_t *d, sim_vcpu_t *v, const struct vcpu_guest_context *c) {
    const struct vcpu_guest_core_regs *r = &c->user_regs;
    if (d->address_size == 32) {
        if (!psr32_ok((uint32_t)r->cpsr)) {
            return -XEN_EINVAL;
        }
        const uint32_t spsr[] = { r->spsr_svc, r->spsr_abt, r->spsr_und, r->spsr_irq, r->spsr_fiq };
        for (size_t i = 0; i < MP_ARRAY_SIZE(spsr); i++) {
            if (spsr[i] && !psr32_ok(spsr[i])) {
                return -XEN_EINVAL;
            }
        }
    } else {
        if (!psr64_ok(r->cpsr)) {
            return -XEN_EINVAL;
        }
        if (r->spsr_el1 && !psr64_ok(r->spsr_el1)) {
            return -XEN_EINVAL;
        }
    }
    v->ctx = *c;
    v->initialised = true;
    v->online = (c->flags & VGCF_online) != 0;
    return 0;
}

static int dt_device(uint64_t handle, uint32_t size, sim_device_t **out) {
    if (size > PG) {
        return -XEN_ENOBUFS;
    }
    char path[PG + 1];
    if (!sim_copy_in(path, handle, size)) {
        return -XEN_EFAULT;
    }
    path[size] = 0;
    for (size_t i = 0; i < MP_ARRAY_SIZE(sim_devices); i++) {
        if (strcmp(sim_devices[i].path, path) == 0) {
            *out = &sim_devices[i];
            return 0;
        }
    }
    return -XEN_ESRCH;
}

// The createdomain fields later releases added, as this board's Xen sees
// them: no SVE, no altp2m on Arm, no SCI mediator, not an MPU (v8-R) build.
static int createdomain_later_fields(const sim_createdomain_t *cd) {
    if (cd->sve_vl != 0) {
        return -XEN_EINVAL;     // "SVE is unsupported on this machine"
    }
    if (cd->altp2m_opts != 0 || cd->altp2m_nr != 0) {
        return -XEN_EINVAL;     // "Altp2m not supported"
    }
    if (cd->arm_sci_type != 0 || cd->v8r_el1_msa != 0) {
        return -XEN_EINVAL;
    }
    return 0;
}

// XEN_DOMCTL_get_domain_state (4.21+, stable): one domain's state, or with
// DOMID_INVALID the next domain with a change mark (the mark is cleared).
#define SIM_DOMCTL_get_domain_state 90
int sim_get_domain_state(struct xen_domctl *op, unsigned long arg) {
    uint8_t *u = (uint8_t *)&op->u;
    uint32_t pad0;
    memcpy(&pad0, u + 4, sizeof(pad0));
    if (pad0 != 0) {
        return -XEN_EINVAL;
    }
    sim_domain_t *d = NULL;
    if (op->domain != DOMID_INVALID) {
        d = sim_find_domain(op->domain);
        if (d == NULL) {
            return -XEN_ESRCH;
        }
    } else {
        domid_t id = 0;
        while (id < DOMID_FIRST_RESERVED && !(sim.state_changed[id / 8] & (1u << (id % 8)))) {
            id++;
        }
        if (id == DOMID_FIRST_RESERVED) {
            return -XEN_ENOENT;
        }
        sim.state_changed[id / 8] &= ~(1u << (id % 8));
        op->domain = id;
        d = sim_find_domain(id);
    }
    uint16_t state = 0, caps = 0;
    uint64_t unique = 0;
    if (d != NULL) {
        state = 1 | (d->shut_down ? 2 : 0) | (d->dying ? 4 : 0);
        caps = d == sim.dom0 ? 3 : 0;   // control and hardware domain
        unique = d->unique_id;
    }
    memset(u, 0, 16);
    memcpy(u, &state, 2);
    memcpy(u + 2, &caps, 2);
    memcpy(u + 8, &unique, 8);
    return sim_copy_out(arg, op, sizeof(*op)) ? 0 : -XEN_EFAULT;
}

long sim_do_domctl(unsigned long arg, unsigned long a2, unsigned long a3) {
    struct xen_domctl op;
    int rc;
    if (!sim_copy_in(&op, arg, sizeof(op))) {
        // The name is not known before the struct is read.
        if ((rc = sim_note_call(N_DOMCTL_other))) {
            return rc;
        }
        return -XEN_EFAULT;
    }
    if ((rc = sim_note_call(domctl_name(op.cmd)))) {
        return rc;
    }
    // From 4.21 get_domain_state is a stable domctl: its version is 0.
    bool stable = SIM_FROM(sim.rel, 21) && op.cmd == SIM_DOMCTL_get_domain_state;
    if (op.interface_version != (stable ? 0 : sim.rel->domctl)) {
        return -XEN_EACCES;
    }
    if (stable) {
        return sim_get_domain_state(&op, arg);
    }
    sim_domain_t *cur = sim.dom0;
    sim_domain_t *d = NULL;
    bool copyback = false;

    if (op.cmd == XEN_DOMCTL_createdomain) {
        d = NULL;
    } else if (op.cmd == XEN_DOMCTL_getdomaininfo) {
        d = sim_find_domain(op.domain);
        if (d == NULL && SIM_FROM(sim.rel, 18)) {
            return -XEN_ESRCH;  // no more "the next domain up" from 4.18
        }
        if (d == NULL) {
            if (op.domain >= DOMID_FIRST_RESERVED) {
                return -XEN_EINVAL;
            }
            for (d = sim.domains; d != NULL && d->id < op.domain; d = d->next) {
            }
            if (d == NULL) {
                return -XEN_ESRCH;
            }
        }
        if ((rc = sim_xsm_priv())) {
            return rc;
        }
        sim_fill_domaininfo(d, &op.u.getdomaininfo);
        op.domain = d->id;
        return sim_copy_out(arg, &op, sizeof(op)) ? 0 : -XEN_EFAULT;
    } else {
        if ((op.cmd == XEN_DOMCTL_assign_device || op.cmd == XEN_DOMCTL_deassign_device)
            && op.domain == DOMID_INVALID) {
            return -XEN_ESRCH;
        }
        d = sim_find_domain(op.domain);
        if (d == NULL && !(op.cmd == XEN_DOMCTL_test_assign_device && op.domain == DOMID_INVALID)) {
            return -XEN_ESRCH;
        }
    }
    if ((rc = sim_xsm_priv())) {
        return rc;
    }

    switch (op.cmd) {
        case XEN_DOMCTL_createdomain: {
            domid_t dom = op.domain;
            sim_createdomain_t cd;
            sim_cd_decode(sim.rel, &op.u, &cd);
            rc = createdomain_later_fields(&cd);
            if (rc == 0) {
                rc = sim_domain_create(&dom, &cd.c);
            }
            if (rc == 0) {
                sim_cd_encode_arch(sim.rel, &op.u, &cd);
                op.domain = dom;
                copyback = true;
            }
            break;
        }
        case XEN_DOMCTL_destroydomain:
            rc = sim_domain_kill(d);
            break;
        case XEN_DOMCTL_pausedomain:
            if (d == cur) {
                rc = -XEN_EINVAL;
            } else if (d->pause_count >= 255) {
                rc = -XEN_EOVERFLOW;
            } else {
                d->pause_count++;
                rc = 0;
            }
            break;
        case XEN_DOMCTL_unpausedomain:
            if (d->pause_count <= 0) {
                rc = -XEN_EINVAL;
            } else {
                d->pause_count--;
                if (d->pause_count == 0) {
                    d->creation_finished = true;
                }
                rc = 0;
            }
            break;
        case XEN_DOMCTL_resumedomain:
            if (d == cur) {
                rc = -XEN_EINVAL;
            } else {
                d->shut_down = false;
                d->shutdown_code = -1;
                rc = 0;
            }
            break;
        case XEN_DOMCTL_max_vcpus: {
            uint32_t max = op.u.max_vcpus.max;
            if (d == cur || max != d->max_vcpus) {
                rc = -XEN_EINVAL;
                break;
            }
            for (uint32_t i = 0; i < max; i++) {
                d->vcpus[i].created = true;
            }
            rc = 0;
            break;
        }
        case XEN_DOMCTL_max_mem: {
            uint64_t pages = op.u.max_mem.max_memkb >> 2;
            d->max_pages = pages > UINT32_MAX ? UINT32_MAX : pages;
            rc = 0;
            break;
        }
        case XEN_DOMCTL_setvcpucontext: {
            uint32_t vcpu = op.u.vcpucontext.vcpu;
            if (d == cur || vcpu >= d->max_vcpus || !d->vcpus[vcpu].created) {
                rc = -XEN_EINVAL;
                break;
            }
            sim_vcpu_t *v = &d->vcpus[vcpu];
            uint64_t h = op.u.vcpucontext.ctxt.q;
            if (h == 0) {
                // vcpu_reset()
                memset(&v->ctx, 0, sizeof(v->ctx));
                v->initialised = false;
                v->online = false;
                rc = 0;
                break;
            }
            struct vcpu_guest_context ctx;
            if (!sim_copy_in(&ctx, h, sizeof(ctx))) {
                rc = -XEN_EFAULT;
                break;
            }
            rc = set_vcpu_context(d, v, &ctx);
            break;
        }
        case XEN_DOMCTL_getvcpucontext: {
            uint32_t vcpu = op.u.vcpucontext.vcpu;
            if (d == cur || vcpu >= d->max_vcpus || !d->vcpus[vcpu].created) {
                rc = -XEN_EINVAL;
                break;
            }
            sim_vcpu_t *v = &d->vcpus[vcpu];
            if (!v->initialised) {
                rc = -XEN_ENODATA;
                break;
            }
            struct vcpu_guest_context ctx = v->ctx;
            ctx.flags = v->online ? VGCF_online : 0;
            rc = sim_copy_out(op.u.vcpucontext.ctxt.q, &ctx, sizeof(ctx)) ? 0 : -XEN_EFAULT;
            copyback = true;
            break;
        }
        case XEN_DOMCTL_getvcpuinfo: {
            uint32_t vcpu = op.u.getvcpuinfo.vcpu;
            uint32_t nv = d == cur ? SIM_NR_CPUS : d->max_vcpus;
            if (vcpu >= nv) {
                rc = -XEN_EINVAL;
                break;
            }
            if (d != cur && !d->vcpus[vcpu].created) {
                rc = -XEN_ESRCH;
                break;
            }
            bool online = d == cur || d->vcpus[vcpu].online;
            op.u.getvcpuinfo.online = online;
            op.u.getvcpuinfo.blocked = 0;
            op.u.getvcpuinfo.running = online && (d == cur
                || (d->pause_count == 0 && !d->shut_down && !d->dying));
            op.u.getvcpuinfo.cpu_time = 0;
            op.u.getvcpuinfo.cpu = vcpu % SIM_NR_CPUS;
            rc = 0;
            copyback = true;
            break;
        }
        case XEN_DOMCTL_setdomainhandle:
            memcpy(d->handle, op.u.setdomainhandle.handle, sizeof(d->handle));
            rc = 0;
            break;
        case XEN_DOMCTL_set_address_size: {
            uint32_t size = op.u.address_size.size;
            if (d == cur || (size != 32 && size != 64)) {
                rc = -XEN_EINVAL;
            } else if (d->tot_pages != 0) {
                rc = -XEN_EBUSY;
            } else {
                d->address_size = size;
                rc = 0;
            }
            break;
        }
        case XEN_DOMCTL_get_address_size:
            op.u.address_size.size = d == cur ? 64 : d->address_size;
            copyback = true;
            rc = 0;
            break;
        case XEN_DOMCTL_get_paging_mempool_size:
            op.u.paging_mempool.size = (d == cur ? 0 : d->pool_pages) * PG;
            copyback = true;
            rc = 0;
            break;
        case XEN_DOMCTL_set_paging_mempool_size: {
            uint64_t size = op.u.paging_mempool.size;
            uint64_t pages = size >> 12;
            if ((size & (PG - 1)) || d == cur) {
                rc = -XEN_EINVAL;
            } else if (pages > d->pool_pages && pages - d->pool_pages > sim_free_pages()) {
                rc = -XEN_ENOMEM;
            } else {
                d->pool_pages = pages;
                rc = 0;
            }
            break;
        }
        case XEN_DOMCTL_iomem_permission: {
            uint64_t mfn = op.u.iomem_permission.first_mfn;
            uint64_t nr = op.u.iomem_permission.nr_mfns;
            uint64_t last = mfn + nr - 1;
            if (last < mfn) {
                rc = -XEN_EINVAL;
            } else if (!sim_dom0_iomem_ok(mfn, last)) {
                rc = -XEN_EPERM;
            } else {
                if (op.u.iomem_permission.allow_access) {
                    sim_rs_add(&d->iomem, mfn, last);
                } else {
                    sim_rs_remove(&d->iomem, mfn, last);
                }
                rc = 0;
            }
            break;
        }
        case XEN_DOMCTL_memory_mapping: {
            uint64_t gfn = op.u.memory_mapping.first_gfn;
            uint64_t mfn = op.u.memory_mapping.first_mfn;
            uint64_t nr = op.u.memory_mapping.nr_mfns;
            uint64_t mfn_end = mfn + nr - 1;
            if (mfn_end < mfn || ((mfn | mfn_end) >> (SIM_PA_BITS - 12)) || gfn + nr - 1 < gfn) {
                rc = -XEN_EINVAL;
            } else if (nr > 64) {
                rc = -XEN_E2BIG;
            } else if (!sim_dom0_iomem_ok(mfn, mfn_end) || !sim_rs_contains(&d->iomem, mfn, mfn_end)) {
                rc = -XEN_EPERM;
            } else if (op.u.memory_mapping.add_mapping) {
                if ((gfn + nr - 1) >> (SIM_IPA_BITS - 12)) {
                    rc = -XEN_EINVAL;
                    break;
                }
                if (d->nmmio == d->mmio_cap) {
                    d->mmio_cap = d->mmio_cap ? d->mmio_cap * 2 : 4;
                    d->mmio = sim_xrealloc(d->mmio, d->mmio_cap * sizeof(*d->mmio));
                }
                d->mmio[d->nmmio].gfn = gfn;
                d->mmio[d->nmmio].mfn = mfn;
                d->mmio[d->nmmio].nr = nr;
                d->nmmio++;
                rc = 0;
            } else {
                for (size_t i = 0; i < d->nmmio;) {
                    if (d->mmio[i].gfn >= gfn && d->mmio[i].gfn + d->mmio[i].nr <= gfn + nr) {
                        memmove(&d->mmio[i], &d->mmio[i + 1], (d->nmmio - i - 1) * sizeof(*d->mmio));
                        d->nmmio--;
                    } else {
                        i++;
                    }
                }
                rc = 0;
            }
            break;
        }
        case XEN_DOMCTL_bind_pt_irq:
        case XEN_DOMCTL_unbind_pt_irq: {
            uint32_t irq = op.u.bind_pt_irq.u.spi.spi;
            uint32_t virq = op.u.bind_pt_irq.machine_irq;
            if (op.u.bind_pt_irq.irq_type != PT_IRQ_TYPE_SPI) {
                rc = -XEN_EOPNOTSUPP;
            } else if (irq != virq) {
                rc = -XEN_EINVAL;
            } else if (irq < 32 || irq > 1019) {
                rc = -XEN_EPERM;    // dom0 holds permission for SPIs only
            } else if (op.cmd == XEN_DOMCTL_unbind_pt_irq) {
                if (sim.irq_owner[irq] != d->id) {
                    rc = -XEN_EINVAL;
                } else {
                    sim.irq_owner[irq] = 0xffff;
                    d->virq_reserved[virq / 8] &= ~(1u << (virq % 8));
                    rc = 0;
                }
            } else if (virq >= 32 + d->nr_spis || (d->virq_reserved[virq / 8] & (1u << (virq % 8)))) {
                rc = -XEN_EBUSY;    // vgic_reserve_virq() failed
            } else if (irq >= SIM_GIC_LINES) {
                rc = -XEN_EINVAL;   // not a routable interrupt on this GIC
            } else if (sim.irq_owner[irq] != 0xffff) {
                rc = -XEN_EBUSY;    // routed to another domain already
            } else {
                sim.irq_owner[irq] = d->id;
                d->virq_reserved[virq / 8] |= 1u << (virq % 8);
                rc = 0;
            }
            break;
        }
        case XEN_DOMCTL_assign_device:
        case XEN_DOMCTL_deassign_device:
        case XEN_DOMCTL_test_assign_device: {
            if (d != NULL && !(d->cdf & XEN_DOMCTL_CDF_iommu)) {
                rc = -XEN_EOPNOTSUPP;
                break;
            }
            if (op.u.assign_device.dev != XEN_DOMCTL_DEV_DT) {
                rc = -XEN_ENODEV;
                break;
            }
            if ((op.cmd != XEN_DOMCTL_deassign_device && d != NULL && d->dying)
                || op.u.assign_device.flags) {
                rc = -XEN_EINVAL;
                break;
            }
            sim_device_t *dev;
            rc = dt_device(op.u.assign_device.u.dt.path.q, op.u.assign_device.u.dt.size, &dev);
            if (rc) {
                break;
            }
            if (op.cmd == XEN_DOMCTL_test_assign_device) {
                rc = dev->owner >= 0 ? -XEN_EINVAL : 0;
            } else if (op.cmd == XEN_DOMCTL_deassign_device) {
                if (dev->owner != d->id) {
                    rc = -XEN_EINVAL;
                } else {
                    dev->owner = -1;
                    rc = 0;
                }
            } else if (!dev->protected) {
                rc = -XEN_EINVAL;
            } else if (dev->owner >= 0) {
                rc = -XEN_EBUSY;
            } else {
                dev->owner = d->id;
                rc = 0;
            }
            break;
        }
        case XEN_DOMCTL_cacheflush: {
            uint64_t s = op.u.cacheflush.start_pfn, n = op.u.cacheflush.nr_pfns;
            if (n > (1u << SIM_MAX_ORDER) || s + n < s) {
                rc = -XEN_EINVAL;
            } else {
                d->cacheflushes++;
                rc = 0;
            }
            break;
        }
        case XEN_DOMCTL_subscribe:
            d->suspend_port = op.u.subscribe.port;
            rc = 0;
            break;
        default:
            rc = -XEN_ENOSYS;
            break;
    }
    if (copyback && !sim_copy_out(arg, &op, sizeof(op))) {
        rc = -XEN_EFAULT;
    }
    return rc;
}

