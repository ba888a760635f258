// _xenring: byte rings shared with a guest, the copy loops of the console and xenstore
// ring protocols (Xen's io/console.h and io/xs_wire.h), and their layouts.
//
// Both protocols put one or two byte rings in a shared page: a data area of a
// power-of-two size and a pair of free-running u32 indices. The producer
// writes data then advances `prod`; the consumer reads data then advances
// `cons`. The backend keeps its own index (cons of the ring it reads, prod of
// the ring it writes) in Python and passes it in; only the guest's index is
// read from the page, and it is never trusted: prod - cons beyond the ring
// size is corruption and raises OSError(EBADMSG) before any byte moves. Every
// offset is checked against the buffer, so no guest value can move a copy
// outside the page.
//
// A ring is described by a 4-tuple (data_offset, size, cons_offset,
// prod_offset); the layouts below come from Xen's own structs (offsetof).
//
// Owns: the copy loops and the index checks. Must not know: the binding
// (a page is any buffer), when to notify or what a broken ring means (Python).

#include <string.h>
#include <errno.h>

#include "py/runtime.h"
#include "py/objtuple.h"

#if defined(MODXEN_ZEPHYR_XEN_HEADERS)
#include <zephyr/xen/public/io/console.h>
#include <zephyr/xen/public/io/xs_wire.h>
#else
#include <xen/io/console.h>
#include <xen/io/xs_wire.h>
#endif

typedef struct {
    size_t data, size, cons, prod;
} ring_desc_t;

static size_t desc_field(mp_obj_t o, size_t limit) {
    mp_int_t v = mp_obj_get_int(o);
    if (v < 0 || (size_t)v > limit) {
        mp_raise_ValueError(MP_ERROR_TEXT("ring layout outside the buffer"));
    }
    return (size_t)v;
}

// Validate a layout tuple against a buffer of `len` bytes.
static void ring_desc(mp_obj_t layout, size_t len, ring_desc_t *d) {
    size_t n;
    mp_obj_t *items;
    mp_obj_get_array(layout, &n, &items);
    if (n != 4) {
        mp_raise_ValueError(MP_ERROR_TEXT("ring layout is (data, size, cons, prod)"));
    }
    d->data = desc_field(items[0], len);
    d->size = desc_field(items[1], len - d->data);
    d->cons = desc_field(items[2], len < 4 ? 0 : len - 4);
    d->prod = desc_field(items[3], len < 4 ? 0 : len - 4);
    if (len < 4 || d->size == 0 || (d->size & (d->size - 1)) != 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("ring size must be a power of two inside the buffer"));
    }
}

static void ring_check_aligned(const uint8_t *p, const ring_desc_t *d) {
    if ((((uintptr_t)(p + d->cons)) | ((uintptr_t)(p + d->prod))) & 3) {
        mp_raise_ValueError(MP_ERROR_TEXT("ring indices must be 4-byte aligned"));
    }
}

// Indices are aligned u32 (checked in ring_desc), read and written whole so
// that a concurrent update is never seen torn; the page is little-endian
// like the guest (Arm64).
static uint32_t load_idx(const uint8_t *p) {
    return __atomic_load_n((const uint32_t *)(const void *)p, __ATOMIC_ACQUIRE);
}

static void store_idx(uint8_t *p, uint32_t v) {
    __atomic_store_n((uint32_t *)(void *)p, v, __ATOMIC_RELEASE);
}

static uint32_t arg_idx(mp_obj_t o) {
    return (uint32_t)mp_obj_get_int_truncated(o);
}

static size_t arg_off(size_t n_args, const mp_obj_t *args, size_t i, size_t len) {
    if (n_args <= i) {
        return 0;
    }
    mp_int_t off = mp_obj_get_int(args[i]);
    if (off < 0 || (size_t)off > len) {
        mp_raise_ValueError(MP_ERROR_TEXT("offset outside the buffer"));
    }
    return (size_t)off;
}

#ifndef MP_NORETURN
#define MP_NORETURN NORETURN
#endif

static MP_NORETURN void raise_corrupt(void) {
    mp_raise_OSError(EBADMSG);
}

// The two copy loops. Each reads the guest's index once (acquire), refuses
// a distance beyond the ring (corruption), copies at most `max` bytes, then
// publishes the caller's index (release, after a full barrier). They return
// the bytes moved; the caller adds them to its own index.

// Ring -> dst: up to max waiting bytes from cons on.
static size_t ring_take(uint8_t *p, const ring_desc_t *d, uint32_t cons, uint8_t *dst, size_t max) {
    uint32_t prod = load_idx(p + d->prod);   // acquire: before the data it covers
    uint32_t avail = prod - cons;
    if (avail > d->size) {
        raise_corrupt();
    }
    size_t n = max < avail ? max : avail;
    size_t start = cons & (d->size - 1);
    size_t first = d->size - start;
    if (first > n) {
        first = n;
    }
    memcpy(dst, p + d->data + start, first);
    memcpy(dst + first, p + d->data, n - first);
    // The data is read before the slots are handed back (full barrier, as
    // the protocol's mb() between the copy and the index update).
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    store_idx(p + d->cons, cons + (uint32_t)n);
    return n;
}

// src -> ring: up to n bytes, as many as there is room for from prod on.
static size_t ring_put(uint8_t *p, const ring_desc_t *d, uint32_t prod, const uint8_t *src, size_t n) {
    uint32_t cons = load_idx(p + d->cons);   // acquire: the guest is done with those slots
    uint32_t used = prod - cons;
    if (used > d->size) {
        raise_corrupt();
    }
    if (n > d->size - used) {
        n = d->size - used;
    }
    size_t start = prod & (d->size - 1);
    size_t first = d->size - start;
    if (first > n) {
        first = n;
    }
    memcpy(p + d->data + start, src, first);
    memcpy(p + d->data, src + first, n - first);
    // The data is visible before the new prod index is.
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    store_idx(p + d->prod, prod + (uint32_t)n);
    return n;
}

// ring_read(page, layout, cons, buf, off=0) -> n
// Copies up to len(buf) - off waiting bytes into buf[off:], then stores
// cons + n as the ring's cons index in the page. The caller adds n to cons.
static mp_obj_t mod_xenring_read(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t page, buf;
    mp_get_buffer_raise(args[0], &page, MP_BUFFER_RW);
    mp_get_buffer_raise(args[3], &buf, MP_BUFFER_WRITE);
    ring_desc_t d;
    ring_desc(args[1], page.len, &d);
    size_t off = arg_off(n_args, args, 4, buf.len);
    ring_check_aligned(page.buf, &d);
    size_t n = ring_take(page.buf, &d, arg_idx(args[2]), (uint8_t *)buf.buf + off, buf.len - off);
    return MP_OBJ_NEW_SMALL_INT(n);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xenring_read_obj, 4, 5, mod_xenring_read);

// ring_write(page, layout, prod, data, off=0) -> n
// Copies as much of data[off:] as the ring has room for, then stores
// prod + n as the ring's prod index in the page. The caller adds n to prod.
static mp_obj_t mod_xenring_write(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t page, data;
    mp_get_buffer_raise(args[0], &page, MP_BUFFER_RW);
    mp_get_buffer_raise(args[3], &data, MP_BUFFER_READ);
    ring_desc_t d;
    ring_desc(args[1], page.len, &d);
    size_t off = arg_off(n_args, args, 4, data.len);
    ring_check_aligned(page.buf, &d);
    size_t n = ring_put(page.buf, &d, arg_idx(args[2]), (const uint8_t *)data.buf + off, data.len - off);
    return MP_OBJ_NEW_SMALL_INT(n);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xenring_write_obj, 4, 5, mod_xenring_write);

// The xenstore page as a server serves it: the request ring read a message
// at a time, the response ring written, and dom0's own two indices (req_cons,
// rsp_prod) held by the caller and checked against the page on every call, so
// a guest that writes them is caught (OSError(EBADMSG), as for a bad
// distance). The layout is fixed (Xen's struct), so no tuple is parsed per
// request.
static const ring_desc_t xs_req = {
    offsetof(struct xenstore_domain_interface, req), XENSTORE_RING_SIZE,
    offsetof(struct xenstore_domain_interface, req_cons),
    offsetof(struct xenstore_domain_interface, req_prod),
};
static const ring_desc_t xs_rsp = {
    offsetof(struct xenstore_domain_interface, rsp), XENSTORE_RING_SIZE,
    offsetof(struct xenstore_domain_interface, rsp_cons),
    offsetof(struct xenstore_domain_interface, rsp_prod),
};
#define XS_HEADER sizeof(struct xsd_sockmsg)

static uint8_t *xs_page(mp_obj_t page_in) {
    mp_buffer_info_t page;
    mp_get_buffer_raise(page_in, &page, MP_BUFFER_RW);
    if (page.len < sizeof(struct xenstore_domain_interface)) {
        mp_raise_ValueError(MP_ERROR_TEXT("xenstore ring page too small"));
    }
    ring_check_aligned(page.buf, &xs_req);
    return page.buf;
}

// xs_read(page, req_cons, buf, have) -> n
// Adds to the message being assembled in buf[0:have] the bytes that complete
// it, never a byte of the next one: its 16-byte header first, then the
// header's len payload bytes, as far as buf has room (the caller grows a
// full buffer and calls again). A len over XENSTORE_PAYLOAD_MAX copies
// nothing past the header (the caller's framing refuses the message).
// Stores req_cons + n in the page.
static mp_obj_t mod_xenring_xs_read(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    uint8_t *p = xs_page(args[0]);
    uint32_t cons = arg_idx(args[1]);
    mp_buffer_info_t buf;
    mp_get_buffer_raise(args[2], &buf, MP_BUFFER_WRITE);
    if (buf.len < XS_HEADER) {
        mp_raise_ValueError(MP_ERROR_TEXT("xs_read: buffer smaller than a header"));
    }
    size_t have = arg_off(4, args, 3, buf.len);
    if (load_idx(p + xs_req.cons) != cons) {
        raise_corrupt();                       // the guest wrote req_cons
    }
    uint8_t *b = buf.buf;
    size_t n = 0;
    if (have < XS_HEADER) {
        n = ring_take(p, &xs_req, cons, b + have, XS_HEADER - have);
        have += n;
    }
    if (have >= XS_HEADER) {                  // the payload, as far as it fits
        struct xsd_sockmsg h;
        memcpy(&h, b, XS_HEADER);
        size_t want = h.len > XENSTORE_PAYLOAD_MAX ? have : XS_HEADER + h.len;
        if (want > buf.len) {
            want = buf.len;
        }
        if (want > have) {
            n += ring_take(p, &xs_req, cons + (uint32_t)n, b + have, want - have);
        }
    }
    return MP_OBJ_NEW_SMALL_INT(n);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xenring_xs_read_obj, 4, 4, mod_xenring_xs_read);

// (xs_read and xs_write open alike, checking their arguments: each checks
// a different ring's own index.)
// xs_write(page, rsp_prod, data, off) -> n
// Copies as much of data[off:] as the response ring has room for and stores
// rsp_prod + n in the page.
static mp_obj_t mod_xenring_xs_write(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    uint8_t *p = xs_page(args[0]);
    uint32_t prod = arg_idx(args[1]);
    mp_buffer_info_t data;
    mp_get_buffer_raise(args[2], &data, MP_BUFFER_READ);
    size_t off = arg_off(4, args, 3, data.len);
    if (load_idx(p + xs_rsp.prod) != prod) {
        raise_corrupt();                       // the guest wrote rsp_prod
    }
    size_t n = ring_put(p, &xs_rsp, prod, (const uint8_t *)data.buf + off, data.len - off);
    return MP_OBJ_NEW_SMALL_INT(n);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xenring_xs_write_obj, 4, 4, mod_xenring_xs_write);

// ring_indices(page, layout) -> (cons, prod) as the page holds them right now
// (raw, unchecked: for diagnostics and for taking over a ring).
static mp_obj_t mod_xenring_indices(mp_obj_t page_in, mp_obj_t layout) {
    mp_buffer_info_t page;
    mp_get_buffer_raise(page_in, &page, MP_BUFFER_READ);
    ring_desc_t d;
    ring_desc(layout, page.len, &d);
    const uint8_t *p = page.buf;
    ring_check_aligned(p, &d);
    mp_obj_t t[2] = {
        mp_obj_new_int_from_uint(load_idx(p + d.cons)),
        mp_obj_new_int_from_uint(load_idx(p + d.prod)),
    };
    return mp_obj_new_tuple(2, t);
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xenring_indices_obj, mod_xenring_indices);

#define LAYOUT(name, type, data, cons, prod) \
    static const mp_rom_obj_tuple_t name = { { &mp_type_tuple }, 4, { \
                                          MP_ROM_INT(offsetof(type, data)), \
                                          MP_ROM_INT(sizeof(((type *)0)->data)), \
                                          MP_ROM_INT(offsetof(type, cons)), \
                                          MP_ROM_INT(offsetof(type, prod)), \
                                      } }

// Console page: the guest writes `out` (dom0 reads), dom0 writes `in`.
LAYOUT(xenring_console_out, struct xencons_interface, out, out_cons, out_prod);
LAYOUT(xenring_console_in, struct xencons_interface, in, in_cons, in_prod);
// Xenstore page: the guest writes `req`, dom0 writes `rsp`.
LAYOUT(xenring_xenstore_req, struct xenstore_domain_interface, req, req_cons, req_prod);
LAYOUT(xenring_xenstore_rsp, struct xenstore_domain_interface, rsp, rsp_cons, rsp_prod);

static const mp_rom_map_elem_t xenring_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__xenring) },
    { MP_ROM_QSTR(MP_QSTR_read), MP_ROM_PTR(&mod_xenring_read_obj) },
    { MP_ROM_QSTR(MP_QSTR_write), MP_ROM_PTR(&mod_xenring_write_obj) },
    { MP_ROM_QSTR(MP_QSTR_indices), MP_ROM_PTR(&mod_xenring_indices_obj) },
    { MP_ROM_QSTR(MP_QSTR_xs_read), MP_ROM_PTR(&mod_xenring_xs_read_obj) },
    { MP_ROM_QSTR(MP_QSTR_xs_write), MP_ROM_PTR(&mod_xenring_xs_write_obj) },
    { MP_ROM_QSTR(MP_QSTR_CONSOLE_OUT), MP_ROM_PTR(&xenring_console_out) },
    { MP_ROM_QSTR(MP_QSTR_CONSOLE_IN), MP_ROM_PTR(&xenring_console_in) },
    { MP_ROM_QSTR(MP_QSTR_XENSTORE_REQ), MP_ROM_PTR(&xenring_xenstore_req) },
    { MP_ROM_QSTR(MP_QSTR_XENSTORE_RSP), MP_ROM_PTR(&xenring_xenstore_rsp) },
};
static MP_DEFINE_CONST_DICT(xenring_globals, xenring_globals_table);

const mp_obj_module_t mp_module_xenring = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&xenring_globals,
};

MP_REGISTER_MODULE(MP_QSTR__xenring, mp_module_xenring);
