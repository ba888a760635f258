// The sim backend: an in-process model of Xen 4.17 on Arm64, at the
// hypercall ABI level.
//
// The binding (modxen.c) marshals Xen's public structs into xenhv_scratch()
// exactly as it does for a real hypervisor; this file plays the hypervisor.
// It reads those structs with the Arm64 layouts of xenabi.h, applies Xen's
// rules (argument checks, errno values, domain life cycle, event-channel
// pairing, memory accounting, XSM) and writes the results back the way Xen
// copies them back. docs/sim.md describes the model and where it
// deliberately differs from Xen.
//
// Guest memory is real host memory: one memfd per domain, one page of the
// file per guest page. Dom0 mappings (xenhv_map_foreign) and the guest's own
// view (_xensim.guest_map) are MAP_SHARED mappings of the same file pages,
// so they alias the same bytes. A page stays alive while dom0 maps it, also
// after the guest gave it back or the domain died, as in Xen; a dying domain
// disappears once its last page is gone.
//
// The model is guarded by one mutex: guest-side calls may come from other
// Python threads. MicroPython objects are created only with the mutex
// released (an allocation can run the GC, and a finaliser may call back into
// the backend).

#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "py/runtime.h"
#include "py/objstr.h"
#include "py/objarray.h"

#include "xenhv.h"
#include "sim_release.h"
#include <xen/errno.h>

#ifndef MP_NORETURN
#define MP_NORETURN NORETURN    // MicroPython before 1.26
#endif

// Xen-internal values the public headers do not carry.
#define PSR_MODE_MASK 0x1fu
#define MEMOP_EXTENT_SHIFT 6
#define MEMOP_CMD_MASK ((1u << MEMOP_EXTENT_SHIFT) - 1)

const char xenhv_backend_name[] = "sim";

/******************************************************************************/
// Constants of the modelled machine (the QEMU virt board of the shared notes:
// 2 CPUs, 2 GiB, GICv3, dom0_mem=512M).

#define PG 4096u
#define SIM_TOTAL_PAGES (2048u * 256u)  // 2 GiB of RAM
#define SIM_XEN_PAGES 4096u             // Xen's own heap and image
#define SIM_DOM0_PAGES (512u * 256u)    // dom0_mem=512M
#define SIM_NR_CPUS 2
#define SIM_CPU_KHZ 62500               // QEMU virt's 62.5 MHz timer
#define SIM_PA_BITS 40
#define SIM_IPA_BITS 40
#define SIM_GIC_LINES 288               // QEMU virt GICv3: 256 SPIs
#define SIM_MAX_VIRT_CPUS 128
#define SIM_MAX_ORDER 20                // Xen's page allocator limit
#define SIM_CTLDOM_MAX_ORDER 12         // largest extent dom0 may ask for
#define SIM_MAX_PORTS 4096              // 2-level event channel ABI, 64-bit
#define SIM_MAX_GRANT_FRAMES 64         // gnttab_max_frames default
#define SIM_MAX_MAPTRACK_FRAMES 1024    // gnttab_max_maptrack_frames default
#define SIM_GNTTAB_MAX_VERSION 1        // Arm supports grant table v1 only
#define SIM_P2M_POOL_PAGES 16           // default paging pool of a domU
#define SIM_SERIAL_RX 128               // Xen's serial input ring
#define SIM_CONSOLE_OUT_MAX (1u << 20)
#define SIM_TRACE_MAX 100000
#define SIM_MAX_POLICY (64u << 20)

// FLASK initial SIDs, in Xen's order.
enum {
    SID_XENBOOT = 1, SID_XEN, SID_DOM0, SID_DOMIO, SID_DOMXEN, SID_UNLABELED,
    SID_SECURITY, SID_IOPORT, SID_IOMEM, SID_IRQ, SID_DEVICE, SID_DOMU, SID_DOMDM,
};

enum { FLASK_OFF, FLASK_PERMISSIVE, FLASK_ENFORCING };

// Event channel states (Xen's ECS_*).
enum { ECS_FREE, ECS_RESERVED, ECS_UNBOUND, ECS_INTERDOMAIN, ECS_VIRQ };

// Guest page (slot) states.
enum {
    PS_FREE,    // slot unused (zeroed)
    PS_P2M,     // allocated to the domain and mapped at a gfn
    PS_LEAKED,  // allocated but no longer in the p2m (gfn re-populated)
    PS_REFONLY, // given back by the domain, alive only through dom0 mappings
};

/******************************************************************************/
// Model state.

typedef struct {
    uint8_t state;
    uint8_t pending;
    uint8_t masked;
    uint16_t rdom;       // unbound: allowed remote; interdomain: remote domain
    uint32_t rport;      // interdomain: remote port
    uint32_t virq;
    uint32_t received;   // events delivered (guest side: since guest_pending)
} sim_port_t;

typedef struct {
    bool created;
    bool initialised;
    bool online;
    struct vcpu_guest_context ctx;
} sim_vcpu_t;

typedef struct {
    uint64_t first, last;
} sim_range_t;

typedef struct {
    sim_range_t *r;
    size_t n, cap;
} sim_rangeset_t;

typedef struct {
    uint64_t gfn, mfn, nr;
} sim_mmio_t;

typedef struct sim_domain {
    struct sim_domain *next;    // sorted by id
    domid_t id;
    uint64_t unique_id;
    bool dying;
    bool shut_down;
    bool creation_finished;
    int shutdown_code;          // -1: none
    int pause_count;            // controller (toolstack) pause count
    uint32_t cdf;
    uint32_t ssid;
    xen_domain_handle_t handle;
    uint8_t gic_version;
    uint16_t tee_type;
    uint32_t nr_spis;
    int32_t max_grant_frames, max_maptrack_frames;
    uint32_t grant_version;
    uint32_t max_vcpus;
    sim_vcpu_t *vcpus;
    uint64_t max_pages;
    uint64_t tot_pages;
    uint64_t pool_pages;
    unsigned address_size;
    uint64_t params[HVM_NR_PARAMS];
    uint32_t max_evtchn_port;
    uint32_t nports;
    sim_port_t *ports;
    uint16_t virq_port[NR_VIRQS];   // dom0 only (vcpu 0)
    uint32_t suspend_port;
    uint32_t cacheflushes;
    // guest memory
    int memfd;
    uint32_t file_pages;        // size of the memfd in pages
    uint32_t nslots;            // slots ever used
    uint32_t slot_cap;
    uint8_t *slot_state;
    uint32_t *slot_refs;        // dom0 mapping references
    uint64_t *slot_gfn;
    uint32_t *free_slots;
    uint32_t nfree;
    // gfn -> slot (open addressing)
    uint64_t *hkey;
    uint32_t *hval;
    uint8_t *hused;             // 0 empty, 1 used, 2 deleted
    size_t hcap, hcount, htomb;
    // I/O
    sim_rangeset_t iomem;
    sim_mmio_t *mmio;
    size_t nmmio, mmio_cap;
    uint8_t virq_reserved[1024 / 8];
} sim_domain_t;

typedef struct sim_map {
    struct sim_map *next;
    uint8_t *addr;
    size_t n;
    sim_domain_t *d;            // NULL once orphaned by reset()
    uint32_t slots[];
} sim_map_t;

typedef struct {
    const char *path;
    bool protected;             // behind the IOMMU
    int owner;                  // domid, or -1
} sim_device_t;

typedef struct {
    int16_t name;               // index in op_names, or -1 for "*"
    int16_t class_len;          // > 0: matches every name with this prefix
    uint32_t nth;
    int err;                    // Xen errno
    char prefix[24];
} sim_rule_t;

typedef struct {
    char *label;
    uint32_t sid;
} sim_label_t;

static pthread_mutex_t sim_lock = PTHREAD_MUTEX_INITIALIZER;
static bool sim_up;
static pthread_t sim_main_thread;
static uint8_t sim_scratch[XENHV_SCRATCH_SIZE] __attribute__((aligned(4096)));

static struct {
    const sim_release_t *rel;   // the Xen release the sim acts as
    uint8_t state_changed[DOMID_FIRST_RESERVED / 8];   // get_domain_state marks (4.21+)
    uint64_t unique_ids;
    sim_domain_t *domains;
    sim_domain_t *dom0;
    domid_t rover;
    bool privileged;
    int flask;
    sim_label_t *labels;
    size_t nlabels;
    uint8_t *policy;
    size_t policy_len;
    sim_map_t *maps;
    uint16_t irq_owner[1024];   // 0xffff: free
    sim_rule_t rules[16];
    size_t nrules;
    bool tracing;
    uint16_t *trace;
    size_t ntrace, trace_cap;
    uint8_t *con_out;
    size_t con_out_len, con_out_cap;
    uint8_t con_in[SIM_SERIAL_RX];
    size_t con_in_prod, con_in_cons;
} sim;

static sim_device_t sim_devices[] = {
    { "/soc/ethernet@ff0e0000", true, -1 },
    { "/soc/mmc@ff170000", true, -1 },
    { "/soc/serial@ff010000", true, -1 },
    { "/soc/gpio@ff0a0000", false, -1 },
};

static const char *const default_labels[] = {
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

/******************************************************************************/
// Operation names: what sim.trace() records and sim.fail() matches.

#define OP_NAMES(X) \
    X(DOMCTL_createdomain, "domctl.createdomain") \
    X(DOMCTL_destroydomain, "domctl.destroydomain") \
    X(DOMCTL_pausedomain, "domctl.pausedomain") \
    X(DOMCTL_unpausedomain, "domctl.unpausedomain") \
    X(DOMCTL_resumedomain, "domctl.resumedomain") \
    X(DOMCTL_getdomaininfo, "domctl.getdomaininfo") \
    X(DOMCTL_max_vcpus, "domctl.max_vcpus") \
    X(DOMCTL_max_mem, "domctl.max_mem") \
    X(DOMCTL_setvcpucontext, "domctl.setvcpucontext") \
    X(DOMCTL_getvcpucontext, "domctl.getvcpucontext") \
    X(DOMCTL_getvcpuinfo, "domctl.getvcpuinfo") \
    X(DOMCTL_setdomainhandle, "domctl.setdomainhandle") \
    X(DOMCTL_set_address_size, "domctl.set_address_size") \
    X(DOMCTL_get_address_size, "domctl.get_address_size") \
    X(DOMCTL_get_paging_mempool_size, "domctl.get_paging_mempool_size") \
    X(DOMCTL_set_paging_mempool_size, "domctl.set_paging_mempool_size") \
    X(DOMCTL_iomem_permission, "domctl.iomem_permission") \
    X(DOMCTL_memory_mapping, "domctl.memory_mapping") \
    X(DOMCTL_bind_pt_irq, "domctl.bind_pt_irq") \
    X(DOMCTL_unbind_pt_irq, "domctl.unbind_pt_irq") \
    X(DOMCTL_assign_device, "domctl.assign_device") \
    X(DOMCTL_deassign_device, "domctl.deassign_device") \
    X(DOMCTL_test_assign_device, "domctl.test_assign_device") \
    X(DOMCTL_cacheflush, "domctl.cacheflush") \
    X(DOMCTL_subscribe, "domctl.subscribe") \
    X(DOMCTL_get_domain_state, "domctl.get_domain_state") \
    X(DOMCTL_other, "domctl.other") \
    X(SYSCTL_physinfo, "sysctl.physinfo") \
    X(SYSCTL_getdomaininfolist, "sysctl.getdomaininfolist") \
    X(SYSCTL_other, "sysctl.other") \
    X(MEM_populate_physmap, "memory.populate_physmap") \
    X(MEM_decrease_reservation, "memory.decrease_reservation") \
    X(MEM_current_reservation, "memory.current_reservation") \
    X(MEM_maximum_reservation, "memory.maximum_reservation") \
    X(MEM_other, "memory.other") \
    X(HVM_set_param, "hvm.set_param") \
    X(HVM_get_param, "hvm.get_param") \
    X(HVM_other, "hvm.other") \
    X(EVT_alloc_unbound, "evtchn.alloc_unbound") \
    X(EVT_bind_interdomain, "evtchn.bind_interdomain") \
    X(EVT_bind_virq, "evtchn.bind_virq") \
    X(EVT_close, "evtchn.close") \
    X(EVT_send, "evtchn.send") \
    X(EVT_status, "evtchn.status") \
    X(EVT_unmask, "evtchn.unmask") \
    X(EVT_other, "evtchn.other") \
    X(XSM_load, "xsm.load") \
    X(XSM_getenforce, "xsm.getenforce") \
    X(XSM_setenforce, "xsm.setenforce") \
    X(XSM_context_to_sid, "xsm.context_to_sid") \
    X(XSM_sid_to_context, "xsm.sid_to_context") \
    X(XSM_relabel_domain, "xsm.relabel_domain") \
    X(XSM_policyvers, "xsm.policyvers") \
    X(XSM_other, "xsm.other") \
    X(CON_write, "console.write") \
    X(CON_read, "console.read") \
    X(CON_other, "console.other") \
    X(VER_version, "version.version") \
    X(VER_extraversion, "version.extraversion") \
    X(VER_other, "version.other") \
    X(SCHED_remote_shutdown, "sched.remote_shutdown") \
    X(SCHED_other, "sched.other") \
    X(OP_map, "map") \
    X(OP_unmap, "unmap") \
    X(OP_other, "other")

#define X(id, s) N_##id,
enum { OP_NAMES(X) N_COUNT };
#undef X
#define X(id, s) s,
static const char *const op_names[] = { OP_NAMES(X) };
#undef X

/******************************************************************************/
// Errno conversion between Xen's numbering and the host's.

typedef struct {
    uint8_t xen;
    uint8_t host;
} sim_errno_t;

static const sim_errno_t sim_errnos[] = {
    #define XEN_ERRNO(name, value) { value, name },
    #include <xen/errno.h>
    #undef XEN_ERRNO
};

static int errno_to_host(int xen) {
    for (size_t i = 0; i < MP_ARRAY_SIZE(sim_errnos); i++) {
        if (sim_errnos[i].xen == xen) {
            return sim_errnos[i].host;
        }
    }
    return EIO;
}

static int errno_to_xen(int host) {
    for (size_t i = 0; i < MP_ARRAY_SIZE(sim_errnos); i++) {
        if (sim_errnos[i].host == host) {
            return sim_errnos[i].xen;
        }
    }
    return -1;
}

/******************************************************************************/
// Small helpers.

static void *xzalloc(size_t n) {
    void *p = calloc(1, n ? n : 1);
    if (p == NULL) {
        abort();    // the host is out of memory: nothing sensible to model
    }
    return p;
}

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (p == NULL) {
        abort();
    }
    return p;
}

static void lock(void) {
    pthread_mutex_lock(&sim_lock);
}

static void unlock(void) {
    pthread_mutex_unlock(&sim_lock);
}

// copy_from_guest / copy_to_guest: the binding's buffers live in the scratch
// area; anything else is a bad guest address (EFAULT), as for Xen.
static void *guest_ptr(uint64_t addr, size_t len) {
    uintptr_t base = (uintptr_t)sim_scratch;
    if (addr < base || len > XENHV_SCRATCH_SIZE || addr - base > XENHV_SCRATCH_SIZE - len) {
        return NULL;
    }
    return (void *)(uintptr_t)addr;
}

static bool copy_in(void *dst, uint64_t addr, size_t len) {
    void *src = guest_ptr(addr, len);
    if (src == NULL) {
        return false;
    }
    memcpy(dst, src, len);
    return true;
}

static bool copy_out(uint64_t addr, const void *src, size_t len) {
    void *dst = guest_ptr(addr, len);
    if (dst == NULL) {
        return false;
    }
    memcpy(dst, src, len);
    return true;
}

static sim_domain_t *find_domain(domid_t id) {
    for (sim_domain_t *d = sim.domains; d != NULL; d = d->next) {
        if (d->id == id) {
            return d;
        }
    }
    return NULL;
}

// rcu_lock_domain_by_any_id(): DOMID_SELF is the caller.
static sim_domain_t *find_rel(sim_domain_t *caller, domid_t id) {
    return id == DOMID_SELF ? caller : find_domain(id);
}

// ... for hypercalls, where the caller is dom0.
static sim_domain_t *find_any(domid_t id) {
    return find_rel(sim.dom0, id);
}

// Dom0's permission for privileged operations. With FLASK off this is the
// dummy policy (control domain or EPERM); with FLASK the decision is the
// security server's: EACCES when enforcing, allowed when permissive.
static int xsm_priv(void) {
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

static int note_call(int name) {
    if (sim.tracing && sim.ntrace < SIM_TRACE_MAX) {
        if (sim.ntrace == sim.trace_cap) {
            sim.trace_cap = sim.trace_cap ? sim.trace_cap * 2 : 256;
            sim.trace = xrealloc(sim.trace, sim.trace_cap * sizeof(*sim.trace));
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

static bool rs_contains(const sim_rangeset_t *rs, uint64_t first, uint64_t last) {
    for (size_t i = 0; i < rs->n; i++) {
        if (rs->r[i].first <= first && last <= rs->r[i].last) {
            return true;
        }
    }
    return false;
}

static void rs_remove(sim_rangeset_t *rs, uint64_t first, uint64_t last) {
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
                rs->r = xrealloc(rs->r, rs->cap * sizeof(*rs->r));
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

static void rs_add(sim_rangeset_t *rs, uint64_t first, uint64_t last) {
    rs_remove(rs, first, last);
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
        rs->r = xrealloc(rs->r, rs->cap * sizeof(*rs->r));
    }
    memmove(&rs->r[i + 1], &rs->r[i], (rs->n - i) * sizeof(*rs->r));
    rs->r[i].first = first;
    rs->r[i].last = last;
    rs->n++;
}

// Dom0's own I/O memory: everything addressable except what Xen keeps (the
// GIC distributor/redistributors and the UART Xen drives, on QEMU virt).
static bool dom0_iomem_ok(uint64_t first, uint64_t last) {
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

/******************************************************************************/
// Guest memory: slots of the domain's memfd and the gfn -> slot map.

static size_t h_index(uint64_t key, size_t cap) {
    uint64_t h = key * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 20) & (cap - 1);
}

static void h_grow(sim_domain_t *d);

static long h_find(const sim_domain_t *d, uint64_t gfn) {
    if (d->hcap == 0) {
        return -1;
    }
    for (size_t i = h_index(gfn, d->hcap), n = 0; n < d->hcap; i = (i + 1) & (d->hcap - 1), n++) {
        if (d->hused[i] == 0) {
            return -1;
        }
        if (d->hused[i] == 1 && d->hkey[i] == gfn) {
            return (long)i;
        }
    }
    return -1;
}

static void h_put(sim_domain_t *d, uint64_t gfn, uint32_t slot) {
    if ((d->hcount + d->htomb + 1) * 4 >= d->hcap * 3) {
        h_grow(d);
    }
    size_t i = h_index(gfn, d->hcap);
    while (d->hused[i] == 1) {
        i = (i + 1) & (d->hcap - 1);
    }
    if (d->hused[i] == 2) {
        d->htomb--;
    }
    d->hused[i] = 1;
    d->hkey[i] = gfn;
    d->hval[i] = slot;
    d->hcount++;
}

static void h_grow(sim_domain_t *d) {
    size_t oldcap = d->hcap;
    uint64_t *k = d->hkey;
    uint32_t *v = d->hval;
    uint8_t *u = d->hused;
    d->hcap = oldcap ? oldcap * 2 : 64;
    while ((d->hcount + 1) * 4 >= d->hcap * 3) {
        d->hcap *= 2;
    }
    d->hkey = xzalloc(d->hcap * sizeof(*d->hkey));
    d->hval = xzalloc(d->hcap * sizeof(*d->hval));
    d->hused = xzalloc(d->hcap);
    d->hcount = 0;
    d->htomb = 0;
    for (size_t i = 0; i < oldcap; i++) {
        if (u[i] == 1) {
            h_put(d, k[i], v[i]);
        }
    }
    free(k);
    free(v);
    free(u);
}

static void h_del(sim_domain_t *d, size_t i) {
    d->hused[i] = 2;
    d->hcount--;
    d->htomb++;
}

static long gfn_slot(const sim_domain_t *d, uint64_t gfn) {
    long i = h_find(d, gfn);
    return i < 0 ? -1 : (long)d->hval[i];
}

static bool slot_alloc(sim_domain_t *d, uint32_t *out) {
    if (d->nfree > 0) {
        *out = d->free_slots[--d->nfree];
        return true;
    }
    if (d->nslots == d->slot_cap) {
        uint32_t cap = d->slot_cap ? d->slot_cap * 2 : 256;
        d->slot_state = xrealloc(d->slot_state, cap);
        d->slot_refs = xrealloc(d->slot_refs, cap * sizeof(*d->slot_refs));
        d->slot_gfn = xrealloc(d->slot_gfn, cap * sizeof(*d->slot_gfn));
        d->free_slots = xrealloc(d->free_slots, cap * sizeof(*d->free_slots));
        d->slot_cap = cap;
    }
    if (d->nslots == d->file_pages) {
        uint32_t pages = d->file_pages ? d->file_pages * 2 : 256;
        if (ftruncate(d->memfd, (off_t)pages * PG) != 0) {
            return false;
        }
        d->file_pages = pages;
    }
    *out = d->nslots++;
    d->slot_state[*out] = PS_FREE;
    d->slot_refs[*out] = 0;
    return true;
}

// Give a page back to the heap: its contents are scrubbed.
static void slot_free(sim_domain_t *d, uint32_t slot) {
    if (fallocate(d->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)slot * PG, PG) != 0) {
        static const uint8_t zero[PG];
        if (pwrite(d->memfd, zero, PG, (off_t)slot * PG) != (ssize_t)PG) {
            abort();
        }
    }
    d->slot_state[slot] = PS_FREE;
    d->free_slots[d->nfree++] = slot;
    d->tot_pages--;
}

static uint64_t pages_in_use(void) {
    uint64_t used = SIM_XEN_PAGES + SIM_DOM0_PAGES;
    for (sim_domain_t *d = sim.domains; d != NULL; d = d->next) {
        if (d != sim.dom0) {
            used += d->tot_pages + d->pool_pages;
        }
    }
    return used;
}

static uint64_t free_pages(void) {
    uint64_t used = pages_in_use();
    return used >= SIM_TOTAL_PAGES ? 0 : SIM_TOTAL_PAGES - used;
}

/******************************************************************************/
// Event channels.

static void domain_final(sim_domain_t *d);

static sim_port_t *port_of(sim_domain_t *d, uint32_t port) {
    return (d == NULL || port >= d->nports) ? NULL : &d->ports[port];
}

// evtchn_port_set_pending(). Dom0 behaves like Linux' evtchn driver: an
// event on an unmasked port is delivered (upcall) and leaves the port masked
// until the binding unmasks it; events on a masked port stay pending and are
// delivered by the unmask.
static void set_pending(sim_domain_t *d, uint32_t port) {
    sim_port_t *p = port_of(d, port);
    if (p == NULL) {
        return;
    }
    if (d == sim.dom0) {
        if (p->masked) {
            p->pending = 1;
            return;
        }
        p->masked = 1;
        p->pending = 0;
        p->received++;
        modxen_upcall(port);
    } else {
        p->pending = 1;
        p->received++;
    }
}

static void send_global_virq(uint32_t virq) {
    sim_domain_t *d0 = sim.dom0;
    if (d0 != NULL && virq < NR_VIRQS && d0->virq_port[virq] != 0) {
        set_pending(d0, d0->virq_port[virq]);
    }
}

// get_free_port()
static int port_alloc(sim_domain_t *d) {
    if (d->dying) {
        return -XEN_EINVAL;
    }
    for (uint32_t port = 0; port < d->nports; port++) {
        if (d->ports[port].state == ECS_FREE) {
            memset(&d->ports[port], 0, sizeof(d->ports[port]));
            return (int)port;
        }
    }
    return -XEN_ENOSPC;
}

static void port_free(sim_port_t *p) {
    memset(p, 0, sizeof(*p));
}

// evtchn_close()
static int port_close(sim_domain_t *d, uint32_t port) {
    sim_port_t *p = port_of(d, port);
    if (p == NULL) {
        return -XEN_EINVAL;
    }
    switch (p->state) {
        case ECS_FREE:
        case ECS_RESERVED:
            return -XEN_EINVAL;
        case ECS_VIRQ:
            if (p->virq < NR_VIRQS && d->virq_port[p->virq] == port) {
                d->virq_port[p->virq] = 0;
            }
            break;
        case ECS_INTERDOMAIN: {
            sim_domain_t *rd = find_domain(p->rdom);
            sim_port_t *rp = port_of(rd, p->rport);
            if (rp != NULL && rp->state == ECS_INTERDOMAIN && rp->rdom == d->id && rp->rport == port) {
                rp->state = ECS_UNBOUND;
                rp->rdom = d->id;
                rp->rport = 0;
            }
            break;
        }
        default:
            break;
    }
    port_free(p);
    return 0;
}

// evtchn_alloc_unbound(): a port in `d` that `remote` may bind to.
static int evt_alloc_unbound(sim_domain_t *caller, domid_t dom, domid_t remote) {
    sim_domain_t *d = find_rel(caller, dom);
    if (d == NULL) {
        return -XEN_ESRCH;
    }
    int port = port_alloc(d);
    if (port < 0) {
        return port;
    }
    if (d != caller && caller == sim.dom0) {
        int rc = xsm_priv();
        if (rc) {
            return rc;
        }
    } else if (d != caller) {
        return -XEN_EPERM;
    }
    sim_port_t *p = &d->ports[port];
    p->state = ECS_UNBOUND;
    p->rdom = remote == DOMID_SELF ? caller->id : remote;
    return port;
}

// evtchn_bind_interdomain(): a new port in `ld` connected to an unbound
// port of `rdom` that names `ld` as its remote. The new local port is marked
// pending (Xen's conservative "we may have lost notifications" fix-up).
static int evt_bind_interdomain(sim_domain_t *ld, domid_t rdom, uint32_t rport) {
    sim_domain_t *rd = find_rel(ld, rdom);
    if (rd == NULL) {
        return -XEN_ESRCH;
    }
    int lport = port_alloc(ld);
    if (lport < 0) {
        return lport;
    }
    sim_port_t *rp = port_of(rd, rport);
    if (rp == NULL || rp->state != ECS_UNBOUND || rp->rdom != ld->id) {
        return -XEN_EINVAL;
    }
    if (rd == ld && (uint32_t)lport == rport) {
        return -XEN_EINVAL;
    }
    sim_port_t *lp = &ld->ports[lport];
    lp->state = ECS_INTERDOMAIN;
    lp->rdom = rd->id;
    lp->rport = rport;
    rp->state = ECS_INTERDOMAIN;
    rp->rdom = ld->id;
    rp->rport = (uint32_t)lport;
    set_pending(ld, (uint32_t)lport);
    return lport;
}

// evtchn_send()
static int evt_send(sim_domain_t *ld, uint32_t lport) {
    sim_port_t *lp = port_of(ld, lport);
    if (lp == NULL) {
        return -XEN_EINVAL;
    }
    switch (lp->state) {
        case ECS_INTERDOMAIN:
            set_pending(find_domain(lp->rdom), lp->rport);
            return 0;
        case ECS_UNBOUND:
            return 0;   // silently dropped
        default:
            return -XEN_EINVAL;
    }
}

static int evt_bind_virq(sim_domain_t *d, uint32_t virq, uint32_t vcpu) {
    if (virq >= NR_VIRQS) {
        return -XEN_EINVAL;
    }
    bool global = !(virq == VIRQ_TIMER || virq == VIRQ_DEBUG || virq == VIRQ_XENOPROF || virq == VIRQ_XENPMU);
    if (global && vcpu != 0) {
        return -XEN_EINVAL;
    }
    if (vcpu >= (d == sim.dom0 ? SIM_NR_CPUS : d->max_vcpus)) {
        return -XEN_ENOENT;
    }
    if (d->virq_port[virq] != 0) {
        return -XEN_EEXIST;
    }
    int port = port_alloc(d);
    if (port < 0) {
        return port;
    }
    d->ports[port].state = ECS_VIRQ;
    d->ports[port].virq = virq;
    d->virq_port[virq] = (uint16_t)port;
    return port;
}

static int evt_unmask(sim_domain_t *d, uint32_t port) {
    sim_port_t *p = port_of(d, port);
    if (p == NULL) {
        return -XEN_EINVAL;
    }
    p->masked = 0;
    if (p->pending && p->state != ECS_FREE) {
        p->pending = 0;
        if (d == sim.dom0) {
            p->masked = 1;
            p->received++;
            modxen_upcall(port);
        }
    }
    return 0;
}

static int do_event_channel_op(unsigned long cmd, unsigned long arg) {
    sim_domain_t *cur = sim.dom0;
    int rc;
    switch (cmd) {
        case EVTCHNOP_alloc_unbound: {
            struct evtchn_alloc_unbound a;
            if ((rc = note_call(N_EVT_alloc_unbound))) {
                return rc;
            }
            if (!copy_in(&a, arg, sizeof(a))) {
                return -XEN_EFAULT;
            }
            rc = evt_alloc_unbound(cur, a.dom, a.remote_dom);
            if (rc < 0) {
                return rc;
            }
            a.port = rc;
            return copy_out(arg, &a, sizeof(a)) ? 0 : -XEN_EFAULT;
        }
        case EVTCHNOP_bind_interdomain: {
            struct evtchn_bind_interdomain b;
            if ((rc = note_call(N_EVT_bind_interdomain))) {
                return rc;
            }
            if (!copy_in(&b, arg, sizeof(b))) {
                return -XEN_EFAULT;
            }
            rc = evt_bind_interdomain(cur, b.remote_dom, b.remote_port);
            if (rc < 0) {
                return rc;
            }
            b.local_port = rc;
            return copy_out(arg, &b, sizeof(b)) ? 0 : -XEN_EFAULT;
        }
        case EVTCHNOP_bind_virq: {
            struct evtchn_bind_virq b;
            if ((rc = note_call(N_EVT_bind_virq))) {
                return rc;
            }
            if (!copy_in(&b, arg, sizeof(b))) {
                return -XEN_EFAULT;
            }
            rc = evt_bind_virq(cur, b.virq, b.vcpu);
            if (rc < 0) {
                return rc;
            }
            b.port = rc;
            return copy_out(arg, &b, sizeof(b)) ? 0 : -XEN_EFAULT;
        }
        case EVTCHNOP_close: {
            struct evtchn_close c;
            if ((rc = note_call(N_EVT_close))) {
                return rc;
            }
            if (!copy_in(&c, arg, sizeof(c))) {
                return -XEN_EFAULT;
            }
            return port_close(cur, c.port);
        }
        case EVTCHNOP_send: {
            struct evtchn_send s;
            if ((rc = note_call(N_EVT_send))) {
                return rc;
            }
            if (!copy_in(&s, arg, sizeof(s))) {
                return -XEN_EFAULT;
            }
            return evt_send(cur, s.port);
        }
        case EVTCHNOP_unmask: {
            struct evtchn_unmask u;
            if ((rc = note_call(N_EVT_unmask))) {
                return rc;
            }
            if (!copy_in(&u, arg, sizeof(u))) {
                return -XEN_EFAULT;
            }
            return evt_unmask(cur, u.port);
        }
        case EVTCHNOP_status: {
            struct evtchn_status s;
            if ((rc = note_call(N_EVT_status))) {
                return rc;
            }
            if (!copy_in(&s, arg, sizeof(s))) {
                return -XEN_EFAULT;
            }
            sim_domain_t *d = find_any(s.dom);
            if (d == NULL) {
                return -XEN_ESRCH;
            }
            if (d != cur && (rc = xsm_priv())) {
                return rc;
            }
            sim_port_t *p = port_of(d, s.port);
            if (p == NULL) {
                return -XEN_EINVAL;
            }
            memset(&s.u, 0, sizeof(s.u));
            s.vcpu = 0;
            switch (p->state) {
                case ECS_FREE:
                case ECS_RESERVED:
                    s.status = EVTCHNSTAT_closed;
                    break;
                case ECS_UNBOUND:
                    s.status = EVTCHNSTAT_unbound;
                    s.u.unbound.dom = p->rdom;
                    break;
                case ECS_INTERDOMAIN:
                    s.status = EVTCHNSTAT_interdomain;
                    s.u.interdomain.dom = p->rdom;
                    s.u.interdomain.port = p->rport;
                    break;
                default:
                    s.status = EVTCHNSTAT_virq;
                    s.u.virq = p->virq;
                    break;
            }
            return copy_out(arg, &s, sizeof(s)) ? 0 : -XEN_EFAULT;
        }
        default:
            if ((rc = note_call(N_EVT_other))) {
                return rc;
            }
            return -XEN_ENOSYS;
    }
}

/******************************************************************************/
// Domains.

static bool label_is_domain(uint32_t sid);

static void domain_free(sim_domain_t *d) {
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
static void state_changed(domid_t id) {
    if (id < DOMID_FIRST_RESERVED) {
        sim.state_changed[id / 8] |= 1u << (id % 8);
    }
}

static void domain_final(sim_domain_t *d) {
    state_changed(d->id);
    domain_unlink(d);
    domain_free(d);
    send_global_virq(VIRQ_DOM_EXC);
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
static int domain_kill(sim_domain_t *d) {
    if (d == sim.dom0) {
        return -XEN_EINVAL;
    }
    if (d->dying) {
        return 0;
    }
    d->dying = true;
    state_changed(d->id);
    for (uint32_t port = 0; port < d->nports; port++) {
        if (d->ports[port].state != ECS_FREE && d->ports[port].state != ECS_RESERVED) {
            port_close(d, port);
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
                slot_free(d, s);
            }
        }
    }
    for (size_t i = 0; i < d->hcap; i++) {
        d->hused[i] = 0;
    }
    d->hcount = d->htomb = 0;
    d->pool_pages = 0;
    send_global_virq(VIRQ_DOM_EXC);
    if (d->tot_pages == 0) {
        domain_final(d);
    }
    return 0;
}

// domain_shutdown(): the first reason sticks; VIRQ_DOM_EXC tells dom0.
static int domain_shutdown(sim_domain_t *d, int reason) {
    if (d->shutdown_code < 0) {
        d->shutdown_code = reason;
    }
    if (d->shut_down) {
        return 0;
    }
    d->shut_down = true;
    state_changed(d->id);
    if (d->shutdown_code == SHUTDOWN_suspend && d->suspend_port != 0
        && port_of(d, d->suspend_port) != NULL) {
        evt_send(d, d->suspend_port);
    } else {
        send_global_virq(VIRQ_DOM_EXC);
    }
    return 0;
}

static sim_domain_t *domain_new(domid_t id) {
    sim_domain_t *d = xzalloc(sizeof(*d));
    d->id = id;
    d->memfd = -1;
    d->shutdown_code = -1;
    d->address_size = 32;   // Arm64 domains start as AArch32 until told
    return d;
}

static void domain_insert(sim_domain_t *d) {
    sim_domain_t **pd = &sim.domains;
    while (*pd != NULL && (*pd)->id < d->id) {
        pd = &(*pd)->next;
    }
    d->next = *pd;
    *pd = d;
}

static void ports_init(sim_domain_t *d, uint32_t max_port) {
    d->max_evtchn_port = max_port;
    d->nports = max_port >= SIM_MAX_PORTS ? SIM_MAX_PORTS : max_port + 1;
    d->ports = xzalloc(d->nports * sizeof(*d->ports));
    d->ports[0].state = ECS_RESERVED;
}

static bool domid_free(domid_t id) {
    return id != 0 && id < DOMID_FIRST_RESERVED && find_domain(id) == NULL;
}

// XEN_DOMCTL_createdomain: sanitise_domain_config(), the Arm checks of
// arch_sanitise_domain_config() and arch_domain_create(), XSM, evtchn and
// grant-table limits, cpupool, then the domain exists, paused once.
#define SIM_DOMID_ANY 0x7ff5    // DOMID_ANY (4.22)

static int domain_create(domid_t *domid, struct xen_domctl_createdomain *c) {
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
    if (free_pages() < SIM_P2M_POOL_PAGES) {
        return -XEN_ENOMEM;
    }
    // xsm_domain_create()
    uint32_t ssid = c->ssidref ? c->ssidref : SID_UNLABELED;
    if (sim.flask != FLASK_OFF) {
        if (sim.flask == FLASK_ENFORCING && (!sim.privileged || !label_is_domain(ssid))) {
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
    sim_domain_t *d = domain_new(dom);
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
    d->vcpus = xzalloc(c->max_vcpus * sizeof(*d->vcpus));
    d->pause_count = 1;
    d->pool_pages = SIM_P2M_POOL_PAGES;
    ports_init(d, c->max_evtchn_port);
    // SGIs and the event-channel PPI are reserved in the vGIC
    for (unsigned i = 0; i < 16; i++) {
        d->virq_reserved[i / 8] |= 1u << (i % 8);
    }
    d->virq_reserved[GUEST_EVTCHN_PPI / 8] |= 1u << (GUEST_EVTCHN_PPI % 8);
    d->unique_id = ++sim.unique_ids;
    domain_insert(d);
    state_changed(dom);
    *domid = dom;
    return 0;
}

/******************************************************************************/
// FLASK label table.

static const sim_label_t *label_by_sid(uint32_t sid) {
    for (size_t i = 0; i < sim.nlabels; i++) {
        if (sim.labels[i].sid == sid) {
            return &sim.labels[i];
        }
    }
    return NULL;
}

static const sim_label_t *label_by_name(const char *s, size_t n) {
    for (size_t i = 0; i < sim.nlabels; i++) {
        if (strlen(sim.labels[i].label) == n && memcmp(sim.labels[i].label, s, n) == 0) {
            return &sim.labels[i];
        }
    }
    return NULL;
}

// A label dom0 may give a domain: role system_r and not one of Xen's own
// types. Unknown SIDs are unlabeled_t (Xen remaps invalid SIDs).
static bool label_is_domain(uint32_t sid) {
    static const char *const xen_types[] = {
        "xenboot_t", "xen_t", "dom0_t", "domio_t", "domxen_t", "unlabeled_t", "security_t",
    };
    const sim_label_t *l = label_by_sid(sid);
    if (l == NULL) {
        return false;
    }
    const char *role = strchr(l->label, ':');
    if (role == NULL || strncmp(role + 1, "system_r:", 9) != 0) {
        return false;
    }
    const char *type = role + 10;
    size_t tlen = strcspn(type, ":");
    for (size_t i = 0; i < MP_ARRAY_SIZE(xen_types); i++) {
        if (strlen(xen_types[i]) == tlen && memcmp(xen_types[i], type, tlen) == 0) {
            return false;
        }
    }
    return true;
}

static void labels_clear(void) {
    for (size_t i = 0; i < sim.nlabels; i++) {
        free(sim.labels[i].label);
    }
    free(sim.labels);
    sim.labels = NULL;
    sim.nlabels = 0;
}

static void labels_add(const char *s, size_t n, uint32_t sid) {
    sim.labels = xrealloc(sim.labels, (sim.nlabels + 1) * sizeof(*sim.labels));
    char *copy = xzalloc(n + 1);
    memcpy(copy, s, n);
    sim.labels[sim.nlabels].label = copy;
    sim.labels[sim.nlabels].sid = sid;
    sim.nlabels++;
}

static void labels_default(void) {
    labels_clear();
    for (size_t sid = 1; sid < MP_ARRAY_SIZE(default_labels); sid++) {
        labels_add(default_labels[sid], strlen(default_labels[sid]), sid);
    }
}

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

static void fill_domaininfo(const sim_domain_t *d, struct xen_domctl_getdomaininfo *info) {
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
    if (!copy_in(path, handle, size)) {
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
static int get_domain_state(struct xen_domctl *op, unsigned long arg) {
    uint8_t *u = (uint8_t *)&op->u;
    uint32_t pad0;
    memcpy(&pad0, u + 4, sizeof(pad0));
    if (pad0 != 0) {
        return -XEN_EINVAL;
    }
    sim_domain_t *d = NULL;
    if (op->domain != DOMID_INVALID) {
        d = find_domain(op->domain);
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
        d = find_domain(id);
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
    return copy_out(arg, op, sizeof(*op)) ? 0 : -XEN_EFAULT;
}

static int do_domctl(unsigned long arg) {
    struct xen_domctl op;
    int rc;
    if (!copy_in(&op, arg, sizeof(op))) {
        // The name is not known before the struct is read.
        if ((rc = note_call(N_DOMCTL_other))) {
            return rc;
        }
        return -XEN_EFAULT;
    }
    if ((rc = note_call(domctl_name(op.cmd)))) {
        return rc;
    }
    // From 4.21 get_domain_state is a stable domctl: its version is 0.
    bool stable = SIM_FROM(sim.rel, 21) && op.cmd == SIM_DOMCTL_get_domain_state;
    if (op.interface_version != (stable ? 0 : sim.rel->domctl)) {
        return -XEN_EACCES;
    }
    if (stable) {
        return get_domain_state(&op, arg);
    }
    sim_domain_t *cur = sim.dom0;
    sim_domain_t *d = NULL;
    bool copyback = false;

    if (op.cmd == XEN_DOMCTL_createdomain) {
        d = NULL;
    } else if (op.cmd == XEN_DOMCTL_getdomaininfo) {
        d = find_domain(op.domain);
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
        if ((rc = xsm_priv())) {
            return rc;
        }
        fill_domaininfo(d, &op.u.getdomaininfo);
        op.domain = d->id;
        return copy_out(arg, &op, sizeof(op)) ? 0 : -XEN_EFAULT;
    } else {
        if ((op.cmd == XEN_DOMCTL_assign_device || op.cmd == XEN_DOMCTL_deassign_device)
            && op.domain == DOMID_INVALID) {
            return -XEN_ESRCH;
        }
        d = find_domain(op.domain);
        if (d == NULL && !(op.cmd == XEN_DOMCTL_test_assign_device && op.domain == DOMID_INVALID)) {
            return -XEN_ESRCH;
        }
    }
    if ((rc = xsm_priv())) {
        return rc;
    }

    switch (op.cmd) {
        case XEN_DOMCTL_createdomain: {
            domid_t dom = op.domain;
            sim_createdomain_t cd;
            sim_cd_decode(sim.rel, &op.u, &cd);
            rc = createdomain_later_fields(&cd);
            if (rc == 0) {
                rc = domain_create(&dom, &cd.c);
            }
            if (rc == 0) {
                sim_cd_encode_arch(sim.rel, &op.u, &cd);
                op.domain = dom;
                copyback = true;
            }
            break;
        }
        case XEN_DOMCTL_destroydomain:
            rc = domain_kill(d);
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
            if (!copy_in(&ctx, h, sizeof(ctx))) {
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
            rc = copy_out(op.u.vcpucontext.ctxt.q, &ctx, sizeof(ctx)) ? 0 : -XEN_EFAULT;
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
            } else if (pages > d->pool_pages && pages - d->pool_pages > free_pages()) {
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
            } else if (!dom0_iomem_ok(mfn, last)) {
                rc = -XEN_EPERM;
            } else {
                if (op.u.iomem_permission.allow_access) {
                    rs_add(&d->iomem, mfn, last);
                } else {
                    rs_remove(&d->iomem, mfn, last);
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
            } else if (!dom0_iomem_ok(mfn, mfn_end) || !rs_contains(&d->iomem, mfn, mfn_end)) {
                rc = -XEN_EPERM;
            } else if (op.u.memory_mapping.add_mapping) {
                if ((gfn + nr - 1) >> (SIM_IPA_BITS - 12)) {
                    rc = -XEN_EINVAL;
                    break;
                }
                if (d->nmmio == d->mmio_cap) {
                    d->mmio_cap = d->mmio_cap ? d->mmio_cap * 2 : 4;
                    d->mmio = xrealloc(d->mmio, d->mmio_cap * sizeof(*d->mmio));
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
    if (copyback && !copy_out(arg, &op, sizeof(op))) {
        rc = -XEN_EFAULT;
    }
    return rc;
}

/******************************************************************************/
// Hypercall: sysctl.

static int do_sysctl(unsigned long arg) {
    struct xen_sysctl op;
    int rc;
    if (!copy_in(&op, arg, sizeof(op))) {
        if ((rc = note_call(N_SYSCTL_other))) {
            return rc;
        }
        return -XEN_EFAULT;
    }
    int name = op.cmd == XEN_SYSCTL_physinfo ? N_SYSCTL_physinfo
        : op.cmd == XEN_SYSCTL_getdomaininfolist ? N_SYSCTL_getdomaininfolist : N_SYSCTL_other;
    if ((rc = note_call(name))) {
        return rc;
    }
    if (op.interface_version != sim.rel->sysctl) {
        return -XEN_EACCES;
    }
    if ((rc = xsm_priv())) {
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
            pi->free_pages = free_pages();
            pi->max_mfn = 0x40000u + SIM_TOTAL_PAGES - 1;   // RAM at 1 GiB
            pi->capabilities = XEN_SYSCTL_PHYSCAP_directio | XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share
                | XEN_SYSCTL_PHYSCAP_vpmu | XEN_SYSCTL_PHYSCAP_gnttab_v1;
            return copy_out(arg, &op, sizeof(op)) ? 0 : -XEN_EFAULT;
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
                fill_domaininfo(d, &info);
                if (!copy_out(l->buffer.q + (uint64_t)n * sizeof(info), &info, sizeof(info))) {
                    return -XEN_EFAULT;
                }
                n++;
            }
            l->num_domains = n;
            return copy_out(arg, &op, sizeof(op)) ? 0 : -XEN_EFAULT;
        }
        default:
            return -XEN_ENOSYS;
    }
}

/******************************************************************************/
// Hypercall: memory_op.

// populate_physmap(): returns the number of extents done. Xen signals every
// failure (bad list, extent order, quota, dying domain, XSM) by doing fewer.
static long populate(sim_domain_t *d, struct xen_memory_reservation *r, unsigned long start) {
    unsigned order = r->extent_order;
    if (order > SIM_CTLDOM_MAX_ORDER) {
        return (long)start;
    }
    if (r->mem_flags & XENMEMF_populate_on_demand) {
        return (long)start;     // no PoD on Arm
    }
    uint64_t per = 1ull << order;
    unsigned long i;
    for (i = start; i < r->nr_extents; i++) {
        xen_pfn_t gpfn;
        if (!copy_in(&gpfn, r->extent_start.q + i * sizeof(xen_pfn_t), sizeof(gpfn))) {
            break;
        }
        if (d->dying || d->tot_pages + per > d->max_pages || free_pages() < per) {
            break;
        }
        if ((gpfn + per - 1) >> (SIM_IPA_BITS - 12) || gpfn + per - 1 < gpfn) {
            break;
        }
        bool ok = true;
        for (uint64_t j = 0; j < per; j++) {
            uint32_t slot;
            if (!slot_alloc(d, &slot)) {
                ok = false;
                break;
            }
            d->slot_state[slot] = PS_P2M;
            d->slot_gfn[slot] = gpfn + j;
            d->tot_pages++;
            long h = h_find(d, gpfn + j);
            if (h >= 0) {
                // the old page leaves the p2m but stays the domain's
                d->slot_state[d->hval[h]] = PS_LEAKED;
                d->hval[h] = slot;
            } else {
                h_put(d, gpfn + j, slot);
            }
        }
        if (!ok) {
            break;
        }
    }
    return (long)i;
}

static void page_release(sim_domain_t *d, uint32_t slot) {
    if (d->slot_refs[slot] > 0) {
        d->slot_state[slot] = PS_REFONLY;
    } else {
        slot_free(d, slot);
    }
}

static long decrease(sim_domain_t *d, struct xen_memory_reservation *r, unsigned long start) {
    unsigned order = r->extent_order;
    if (order > SIM_CTLDOM_MAX_ORDER) {
        return (long)start;
    }
    uint64_t per = 1ull << order;
    unsigned long i;
    for (i = start; i < r->nr_extents; i++) {
        xen_pfn_t gpfn;
        if (!copy_in(&gpfn, r->extent_start.q + i * sizeof(xen_pfn_t), sizeof(gpfn))) {
            break;
        }
        bool ok = true;
        for (uint64_t j = 0; j < per; j++) {
            long h = h_find(d, gpfn + j);
            if (h < 0) {
                ok = false;
                break;
            }
            uint32_t slot = d->hval[h];
            h_del(d, (size_t)h);
            page_release(d, slot);
        }
        if (!ok) {
            break;
        }
    }
    return (long)i;
}

static long do_memory_op(unsigned long cmd_in, unsigned long arg) {
    unsigned long start = cmd_in >> MEMOP_EXTENT_SHIFT;
    unsigned op = cmd_in & MEMOP_CMD_MASK;
    int rc;
    switch (op) {
        case XENMEM_populate_physmap:
        case XENMEM_decrease_reservation:
        case XENMEM_increase_reservation: {
            int name = op == XENMEM_populate_physmap ? N_MEM_populate_physmap
                : op == XENMEM_decrease_reservation ? N_MEM_decrease_reservation : N_MEM_other;
            if ((rc = note_call(name))) {
                return rc;
            }
            struct xen_memory_reservation r;
            if (!copy_in(&r, arg, sizeof(r))) {
                return (long)start;
            }
            if (r.nr_extents > (UINT_MAX >> MEMOP_EXTENT_SHIFT) || start >= r.nr_extents) {
                return (long)start;
            }
            sim_domain_t *d = find_any(r.domid);
            if (d == NULL || d == sim.dom0) {
                return (long)start;
            }
            if (xsm_priv()) {
                return (long)start;
            }
            if (op == XENMEM_populate_physmap) {
                return populate(d, &r, start);
            }
            if (op == XENMEM_decrease_reservation) {
                return decrease(d, &r, start);
            }
            return (long)start;     // increase_reservation: not modelled
        }
        case XENMEM_current_reservation:
        case XENMEM_maximum_reservation: {
            if ((rc = note_call(op == XENMEM_current_reservation
                ? N_MEM_current_reservation : N_MEM_maximum_reservation))) {
                return rc;
            }
            if (start) {
                return -XEN_EINVAL;
            }
            struct xen_memory_domain md;
            if (!copy_in(&md, arg, sizeof(md))) {
                return -XEN_EFAULT;
            }
            sim_domain_t *d = find_any(md.domid);
            if (d == NULL) {
                return -XEN_ESRCH;
            }
            if (d != sim.dom0 && (rc = xsm_priv())) {
                return rc;
            }
            if (d == sim.dom0) {
                return op == XENMEM_current_reservation ? SIM_DOM0_PAGES : (long)UINT32_MAX;
            }
            return (long)(op == XENMEM_current_reservation ? d->tot_pages : d->max_pages);
        }
        default:
            if ((rc = note_call(N_MEM_other))) {
                return rc;
            }
            return -XEN_ENOSYS;
    }
}

/******************************************************************************/
// Hypercall: hvm_op (Arm: get/set_param on a short list of parameters).

static int do_hvm_op(unsigned long op, unsigned long arg) {
    int rc;
    if (op != HVMOP_set_param && op != HVMOP_get_param) {
        if ((rc = note_call(N_HVM_other))) {
            return rc;
        }
        return -XEN_ENOSYS;
    }
    if ((rc = note_call(op == HVMOP_set_param ? N_HVM_set_param : N_HVM_get_param))) {
        return rc;
    }
    struct xen_hvm_param a;
    if (!copy_in(&a, arg, sizeof(a))) {
        return -XEN_EFAULT;
    }
    sim_domain_t *d = find_any(a.domid);
    if (d == NULL) {
        return -XEN_ESRCH;
    }
    if (d != sim.dom0 && (rc = xsm_priv())) {
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
    return copy_out(arg, &a, sizeof(a)) ? 0 : -XEN_EFAULT;
}

/******************************************************************************/
// Hypercall: xsm_op (FLASK).

#define FLASK_COPY_OUT_MASK ((1u << FLASK_CONTEXT_TO_SID) | (1u << FLASK_SID_TO_CONTEXT) \
    | (1u << FLASK_RELABEL_DOMAIN))

static int do_xsm_op(unsigned long arg) {
    struct xen_flask_op op;
    int rc;
    if (!copy_in(&op, arg, sizeof(op))) {
        if ((rc = note_call(N_XSM_other))) {
            return rc;
        }
        return sim.flask == FLASK_OFF ? -XEN_ENOSYS : -XEN_EFAULT;
    }
    int name;
    switch (op.cmd) {
        case FLASK_LOAD: name = N_XSM_load; break;
        case FLASK_GETENFORCE: name = N_XSM_getenforce; break;
        case FLASK_SETENFORCE: name = N_XSM_setenforce; break;
        case FLASK_CONTEXT_TO_SID: name = N_XSM_context_to_sid; break;
        case FLASK_SID_TO_CONTEXT: name = N_XSM_sid_to_context; break;
        case FLASK_RELABEL_DOMAIN: name = N_XSM_relabel_domain; break;
        case FLASK_POLICYVERS: name = N_XSM_policyvers; break;
        default: name = N_XSM_other; break;
    }
    if ((rc = note_call(name))) {
        return rc;
    }
    if (sim.flask == FLASK_OFF) {
        return -XEN_ENOSYS;     // dummy XSM
    }
    if (op.interface_version != XEN_FLASK_INTERFACE_VERSION) {
        return -XEN_ENOSYS;
    }
    // domain_has_security(): dom0_t holds every security permission.
    int deny = (!sim.privileged && sim.flask == FLASK_ENFORCING) ? -XEN_EACCES : 0;
    switch (op.cmd) {
        case FLASK_LOAD: {
            if (deny) {
                return deny;
            }
            if (op.u.load.size > SIM_MAX_POLICY) {
                return -XEN_EINVAL;
            }
            uint8_t *src = guest_ptr(op.u.load.buffer.q, op.u.load.size);
            if (src == NULL) {
                return -XEN_EFAULT;
            }
            // A binary policy starts with the SELinux magic and "XenFlask".
            static const uint8_t magic[] = { 0x8c, 0xff, 0x7c, 0xf9, 8, 0, 0, 0,
                                             'X', 'e', 'n', 'F', 'l', 'a', 's', 'k' };
            if (op.u.load.size < sizeof(magic) || memcmp(src, magic, sizeof(magic)) != 0) {
                return -XEN_EINVAL;
            }
            free(sim.policy);
            sim.policy = xzalloc(op.u.load.size);
            memcpy(sim.policy, src, op.u.load.size);
            sim.policy_len = op.u.load.size;
            rc = 0;
            break;
        }
        case FLASK_GETENFORCE:
            rc = sim.flask == FLASK_ENFORCING;
            break;
        case FLASK_SETENFORCE: {
            int want = op.u.enforce.enforcing ? FLASK_ENFORCING : FLASK_PERMISSIVE;
            if (want == sim.flask) {
                rc = 0;
            } else if (deny) {
                rc = deny;
            } else {
                sim.flask = want;
                rc = 0;
            }
            break;
        }
        case FLASK_CONTEXT_TO_SID: {
            if (deny) {
                return deny;
            }
            uint32_t size = op.u.sid_context.size;
            if (size > PG) {
                return -XEN_ENOBUFS;
            }
            const char *s = guest_ptr(op.u.sid_context.context.q, size);
            if (s == NULL) {
                return -XEN_EFAULT;
            }
            size_t n = strnlen(s, size);
            const sim_label_t *l = label_by_name(s, n);
            if (l == NULL) {
                return -XEN_EINVAL;
            }
            op.u.sid_context.sid = l->sid;
            rc = 0;
            break;
        }
        case FLASK_SID_TO_CONTEXT: {
            if (deny) {
                return deny;
            }
            const sim_label_t *l = label_by_sid(op.u.sid_context.sid);
            if (l == NULL) {
                l = label_by_sid(SID_UNLABELED);    // Xen remaps invalid SIDs
            }
            if (l == NULL) {
                return -XEN_EINVAL;
            }
            uint32_t len = strlen(l->label) + 1;
            if (len > op.u.sid_context.size) {
                return -XEN_ERANGE;
            }
            op.u.sid_context.size = len;
            if (!copy_out(op.u.sid_context.context.q, l->label, len)) {
                return -XEN_EFAULT;
            }
            rc = 0;
            break;
        }
        case FLASK_RELABEL_DOMAIN: {
            sim_domain_t *d = find_any((domid_t)op.u.relabel.domid);
            if (op.u.relabel.domid > 0xffff || d == NULL) {
                return -XEN_ESRCH;
            }
            if (sim.flask == FLASK_ENFORCING && (deny || !label_is_domain(op.u.relabel.sid))) {
                return -XEN_EACCES;
            }
            d->ssid = op.u.relabel.sid;
            rc = 0;
            break;
        }
        case FLASK_POLICYVERS:
            rc = 30;    // POLICYDB_VERSION_MAX
            break;
        default:
            return -XEN_ENOSYS;
    }
    if (rc >= 0 && (FLASK_COPY_OUT_MASK & (1u << op.cmd)) && !copy_out(arg, &op, sizeof(op))) {
        rc = -XEN_EFAULT;
    }
    return rc;
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
        sim.con_out = xrealloc(sim.con_out, cap);
        sim.con_out_cap = cap;
    }
    memcpy(sim.con_out + sim.con_out_len, p, n);
    sim.con_out_len += n;
}

static long do_console_io(unsigned long cmd, unsigned long count, unsigned long buf) {
    int rc;
    int name = cmd == CONSOLEIO_write ? N_CON_write : cmd == CONSOLEIO_read ? N_CON_read : N_CON_other;
    if ((rc = note_call(name))) {
        return rc;
    }
    if (!sim.privileged && sim.flask != FLASK_PERMISSIVE) {
        return sim.flask == FLASK_ENFORCING ? -XEN_EACCES : -XEN_EPERM;
    }
    count = (unsigned int)count;
    switch (cmd) {
        case CONSOLEIO_write: {
            const uint8_t *p = guest_ptr(buf, count);
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
                if (!copy_out(buf + n, &c, 1)) {
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

static long do_xen_version(unsigned long cmd, unsigned long arg) {
    int rc;
    int name = cmd == XENVER_version ? N_VER_version
        : cmd == XENVER_extraversion ? N_VER_extraversion : N_VER_other;
    if ((rc = note_call(name))) {
        return rc;
    }
    switch (cmd) {
        case XENVER_version:
            return (4 << 16) | sim.rel->minor;
        case XENVER_extraversion: {
            xen_extraversion_t v = { 0 };
            strncpy(v, sim.rel->extra, sizeof(v) - 1);
            return copy_out(arg, v, sizeof(v)) ? 0 : -XEN_EFAULT;
        }
        case XENVER_capabilities: {
            xen_capabilities_info_t v = "xen-3.0-aarch64 xen-3.0-armv7l ";
            return copy_out(arg, v, sizeof(v)) ? 0 : -XEN_EFAULT;
        }
        case XENVER_changeset: {
            xen_changeset_info_t v = "modxen sim model";
            return copy_out(arg, v, sizeof(v)) ? 0 : -XEN_EFAULT;
        }
        case XENVER_pagesize:
            return PG;
        case XENVER_get_features: {
            xen_feature_info_t fi;
            if (!copy_in(&fi, arg, sizeof(fi))) {
                return -XEN_EFAULT;
            }
            fi.submap = fi.submap_idx == 0
                ? (1u << XENFEAT_hvm_callback_vector) | (1u << XENFEAT_hvm_safe_pvclock)
                | (1u << XENFEAT_dom0)
                : 0;
            return copy_out(arg, &fi, sizeof(fi)) ? 0 : -XEN_EFAULT;
        }
        default:
            return -XEN_ENOSYS;
    }
}

static long do_sched_op(unsigned long cmd, unsigned long arg) {
    int rc;
    if (cmd != SCHEDOP_remote_shutdown) {
        if ((rc = note_call(N_SCHED_other))) {
            return rc;
        }
        return -XEN_ENOSYS;
    }
    if ((rc = note_call(N_SCHED_remote_shutdown))) {
        return rc;
    }
    struct sched_remote_shutdown r;
    if (!copy_in(&r, arg, sizeof(r))) {
        return -XEN_EFAULT;
    }
    sim_domain_t *d = find_domain(r.domain_id);
    if (d == NULL) {
        return -XEN_ESRCH;
    }
    if (d == sim.dom0) {
        return -XEN_EINVAL;
    }
    if ((rc = xsm_priv())) {
        return rc;
    }
    return domain_shutdown(d, (uint8_t)r.reason);
}

/******************************************************************************/
// The backend interface (xenhv.h).

uint8_t *xenhv_scratch(void) {
    return sim_scratch;
}

static void wake_handler(int sig) {
    (void)sig;
}

// Bring the model to its boot state: dom0 only, FLASK off, privileged.
static void model_reset(void) {
    while (sim.domains != NULL) {
        sim_domain_t *d = sim.domains;
        sim.domains = d->next;
        domain_free(d);
    }
    for (sim_map_t *m = sim.maps; m != NULL; m = m->next) {
        m->d = NULL;    // orphaned: unmap only gives the address range back
    }
    sim.dom0 = domain_new(0);
    sim.dom0->ssid = SID_DOM0;
    sim.dom0->max_vcpus = SIM_NR_CPUS;
    sim.dom0->address_size = 64;
    ports_init(sim.dom0, SIM_MAX_PORTS - 1);
    memset(sim.state_changed, 0, sizeof(sim.state_changed));
    sim.unique_ids = 0;
    sim.dom0->unique_id = ++sim.unique_ids;
    domain_insert(sim.dom0);
    sim.rover = 0;
    sim.privileged = true;
    sim.flask = FLASK_OFF;
    labels_default();
    free(sim.policy);
    sim.policy = NULL;
    sim.policy_len = 0;
    for (size_t i = 0; i < MP_ARRAY_SIZE(sim.irq_owner); i++) {
        sim.irq_owner[i] = 0xffff;
    }
    for (size_t i = 0; i < MP_ARRAY_SIZE(sim_devices); i++) {
        sim_devices[i].owner = -1;
    }
    sim.nrules = 0;
    sim.tracing = false;
    sim.ntrace = 0;
    sim.con_out_len = 0;
    sim.con_in_prod = sim.con_in_cons = 0;
}

int xenhv_init(void) {
    lock();
    if (!sim_up) {
        sim.rel = sim_release_select();
        if (sim.rel == NULL) {
            unlock();
            fprintf(stderr, "sim: MODXEN_SIM_XEN=%s: the sim acts as Xen 4.16 to 4.23\n", getenv("MODXEN_SIM_XEN"));
            return -XEN_EINVAL;
        }
        sim_main_thread = pthread_self();
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = wake_handler;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;    // no SA_RESTART: a blocked read()/select() returns EINTR
        sigaction(SIGRTMIN + 6, &sa, NULL);
        model_reset();
        sim_up = true;
    }
    unlock();
    return 0;
}

// The wake signal can land just before the interpreter enters a blocking
// call (then only the no-op handler runs and the call sleeps its full time).
// A kicker thread signals again, backing off from 2 ms to 128 ms, while the
// scheduler still holds unrun work, as the linux backend's reader does.
static pthread_mutex_t kick_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kick_cv = PTHREAD_COND_INITIALIZER;
static bool kick_wanted;
static bool kick_started;
static volatile int drop_wakeups;   // sim.drop_wakeups(n): lose the next n signals

// Work not yet picked up: PENDING, or queued behind a callback that runs now
// (the scheduler LOCKED; it turns PENDING when that callback returns, maybe
// just before the interpreter blocks again). Signals go only to PENDING work.
static bool sched_work_waiting(void) {
    int state = MP_STATE_VM(sched_state);
    if (state == MP_SCHED_PENDING) {
        return true;
    }
    if (state != MP_SCHED_LOCKED) {
        return false;
    }
    #if MICROPY_SCHEDULER_STATIC_NODES
    if (MP_STATE_VM(sched_head) != NULL) {
        return true;
    }
    #endif
    return MP_STATE_VM(sched_len) != 0;
}

static void *kicker_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&kick_mu);
    for (;;) {
        while (!kick_wanted) {
            pthread_cond_wait(&kick_cv, &kick_mu);
        }
        kick_wanted = false;
        pthread_mutex_unlock(&kick_mu);
        for (unsigned ms = 2; sched_work_waiting(); ms = ms < 128 ? ms * 2 : 128) {
            struct timespec ts = { 0, (long)ms * 1000000L };
            nanosleep(&ts, NULL);
            if (MP_STATE_VM(sched_state) == MP_SCHED_PENDING) {
                pthread_kill(sim_main_thread, SIGRTMIN + 6);
            }
        }
        pthread_mutex_lock(&kick_mu);
    }
    return NULL;
}

void xenhv_wake(void) {
    if (sim_up && !pthread_equal(pthread_self(), sim_main_thread)) {
        if (drop_wakeups > 0) {
            drop_wakeups--;     // the signal that lands too early, forced
        } else {
            pthread_kill(sim_main_thread, SIGRTMIN + 6);
        }
        pthread_mutex_lock(&kick_mu);
        if (!kick_started) {
            pthread_t t;
            pthread_attr_t a;
            pthread_attr_init(&a);
            pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
            // the kicker never runs Python: block every signal in it
            sigset_t all, old;
            sigfillset(&all);
            pthread_sigmask(SIG_BLOCK, &all, &old);
            kick_started = pthread_create(&t, &a, kicker_main, NULL) == 0;
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            pthread_attr_destroy(&a);
        }
        kick_wanted = true;
        pthread_cond_signal(&kick_cv);
        pthread_mutex_unlock(&kick_mu);
    }
}

long xenhv_hypercall(unsigned int op, unsigned long a1, unsigned long a2,
    unsigned long a3, unsigned long a4, unsigned long a5) {
    (void)a4;
    (void)a5;
    xenhv_init();
    long rc;
    lock();
    switch (op) {
        case __HYPERVISOR_domctl:
            rc = do_domctl(a1);
            break;
        case __HYPERVISOR_sysctl:
            rc = do_sysctl(a1);
            break;
        case __HYPERVISOR_memory_op:
            rc = do_memory_op(a1, a2);
            break;
        case __HYPERVISOR_hvm_op:
            rc = do_hvm_op(a1, a2);
            break;
        case __HYPERVISOR_event_channel_op:
            rc = do_event_channel_op(a1, a2);
            break;
        case __HYPERVISOR_xsm_op:
            rc = do_xsm_op(a1);
            break;
        case __HYPERVISOR_console_io:
            rc = do_console_io(a1, a2, a3);
            break;
        case __HYPERVISOR_xen_version:
            rc = do_xen_version(a1, a2);
            break;
        case __HYPERVISOR_sched_op:
            rc = do_sched_op(a1, a2);
            break;
        default:
            rc = note_call(N_OP_other);
            if (rc == 0) {
                rc = -XEN_ENOSYS;
            }
            break;
    }
    unlock();
    return rc;
}

static void map_inert(uint8_t *addr, size_t n) {
    // Replace the range with private zero pages (fixed, so it stays ours).
    if (mmap(addr, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
        abort();
    }
}

int xenhv_map_foreign(domid_t domid, const xen_pfn_t *gfns, int *errs,
    size_t n, bool writable, void **addr) {
    xenhv_init();
    lock();
    int rc = note_call(N_OP_map);
    sim_domain_t *d = NULL;
    if (rc == 0) {
        d = find_any(domid);
        if (d == NULL) {
            rc = -XEN_ESRCH;
        } else if ((rc = xsm_priv()) == 0 && d == sim.dom0) {
            rc = -XEN_EINVAL;
        }
    }
    int first = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc) {
            errs[i] = rc;
        } else {
            errs[i] = gfn_slot(d, gfns[i]) < 0 ? -XEN_EINVAL : 0;
        }
        if (errs[i] && !first) {
            first = errs[i];
        }
    }
    if (first || n == 0) {
        unlock();
        return n == 0 ? -XEN_EINVAL : first;
    }
    uint8_t *base = mmap(NULL, n * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        unlock();
        return -XEN_ENOMEM;
    }
    sim_map_t *m = xzalloc(sizeof(*m) + n * sizeof(uint32_t));
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    for (size_t i = 0; i < n; i++) {
        m->slots[i] = (uint32_t)gfn_slot(d, gfns[i]);
    }
    // One mmap per run of consecutive file pages (a 2 MiB extent is one run),
    // as privcmd maps a whole batch in one call.
    for (size_t i = 0; i < n;) {
        size_t run = 1;
        while (i + run < n && m->slots[i + run] == m->slots[i] + run) {
            run++;
        }
        if (mmap(base + i * PG, run * PG, prot, MAP_SHARED | MAP_FIXED, d->memfd,
            (off_t)m->slots[i] * PG) == MAP_FAILED) {
            for (size_t j = 0; j < i; j++) {
                d->slot_refs[m->slots[j]]--;
            }
            munmap(base, n * PG);
            for (size_t j = 0; j < n; j++) {
                errs[j] = j == i ? -XEN_ENOMEM : 0;
            }
            free(m);
            unlock();
            return -XEN_ENOMEM;
        }
        for (size_t j = i; j < i + run; j++) {
            d->slot_refs[m->slots[j]]++;
        }
        i += run;
    }
    m->addr = base;
    m->n = n;
    m->d = d;
    m->next = sim.maps;
    sim.maps = m;
    *addr = base;
    unlock();
    return 0;
}

// Drop a mapping's page references; the address range stays reserved.
static void map_release(sim_map_t *m) {
    sim_domain_t *d = m->d;
    map_inert(m->addr, m->n);
    if (d != NULL) {
        for (size_t i = 0; i < m->n; i++) {
            uint32_t s = m->slots[i];
            if (--d->slot_refs[s] == 0 && d->slot_state[s] == PS_REFONLY) {
                slot_free(d, s);
            }
        }
        if (d->dying && d->tot_pages == 0) {
            domain_final(d);
        }
    }
}

static sim_map_t *map_take(void *addr) {
    for (sim_map_t **pm = &sim.maps; *pm != NULL; pm = &(*pm)->next) {
        if ((*pm)->addr == addr) {
            sim_map_t *m = *pm;
            *pm = m->next;
            return m;
        }
    }
    return NULL;
}

int xenhv_unmap_foreign(void *addr, size_t n) {
    xenhv_init();
    lock();
    int rc = note_call(N_OP_unmap);
    if (rc == 0) {
        sim_map_t *m = map_take(addr);
        if (m == NULL || m->n != n) {
            if (m != NULL) {
                m->next = sim.maps;
                sim.maps = m;
            }
            rc = -XEN_EINVAL;
        } else {
            map_release(m);
            free(m);
        }
    }
    unlock();
    return rc;
}

void xenhv_release_va(void *addr, size_t n) {
    lock();
    sim_map_t *m = map_take(addr);
    if (m != NULL) {
        map_release(m);
        n = m->n;
        free(m);
    }
    unlock();
    // The range stays reserved (inert, untouched pages cost no memory): a
    // memoryview of the mapping may outlive the Mapping object (MicroPython's
    // memoryview does not keep its owner alive), and a reused range would
    // let that view see another mapping. Inert ranges are alike, so the
    // kernel merges neighbours into one VMA.
    (void)n;
}

int xenhv_evtchn_bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port) {
    xenhv_init();
    lock();
    int rc = note_call(N_EVT_bind_interdomain);
    if (rc == 0) {
        rc = evt_bind_interdomain(sim.dom0, remote_dom, remote_port);
    }
    unlock();
    return rc;
}

int xenhv_evtchn_bind_virq(uint32_t virq) {
    xenhv_init();
    lock();
    int rc = note_call(N_EVT_bind_virq);
    if (rc == 0) {
        rc = evt_bind_virq(sim.dom0, virq, 0);
    }
    unlock();
    return rc;
}

int xenhv_evtchn_alloc_unbound(domid_t remote_dom) {
    xenhv_init();
    lock();
    int rc = note_call(N_EVT_alloc_unbound);
    if (rc == 0) {
        rc = evt_alloc_unbound(sim.dom0, DOMID_SELF, remote_dom);
    }
    unlock();
    return rc;
}

int xenhv_evtchn_notify(evtchn_port_t port) {
    xenhv_init();
    lock();
    int rc = note_call(N_EVT_send);
    if (rc == 0) {
        rc = evt_send(sim.dom0, port);
    }
    unlock();
    return rc;
}

int xenhv_evtchn_unmask(evtchn_port_t port) {
    xenhv_init();
    lock();
    int rc = note_call(N_EVT_unmask);
    if (rc == 0) {
        rc = evt_unmask(sim.dom0, port);
    }
    unlock();
    return rc;
}

int xenhv_evtchn_close(evtchn_port_t port) {
    xenhv_init();
    lock();
    int rc = note_call(N_EVT_close);
    if (rc == 0) {
        rc = port_close(sim.dom0, port);
    }
    unlock();
    return rc;
}

/******************************************************************************/
// _xensim: the test's side of the model (guest actions, inspection, faults).

static MP_NORETURN void sim_raise(int xen_err) {
    mp_raise_OSError(errno_to_host(xen_err < 0 ? -xen_err : xen_err));
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
    sim_domain_t *d = find_domain(id);
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
    lock();
    model_reset();
    unlock();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(sim_reset_obj, sim_reset);

static mp_obj_t sim_set_privileged(mp_obj_t flag) {
    xenhv_init();
    lock();
    sim.privileged = mp_obj_is_true(flag);
    unlock();
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
    lock();
    sim.flask = m;
    if (map != NULL) {
        labels_clear();
        for (size_t i = 0; i < map->alloc; i++) {
            if (mp_map_slot_is_filled(map, i)) {
                size_t len;
                const char *s = mp_obj_str_get_data(map->table[i].key, &len);
                labels_add(s, len, (uint32_t)mp_obj_get_int(map->table[i].value));
            }
        }
    }
    unlock();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(sim_flask_obj, 1, 2, sim_flask);

static mp_obj_t sim_flask_policy(void) {
    xenhv_init();
    lock();
    size_t n = sim.policy_len;
    uint8_t *copy = NULL;
    if (sim.policy != NULL) {
        copy = xzalloc(n);
        memcpy(copy, sim.policy, n);
    }
    unlock();
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
    int xerr = errno_to_xen((int)a[ARG_errno].u_int);
    if (a[ARG_errno].u_int <= 0 || xerr <= 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("errno has no Xen equivalent"));
    }
    r.nth = (uint32_t)a[ARG_nth].u_int;
    r.err = xerr;
    xenhv_init();
    lock();
    bool full = sim.nrules == MP_ARRAY_SIZE(sim.rules);
    if (!full) {
        sim.rules[sim.nrules++] = r;
    }
    unlock();
    if (full) {
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("too many pending faults"));
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_KW(sim_fail_obj, 1, sim_fail);

// drop_wakeups(n): the next n wake signals are lost, as when one lands
// just before the interpreter blocks; the kicker must recover.
static mp_obj_t sim_drop_wakeups(mp_obj_t n) {
    drop_wakeups = mp_obj_get_int(n);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(sim_drop_wakeups_obj, sim_drop_wakeups);

static mp_obj_t sim_fail_clear(void) {
    xenhv_init();
    lock();
    sim.nrules = 0;
    unlock();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(sim_fail_clear_obj, sim_fail_clear);

static mp_obj_t sim_trace(mp_obj_t on) {
    xenhv_init();
    lock();
    sim.tracing = mp_obj_is_true(on);
    if (sim.tracing) {
        sim.ntrace = 0;
    }
    unlock();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(sim_trace_obj, sim_trace);

static mp_obj_t sim_calls(void) {
    xenhv_init();
    mp_obj_t list = mp_obj_new_list(0, NULL);
    // The trace only grows; read it in chunks without holding the lock over
    // an allocation.
    for (size_t i = 0;; i++) {
        lock();
        int name = i < sim.ntrace ? sim.trace[i] : -1;
        unlock();
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
        lock();
        size_t n = sim.con_out_len;
        size_t have = v.alloc;
        if (n <= have) {
            memcpy(v.buf, sim.con_out, n);
            v.len = n;
            sim.con_out_len = 0;
            unlock();
            break;
        }
        unlock();
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
    lock();
    size_t n = 0;
    while (n < b.len && sim.con_in_prod - sim.con_in_cons < SIM_SERIAL_RX) {
        sim.con_in[sim.con_in_prod % SIM_SERIAL_RX] = ((const uint8_t *)b.buf)[n];
        sim.con_in_prod++;
        n++;
    }
    if (n > 0) {
        send_global_virq(VIRQ_CONSOLE);
    }
    unlock();
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
        map_inert(self->addr, 1);
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
    lock();
    sim_domain_t *d;
    int rc = guest_domain(domid, &d);
    if (rc == 0) {
        long slot = gfn_slot(d, (uint64_t)gfn);
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
    unlock();
    sim_check(rc);
    return MP_OBJ_FROM_PTR(o);
}
static MP_DEFINE_CONST_FUN_OBJ_2(sim_guest_map_obj, sim_guest_map);

static mp_obj_t sim_guest_notify(mp_obj_t domid, mp_obj_t port) {
    domid_t id = sim_domid(domid);
    uint32_t p = sim_port_arg(port);
    xenhv_init();
    lock();
    sim_domain_t *d;
    int rc = guest_domain(id, &d);
    if (rc == 0) {
        rc = evt_send(d, p);
    }
    unlock();
    sim_check(rc);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(sim_guest_notify_obj, sim_guest_notify);

static mp_obj_t sim_guest_pending(mp_obj_t domid, mp_obj_t port) {
    domid_t id = sim_domid(domid);
    uint32_t p = sim_port_arg(port);
    xenhv_init();
    lock();
    sim_domain_t *d;
    uint32_t n = 0;
    int rc = guest_domain(id, &d);
    if (rc == 0) {
        sim_port_t *sp = port_of(d, p);
        if (sp == NULL) {
            rc = -XEN_EINVAL;
        } else {
            n = sp->received;
            sp->received = 0;
            sp->pending = 0;
        }
    }
    unlock();
    sim_check(rc);
    return mp_obj_new_int_from_uint(n);
}
static MP_DEFINE_CONST_FUN_OBJ_2(sim_guest_pending_obj, sim_guest_pending);

static mp_obj_t sim_guest_bind_interdomain(mp_obj_t domid, mp_obj_t remote_dom, mp_obj_t remote_port) {
    domid_t id = sim_domid(domid);
    domid_t rd = sim_domid(remote_dom);
    uint32_t rp = sim_port_arg(remote_port);
    xenhv_init();
    lock();
    sim_domain_t *d;
    int rc = guest_domain(id, &d);
    if (rc == 0) {
        rc = evt_bind_interdomain(d, rd, rp);
    }
    unlock();
    sim_check(rc);
    return MP_OBJ_NEW_SMALL_INT(rc);
}
static MP_DEFINE_CONST_FUN_OBJ_3(sim_guest_bind_interdomain_obj, sim_guest_bind_interdomain);

static mp_obj_t sim_guest_alloc_unbound(mp_obj_t domid, mp_obj_t remote_dom) {
    domid_t id = sim_domid(domid);
    domid_t rd = sim_domid(remote_dom);
    xenhv_init();
    lock();
    sim_domain_t *d;
    int rc = guest_domain(id, &d);
    if (rc == 0) {
        rc = evt_alloc_unbound(d, DOMID_SELF, rd);
    }
    unlock();
    sim_check(rc);
    return MP_OBJ_NEW_SMALL_INT(rc);
}
static MP_DEFINE_CONST_FUN_OBJ_2(sim_guest_alloc_unbound_obj, sim_guest_alloc_unbound);

static mp_obj_t sim_guest_close(mp_obj_t domid, mp_obj_t port) {
    domid_t id = sim_domid(domid);
    uint32_t p = sim_port_arg(port);
    xenhv_init();
    lock();
    sim_domain_t *d;
    int rc = guest_domain(id, &d);
    if (rc == 0) {
        rc = port_close(d, p);
    }
    unlock();
    sim_check(rc);
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
    xenhv_init();
    lock();
    sim_domain_t *d;
    int rc = guest_domain(id, &d);
    if (rc == 0) {
        rc = domain_shutdown(d, code);
    }
    unlock();
    sim_check(rc);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(sim_guest_shutdown_obj, sim_guest_shutdown);

static mp_obj_t sim_mappings(void) {
    xenhv_init();
    lock();
    size_t n = 0;
    for (sim_map_t *m = sim.maps; m != NULL; m = m->next) {
        n++;
    }
    unlock();
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
    sim_snapshot_t *s = xzalloc(sizeof(*s));
    lock();
    sim_domain_t *d = find_domain(id);
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
        s->ports = xzalloc(d->nports * sizeof(*s->ports));
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
        s->iomem = xzalloc(d->iomem.n * sizeof(*s->iomem));
        memcpy(s->iomem, d->iomem.r, d->iomem.n * sizeof(*s->iomem));
        s->mmio = xzalloc(d->nmmio * sizeof(*s->mmio));
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
    unlock();
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
    lock();
    for (size_t i = 0; i < MP_ARRAY_SIZE(sim_devices); i++) {
        owners[i] = sim_devices[i].owner;
    }
    unlock();
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
