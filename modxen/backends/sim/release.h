// The Xen release the sim acts as (release.c).
#ifndef MODXEN_SIM_RELEASE_H
#define MODXEN_SIM_RELEASE_H

#include "xenabi.h"

typedef struct {
    uint8_t minor;          // 4.<minor>
    uint8_t domctl, sysctl; // the interface versions it accepts
    uint8_t layout;         // its createdomain layout (release.c)
    const char *extra;      // XENVER_extraversion
} sim_release_t;

// The release named by MODXEN_SIM_XEN ("4.20"; default 4.17), or NULL.
const sim_release_t *sim_release_select(void);

// createdomain as the model sees it: 4.17's struct plus what later
// releases added.
typedef struct {
    struct xen_domctl_createdomain c;
    uint8_t sve_vl, arm_sci_type, v8r_el1_msa;
    uint32_t altp2m_opts, altp2m_nr;
} sim_createdomain_t;

// The op's union (in the release's layout) to the model's view, and the
// resolved arch fields back.
void sim_cd_decode(const sim_release_t *r, const void *u, sim_createdomain_t *out);
void sim_cd_encode_arch(const sim_release_t *r, void *u, const sim_createdomain_t *in);

// Releases from which a behaviour applies.
#define SIM_FROM(r, minor_) ((r)->minor >= (minor_))

#endif // MODXEN_SIM_RELEASE_H
