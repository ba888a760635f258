// The sim's model state (one `sim`, guarded by sim_model_lock), the modelled
// devices and labels, and the helpers every part of the model uses: guest
// buffers (copy_from/to_guest), domain lookup, dom0's privilege, tracing and
// fault injection, range sets.
//
// Owns: the model's state and its lock. Must not know: any hypercall's
// rules (the other files of backends/sim/) or MicroPython objects.

#include "sim.h"

static pthread_mutex_t sim_lock = PTHREAD_MUTEX_INITIALIZER;
bool sim_up;
uint8_t sim_scratch[XENHV_SCRATCH_SIZE] __attribute__((aligned(4096)));

sim_state_t sim;

sim_device_t sim_devices[SIM_NDEVICES] = {
    { "/soc/ethernet@ff0e0000", true, -1 },
    { "/soc/mmc@ff170000", true, -1 },
    { "/soc/serial@ff010000", true, -1 },
    { "/soc/gpio@ff0a0000", false, -1 },
};

const char *const sim_default_labels[SIM_NDEFAULT_LABELS] = {
    [SID_XENBOOT] = "system_u:system_r:xenboot_t",
    [SID_XEN] = "system_u:system_r:xen_t",
    [SID_DOM0] = "system_u:system_r:dom0_t",
    [SID_DOMIO] = "system_u:system_r:domio_t",
    [SID_DOMXEN] = "system_u:system_r:domxen_t",
    [SID_UNLABELED] = "system_u:system_r:unlabeled_t",
    [SID_SECURITY] = "system_u:system_r:security_t",
    [SID_IOPORT] = "system_u:object_r:ioport_t",
    [SID_IOMEM] = "system_u:object_r:iomem_t",
    [SID_IRQ] = "system_u:object_r:irq_t",
    [SID_DEVICE] = "system_u:object_r:device_t",
    [SID_DOMU] = "system_u:system_r:domU_t",
    [SID_DOMDM] = "system_u:system_r:dm_dom_t",
    [14] = "system_u:system_r:isolated_domU_t",
    [15] = "system_u:system_r:prot_domU_t",
    [16] = "system_u:system_r:nomigrate_t",
};

#define X(id, s) s,
const char *const op_names[] = { OP_NAMES(X) };
#undef X

/******************************************************************************/
// Small helpers.

void *sim_xzalloc(size_t n) {
    void *p = calloc(1, n ? n : 1);
    if (p == NULL) {
        abort();    // the host is out of memory: nothing sensible to model
    }
    return p;
}

void *sim_xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (p == NULL) {
        abort();
    }
    return p;
}

void sim_model_lock(void) {
    pthread_mutex_lock(&sim_lock);
}

void sim_model_unlock(void) {
    pthread_mutex_unlock(&sim_lock);
}

// copy_from_guest / copy_to_guest: the binding's buffers live in the scratch
// area; anything else is a bad guest address (EFAULT), as for Xen.
void *sim_guest_ptr(uint64_t addr, size_t len) {
    uintptr_t base = (uintptr_t)sim_scratch;
    if (addr < base || len > XENHV_SCRATCH_SIZE || addr - base > XENHV_SCRATCH_SIZE - len) {
        return NULL;
    }
    return (void *)(uintptr_t)addr;
}

bool sim_copy_in(void *dst, uint64_t addr, size_t len) {
    void *src = sim_guest_ptr(addr, len);
    if (src == NULL) {
        return false;
    }
    memcpy(dst, src, len);
    return true;
}

// Count the call (an injected fault may fail it), then read its argument
// struct: 0, the fault's -errno or -EFAULT.
int sim_op_in(int name, void *dst, uint64_t arg, size_t len) {
    int rc = sim_note_call(name);
    if (rc == 0 && !sim_copy_in(dst, arg, len)) {
        rc = -XEN_EFAULT;
    }
    return rc;
}

bool sim_copy_out(uint64_t addr, const void *src, size_t len) {
    void *dst = sim_guest_ptr(addr, len);
    if (dst == NULL) {
        return false;
    }
    memcpy(dst, src, len);
    return true;
}

sim_domain_t *sim_find_domain(domid_t id) {
    for (sim_domain_t *d = sim.domains; d != NULL; d = d->next) {
        if (d->id == id) {
            return d;
        }
    }
    return NULL;
}

// rcu_lock_domain_by_any_id(): DOMID_SELF is the caller.
sim_domain_t *sim_find_rel(sim_domain_t *caller, domid_t id) {
    return id == DOMID_SELF ? caller : sim_find_domain(id);
}

// ... for hypercalls, where the caller is dom0.
sim_domain_t *sim_find_any(domid_t id) {
    return sim_find_rel(sim.dom0, id);
}

// Dom0's permission for privileged operations. With FLASK off this is the
// dummy policy (control domain or EPERM); with FLASK the decision is the
// security server's: EACCES when enforcing, allowed when permissive.
int sim_xsm_priv(void) {
    if (sim.privileged) {
        return 0;
    }
    switch (sim.flask) {
        case FLASK_ENFORCING:
            return -XEN_EACCES;
        case FLASK_PERMISSIVE:
            return 0;
        default:
            return -XEN_EPERM;
    }
}

/******************************************************************************/
// Tracing and fault injection.

int sim_note_call(int name) {
    if (sim.tracing && sim.ntrace < SIM_TRACE_MAX) {
        if (sim.ntrace == sim.trace_cap) {
            sim.trace_cap = sim.trace_cap ? sim.trace_cap * 2 : 256;
            sim.trace = sim_xrealloc(sim.trace, sim.trace_cap * sizeof(*sim.trace));
        }
        sim.trace[sim.ntrace++] = (uint16_t)name;
    }
    for (size_t i = 0; i < sim.nrules; i++) {
        sim_rule_t *r = &sim.rules[i];
        bool match = r->name < 0
            || (r->class_len > 0 && strncmp(op_names[name], r->prefix, r->class_len) == 0)
            || (r->class_len == 0 && r->name == name);
        if (match && --r->nth == 0) {
            int err = r->err;
            memmove(r, r + 1, (sim.nrules - i - 1) * sizeof(*r));
            sim.nrules--;
            return -err;
        }
    }
    return 0;
}

/******************************************************************************/
// Range sets (iomem permissions).

bool sim_rs_contains(const sim_rangeset_t *rs, uint64_t first, uint64_t last) {
    for (size_t i = 0; i < rs->n; i++) {
        if (rs->r[i].first <= first && last <= rs->r[i].last) {
            return true;
        }
    }
    return false;
}

void sim_rs_remove(sim_rangeset_t *rs, uint64_t first, uint64_t last) {
    for (size_t i = 0; i < rs->n;) {
        sim_range_t *r = &rs->r[i];
        if (r->last < first || r->first > last) {
            i++;
            continue;
        }
        if (r->first < first && r->last > last) {
            // split
            if (rs->n == rs->cap) {
                rs->cap = rs->cap ? rs->cap * 2 : 4;
                rs->r = sim_xrealloc(rs->r, rs->cap * sizeof(*rs->r));
                r = &rs->r[i];
            }
            memmove(r + 2, r + 1, (rs->n - i - 1) * sizeof(*r));
            r[1].first = last + 1;
            r[1].last = r->last;
            r->last = first - 1;
            rs->n++;
            return;
        }
        if (r->first < first) {
            r->last = first - 1;
            i++;
        } else if (r->last > last) {
            r->first = last + 1;
            i++;
        } else {
            memmove(r, r + 1, (rs->n - i - 1) * sizeof(*r));
            rs->n--;
        }
    }
}

void sim_rs_add(sim_rangeset_t *rs, uint64_t first, uint64_t last) {
    sim_rs_remove(rs, first, last);
    // merge with neighbours
    for (size_t i = 0; i < rs->n;) {
        sim_range_t *r = &rs->r[i];
        if ((last != UINT64_MAX && r->first == last + 1) || (first != 0 && r->last == first - 1)) {
            first = r->first < first ? r->first : first;
            last = r->last > last ? r->last : last;
            memmove(r, r + 1, (rs->n - i - 1) * sizeof(*r));
            rs->n--;
        } else {
            i++;
        }
    }
    size_t i = 0;
    while (i < rs->n && rs->r[i].first < first) {
        i++;
    }
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 4;
        rs->r = sim_xrealloc(rs->r, rs->cap * sizeof(*rs->r));
    }
    memmove(&rs->r[i + 1], &rs->r[i], (rs->n - i) * sizeof(*rs->r));
    rs->r[i].first = first;
    rs->r[i].last = last;
    rs->n++;
}

// Dom0's own I/O memory: everything addressable except what Xen keeps (the
// GIC distributor/redistributors and the UART Xen drives, on QEMU virt).
bool sim_dom0_iomem_ok(uint64_t first, uint64_t last) {
    static const sim_range_t xen_owned[] = {
        { 0x08000, 0x080ff },   // GICv3 distributor + ITS area
        { 0x080a0, 0x080ff },   // redistributors
        { 0x09000, 0x09000 },   // pl011@9000000 (Xen's console)
    };
    if (last >> (SIM_PA_BITS - 12)) {
        return false;
    }
    for (size_t i = 0; i < MP_ARRAY_SIZE(xen_owned); i++) {
        if (first <= xen_owned[i].last && last >= xen_owned[i].first) {
            return false;
        }
    }
    return true;
}

