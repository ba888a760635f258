// The Xen release the sim acts as: its version, interface versions and the
// createdomain layout, for the sim backend (backends/sim/).
//
// Owns: which release the sim plays (MODXEN_SIM_XEN=4.20, default 4.17) and
// the translation between that release's struct xen_domctl_createdomain and
// the 4.17 struct the model works on.
// Must not know: the binding's release table (abi.c). The layouts here are
// written as each release's headers declare them, as structs, so that a
// wrong row in abi.c fails against the sim instead of agreeing with itself.
#include <stdlib.h>
#include <string.h>

#include "release.h"

// After grant_opts, as each release declares it (xen/include/public/domctl.h
// and arch-arm.h at RELEASE-4.x.0).
struct head {
    uint32_t ssidref;
    uint8_t handle[16];
    uint32_t flags, iommu_opts, max_vcpus, max_evtchn_port;
    int32_t max_grant_frames, max_maptrack_frames;
    uint32_t grant_opts;
};
struct arch417 {
    uint8_t gic_version;
    uint16_t tee_type;
    uint32_t nr_spis, clock_frequency;
};
struct arch418 {
    uint8_t gic_version, sve_vl;
    uint16_t tee_type;
    uint32_t nr_spis, clock_frequency;
};
struct arch421 {
    uint8_t gic_version, sve_vl;
    uint16_t tee_type;
    uint32_t nr_spis, clock_frequency;
    uint8_t arm_sci_type;
};
struct arch422 {
    uint8_t gic_version, sve_vl;
    uint16_t tee_type;
    uint32_t nr_spis, clock_frequency;
    uint8_t arm_sci_type, v8r_el1_msa;
    uint16_t pad;
};
struct cd417 { struct head h; uint32_t vmtrace_size, cpupool_id; struct arch417 arch; };
struct cd418 { struct head h; uint32_t vmtrace_size, cpupool_id; struct arch418 arch; };
struct cd419 { struct head h; uint32_t altp2m_opts, vmtrace_size, cpupool_id; struct arch418 arch; };
struct cd421 { struct head h; uint16_t altp2m_opts, altp2m_nr; uint32_t vmtrace_size, cpupool_id; struct arch421 arch; };
struct cd422 { struct head h; uint16_t altp2m_opts, altp2m_nr; uint32_t vmtrace_size, cpupool_id; struct arch422 arch; };
_Static_assert(sizeof(struct cd417) == 68 && sizeof(struct cd418) == 68 && sizeof(struct cd419) == 72
    && sizeof(struct cd421) == 76 && sizeof(struct cd422) == 76, "createdomain sizes");
_Static_assert(sizeof(struct head) == offsetof(struct xen_domctl_createdomain, grant_opts) + 4, "head");

enum { L417, L418, L419, L421, L422 };

static const sim_release_t releases[] = {
    // 4.16 and 4.23 are outside what the firmware speaks: for its refusal.
    { 16, 0x14, 0x14, L417, ".3-sim" },
    { 17, 0x15, 0x15, L417, ".7-sim" },
    { 18, 0x16, 0x15, L418, ".6-sim" },
    { 19, 0x17, 0x15, L419, ".6-sim" },
    { 20, 0x17, 0x15, L419, ".4-sim" },
    { 21, 0x17, 0x16, L421, ".2-sim" },
    { 22, 0x18, 0x16, L422, ".0-sim" },
    { 23, 0x19, 0x16, L422, "-unstable-sim" },
};

const sim_release_t *sim_release_select(void) {
    const char *want = getenv("MODXEN_SIM_XEN");
    if (want == NULL || *want == 0) {
        want = "4.17";
    }
    for (size_t i = 0; i < sizeof(releases) / sizeof(releases[0]); i++) {
        char name[8] = "4.";
        name[2] = '0' + releases[i].minor / 10;
        name[3] = '0' + releases[i].minor % 10;
        if (strcmp(want, name) == 0) {
            return &releases[i];
        }
    }
    return NULL;
}

#define HEAD_IN(s) memcpy(&out->c, &(s)->h, sizeof((s)->h))
#define ARCH_IN(s) do { \
        out->c.arch.gic_version = (s)->arch.gic_version; \
        out->c.arch.tee_type = (s)->arch.tee_type; \
        out->c.arch.nr_spis = (s)->arch.nr_spis; \
        out->c.vmtrace_size = (s)->vmtrace_size; \
        out->c.cpupool_id = (s)->cpupool_id; \
} while (0)

// One layout's fields, then the ones that release added (each later layout
// is a superset of the one before it).
#define DECODE(type, later) { \
        const struct type *s = u; \
        HEAD_IN(s); \
        ARCH_IN(s); \
        later; \
        break; \
}
#define SVE out->sve_vl = s->arch.sve_vl
#define ALTP2M out->altp2m_opts = s->altp2m_opts
#define ALTP2M_NR out->altp2m_opts = s->altp2m_opts; out->altp2m_nr = s->altp2m_nr
#define SCI out->arm_sci_type = s->arch.arm_sci_type

void sim_cd_decode(const sim_release_t *r, const void *u, sim_createdomain_t *out) {
    memset(out, 0, sizeof(*out));
    switch (r->layout) {
        case L417: DECODE(cd417, (void)0)
        case L418: DECODE(cd418, SVE)
        case L419: DECODE(cd419, SVE; ALTP2M)
        case L421: DECODE(cd421, SVE; ALTP2M_NR; SCI)
        default: DECODE(cd422, SVE; ALTP2M_NR; SCI; out->v8r_el1_msa = s->arch.v8r_el1_msa)
    }
}

// Xen copies the whole op back: what it resolved lands in the release's arch.
#define ARCH_OUT(s) do { \
        (s)->arch.gic_version = in->c.arch.gic_version; \
        (s)->arch.tee_type = in->c.arch.tee_type; \
        (s)->arch.nr_spis = in->c.arch.nr_spis; \
        (s)->arch.clock_frequency = in->c.arch.clock_frequency; \
} while (0)

void sim_cd_encode_arch(const sim_release_t *r, void *u, const sim_createdomain_t *in) {
    switch (r->layout) {
        case L417:
            ARCH_OUT((struct cd417 *)u);
            break;
        case L418:
            ARCH_OUT((struct cd418 *)u);
            break;
        case L419:
            ARCH_OUT((struct cd419 *)u);
            break;
        case L421:
            ARCH_OUT((struct cd421 *)u);
            break;
        default:
            ARCH_OUT((struct cd422 *)u);
            break;
    }
}
