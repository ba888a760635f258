// _xen's guest memory: populating a domain's physmap, mapping guest frames
// into dom0 as buffer objects (Mapping), and the HVM parameters that name a
// domain's special pages and event channels.
//
// Owns: the Mapping type and the memory_op/hvm_op calls. Must not know: how
// a backend maps frames (xenhv_map_foreign is the contract).
#include "modxen.h"

/******************************************************************************/
// Memory.

// Frame-number arguments. Any iterable is turned into a list first, so no
// Python code (a generator, and with it a scheduled upcall) can run once the
// scratch area is being filled.
static void frames_arg(mp_obj_t arg, size_t *n, mp_obj_t **items) {
    if (!mp_obj_is_type(arg, &mp_type_list) && !mp_obj_is_type(arg, &mp_type_tuple)) {
        arg = mp_call_function_1(MP_OBJ_FROM_PTR(&mp_type_list), arg);
    }
    mp_obj_get_array(arg, n, items);
    for (size_t i = 0; i < *n; i++) {
        modxen_arg_u64((*items)[i]);   // validate every element up front
    }
}

// A reservation op (XENMEM_populate_physmap / _decrease_reservation) over
// frame numbers, chunked to the scratch area. Raises OSError(ENOMEM) if Xen
// did fewer extents than asked for (those it did stay done).
static mp_obj_t reservation(unsigned int cmd, size_t n_args, const mp_obj_t *args) {
    domid_t domid = modxen_arg_domid(args[0]);
    mp_int_t order = n_args > 2 ? mp_obj_get_int(args[2]) : 0;
    if (order < 0 || order > 18) {
        mp_raise_ValueError(MP_ERROR_TEXT("extent order out of range"));
    }
    size_t count;
    mp_obj_t *items;
    frames_arg(args[1], &count, &items);
    size_t total = 0;
    const size_t room = (XENHV_SCRATCH_SIZE - 4096) / sizeof(xen_pfn_t);
    for (size_t off = 0; off < count;) {
        size_t n = count - off < room ? count - off : room;
        struct xen_memory_reservation *r = (struct xen_memory_reservation *)xenhv_scratch();
        xen_pfn_t *frames = (xen_pfn_t *)(xenhv_scratch() + 4096);
        for (size_t i = 0; i < n; i++) {
            frames[i] = modxen_arg_u64(items[off + i]);
        }
        memset(r, 0, sizeof(*r));
        set_xen_guest_handle(r->extent_start, frames);
        r->nr_extents = n;
        r->extent_order = order;
        r->mem_flags = 0;
        r->domid = domid;
        long rc = modxen_check(modxen_hypercall(__HYPERVISOR_memory_op, cmd, (unsigned long)r));
        total += rc;
        if ((size_t)rc < n) {
            modxen_raise_errno(MP_ENOMEM);
        }
        off += n;
    }
    return mp_obj_new_int_from_uint(total);
}

// populate_physmap(domid, gfns, order=0) -> number of extents populated
// (those populated stay on ENOMEM; destroying the domain releases them).
static mp_obj_t mod_xen_populate_physmap(size_t n_args, const mp_obj_t *args) {
    return reservation(XENMEM_populate_physmap, n_args, args);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xen_populate_physmap_obj, 2, 3, mod_xen_populate_physmap);

// decrease_reservation(domid, gfns, order=0) -> number of extents the domain
// gave back to Xen (what undoes a page dom0 gave a running domain).
static mp_obj_t mod_xen_decrease_reservation(size_t n_args, const mp_obj_t *args) {
    return reservation(XENMEM_decrease_reservation, n_args, args);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xen_decrease_reservation_obj, 2, 3, mod_xen_decrease_reservation);

// Mapping: guest frames mapped into dom0, with the buffer protocol.
typedef struct _modxen_mapping_obj_t {
    mp_obj_base_t base;
    void *addr;      // NULL once the address range is given back
    size_t npages;
    bool mapped;     // foreign frames still referenced
    bool writable;
} modxen_mapping_obj_t;

static void mapping_unmap(modxen_mapping_obj_t *self) {
    if (self->mapped) {
        self->mapped = false;
        modxen_check(xenhv_unmap_foreign(self->addr, self->npages));
    }
}

static mp_obj_t mapping_close(mp_obj_t self_in) {
    mapping_unmap(MP_OBJ_TO_PTR(self_in));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(mapping_close_obj, mapping_close);

static mp_obj_t mapping_del(mp_obj_t self_in) {
    modxen_mapping_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->mapped) {
        self->mapped = false;
        xenhv_unmap_foreign(self->addr, self->npages);
    }
    if (self->addr != NULL) {
        xenhv_release_va(self->addr, self->npages);
        self->addr = NULL;
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(mapping_del_obj, mapping_del);

static mp_obj_t mapping_exit(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    return mapping_close(args[0]);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mapping_exit_obj, 4, 4, mapping_exit);

static mp_int_t mapping_get_buffer(mp_obj_t self_in, mp_buffer_info_t *bufinfo, mp_uint_t flags) {
    modxen_mapping_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (!self->mapped || ((flags & MP_BUFFER_WRITE) && !self->writable)) {
        return 1;
    }
    bufinfo->buf = self->addr;
    bufinfo->len = self->npages * PAGE_SIZE_XEN;
    bufinfo->typecode = 'B';
    return 0;
}

static mp_obj_t mapping_unary_op(mp_unary_op_t op, mp_obj_t self_in) {
    modxen_mapping_obj_t *self = MP_OBJ_TO_PTR(self_in);
    switch (op) {
        case MP_UNARY_OP_LEN:
            return MP_OBJ_NEW_SMALL_INT(self->mapped ? self->npages * PAGE_SIZE_XEN : 0);
        case MP_UNARY_OP_BOOL:
            return mp_obj_new_bool(self->mapped);
        default:
            return MP_OBJ_NULL;
    }
}

// m[i], m[a:b], m[a:b] = data: the bytes of the mapped frames.
static mp_obj_t mapping_subscr(mp_obj_t self_in, mp_obj_t index, mp_obj_t value) {
    modxen_mapping_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (value == MP_OBJ_NULL) {
        return MP_OBJ_NULL;   // no deletion
    }
    if (!self->mapped) {
        mp_raise_ValueError(MP_ERROR_TEXT("mapping is closed"));
    }
    if (value != MP_OBJ_SENTINEL && !self->writable) {
        mp_raise_TypeError(MP_ERROR_TEXT("mapping is read-only"));
    }
    mp_obj_t mv = mp_obj_new_memoryview('B' | (self->writable ? MP_OBJ_ARRAY_TYPECODE_FLAG_RW : 0),
        self->npages * PAGE_SIZE_XEN, self->addr);
    if (value == MP_OBJ_SENTINEL) {
        mp_obj_t r = mp_obj_subscr(mv, index, MP_OBJ_SENTINEL);
        if (mp_obj_is_int(r)) {
            return r;
        }
        // a slice is copied out: no hidden view may outlive the mapping
        mp_buffer_info_t b;
        mp_get_buffer_raise(r, &b, MP_BUFFER_READ);
        return mp_obj_new_bytes(b.buf, b.len);
    }
    mp_obj_subscr(mv, index, value);
    return mp_const_none;
}

static void mapping_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    (void)kind;
    modxen_mapping_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_printf(print, "<Mapping %u pages%s>", (unsigned)self->npages, self->mapped ? "" : " closed");
}

static const mp_rom_map_elem_t mapping_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&mapping_close_obj) },
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&mapping_del_obj) },
    { MP_ROM_QSTR(MP_QSTR___enter__), MP_ROM_PTR(&mp_identity_obj) },
    { MP_ROM_QSTR(MP_QSTR___exit__), MP_ROM_PTR(&mapping_exit_obj) },
};
static MP_DEFINE_CONST_DICT(mapping_locals, mapping_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(
    modxen_mapping_type,
    MP_QSTR_Mapping,
    MP_TYPE_FLAG_NONE,
    print, mapping_print,
    unary_op, mapping_unary_op,
    subscr, mapping_subscr,
    buffer, mapping_get_buffer,
    locals_dict, &mapping_locals
    );

// map(domid, gfns, writable=True) -> Mapping. gfns is one frame number or an
// iterable of them; the frames appear contiguously in dom0.
static mp_obj_t mod_xen_map(size_t n_args, const mp_obj_t *args) {
    domid_t domid = modxen_arg_domid(args[0]);
    bool writable = n_args > 2 ? mp_obj_is_true(args[2]) : true;
    const size_t room = (XENHV_SCRATCH_SIZE - 4096) / (sizeof(xen_pfn_t) + sizeof(int));
    size_t n;
    mp_obj_t one, *items;
    if (mp_obj_is_int(args[1])) {
        one = args[1];
        items = &one;
        n = 1;
        modxen_arg_u64(one);
    } else {
        frames_arg(args[1], &n, &items);
    }
    if (n == 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("no frames to map"));
    }
    if (n > room) {
        mp_raise_ValueError(MP_ERROR_TEXT("too many frames in one mapping"));
    }
    // Allocate the object first so a MemoryError cannot strand a mapping.
    modxen_mapping_obj_t *m = mp_obj_malloc_with_finaliser(modxen_mapping_obj_t, &modxen_mapping_type);
    m->addr = NULL;
    m->npages = n;
    m->mapped = false;
    m->writable = writable;
    modxen_ensure_backend();
    void *addr;
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        xen_pfn_t *gfns = (xen_pfn_t *)xenhv_scratch();
        for (size_t i = 0; i < n; i++) {
            gfns[i] = modxen_arg_u64(items[i]);
        }
        rc = xenhv_map_foreign(domid, gfns, (int *)(gfns + n), n, writable, &addr);
        if (rc != -XEN_ENOMEM || attempt > 0) {
            break;
        }
        // A closed mapping keeps its address range until it is collected (a
        // stale view must not reach another guest's frames): when the backend
        // is out of ranges, collect and try once more.
        gc_collect();
    }
    modxen_check(rc);
    m->addr = addr;
    m->mapped = true;
    return MP_OBJ_FROM_PTR(m);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xen_map_obj, 2, 3, mod_xen_map);

/******************************************************************************/
// HVM parameters.

static struct xen_hvm_param *hvm_param_begin(mp_obj_t domid, mp_obj_t index) {
    struct xen_hvm_param *p = (struct xen_hvm_param *)xenhv_scratch();
    memset(p, 0, sizeof(*p));
    p->domid = modxen_arg_domid(domid);
    mp_int_t i = mp_obj_get_int(index);
    if (i < 0 || i >= HVM_NR_PARAMS) {
        mp_raise_ValueError(MP_ERROR_TEXT("HVM param index out of range"));
    }
    p->index = i;
    return p;
}

static mp_obj_t mod_xen_hvm_get_param(mp_obj_t domid, mp_obj_t index) {
    struct xen_hvm_param *p = hvm_param_begin(domid, index);
    modxen_check(modxen_hypercall(__HYPERVISOR_hvm_op, HVMOP_get_param, (unsigned long)p));
    return modxen_new_u64(p->value);
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_hvm_get_param_obj, mod_xen_hvm_get_param);

static mp_obj_t mod_xen_hvm_set_param(mp_obj_t domid, mp_obj_t index, mp_obj_t value) {
    uint64_t v = modxen_arg_u64(value);
    struct xen_hvm_param *p = hvm_param_begin(domid, index);
    p->value = v;
    modxen_check(modxen_hypercall(__HYPERVISOR_hvm_op, HVMOP_set_param, (unsigned long)p));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(mod_xen_hvm_set_param_obj, mod_xen_hvm_set_param);


LOCKED(mod_xen_populate_physmap);
LOCKED(mod_xen_decrease_reservation);
LOCKED(mod_xen_map);
LOCKED(mod_xen_hvm_get_param);
LOCKED(mod_xen_hvm_set_param);
