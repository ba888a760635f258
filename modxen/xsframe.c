// _xsframe: xenstore wire framing in C, the per-message byte work of the xenstore
// server (pylib/xen/xenstore), which is measurably too slow in Python on the
// unix port. Policy stays in Python; these only split, join and check bytes.
//
// A message is a header of four host-endian u32 (type, req_id, tx_id, len)
// followed by len <= 4096 payload bytes (Xen's io/xs_wire.h). wire.py has a
// pure-Python twin of each function (used when _xsframe is absent); the tests
// compare the two.
//
// Owns: splitting, joining and checking xenstore bytes. Must not know: Xen,
// the store, or where the bytes come from (socket or ring).
//
// Heap per call: parse allocates the payload bytes (and, without hdr,
// the 4-tuple);
// packet, tail, child_add and child_del one bytes object; path_ok and
// readinto nothing.

#include <string.h>

#include "py/runtime.h"
#include "py/objstr.h"
#include "py/objtuple.h"
#include "py/objlist.h"
#include "py/stream.h"

#include "xsframe.h"

#define XS_HEADER 16
#define XS_PAYLOAD_MAX 4096

static uint32_t get_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);       // host endian, any alignment
    return v;
}

// A bytes object whose hash is left to be computed when first needed (hash
// 0 means "not computed" to MicroPython's runtime): payloads, values and
// replies are copied, never hashed, and hashing 4 KB costs more than the
// rest of a request. Here a + b, two pieces joined (b may be NULL, blen 0).
static mp_obj_t new_bytes_lazy_join(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
    size_t len = alen + blen;
    if (len == 0) {
        return mp_const_empty_bytes;
    }
    byte *p = m_new(byte, len + 1);
    memcpy(p, a, alen);
    if (blen) {
        memcpy(p + alen, b, blen);
    }
    p[len] = '\0';
    mp_obj_str_t *o = mp_obj_malloc(mp_obj_str_t, &mp_type_bytes);
    o->hash = 0;
    o->len = len;
    o->data = p;
    return MP_OBJ_FROM_PTR(o);
}

mp_obj_t xsframe_bytes(const uint8_t *data, size_t len) {
    return new_bytes_lazy_join(data, len, NULL, 0);
}

static size_t arg_index(mp_obj_t o, size_t limit) {
    mp_int_t v = mp_obj_get_int(o);
    if (v < 0 || (size_t)v > limit) {
        mp_raise_ValueError(MP_ERROR_TEXT("xenstore framing: offset outside the buffer"));
    }
    return (size_t)v;
}

// xs_parse(buf, off=0, end=len(buf), hdr=None) -> (type, req_id, tx_id,
// payload) or None
// One complete message at buf[off:end], or None while it is incomplete (the
// caller then reads more). The message takes 16 + len(payload) bytes. A
// length over 4096 raises ValueError: such a stream cannot be resynchronised.
// With hdr (a list of at least 3 items) type, req_id and tx_id go into
// hdr[0:3] and only the payload is returned: no tuple per message.
static mp_obj_t mod_xsframe_parse(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t b;
    mp_get_buffer_raise(args[0], &b, MP_BUFFER_READ);
    size_t end = n_args > 2 ? arg_index(args[2], b.len) : b.len;
    size_t off = n_args > 1 ? arg_index(args[1], end) : 0;
    if (end - off < XS_HEADER) {
        return mp_const_none;
    }
    const uint8_t *p = (const uint8_t *)b.buf + off;
    uint32_t len = get_u32(p + 12);
    if (len > XS_PAYLOAD_MAX) {
        mp_raise_ValueError(MP_ERROR_TEXT("xenstore message length over 4096"));
    }
    if (end - off - XS_HEADER < len) {
        return mp_const_none;
    }
    mp_obj_t t[4] = {
        mp_obj_new_int_from_uint(get_u32(p)),
        mp_obj_new_int_from_uint(get_u32(p + 4)),
        mp_obj_new_int_from_uint(get_u32(p + 8)),
        xsframe_bytes(p + XS_HEADER, len),
    };
    if (n_args > 3 && args[3] != mp_const_none) {
        size_t hn;
        mp_obj_t *h;
        if (!mp_obj_is_type(args[3], &mp_type_list)) {
            mp_raise_TypeError(MP_ERROR_TEXT("xs_parse: hdr must be a list"));
        }
        mp_obj_list_get(args[3], &hn, &h);
        if (hn < 3) {
            mp_raise_ValueError(MP_ERROR_TEXT("xs_parse: hdr needs 3 items"));
        }
        h[0] = t[0];
        h[1] = t[1];
        h[2] = t[2];
        return t[3];
    }
    return mp_obj_new_tuple(4, t);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xsframe_parse_obj, 1, 4, mod_xsframe_parse);

static uint32_t arg_u32(mp_obj_t o) {
    return (uint32_t)mp_obj_get_int_truncated(o);
}

// xs_packet(type, req_id, tx_id, payload) -> bytes: header + payload in one
// object (the header's len is len(payload); the caller keeps it <= 4096 where
// the protocol requires it).
static mp_obj_t mod_xsframe_packet(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    mp_buffer_info_t pl;
    mp_get_buffer_raise(args[3], &pl, MP_BUFFER_READ);
    if (pl.len > 0xFFFFFFFFu) {
        mp_raise_ValueError(MP_ERROR_TEXT("xs_packet: payload too long"));
    }
    uint32_t h[4] = { arg_u32(args[0]), arg_u32(args[1]), arg_u32(args[2]), (uint32_t)pl.len };
    byte *p = m_new(byte, XS_HEADER + pl.len + 1);
    memcpy(p, h, XS_HEADER);
    memcpy(p + XS_HEADER, pl.buf, pl.len);
    p[XS_HEADER + pl.len] = '\0';
    mp_obj_str_t *o = mp_obj_malloc(mp_obj_str_t, &mp_type_bytes);
    o->hash = 0;        // computed if ever needed
    o->len = XS_HEADER + pl.len;
    o->data = p;
    return MP_OBJ_FROM_PTR(o);
}

// xs_tail(data, start) -> bytes(data[start:]), its hash left uncomputed (a
// WRITE's value: stored and sent back, never a dict key).
static mp_obj_t mod_xsframe_tail(mp_obj_t data_in, mp_obj_t start_in) {
    mp_buffer_info_t b;
    mp_get_buffer_raise(data_in, &b, MP_BUFFER_READ);
    size_t start = arg_index(start_in, b.len);
    return xsframe_bytes((const uint8_t *)b.buf + start, b.len - start);
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xsframe_tail_obj, mod_xsframe_tail);
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xsframe_packet_obj, 4, 4, mod_xsframe_packet);

// xs_path_ok(path) -> bool: non-empty, only [A-Za-z0-9-/_@], no "//", no
// trailing "/" unless the path is "/". (Where it must start and how long it
// may be is the core's business.)
static mp_obj_t mod_xsframe_path_ok(mp_obj_t path) {
    mp_buffer_info_t b;
    mp_get_buffer_raise(path, &b, MP_BUFFER_READ);
    const uint8_t *p = b.buf;
    size_t n = b.len;
    if (n == 0 || (n > 1 && p[n - 1] == '/')) {
        return mp_const_false;
    }
    uint8_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == '-' || c == '_' || c == '@' || c == '/';
        if (!ok || (c == '/' && prev == '/')) {
            return mp_const_false;
        }
        prev = c;
    }
    return mp_const_true;
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xsframe_path_ok_obj, mod_xsframe_path_ok);

// xs_readinto(stream, buf, off=0) -> n (0 at end of stream), or None when
// nothing can be read now. ONE read of a (non-blocking) stream into
// buf[off:]: a socket's own readinto() reads again until its buffer is full
// or the read would block, which costs an extra system call per message.
static mp_obj_t mod_xsframe_readinto(size_t n_args, const mp_obj_t *args) {
    mp_get_stream_raise(args[0], MP_STREAM_OP_READ);
    mp_buffer_info_t b;
    mp_get_buffer_raise(args[1], &b, MP_BUFFER_WRITE);
    size_t off = n_args > 2 ? arg_index(args[2], b.len) : 0;
    if (off == b.len) {
        mp_raise_ValueError(MP_ERROR_TEXT("xs_readinto: no room in the buffer"));
    }
    int err;
    mp_uint_t n = mp_stream_rw(args[0], (uint8_t *)b.buf + off, b.len - off, &err,
        MP_STREAM_RW_READ | MP_STREAM_RW_ONCE);
    if (err != 0) {
        if (mp_is_nonblocking_error(err)) {
            return mp_const_none;
        }
        mp_raise_OSError(err);
    }
    return MP_OBJ_NEW_SMALL_INT(n);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_xsframe_readinto_obj, 2, 3, mod_xsframe_readinto);

// Child lists as the wire has them, b"name\0name\0...": the core keeps a
// node's children in that form (pylib/xen/xenstore/store.py).

// xs_child_add(blob, name) -> blob + name + b"\0" (a new object).
static mp_obj_t mod_xsframe_child_add(mp_obj_t blob_in, mp_obj_t name_in) {
    mp_buffer_info_t b, n;
    mp_get_buffer_raise(blob_in, &b, MP_BUFFER_READ);
    mp_get_buffer_raise(name_in, &n, MP_BUFFER_READ);
    size_t len = b.len + n.len + 1;
    byte *p = m_new(byte, len + 1);
    memcpy(p, b.buf, b.len);
    memcpy(p + b.len, n.buf, n.len);
    p[len - 1] = '\0';
    p[len] = '\0';
    mp_obj_str_t *o = mp_obj_malloc(mp_obj_str_t, &mp_type_bytes);
    o->hash = 0;
    o->len = len;
    o->data = p;
    return MP_OBJ_FROM_PTR(o);
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xsframe_child_add_obj, mod_xsframe_child_add);

// xs_child_del(blob, name) -> blob without the entry name (a new object), or
// blob itself when no entry is exactly name.
static mp_obj_t mod_xsframe_child_del(mp_obj_t blob_in, mp_obj_t name_in) {
    mp_buffer_info_t b, n;
    mp_get_buffer_raise(blob_in, &b, MP_BUFFER_READ);
    mp_get_buffer_raise(name_in, &n, MP_BUFFER_READ);
    const byte *p = b.buf;
    size_t i = 0;
    while (i < b.len) {
        const byte *z = memchr(p + i, 0, b.len - i);
        size_t e = z ? (size_t)(z - p) : b.len;     // end of this entry
        if (e - i == n.len && memcmp(p + i, n.buf, n.len) == 0) {
            size_t cut = (e < b.len ? e + 1 : e) - i;
            return new_bytes_lazy_join(p, i, p + i + cut, b.len - i - cut);
        }
        i = e + 1;
    }
    return blob_in;
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xsframe_child_del_obj, mod_xsframe_child_del);

static const mp_rom_map_elem_t xsframe_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__xsframe) },
    { MP_ROM_QSTR(MP_QSTR_parse), MP_ROM_PTR(&mod_xsframe_parse_obj) },
    { MP_ROM_QSTR(MP_QSTR_packet), MP_ROM_PTR(&mod_xsframe_packet_obj) },
    { MP_ROM_QSTR(MP_QSTR_path_ok), MP_ROM_PTR(&mod_xsframe_path_ok_obj) },
    { MP_ROM_QSTR(MP_QSTR_readinto), MP_ROM_PTR(&mod_xsframe_readinto_obj) },
    { MP_ROM_QSTR(MP_QSTR_tail), MP_ROM_PTR(&mod_xsframe_tail_obj) },
    { MP_ROM_QSTR(MP_QSTR_child_add), MP_ROM_PTR(&mod_xsframe_child_add_obj) },
    { MP_ROM_QSTR(MP_QSTR_child_del), MP_ROM_PTR(&mod_xsframe_child_del_obj) },
};
static MP_DEFINE_CONST_DICT(xsframe_globals, xsframe_globals_table);

const mp_obj_module_t mp_module_xsframe = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&xsframe_globals,
};

MP_REGISTER_MODULE(MP_QSTR__xsframe, mp_module_xsframe);
