// The Xen releases this firmware speaks (see abi.h), as one table.
//
// The numbers were read from each release's public headers
// (xen/include/public/{domctl,sysctl,arch-arm}.h at RELEASE-4.x.0). The rows
// whose headers this build compiles against are checked below with
// offsetof/sizeof; tests/host/test_abi_headers.py compiles this file once
// more against every Debian libxen-dev the project can fetch.
#include "abi.h"
#include "xenabi.h"

#define F418 (ABI_SVE | ABI_TEE_FFA | ABI_DOMINFO_EXACT)
#define F419 (F418 | ABI_ALTP2M)
#define F421 (F419 | ABI_ALTP2M_NR | ABI_ARM_SCI | ABI_DOMAIN_STATE | ABI_XS_EVTCHN_PORT | ABI_CONS_CONNECTION)
#define F422 (F421 | ABI_DOMID_ANY)

//   major minor domctl sysctl vmtrace size arch verified features
#define MODXEN_RELEASES(X) \
    X(4, 17, 0x15, 0x15, 48, 68, 12, ABI_VERIFIED_REAL, 0) \
    X(4, 18, 0x16, 0x15, 48, 68, 12, ABI_VERIFIED_SIM, F418) \
    X(4, 19, 0x17, 0x15, 52, 72, 12, ABI_VERIFIED_SIM, F419) \
    X(4, 20, 0x17, 0x15, 52, 72, 12, ABI_VERIFIED_REAL, F419) \
    X(4, 21, 0x17, 0x16, 52, 76, 16, ABI_VERIFIED_SIM, F421) \
    X(4, 22, 0x18, 0x16, 52, 76, 16, ABI_VERIFIED_SIM, F422)

#define ROW(ma, mi, dc, sc, vt, sz, ar, ver, f) { ma, mi, dc, sc, vt, sz, ar, ver, f },
const modxen_release_t modxen_releases[] = { MODXEN_RELEASES(ROW) };
#undef ROW
const size_t modxen_nreleases = sizeof(modxen_releases) / sizeof(modxen_releases[0]);

const modxen_release_t *modxen_running;

const modxen_release_t *modxen_release(unsigned major, unsigned minor) {
    for (size_t i = 0; i < modxen_nreleases; i++) {
        if (modxen_releases[i].major == major && modxen_releases[i].minor == minor) {
            return &modxen_releases[i];
        }
    }
    return NULL;
}

/******************************************************************************/
// The build's own headers against their row. Which release the headers are
// is told by their interface versions (0x17 is 4.19, 4.20 and 4.21: 4.21
// bumped the sysctl version, 4.20 added set_llc_colors).

#if XEN_DOMCTL_INTERFACE_VERSION == 0x15
#define HDR_MINOR 17
#elif XEN_DOMCTL_INTERFACE_VERSION == 0x16
#define HDR_MINOR 18
#elif XEN_DOMCTL_INTERFACE_VERSION == 0x17 && XEN_SYSCTL_INTERFACE_VERSION == 0x16
#define HDR_MINOR 21
#elif XEN_DOMCTL_INTERFACE_VERSION == 0x17 && defined(XEN_DOMCTL_set_llc_colors)
#define HDR_MINOR 20
#elif XEN_DOMCTL_INTERFACE_VERSION == 0x17
#define HDR_MINOR 19
#elif XEN_DOMCTL_INTERFACE_VERSION == 0x18
#define HDR_MINOR 22
#else
#error "Xen's public headers are of a release this firmware does not speak (4.17-4.22 are)"
#endif

#define CD struct xen_domctl_createdomain
#define ARCH struct xen_arch_domainconfig
#define CHECK(ma, mi, dc, sc, vt, sz, ar, ver, f) \
    _Static_assert(mi != HDR_MINOR || (XEN_DOMCTL_INTERFACE_VERSION == dc \
        && XEN_SYSCTL_INTERFACE_VERSION == sc && offsetof(CD, vmtrace_size) == vt \
        && offsetof(CD, cpupool_id) == vt + 4 && offsetof(CD, arch) == vt + 8 \
        && sizeof(CD) == sz && sizeof(ARCH) == ar), \
        "the release table disagrees with Xen " #ma "." #mi "'s headers");
MODXEN_RELEASES(CHECK)
#undef CHECK

// The parts every release shares: the binding fills them through the
// header's own struct.
_Static_assert(offsetof(CD, grant_opts) == 44 && offsetof(CD, flags) == 20, "createdomain prefix");
_Static_assert(offsetof(ARCH, gic_version) == ABI_ARCH_GIC && offsetof(ARCH, tee_type) == ABI_ARCH_TEE
    && offsetof(ARCH, nr_spis) == ABI_ARCH_NR_SPIS && offsetof(ARCH, clock_frequency) == ABI_ARCH_CLOCK,
    "arch config");
_Static_assert(sizeof(struct xen_domctl) == 144 && offsetof(struct xen_domctl, u) == 16, "domctl header");
_Static_assert(sizeof(struct xen_sysctl) == 136 && sizeof(struct xen_sysctl_physinfo) == 112, "sysctl");
_Static_assert(sizeof(struct xen_domctl_getdomaininfo) == 120, "getdomaininfo");
_Static_assert(sizeof(struct vcpu_guest_context) == 352, "vcpu context");
#if HDR_MINOR >= 18
_Static_assert(offsetof(ARCH, sve_vl) == ABI_ARCH_SVE && XEN_DOMCTL_CONFIG_TEE_FFA == 2, "4.18 arch");
#endif
#if HDR_MINOR >= 19 && HDR_MINOR <= 20
_Static_assert(offsetof(CD, altp2m_opts) == ABI_CD_ALTP2M, "4.19 altp2m");
#endif
#if HDR_MINOR >= 21
_Static_assert(offsetof(CD, altp2m.opts) == ABI_CD_ALTP2M && offsetof(CD, altp2m.nr) == ABI_CD_ALTP2M + 2
    && offsetof(ARCH, arm_sci_type) == ABI_ARCH_SCI && XEN_DOMCTL_get_domain_state == 90, "4.21");
#endif
#if HDR_MINOR >= 22
_Static_assert(DOMID_ANY == 0x7ff5, "4.22 DOMID_ANY");
#endif
#undef CD
#undef ARCH
