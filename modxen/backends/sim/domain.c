// The sim's domain life cycle: creation (Xen's checks, in Xen's order),
// shutdown, kill and final destruction, get_domain_state marks.
//
// Owns: the domain list and each domain's existence. Must not know: the
// domctl wire format (domctl.c) or MicroPython objects.

#include "sim.h"

/******************************************************************************/
// Domains.


void sim_domain_free(sim_domain_t *d) {
    if (d->memfd >= 0) {
        close(d->memfd);
    }
    free(d->vcpus);
    free(d->ports);
    free(d->slot_state);
    free(d->slot_refs);
    free(d->slot_gfn);
    free(d->free_slots);
    free(d->hkey);
    free(d->hval);
    free(d->hused);
    free(d->iomem.r);
    free(d->mmio);
    free(d);
}

static void domain_unlink(sim_domain_t *d) {
    for (sim_domain_t **pd = &sim.domains; *pd != NULL; pd = &(*pd)->next) {
        if (*pd == d) {
            *pd = d->next;
            return;
        }
    }
}

// The last reference is gone: the domain disappears (complete_domain_destroy).
// domain_changed_state(): a mark get_domain_state (4.21+) hands out once.
void sim_state_changed(domid_t id) {
    if (id < DOMID_FIRST_RESERVED) {
        sim.state_changed[id / 8] |= 1u << (id % 8);
    }
}

void sim_domain_final(sim_domain_t *d) {
    sim_state_changed(d->id);
    domain_unlink(d);
    sim_domain_free(d);
    sim_send_global_virq(VIRQ_DOM_EXC);
}

static void release_irqs_and_devices(sim_domain_t *d) {
    for (size_t i = 0; i < MP_ARRAY_SIZE(sim.irq_owner); i++) {
        if (sim.irq_owner[i] == d->id) {
            sim.irq_owner[i] = 0xffff;
        }
    }
    for (size_t i = 0; i < MP_ARRAY_SIZE(sim_devices); i++) {
        if (sim_devices[i].owner == d->id) {
            sim_devices[i].owner = -1;
        }
    }
}

// domain_kill(): the domain is paused, marked dying, its event channels are
// closed, its resources relinquished. Pages dom0 still maps stay alive (and
// keep the domain, as a dying zombie, in the domain list).
int sim_domain_kill(sim_domain_t *d) {
    if (d == sim.dom0) {
        return -XEN_EINVAL;
    }
    if (d->dying) {
        return 0;
    }
    d->dying = true;
    sim_state_changed(d->id);
    for (uint32_t port = 0; port < d->nports; port++) {
        if (d->ports[port].state != ECS_FREE && d->ports[port].state != ECS_RESERVED) {
            sim_port_close(d, port);
        }
    }
    release_irqs_and_devices(d);
    d->nmmio = 0;
    d->iomem.n = 0;
    for (uint32_t s = 0; s < d->nslots; s++) {
        if (d->slot_state[s] == PS_P2M || d->slot_state[s] == PS_LEAKED) {
            if (d->slot_refs[s] > 0) {
                d->slot_state[s] = PS_REFONLY;
            } else {
                sim_slot_free(d, s);
            }
        }
    }
    for (size_t i = 0; i < d->hcap; i++) {
        d->hused[i] = 0;
    }
    d->hcount = d->htomb = 0;
    d->pool_pages = 0;
    sim_send_global_virq(VIRQ_DOM_EXC);
    if (d->tot_pages == 0) {
        sim_domain_final(d);
    }
    return 0;
}

// domain_shutdown(): the first reason sticks; VIRQ_DOM_EXC tells dom0.
int sim_domain_shutdown(sim_domain_t *d, int reason) {
    if (d->shutdown_code < 0) {
        d->shutdown_code = reason;
    }
    if (d->shut_down) {
        return 0;
    }
    d->shut_down = true;
    sim_state_changed(d->id);
    if (d->shutdown_code == SHUTDOWN_suspend && d->suspend_port != 0
        && sim_port_of(d, d->suspend_port) != NULL) {
        sim_evt_send(d, d->suspend_port);
    } else {
        sim_send_global_virq(VIRQ_DOM_EXC);
    }
    return 0;
}

sim_domain_t *sim_domain_new(domid_t id) {
    sim_domain_t *d = sim_xzalloc(sizeof(*d));
    d->id = id;
    d->memfd = -1;
    d->shutdown_code = -1;
    d->address_size = 32;   // Arm64 domains start as AArch32 until told
    return d;
}

void sim_domain_insert(sim_domain_t *d) {
    sim_domain_t **pd = &sim.domains;
    while (*pd != NULL && (*pd)->id < d->id) {
        pd = &(*pd)->next;
    }
    d->next = *pd;
    *pd = d;
}

void sim_ports_init(sim_domain_t *d, uint32_t max_port) {
    d->max_evtchn_port = max_port;
    d->nports = max_port >= SIM_MAX_PORTS ? SIM_MAX_PORTS : max_port + 1;
    d->ports = sim_xzalloc(d->nports * sizeof(*d->ports));
    d->ports[0].state = ECS_RESERVED;
}

static bool domid_free(domid_t id) {
    return id != 0 && id < DOMID_FIRST_RESERVED && sim_find_domain(id) == NULL;
}

// XEN_DOMCTL_createdomain: sanitise_domain_config(), the Arm checks of
// arch_sanitise_domain_config() and arch_domain_create(), XSM, evtchn and
// grant-table limits, cpupool, then the domain exists, paused once.
#define SIM_DOMID_ANY 0x7ff5    // DOMID_ANY (4.22)

int sim_domain_create(domid_t *domid, struct xen_domctl_createdomain *c) {
    const uint32_t known = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap | XEN_DOMCTL_CDF_s3_integrity
        | XEN_DOMCTL_CDF_oos_off | XEN_DOMCTL_CDF_xs_domain | XEN_DOMCTL_CDF_iommu
        | XEN_DOMCTL_CDF_nested_virt | XEN_DOMCTL_CDF_vpmu;
    const uint32_t optional = XEN_DOMCTL_CDF_iommu | XEN_DOMCTL_CDF_vpmu;
    const uint32_t required = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap;
    domid_t dom = *domid;
    // Until 4.21 an id of 0 or a reserved one asks Xen to choose; from 4.22
    // only DOMID_ANY does (domid_alloc()), and 0 is dom0's.
    bool any = SIM_FROM(sim.rel, 22) ? dom == SIM_DOMID_ANY : (dom == 0 || dom >= DOMID_FIRST_RESERVED);

    if (!any) {
        if (dom >= DOMID_FIRST_RESERVED || !domid_free(dom)) {
            return -XEN_EEXIST;
        }
    } else {
        for (dom = sim.rover + 1; dom != sim.rover; dom++) {
            if (dom == DOMID_FIRST_RESERVED) {
                dom = 1;
            }
            if (domid_free(dom)) {
                break;
            }
        }
        if (dom == sim.rover) {
            return -XEN_ENOMEM;
        }
        sim.rover = dom;
    }

    // sanitise_domain_config()
    if (c->flags & ~known) {
        return -XEN_EINVAL;
    }
    if (c->grant_opts & ~XEN_DOMCTL_GRANT_version_mask) {
        return -XEN_EINVAL;
    }
    if (c->max_vcpus < 1) {
        return -XEN_EINVAL;
    }
    if ((c->flags & XEN_DOMCTL_CDF_hap) && !(c->flags & XEN_DOMCTL_CDF_hvm)) {
        return -XEN_EINVAL;
    }
    if (c->flags & XEN_DOMCTL_CDF_iommu) {
        if (c->iommu_opts & ~XEN_DOMCTL_IOMMU_no_sharept) {
            return -XEN_EINVAL;
        }
    } else if (c->iommu_opts) {
        return -XEN_EINVAL;
    }
    if (c->vmtrace_size) {
        return -XEN_EINVAL;     // no vmtrace on Arm
    }
    // arch_sanitise_domain_config()
    if ((c->flags & ~optional) != required) {
        return -XEN_EINVAL;
    }
    if (c->iommu_opts & XEN_DOMCTL_IOMMU_no_sharept) {
        return -XEN_EINVAL;
    }
    if (c->arch.gic_version == XEN_DOMCTL_CONFIG_GIC_NATIVE) {
        c->arch.gic_version = XEN_DOMCTL_CONFIG_GIC_V3;
    }
    uint32_t vgic_max = c->arch.gic_version == XEN_DOMCTL_CONFIG_GIC_V2 ? 8
        : c->arch.gic_version == XEN_DOMCTL_CONFIG_GIC_V3 ? 4096 : 0;
    if (vgic_max > SIM_MAX_VIRT_CPUS) {
        vgic_max = SIM_MAX_VIRT_CPUS;
    }
    if (vgic_max == 0 || c->max_vcpus > vgic_max) {
        return -XEN_EINVAL;
    }
    if (c->arch.tee_type != XEN_DOMCTL_CONFIG_TEE_NONE) {
        return -XEN_EINVAL;     // no TEE mediator on this machine
    }
    // arch_domain_create(): the hardware has no GICv2 compatibility
    // interface, so a vGICv2 cannot be registered.
    if (c->arch.gic_version == XEN_DOMCTL_CONFIG_GIC_V2) {
        return -XEN_ENODEV;
    }
    uint32_t nr_spis = (c->arch.nr_spis + 31) & ~31u;
    if (c->arch.nr_spis > 988 || nr_spis > 1020 - 32) {
        return -XEN_EINVAL;
    }
    // the default p2m pool (16 pages) comes from the heap
    if (sim_free_pages() < SIM_P2M_POOL_PAGES) {
        return -XEN_ENOMEM;
    }
    // xsm_domain_create()
    uint32_t ssid = c->ssidref ? c->ssidref : SID_UNLABELED;
    if (sim.flask != FLASK_OFF) {
        if (sim.flask == FLASK_ENFORCING && (!sim.privileged || !sim_label_is_domain(ssid))) {
            return -XEN_EACCES;
        }
        if (ssid == SID_DOM0) {
            return -XEN_EINVAL;     // dom0_t is a singleton
        }
    }
    // grant_table_init()
    uint32_t gver = c->grant_opts & XEN_DOMCTL_GRANT_version_mask;
    if (gver == 0 || gver > SIM_GNTTAB_MAX_VERSION) {
        return -XEN_EINVAL;
    }
    int32_t gf = c->max_grant_frames < 0 ? SIM_MAX_GRANT_FRAMES : c->max_grant_frames;
    int32_t mf = c->max_maptrack_frames < 0 ? SIM_MAX_MAPTRACK_FRAMES : c->max_maptrack_frames;
    if (gf < 1 || gf > SIM_MAX_GRANT_FRAMES || mf > SIM_MAX_MAPTRACK_FRAMES) {
        return -XEN_EINVAL;
    }
    // sched_init_domain(): only cpupool 0 exists
    if (c->cpupool_id != 0) {
        return -XEN_ESRCH;
    }

    int fd = memfd_create("modxen-sim-guest", MFD_CLOEXEC);
    if (fd < 0) {
        return -XEN_ENOMEM;
    }
    sim_domain_t *d = sim_domain_new(dom);
    d->memfd = fd;
    d->cdf = c->flags;
    d->ssid = ssid;
    memcpy(d->handle, c->handle, sizeof(d->handle));
    d->gic_version = c->arch.gic_version;
    d->tee_type = c->arch.tee_type;
    d->nr_spis = nr_spis;
    d->max_grant_frames = gf;
    d->max_maptrack_frames = mf;
    d->grant_version = gver;
    d->max_vcpus = c->max_vcpus;
    d->vcpus = sim_xzalloc(c->max_vcpus * sizeof(*d->vcpus));
    d->pause_count = 1;
    d->pool_pages = SIM_P2M_POOL_PAGES;
    sim_ports_init(d, c->max_evtchn_port);
    // SGIs and the event-channel PPI are reserved in the vGIC
    for (unsigned i = 0; i < 16; i++) {
        d->virq_reserved[i / 8] |= 1u << (i % 8);
    }
    d->virq_reserved[GUEST_EVTCHN_PPI / 8] |= 1u << (GUEST_EVTCHN_PPI % 8);
    d->unique_id = ++sim.unique_ids;
    sim_domain_insert(d);
    sim_state_changed(dom);
    *domid = dom;
    return 0;
}

