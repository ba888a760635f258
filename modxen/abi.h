// Which Xen release this dom0 runs under, and the few places where the
// toolstack ABI differs between the releases this firmware speaks.
//
// Owns: the release table (abi.c), the choice of a row at start-up (from
// xen_version) and the compile-time check of the table against the Xen
// headers the build uses.
// Must not know: how a hypercall is issued (xenhv.h) or what Python sees
// (the binding turns a row into _xen.abi()).
//
// Everything not in a row is the same in 4.17-4.22 and comes from Xen's own
// headers (xenabi.h). A new release is one row plus its feature bits.
#ifndef MODXEN_ABI_H
#define MODXEN_ABI_H

#include <stdint.h>
#include <stddef.h>

// What a release has that 4.17 does not (the binding and the frozen
// package test these, never release numbers).
#define ABI_SVE             (1u << 0)   // createdomain arch.sve_vl (4.18)
#define ABI_TEE_FFA         (1u << 1)   // arch.tee_type FF-A (4.18)
#define ABI_DOMINFO_EXACT   (1u << 2)   // getdomaininfo of a missing domid fails (4.18)
#define ABI_ALTP2M          (1u << 3)   // createdomain altp2m options (4.19)
#define ABI_ALTP2M_NR       (1u << 4)   // ... as {u16 opts, u16 nr} (4.21)
#define ABI_ARM_SCI         (1u << 5)   // arch.arm_sci_type (4.21)
#define ABI_DOMAIN_STATE    (1u << 6)   // stable get_domain_state domctl (4.21)
#define ABI_XS_EVTCHN_PORT  (1u << 7)   // xenstore page evtchn_port field (4.21)
#define ABI_CONS_CONNECTION (1u << 8)   // console page connection flag (4.21)
#define ABI_DOMID_ANY       (1u << 9)   // automatic domid is DOMID_ANY, 0 means dom0 (4.22)

// Where a release was run: on real Xen (the real-Xen tier boots it) or only
// against the sim's model of it.
#define ABI_VERIFIED_SIM  0
#define ABI_VERIFIED_REAL 1

typedef struct {
    uint8_t major, minor;
    uint8_t domctl;         // XEN_DOMCTL_INTERFACE_VERSION
    uint8_t sysctl;         // XEN_SYSCTL_INTERFACE_VERSION
    // struct xen_domctl_createdomain after grant_opts: [altp2m,] vmtrace_size,
    // cpupool_id, arch. Offsets in bytes from the start of the struct.
    uint8_t cd_vmtrace;
    uint8_t cd_size;
    uint8_t arch_size;      // sizeof(struct xen_arch_domainconfig)
    uint8_t verified;
    uint16_t features;
} modxen_release_t;

// Offsets that every release shares (checked in abi.c).
#define ABI_CD_ALTP2M 48        // altp2m options, where ABI_ALTP2M
#define ABI_ARCH_GIC 0
#define ABI_ARCH_SVE 1
#define ABI_ARCH_TEE 2
#define ABI_ARCH_NR_SPIS 4
#define ABI_ARCH_CLOCK 8
#define ABI_ARCH_SCI 12

extern const modxen_release_t modxen_releases[];
extern const size_t modxen_nreleases;

// The row for major.minor, or NULL.
const modxen_release_t *modxen_release(unsigned major, unsigned minor);

// The release the binding found at start-up (NULL before that, or when the
// hypervisor is of a release outside the table). Backends that issue their
// own domctls (zephyr.c) take the interface version from here.
extern const modxen_release_t *modxen_running;

#endif // MODXEN_ABI_H
