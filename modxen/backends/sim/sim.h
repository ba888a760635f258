// The sim backend: an in-process model of Xen 4.17-4.22 on Arm64, at the
// hypercall ABI level. The binding (modxen.c) marshals Xen's public structs
// into xenhv_scratch() exactly as it does for a real hypervisor; the sim
// plays the hypervisor: it reads those structs with the Arm64 layouts of
// xenabi.h, applies Xen's rules (argument checks, errno values, domain life
// cycle, event-channel pairing, memory accounting, XSM) and writes results
// back the way Xen copies them back. docs/sim.md describes the model and
// where it deliberately differs from Xen.
//
// This header is the model shared by the files of backends/sim/: constants
// of the modelled machine, the model's types and state, and what each file
// offers the others (model.c, memory.c, evtchn.c, domain.c, flask.c,
// domctl.c, platform.c, xenhv.c, testmod.c; release.c for the release the
// sim acts as).
//
// Owns: the model's declarations. Must not know: MicroPython objects (only
// testmod.c makes them) or the binding (modxen.c), which it serves through
// xenhv.h.
//
// The model is guarded by one mutex (sim_model_lock): guest-side calls may
// come from other Python threads. MicroPython objects are created only with
// the mutex released (an allocation can run the GC, and a finaliser may call
// back into the backend).
#ifndef MODXEN_SIM_H
#define MODXEN_SIM_H

#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "py/mpconfig.h"
#include "py/misc.h"
#include "xenhv.h"
#include "xenerrno.h"
#include "release.h"
#include <xen/errno.h>

#ifndef MP_NORETURN
#define MP_NORETURN NORETURN    // MicroPython before 1.26
#endif

// Xen-internal values the public headers do not carry.
#define PSR_MODE_MASK 0x1fu
#define MEMOP_EXTENT_SHIFT 6
#define MEMOP_CMD_MASK ((1u << MEMOP_EXTENT_SHIFT) - 1)

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

typedef struct {
    const sim_release_t *rel;   // the Xen release the sim acts as
    uint8_t state_changed[DOMID_FIRST_RESERVED / 8];   // sim_get_domain_state marks (4.21+)
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
} sim_state_t;
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

#define SIM_NDEVICES 4
#define SIM_NDEFAULT_LABELS 17

// The model (model.c).
extern sim_state_t sim;
extern bool sim_up;
extern uint8_t sim_scratch[XENHV_SCRATCH_SIZE];
extern sim_device_t sim_devices[SIM_NDEVICES];
extern const char *const sim_default_labels[SIM_NDEFAULT_LABELS];
extern const char *const op_names[];
// drop_wakeups(n) (testmod.c): the next n wake signals are lost (xenhv.c)
extern volatile int sim_wake_drops;

// model.c (the model's state and small helpers)
void *sim_xzalloc(size_t n);
void *sim_xrealloc(void *p, size_t n);
void sim_model_lock(void);
void sim_model_unlock(void);
void *sim_guest_ptr(uint64_t addr, size_t len);
bool sim_copy_in(void *dst, uint64_t addr, size_t len);
bool sim_copy_out(uint64_t addr, const void *src, size_t len);
int sim_op_in(int name, void *dst, uint64_t arg, size_t len);
sim_domain_t *sim_find_domain(domid_t id);
sim_domain_t *sim_find_rel(sim_domain_t *caller, domid_t id);
sim_domain_t *sim_find_any(domid_t id);
int sim_xsm_priv(void);
int sim_note_call(int name);
bool sim_rs_contains(const sim_rangeset_t *rs, uint64_t first, uint64_t last);
void sim_rs_remove(sim_rangeset_t *rs, uint64_t first, uint64_t last);
void sim_rs_add(sim_rangeset_t *rs, uint64_t first, uint64_t last);
bool sim_dom0_iomem_ok(uint64_t first, uint64_t last);

// memory.c (guest memory)
long sim_gfn_slot(const sim_domain_t *d, uint64_t gfn);
void sim_slot_free(sim_domain_t *d, uint32_t slot);
uint64_t sim_free_pages(void);
long sim_do_memory_op(unsigned long cmd_in, unsigned long arg, unsigned long a3);
void sim_map_inert(uint8_t *addr, size_t n);

// evtchn.c (event channels)
sim_port_t *sim_port_of(sim_domain_t *d, uint32_t port);
void sim_send_global_virq(uint32_t virq);
int sim_port_close(sim_domain_t *d, uint32_t port);
int sim_evt_alloc_unbound(sim_domain_t *caller, domid_t dom, domid_t remote);
int sim_evt_bind_interdomain(sim_domain_t *ld, domid_t rdom, uint32_t rport);
int sim_evt_send(sim_domain_t *ld, uint32_t lport);
long sim_do_event_channel_op(unsigned long cmd, unsigned long arg, unsigned long a3);

// domain.c (domain life cycle)
void sim_domain_free(sim_domain_t *d);
void sim_state_changed(domid_t id);
void sim_domain_final(sim_domain_t *d);
int sim_domain_kill(sim_domain_t *d);
int sim_domain_shutdown(sim_domain_t *d, int reason);
sim_domain_t *sim_domain_new(domid_t id);
void sim_domain_insert(sim_domain_t *d);
void sim_ports_init(sim_domain_t *d, uint32_t max_port);
int sim_domain_create(domid_t *domid, struct xen_domctl_createdomain *c);

// flask.c (FLASK labels and xsm_op)
bool sim_label_is_domain(uint32_t sid);
void sim_labels_clear(void);
void sim_labels_add(const char *s, size_t n, uint32_t sid);
void sim_labels_default(void);
long sim_do_xsm_op(unsigned long arg, unsigned long a2, unsigned long a3);

// domctl.c (domctl)
void sim_fill_domaininfo(const sim_domain_t *d, struct xen_domctl_getdomaininfo *info);
int sim_get_domain_state(struct xen_domctl *op, unsigned long arg);
long sim_do_domctl(unsigned long arg, unsigned long a2, unsigned long a3);

// platform.c (sysctl, hvm_op, console_io, xen_version, sched_op)
long sim_do_sysctl(unsigned long arg, unsigned long a2, unsigned long a3);
long sim_do_hvm_op(unsigned long op, unsigned long arg, unsigned long a3);
long sim_do_console_io(unsigned long cmd, unsigned long count, unsigned long buf);
long sim_do_xen_version(unsigned long cmd, unsigned long arg, unsigned long a3);
long sim_do_sched_op(unsigned long cmd, unsigned long arg, unsigned long a3);

// xenhv.c (the backend interface)
void sim_model_reset(void);

// The hypercall decoders (domctl.c, platform.c, memory.c, evtchn.c, flask.c)
// share one signature: xenhv.c dispatches through a table of them.
// Their cases repeat one shape on purpose (read the op's own struct with
// sim_op_in, act, copy the result back where Xen does): each case names its
// own struct and fields, and a shared macro would hide which Xen copies back.
typedef long (*sim_decoder_t)(unsigned long a1, unsigned long a2, unsigned long a3);

#endif // MODXEN_SIM_H
