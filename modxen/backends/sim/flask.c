// The sim's XSM/FLASK: the label table and xsm_op.
//
// Owns: labels, the enforcing mode and the loaded policy blob. Must not
// know: domains beyond their ssid, or MicroPython objects.

#include "sim.h"

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
bool sim_label_is_domain(uint32_t sid) {
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

void sim_labels_clear(void) {
    for (size_t i = 0; i < sim.nlabels; i++) {
        free(sim.labels[i].label);
    }
    free(sim.labels);
    sim.labels = NULL;
    sim.nlabels = 0;
}

void sim_labels_add(const char *s, size_t n, uint32_t sid) {
    sim.labels = sim_xrealloc(sim.labels, (sim.nlabels + 1) * sizeof(*sim.labels));
    char *copy = sim_xzalloc(n + 1);
    memcpy(copy, s, n);
    sim.labels[sim.nlabels].label = copy;
    sim.labels[sim.nlabels].sid = sid;
    sim.nlabels++;
}

void sim_labels_default(void) {
    sim_labels_clear();
    for (size_t sid = 1; sid < MP_ARRAY_SIZE(sim_default_labels); sid++) {
        sim_labels_add(sim_default_labels[sid], strlen(sim_default_labels[sid]), sid);
    }
}

/******************************************************************************/
// Hypercall: xsm_op (FLASK).

#define FLASK_COPY_OUT_MASK ((1u << FLASK_CONTEXT_TO_SID) | (1u << FLASK_SID_TO_CONTEXT) \
    | (1u << FLASK_RELABEL_DOMAIN))

long sim_do_xsm_op(unsigned long arg, unsigned long a2, unsigned long a3) {
    struct xen_flask_op op;
    int rc;
    if (!sim_copy_in(&op, arg, sizeof(op))) {
        if ((rc = sim_note_call(N_XSM_other))) {
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
    if ((rc = sim_note_call(name))) {
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
            uint8_t *src = sim_guest_ptr(op.u.load.buffer.q, op.u.load.size);
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
            sim.policy = sim_xzalloc(op.u.load.size);
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
            const char *s = sim_guest_ptr(op.u.sid_context.context.q, size);
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
            if (!sim_copy_out(op.u.sid_context.context.q, l->label, len)) {
                return -XEN_EFAULT;
            }
            rc = 0;
            break;
        }
        case FLASK_RELABEL_DOMAIN: {
            sim_domain_t *d = sim_find_any((domid_t)op.u.relabel.domid);
            if (op.u.relabel.domid > 0xffff || d == NULL) {
                return -XEN_ESRCH;
            }
            if (sim.flask == FLASK_ENFORCING && (deny || !sim_label_is_domain(op.u.relabel.sid))) {
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
    if (rc >= 0 && (FLASK_COPY_OUT_MASK & (1u << op.cmd)) && !sim_copy_out(arg, &op, sizeof(op))) {
        rc = -XEN_EFAULT;
    }
    return rc;
}

