// The sim's smaller hypercalls: sysctl, hvm_op (Arm's short parameter
// list), console_io, xen_version and sched_op.
//
// Owns: the modelled machine's answers (physinfo), dom0's console buffers.
// Must not know: MicroPython objects.

#include "sim.h"

/******************************************************************************/
// Hypercall: sysctl.

long sim_do_sysctl(unsigned long arg, unsigned long a2, unsigned long a3) {
    struct xen_sysctl op;
    int rc;
    if (!sim_copy_in(&op, arg, sizeof(op))) {
        if ((rc = sim_note_call(N_SYSCTL_other))) {
            return rc;
        }
        return -XEN_EFAULT;
    }
    int name = op.cmd == XEN_SYSCTL_physinfo ? N_SYSCTL_physinfo
        : op.cmd == XEN_SYSCTL_getdomaininfolist ? N_SYSCTL_getdomaininfolist : N_SYSCTL_other;
    if ((rc = sim_note_call(name))) {
        return rc;
    }
    if (op.interface_version != sim.rel->sysctl) {
        return -XEN_EACCES;
    }
    if ((rc = sim_xsm_priv())) {
        return rc;
    }
    switch (op.cmd) {
        case XEN_SYSCTL_physinfo: {
            struct xen_sysctl_physinfo *pi = &op.u.physinfo;
            memset(pi, 0, sizeof(*pi));
            pi->threads_per_core = 1;
            pi->cores_per_socket = SIM_NR_CPUS;
            pi->nr_cpus = SIM_NR_CPUS;
            pi->max_cpu_id = SIM_NR_CPUS - 1;
            pi->nr_nodes = 1;
            pi->max_node_id = 0;
            pi->cpu_khz = SIM_CPU_KHZ;
            pi->total_pages = SIM_TOTAL_PAGES;
            pi->free_pages = sim_free_pages();
            pi->max_mfn = 0x40000u + SIM_TOTAL_PAGES - 1;   // RAM at 1 GiB
            pi->capabilities = XEN_SYSCTL_PHYSCAP_directio | XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share
                | XEN_SYSCTL_PHYSCAP_vpmu | XEN_SYSCTL_PHYSCAP_gnttab_v1;
            return sim_copy_out(arg, &op, sizeof(op)) ? 0 : -XEN_EFAULT;
        }
        case XEN_SYSCTL_getdomaininfolist: {
            struct xen_sysctl_getdomaininfolist *l = &op.u.getdomaininfolist;
            uint32_t n = 0;
            for (sim_domain_t *d = sim.domains; d != NULL; d = d->next) {
                if (d->id < l->first_domain) {
                    continue;
                }
                if (n == l->max_domains) {
                    break;
                }
                struct xen_domctl_getdomaininfo info;
                sim_fill_domaininfo(d, &info);
                if (!sim_copy_out(l->buffer.q + (uint64_t)n * sizeof(info), &info, sizeof(info))) {
                    return -XEN_EFAULT;
                }
                n++;
            }
            l->num_domains = n;
            return sim_copy_out(arg, &op, sizeof(op)) ? 0 : -XEN_EFAULT;
        }
        default:
            return -XEN_ENOSYS;
    }
}

/******************************************************************************/
// Hypercall: hvm_op (Arm: get/set_param on a short list of parameters).

long sim_do_hvm_op(unsigned long op, unsigned long arg, unsigned long a3) {
    int rc;
    if (op != HVMOP_set_param && op != HVMOP_get_param) {
        if ((rc = sim_note_call(N_HVM_other))) {
            return rc;
        }
        return -XEN_ENOSYS;
    }
    if ((rc = sim_note_call(op == HVMOP_set_param ? N_HVM_set_param : N_HVM_get_param))) {
        return rc;
    }
    struct xen_hvm_param a;
    if (!sim_copy_in(&a, arg, sizeof(a))) {
        return -XEN_EFAULT;
    }
    sim_domain_t *d = sim_find_any(a.domid);
    if (d == NULL) {
        return -XEN_ESRCH;
    }
    if (d != sim.dom0 && (rc = sim_xsm_priv())) {
        return rc;
    }
    bool self = d == sim.dom0;
    switch (a.index) {
        case HVM_PARAM_CALLBACK_IRQ:
        case HVM_PARAM_STORE_PFN:
        case HVM_PARAM_STORE_EVTCHN:
        case HVM_PARAM_CONSOLE_PFN:
        case HVM_PARAM_CONSOLE_EVTCHN:
            if (op == HVMOP_set_param && self) {
                return -XEN_EPERM;
            }
            break;
        case HVM_PARAM_MONITOR_RING_PFN:
            if (self) {
                return -XEN_EPERM;
            }
            break;
        default:
            return -XEN_EINVAL;
    }
    if (op == HVMOP_set_param) {
        d->params[a.index] = a.value;
        return 0;
    }
    a.value = d->params[a.index];
    return sim_copy_out(arg, &a, sizeof(a)) ? 0 : -XEN_EFAULT;
}

/******************************************************************************/
// Hypercall: console_io, xen_version, sched_op.

static void con_out_append(const uint8_t *p, size_t n) {
    if (sim.con_out_len + n > SIM_CONSOLE_OUT_MAX) {
        // keep the newest output
        size_t drop = sim.con_out_len + n - SIM_CONSOLE_OUT_MAX;
        if (drop > sim.con_out_len) {
            p += drop - sim.con_out_len;
            n -= drop - sim.con_out_len;
            drop = sim.con_out_len;
        }
        memmove(sim.con_out, sim.con_out + drop, sim.con_out_len - drop);
        sim.con_out_len -= drop;
    }
    if (sim.con_out_len + n > sim.con_out_cap) {
        size_t cap = sim.con_out_cap ? sim.con_out_cap : 1024;
        while (cap < sim.con_out_len + n) {
            cap *= 2;
        }
        sim.con_out = sim_xrealloc(sim.con_out, cap);
        sim.con_out_cap = cap;
    }
    memcpy(sim.con_out + sim.con_out_len, p, n);
    sim.con_out_len += n;
}

long sim_do_console_io(unsigned long cmd, unsigned long count, unsigned long buf) {
    int rc;
    int name = cmd == CONSOLEIO_write ? N_CON_write : cmd == CONSOLEIO_read ? N_CON_read : N_CON_other;
    if ((rc = sim_note_call(name))) {
        return rc;
    }
    if (!sim.privileged && sim.flask != FLASK_PERMISSIVE) {
        return sim.flask == FLASK_ENFORCING ? -XEN_EACCES : -XEN_EPERM;
    }
    count = (unsigned int)count;
    switch (cmd) {
        case CONSOLEIO_write: {
            const uint8_t *p = sim_guest_ptr(buf, count);
            if (p == NULL) {
                return -XEN_EFAULT;
            }
            con_out_append(p, count);
            return 0;
        }
        case CONSOLEIO_read: {
            if (count > INT32_MAX) {
                return -XEN_E2BIG;
            }
            long n = 0;
            while (sim.con_in_cons != sim.con_in_prod && (unsigned long)n < count) {
                uint8_t c = sim.con_in[sim.con_in_cons % SIM_SERIAL_RX];
                if (!sim_copy_out(buf + n, &c, 1)) {
                    return -XEN_EFAULT;
                }
                sim.con_in_cons++;
                n++;
            }
            return n;
        }
        default:
            return -XEN_ENOSYS;
    }
}

long sim_do_xen_version(unsigned long cmd, unsigned long arg, unsigned long a3) {
    int rc;
    int name = cmd == XENVER_version ? N_VER_version
        : cmd == XENVER_extraversion ? N_VER_extraversion : N_VER_other;
    if ((rc = sim_note_call(name))) {
        return rc;
    }
    switch (cmd) {
        case XENVER_version:
            return (4 << 16) | sim.rel->minor;
        case XENVER_extraversion: {
            xen_extraversion_t v = { 0 };
            strncpy(v, sim.rel->extra, sizeof(v) - 1);
            return sim_copy_out(arg, v, sizeof(v)) ? 0 : -XEN_EFAULT;
        }
        case XENVER_capabilities: {
            xen_capabilities_info_t v = "xen-3.0-aarch64 xen-3.0-armv7l ";
            return sim_copy_out(arg, v, sizeof(v)) ? 0 : -XEN_EFAULT;
        }
        case XENVER_changeset: {
            xen_changeset_info_t v = "modxen sim model";
            return sim_copy_out(arg, v, sizeof(v)) ? 0 : -XEN_EFAULT;
        }
        case XENVER_pagesize:
            return PG;
        case XENVER_get_features: {
            xen_feature_info_t fi;
            if (!sim_copy_in(&fi, arg, sizeof(fi))) {
                return -XEN_EFAULT;
            }
            fi.submap = fi.submap_idx == 0
                ? (1u << XENFEAT_hvm_callback_vector) | (1u << XENFEAT_hvm_safe_pvclock)
                | (1u << XENFEAT_dom0)
                : 0;
            return sim_copy_out(arg, &fi, sizeof(fi)) ? 0 : -XEN_EFAULT;
        }
        default:
            return -XEN_ENOSYS;
    }
}

long sim_do_sched_op(unsigned long cmd, unsigned long arg, unsigned long a3) {
    int rc;
    if (cmd != SCHEDOP_remote_shutdown) {
        if ((rc = sim_note_call(N_SCHED_other))) {
            return rc;
        }
        return -XEN_ENOSYS;
    }
    if ((rc = sim_note_call(N_SCHED_remote_shutdown))) {
        return rc;
    }
    struct sched_remote_shutdown r;
    if (!sim_copy_in(&r, arg, sizeof(r))) {
        return -XEN_EFAULT;
    }
    sim_domain_t *d = sim_find_domain(r.domain_id);
    if (d == NULL) {
        return -XEN_ESRCH;
    }
    if (d == sim.dom0) {
        return -XEN_EINVAL;
    }
    if ((rc = sim_xsm_priv())) {
        return rc;
    }
    return sim_domain_shutdown(d, (uint8_t)r.reason);
}

