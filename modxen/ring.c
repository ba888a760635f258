// _xenring: byte rings shared with a guest, the copy loops of the console and xenstore
// ring protocols (Xen's io/console.h and io/xs_wire.h), their layouts, and
// XsRing, the loop that serves one guest's xenstore page.
//
// Both protocols put one or two byte rings in a shared page: a data area of a
// power-of-two size and a pair of free-running u32 indices. The producer
// writes data then advances `prod`; the consumer reads data then advances
// `cons`. The backend keeps its own index (cons of the ring it reads, prod of
// the ring it writes: in Python and passed in, or in the XsRing); only the guest's index is
// read from the page, and it is never trusted: prod - cons beyond the ring
// size is corruption and raises OSError(EBADMSG) before any byte moves. Every
// offset is checked against the buffer, so no guest value can move a copy
// outside the page.
//
// A ring is described by a 4-tuple (data_offset, size, cons_offset,
// prod_offset); the layouts below come from Xen's own structs (offsetof).
//
// Owns: the copy loops, the index checks and the xenstore page's server loop.
// Must not know: the binding (a page is any buffer), the store (XsRing calls
// what it is given) or what a broken ring means (Python).

#include <string.h>
#include <errno.h>

#include "py/runtime.h"
#include "py/objtuple.h"

#include "xsframe.h"

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

// OSError(EBADMSG), or OSError(EBADMSG, which) naming the ring whose index
// is bad ("req"/"rsp": the xenstore server reports which one the guest broke).
static MP_NORETURN void raise_corrupt(qstr which) {
    if (which == MP_QSTRnull) {
        mp_raise_OSError(EBADMSG);
    }
    mp_obj_t a[2] = { MP_OBJ_NEW_SMALL_INT(EBADMSG), MP_OBJ_NEW_QSTR(which) };
    nlr_raise(mp_obj_new_exception_args(&mp_type_OSError, 2, a));
}

// The two copy loops. Each reads the guest's index once (acquire), refuses
// a distance beyond the ring (corruption), copies at most `max` bytes, then
// publishes the caller's index (release, after a full barrier). They return
// the bytes moved; the caller adds them to its own index.

// Ring -> dst: up to max waiting bytes from cons on.
static size_t ring_take(uint8_t *p, const ring_desc_t *d, uint32_t cons, uint8_t *dst, size_t max, qstr which) {
    uint32_t prod = load_idx(p + d->prod);   // acquire: before the data it covers
    uint32_t avail = prod - cons;
    if (avail > d->size) {
        raise_corrupt(which);
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
static size_t ring_put(uint8_t *p, const ring_desc_t *d, uint32_t prod, const uint8_t *src, size_t n, qstr which) {
    uint32_t cons = load_idx(p + d->cons);   // acquire: the guest is done with those slots
    uint32_t used = prod - cons;
    if (used > d->size) {
        raise_corrupt(which);
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
    size_t n = ring_take(page.buf, &d, arg_idx(args[2]), (uint8_t *)buf.buf + off, buf.len - off, MP_QSTRnull);
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
    size_t n = ring_put(page.buf, &d, arg_idx(args[2]), (const uint8_t *)data.buf + off, data.len - off, MP_QSTRnull);
    return MP_OBJ_NEW_SMALL_INT(n);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xenring_write_obj, 4, 5, mod_xenring_write);

// ---- XsRing: the xenstore page as a server serves it ----------------------
// The request ring is read a message at a time, never a byte of the next
// one; replies go into the response ring as far as there is room. The
// object holds what the server side of one page owns: dom0's two indices
// (req_cons, rsp_prod, checked against the page on every copy, so a guest
// that writes them is caught), the request being assembled and the reply
// being written. serve() is the loop a guest's event runs: replies out, one
// request in, the store's handle for it, again. The policy around it stays
// in Python (pylib/xen/xenstore/ring.py): the reply quota, the budget, when
// a broken ring stops and what is logged; this loop only moves and frames
// bytes, and calls back. The layout is fixed (Xen's struct), so no tuple is
// parsed per request.
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
#define XS_INBUF (XS_HEADER + 256)        // the request buffer to start with
#define XS_INBUF_MAX (XS_HEADER + XENSTORE_PAYLOAD_MAX)

// serve()'s result bits
#define XSRING_KICK 1       // bytes moved since the last notify: notify again
#define XSRING_BUSY 2       // the budget ran out with requests maybe waiting
#define XSRING_TOOBIG 4     // the message in inbuf declares len > 4096

typedef struct {
    mp_obj_base_t base;
    mp_obj_t page;          // any RW buffer holding a xenstore_domain_interface
    mp_obj_t inbuf;         // bytearray: the request being assembled
    mp_obj_t cur;           // the reply being written, or MP_OBJ_NULL
    size_t have;            // bytes of the request in inbuf
    size_t curoff;          // bytes of cur already in the ring
    uint32_t req_cons, rsp_prod;
    mp_uint_t stats_in, stats_out;
} xsring_obj_t;

static mp_obj_t new_zeroed_bytearray(size_t n) {
    return mp_call_function_1(MP_OBJ_FROM_PTR(&mp_type_bytearray), MP_OBJ_NEW_SMALL_INT(n));
}

static uint8_t *xs_page(mp_obj_t page_in) {
    mp_buffer_info_t page;
    mp_get_buffer_raise(page_in, &page, MP_BUFFER_RW);
    if (page.len < sizeof(struct xenstore_domain_interface)) {
        mp_raise_ValueError(MP_ERROR_TEXT("xenstore ring page too small"));
    }
    ring_check_aligned(page.buf, &xs_req);
    return page.buf;
}

// Adds to the request in inbuf the bytes that complete it: its header first,
// then the header's len payload bytes, as far as inbuf has room (serve grows
// a full one). A len over XENSTORE_PAYLOAD_MAX copies nothing past the
// header (serve refuses the message).
static size_t xs_take(xsring_obj_t *self, uint8_t *p) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(self->inbuf, &buf, MP_BUFFER_WRITE);
    uint32_t cons = self->req_cons;
    if (load_idx(p + xs_req.cons) != cons) {
        raise_corrupt(MP_QSTR_req);            // the guest wrote req_cons
    }
    uint8_t *b = buf.buf;
    size_t have = self->have;
    size_t n = 0;
    if (have < XS_HEADER) {
        n = ring_take(p, &xs_req, cons, b + have, XS_HEADER - have, MP_QSTR_req);
        have += n;
    }
    if (have >= XS_HEADER) {
        struct xsd_sockmsg h;
        memcpy(&h, b, XS_HEADER);
        size_t want = h.len > XENSTORE_PAYLOAD_MAX ? have : XS_HEADER + h.len;
        if (want > buf.len) {
            want = buf.len;
        }
        if (want > have) {
            size_t m = ring_take(p, &xs_req, cons + (uint32_t)n, b + have, want - have, MP_QSTR_req);
            n += m;
            have += m;
        }
    }
    self->req_cons = cons + (uint32_t)n;
    self->have = have;
    self->stats_in += n;
    return n;
}

// Copies as much of the reply being written as the response ring has room for.
static size_t xs_put(xsring_obj_t *self, uint8_t *p) {
    mp_buffer_info_t c;
    mp_get_buffer_raise(self->cur, &c, MP_BUFFER_READ);
    if (load_idx(p + xs_rsp.prod) != self->rsp_prod) {
        raise_corrupt(MP_QSTR_rsp);            // the guest wrote rsp_prod
    }
    size_t n = ring_put(p, &xs_rsp, self->rsp_prod, (const uint8_t *)c.buf + self->curoff,
        c.len - self->curoff, MP_QSTR_rsp);
    self->rsp_prod += (uint32_t)n;
    self->stats_out += n;
    if (self->curoff + n < c.len) {
        self->curoff += n;
    } else {
        self->cur = MP_OBJ_NULL;
    }
    return n;
}

// XsRing(page): the server side of a xenstore page, taking the indices as
// the domain builder left them (normally 0).
static mp_obj_t xsring_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 1, 1, false);
    uint8_t *p = xs_page(args[0]);
    xsring_obj_t *self = mp_obj_malloc(xsring_obj_t, type);
    self->page = args[0];
    self->inbuf = new_zeroed_bytearray(XS_INBUF);
    self->cur = MP_OBJ_NULL;
    self->have = 0;
    self->curoff = 0;
    self->req_cons = load_idx(p + xs_req.cons);
    self->rsp_prod = load_idx(p + xs_rsp.prod);
    self->stats_in = 0;
    self->stats_out = 0;
    return MP_OBJ_FROM_PTR(self);
}

// serve(conn, handle, notify, budget, limit) -> bits (KICK, BUSY, TOOBIG)
// Until nothing more moves: the replies queued on conn (conn.out, taken
// with conn.pop()) go into the response ring; then, unless `limit` replies
// are already waiting, one request is read and, once whole, passed to
// handle(conn, type, req_id, tx_id, payload). The first reply written is
// notified at once, before the ring is read again (the guest waits for it);
// KICK asks the caller to notify once more. After `budget` requests, the
// replies go out and serve returns BUSY. TOOBIG: the request declares a
// length over the protocol's limit (nothing more is read). A bad index
// raises OSError(EBADMSG, "req" or "rsp") before any byte moves.
static mp_obj_t xsring_serve(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    xsring_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    mp_obj_t conn = args[1];
    mp_obj_t handle = args[2];
    mp_obj_t notify = args[3];
    mp_int_t budget = mp_obj_get_int(args[4]);
    mp_int_t limit = mp_obj_get_int(args[5]);
    mp_obj_t pop[2];
    mp_load_method(conn, MP_QSTR_pop, pop);
    bool kick = false, early = true, busy = false;
    for (;;) {
        // the page is looked up again after the store's handle and the
        // kick, the calls back into Python that may do anything
        uint8_t *p = xs_page(self->page);
        bool wrote = false;
        for (;;) {
            if (self->cur == MP_OBJ_NULL) {
                if (!mp_obj_is_true(mp_load_attr(conn, MP_QSTR_out))) {
                    break;
                }
                self->cur = mp_call_method_n_kw(0, 0, pop);
                self->curoff = 0;
            }
            if (!xs_put(self, p)) {
                break;
            }
            wrote = kick = true;
            if (self->cur != MP_OBJ_NULL) {
                break;                          // the ring is full
            }
        }
        if (wrote && early) {
            // The guest waits for this reply: its kick goes now, before the
            // ring is read again (later replies share the final kick).
            early = kick = false;
            mp_call_function_0(notify);
            p = xs_page(self->page);
        }
        if (busy) {
            break;
        }
        mp_int_t waiting = mp_obj_get_int(mp_load_attr(conn, MP_QSTR_nreplies));
        if (self->cur != MP_OBJ_NULL) {
            mp_buffer_info_t c;
            mp_get_buffer_raise(self->cur, &c, MP_BUFFER_READ);
            if (c.len && ((const uint8_t *)c.buf)[0] != XS_WATCH_EVENT) {
                waiting++;
            }
        }
        if (waiting >= limit) {
            if (wrote) {
                continue;           // room was made: maybe more replies fit
            }
            break;
        }
        if (xs_take(self, p)) {
            kick = true;
        }
        if (self->have < XS_HEADER) {
            break;
        }
        mp_buffer_info_t in;
        mp_get_buffer_raise(self->inbuf, &in, MP_BUFFER_READ);
        struct xsd_sockmsg h;
        memcpy(&h, in.buf, XS_HEADER);
        if (h.len > XENSTORE_PAYLOAD_MAX) {
            return MP_OBJ_NEW_SMALL_INT(XSRING_TOOBIG | (kick ? XSRING_KICK : 0));
        }
        if (self->have < XS_HEADER + h.len) {
            if (self->have == in.len && in.len < XS_INBUF_MAX) {
                // a longer message than the buffer: room for the largest
                mp_obj_t big = new_zeroed_bytearray(XS_INBUF_MAX);
                mp_buffer_info_t bb;
                mp_get_buffer_raise(big, &bb, MP_BUFFER_WRITE);
                memcpy(bb.buf, in.buf, self->have);
                self->inbuf = big;
                continue;
            }
            break;
        }
        self->have = 0;
        mp_obj_t a[5] = {
            conn,
            mp_obj_new_int_from_uint(h.type),
            mp_obj_new_int_from_uint(h.req_id),
            mp_obj_new_int_from_uint(h.tx_id),
            xsframe_bytes((const uint8_t *)in.buf + XS_HEADER, h.len),
        };
        mp_call_function_n_kw(handle, 5, 0, a);
        if (--budget <= 0) {
            busy = true;    // its reply goes out in the next pass
        }
    }
    return MP_OBJ_NEW_SMALL_INT((kick ? XSRING_KICK : 0) | (busy ? XSRING_BUSY : 0));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(xsring_serve_obj, 6, 6, xsring_serve);

// reset([req_cons, rsp_prod]): the request being read and the reply being
// written are dropped (a ring that stopped); with indices, dom0's start
// again from these (a guest that reconnected).
static mp_obj_t xsring_reset(size_t n_args, const mp_obj_t *args) {
    xsring_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    if (n_args == 3) {
        self->req_cons = arg_idx(args[1]);
        self->rsp_prod = arg_idx(args[2]);
    } else if (n_args != 1) {
        mp_raise_TypeError(MP_ERROR_TEXT("reset() takes no indices or both"));
    }
    self->have = 0;
    self->cur = MP_OBJ_NULL;
    self->curoff = 0;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(xsring_reset_obj, 1, 3, xsring_reset);

// Read-only: req_cons, rsp_prod (dom0's indices), have (bytes of the request
// being read), inbuf, stats_in and stats_out (bytes moved).
static void xsring_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    xsring_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (dest[0] != MP_OBJ_NULL) {
        return;
    }
    switch (attr) {
        case MP_QSTR_req_cons:
            dest[0] = mp_obj_new_int_from_uint(self->req_cons);
            break;
        case MP_QSTR_rsp_prod:
            dest[0] = mp_obj_new_int_from_uint(self->rsp_prod);
            break;
        case MP_QSTR_have:
            dest[0] = mp_obj_new_int_from_uint(self->have);
            break;
        case MP_QSTR_inbuf:
            dest[0] = self->inbuf;
            break;
        case MP_QSTR_stats_in:
            dest[0] = mp_obj_new_int_from_uint(self->stats_in);
            break;
        case MP_QSTR_stats_out:
            dest[0] = mp_obj_new_int_from_uint(self->stats_out);
            break;
        default:
            dest[1] = MP_OBJ_SENTINEL;      // on to locals_dict
    }
}

static const mp_rom_map_elem_t xsring_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_serve), MP_ROM_PTR(&xsring_serve_obj) },
    { MP_ROM_QSTR(MP_QSTR_reset), MP_ROM_PTR(&xsring_reset_obj) },
    { MP_ROM_QSTR(MP_QSTR_KICK), MP_ROM_INT(XSRING_KICK) },
    { MP_ROM_QSTR(MP_QSTR_BUSY), MP_ROM_INT(XSRING_BUSY) },
    { MP_ROM_QSTR(MP_QSTR_TOOBIG), MP_ROM_INT(XSRING_TOOBIG) },
};
static MP_DEFINE_CONST_DICT(xsring_locals, xsring_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    xsring_type,
    MP_QSTR_XsRing,
    MP_TYPE_FLAG_NONE,
    make_new, xsring_make_new,
    attr, xsring_attr,
    locals_dict, &xsring_locals
    );

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
    { MP_ROM_QSTR(MP_QSTR_XsRing), MP_ROM_PTR(&xsring_type) },
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
