// The sim's guest memory: each domain's memfd and its gfn -> page map,
// memory_op (populate, decrease, reservations) and dom0's foreign mappings
// (xenhv_map_foreign and friends).
//
// Guest memory is real host memory: one memfd per domain, one page of the
// file per guest page. Dom0 mappings (xenhv_map_foreign) and the guest's own
// view (_xensim.guest_map) are MAP_SHARED mappings of the same file pages,
// so they alias the same bytes. A page stays alive while dom0 maps it, also
// after the guest gave it back or the domain died, as in Xen; a dying domain
// disappears once its last page is gone.
//
// Owns: pages, their references and the address ranges dom0 maps. Must not
// know: event channels, FLASK, or MicroPython objects.

#include "sim.h"

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
    d->hkey = sim_xzalloc(d->hcap * sizeof(*d->hkey));
    d->hval = sim_xzalloc(d->hcap * sizeof(*d->hval));
    d->hused = sim_xzalloc(d->hcap);
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

long sim_gfn_slot(const sim_domain_t *d, uint64_t gfn) {
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
        d->slot_state = sim_xrealloc(d->slot_state, cap);
        d->slot_refs = sim_xrealloc(d->slot_refs, cap * sizeof(*d->slot_refs));
        d->slot_gfn = sim_xrealloc(d->slot_gfn, cap * sizeof(*d->slot_gfn));
        d->free_slots = sim_xrealloc(d->free_slots, cap * sizeof(*d->free_slots));
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
void sim_slot_free(sim_domain_t *d, uint32_t slot) {
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

uint64_t sim_free_pages(void) {
    uint64_t used = pages_in_use();
    return used >= SIM_TOTAL_PAGES ? 0 : SIM_TOTAL_PAGES - used;
}

/******************************************************************************/
// Hypercall: memory_op.

// The i-th frame of a reservation's extent list (false: a bad guest address).
static bool extent_in(const struct xen_memory_reservation *r, unsigned long i, xen_pfn_t *gpfn) {
    return sim_copy_in(gpfn, r->extent_start.q + i * sizeof(xen_pfn_t), sizeof(*gpfn));
}

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
    xen_pfn_t gpfn;
    for (i = start; i < r->nr_extents && extent_in(r, i, &gpfn); i++) {
        if (d->dying || d->tot_pages + per > d->max_pages || sim_free_pages() < per) {
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
        sim_slot_free(d, slot);
    }
}

static long decrease(sim_domain_t *d, struct xen_memory_reservation *r, unsigned long start) {
    unsigned order = r->extent_order;
    if (order > SIM_CTLDOM_MAX_ORDER) {
        return (long)start;
    }
    uint64_t per = 1ull << order;
    unsigned long i;
    xen_pfn_t gpfn;
    for (i = start; i < r->nr_extents && extent_in(r, i, &gpfn); i++) {
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

long sim_do_memory_op(unsigned long cmd_in, unsigned long arg, unsigned long a3) {
    unsigned long start = cmd_in >> MEMOP_EXTENT_SHIFT;
    unsigned op = cmd_in & MEMOP_CMD_MASK;
    int rc;
    switch (op) {
        case XENMEM_populate_physmap:
        case XENMEM_decrease_reservation:
        case XENMEM_increase_reservation: {
            int name = op == XENMEM_populate_physmap ? N_MEM_populate_physmap
                : op == XENMEM_decrease_reservation ? N_MEM_decrease_reservation : N_MEM_other;
            if ((rc = sim_note_call(name))) {
                return rc;
            }
            struct xen_memory_reservation r;
            if (!sim_copy_in(&r, arg, sizeof(r))) {
                return (long)start;
            }
            if (r.nr_extents > (UINT_MAX >> MEMOP_EXTENT_SHIFT) || start >= r.nr_extents) {
                return (long)start;
            }
            sim_domain_t *d = sim_find_any(r.domid);
            if (d == NULL || d == sim.dom0) {
                return (long)start;
            }
            if (sim_xsm_priv()) {
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
            if ((rc = sim_note_call(op == XENMEM_current_reservation
                ? N_MEM_current_reservation : N_MEM_maximum_reservation))) {
                return rc;
            }
            if (start) {
                return -XEN_EINVAL;
            }
            struct xen_memory_domain md;
            if (!sim_copy_in(&md, arg, sizeof(md))) {
                return -XEN_EFAULT;
            }
            sim_domain_t *d = sim_find_any(md.domid);
            if (d == NULL) {
                return -XEN_ESRCH;
            }
            if (d != sim.dom0 && (rc = sim_xsm_priv())) {
                return rc;
            }
            if (d == sim.dom0) {
                return op == XENMEM_current_reservation ? SIM_DOM0_PAGES : (long)UINT32_MAX;
            }
            return (long)(op == XENMEM_current_reservation ? d->tot_pages : d->max_pages);
        }
        default:
            if ((rc = sim_note_call(N_MEM_other))) {
                return rc;
            }
            return -XEN_ENOSYS;
    }
}

void sim_map_inert(uint8_t *addr, size_t n) {
    // Replace the range with private zero pages (fixed, so it stays ours).
    if (mmap(addr, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
        abort();
    }
}

int xenhv_map_foreign(domid_t domid, const xen_pfn_t *gfns, int *errs,
    size_t n, bool writable, void **addr) {
    xenhv_init();
    sim_model_lock();
    int rc = sim_note_call(N_OP_map);
    sim_domain_t *d = NULL;
    if (rc == 0) {
        d = sim_find_any(domid);
        if (d == NULL) {
            rc = -XEN_ESRCH;
        } else if ((rc = sim_xsm_priv()) == 0 && d == sim.dom0) {
            rc = -XEN_EINVAL;
        }
    }
    int first = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc) {
            errs[i] = rc;
        } else {
            errs[i] = sim_gfn_slot(d, gfns[i]) < 0 ? -XEN_EINVAL : 0;
        }
        if (errs[i] && !first) {
            first = errs[i];
        }
    }
    if (first || n == 0) {
        sim_model_unlock();
        return n == 0 ? -XEN_EINVAL : first;
    }
    uint8_t *base = mmap(NULL, n * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        sim_model_unlock();
        return -XEN_ENOMEM;
    }
    sim_map_t *m = sim_xzalloc(sizeof(*m) + n * sizeof(uint32_t));
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    for (size_t i = 0; i < n; i++) {
        m->slots[i] = (uint32_t)sim_gfn_slot(d, gfns[i]);
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
            sim_model_unlock();
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
    sim_model_unlock();
    return 0;
}

// Drop a mapping's page references; the address range stays reserved.
static void map_release(sim_map_t *m) {
    sim_domain_t *d = m->d;
    sim_map_inert(m->addr, m->n);
    if (d != NULL) {
        for (size_t i = 0; i < m->n; i++) {
            uint32_t s = m->slots[i];
            if (--d->slot_refs[s] == 0 && d->slot_state[s] == PS_REFONLY) {
                sim_slot_free(d, s);
            }
        }
        if (d->dying && d->tot_pages == 0) {
            sim_domain_final(d);
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
    sim_model_lock();
    int rc = sim_note_call(N_OP_unmap);
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
    sim_model_unlock();
    return rc;
}

void xenhv_release_va(void *addr, size_t n) {
    sim_model_lock();
    sim_map_t *m = map_take(addr);
    if (m != NULL) {
        map_release(m);
        n = m->n;
        free(m);
    }
    sim_model_unlock();
    // The range stays reserved (inert, untouched pages cost no memory): a
    // memoryview of the mapping may outlive the Mapping object (MicroPython's
    // memoryview does not keep its owner alive), and a reused range would
    // let that view see another mapping. Inert ranges are alike, so the
    // kernel merges neighbours into one VMA.
    (void)n;
}

