// The sim's event channels: per-domain port tables, Xen's pairing rules,
// event_channel_op and dom0's own channels (xenhv_evtchn_*), delivering to
// dom0 through modxen_upcall().
//
// Owns: ports and their state. Must not know: how the interpreter is woken
// (xenhv.c) or MicroPython objects.

#include "sim.h"

/******************************************************************************/
// Event channels.


sim_port_t *sim_port_of(sim_domain_t *d, uint32_t port) {
    return (d == NULL || port >= d->nports) ? NULL : &d->ports[port];
}

// evtchn_port_set_pending(). Dom0 behaves like Linux' evtchn driver: an
// event on an unmasked port is delivered (upcall) and leaves the port masked
// until the binding unmasks it; events on a masked port stay pending and are
// delivered by the unmask.
static void set_pending(sim_domain_t *d, uint32_t port) {
    sim_port_t *p = sim_port_of(d, port);
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

void sim_send_global_virq(uint32_t virq) {
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
int sim_port_close(sim_domain_t *d, uint32_t port) {
    sim_port_t *p = sim_port_of(d, port);
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
            sim_domain_t *rd = sim_find_domain(p->rdom);
            sim_port_t *rp = sim_port_of(rd, p->rport);
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
int sim_evt_alloc_unbound(sim_domain_t *caller, domid_t dom, domid_t remote) {
    sim_domain_t *d = sim_find_rel(caller, dom);
    if (d == NULL) {
        return -XEN_ESRCH;
    }
    int port = port_alloc(d);
    if (port < 0) {
        return port;
    }
    if (d != caller && caller == sim.dom0) {
        int rc = sim_xsm_priv();
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
int sim_evt_bind_interdomain(sim_domain_t *ld, domid_t rdom, uint32_t rport) {
    sim_domain_t *rd = sim_find_rel(ld, rdom);
    if (rd == NULL) {
        return -XEN_ESRCH;
    }
    int lport = port_alloc(ld);
    if (lport < 0) {
        return lport;
    }
    sim_port_t *rp = sim_port_of(rd, rport);
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
int sim_evt_send(sim_domain_t *ld, uint32_t lport) {
    sim_port_t *lp = sim_port_of(ld, lport);
    if (lp == NULL) {
        return -XEN_EINVAL;
    }
    switch (lp->state) {
        case ECS_INTERDOMAIN:
            set_pending(sim_find_domain(lp->rdom), lp->rport);
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
    sim_port_t *p = sim_port_of(d, port);
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

long sim_do_event_channel_op(unsigned long cmd, unsigned long arg, unsigned long a3) {
    sim_domain_t *cur = sim.dom0;
    int rc;
    switch (cmd) {
        case EVTCHNOP_alloc_unbound: {
            struct evtchn_alloc_unbound a;
            if ((rc = sim_op_in(N_EVT_alloc_unbound, &a, arg, sizeof(a)))) {
                return rc;
            }
            rc = sim_evt_alloc_unbound(cur, a.dom, a.remote_dom);
            if (rc < 0) {
                return rc;
            }
            a.port = rc;
            return sim_copy_out(arg, &a, sizeof(a)) ? 0 : -XEN_EFAULT;
        }
        case EVTCHNOP_bind_interdomain: {
            struct evtchn_bind_interdomain b;
            if ((rc = sim_op_in(N_EVT_bind_interdomain, &b, arg, sizeof(b)))) {
                return rc;
            }
            rc = sim_evt_bind_interdomain(cur, b.remote_dom, b.remote_port);
            if (rc < 0) {
                return rc;
            }
            b.local_port = rc;
            return sim_copy_out(arg, &b, sizeof(b)) ? 0 : -XEN_EFAULT;
        }
        case EVTCHNOP_bind_virq: {
            struct evtchn_bind_virq b;
            if ((rc = sim_op_in(N_EVT_bind_virq, &b, arg, sizeof(b)))) {
                return rc;
            }
            rc = evt_bind_virq(cur, b.virq, b.vcpu);
            if (rc < 0) {
                return rc;
            }
            b.port = rc;
            return sim_copy_out(arg, &b, sizeof(b)) ? 0 : -XEN_EFAULT;
        }
        case EVTCHNOP_close: {
            struct evtchn_close c;
            if ((rc = sim_op_in(N_EVT_close, &c, arg, sizeof(c)))) {
                return rc;
            }
            return sim_port_close(cur, c.port);
        }
        case EVTCHNOP_send: {
            struct evtchn_send s;
            if ((rc = sim_op_in(N_EVT_send, &s, arg, sizeof(s)))) {
                return rc;
            }
            return sim_evt_send(cur, s.port);
        }
        case EVTCHNOP_unmask: {
            struct evtchn_unmask u;
            if ((rc = sim_op_in(N_EVT_unmask, &u, arg, sizeof(u)))) {
                return rc;
            }
            return evt_unmask(cur, u.port);
        }
        case EVTCHNOP_status: {
            struct evtchn_status s;
            if ((rc = sim_op_in(N_EVT_status, &s, arg, sizeof(s)))) {
                return rc;
            }
            sim_domain_t *d = sim_find_any(s.dom);
            if (d == NULL) {
                return -XEN_ESRCH;
            }
            if (d != cur && (rc = sim_xsm_priv())) {
                return rc;
            }
            sim_port_t *p = sim_port_of(d, s.port);
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
            return sim_copy_out(arg, &s, sizeof(s)) ? 0 : -XEN_EFAULT;
        }
        default:
            if ((rc = sim_note_call(N_EVT_other))) {
                return rc;
            }
            return -XEN_ENOSYS;
    }
}

// dom0's own channels (xenhv.h): each is counted, and may be failed, as the
// event_channel_op it stands for (a notify is evtchn.send).
static int dom0_call(int name, uint32_t a, uint32_t b) {
    xenhv_init();
    sim_model_lock();
    int rc = sim_note_call(name);
    if (rc == 0) {
        switch (name) {
            case N_EVT_bind_interdomain:
                rc = sim_evt_bind_interdomain(sim.dom0, (domid_t)a, b);
                break;
            case N_EVT_bind_virq:
                rc = evt_bind_virq(sim.dom0, a, 0);
                break;
            case N_EVT_alloc_unbound:
                rc = sim_evt_alloc_unbound(sim.dom0, DOMID_SELF, (domid_t)a);
                break;
            case N_EVT_send:
                rc = sim_evt_send(sim.dom0, a);
                break;
            case N_EVT_unmask:
                rc = evt_unmask(sim.dom0, a);
                break;
            default:
                rc = sim_port_close(sim.dom0, a);
                break;
        }
    }
    sim_model_unlock();
    return rc;
}

int xenhv_evtchn_bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port) {
    return dom0_call(N_EVT_bind_interdomain, remote_dom, remote_port);
}

int xenhv_evtchn_bind_virq(uint32_t virq) {
    return dom0_call(N_EVT_bind_virq, virq, 0);
}

int xenhv_evtchn_alloc_unbound(domid_t remote_dom) {
    return dom0_call(N_EVT_alloc_unbound, remote_dom, 0);
}

int xenhv_evtchn_notify(evtchn_port_t port) {
    return dom0_call(N_EVT_send, port, 0);
}

int xenhv_evtchn_unmask(evtchn_port_t port) {
    return dom0_call(N_EVT_unmask, port, 0);
}

int xenhv_evtchn_close(evtchn_port_t port) {
    return dom0_call(N_EVT_close, port, 0);
}
