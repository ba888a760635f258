// ring.c: guest byte rings (console, xenstore) for the _xen globals table.
#ifndef MODXEN_RING_H
#define MODXEN_RING_H

#include "py/obj.h"
#include "py/objtuple.h"

extern const mp_obj_fun_builtin_var_t mod_xen_ring_read_obj;
extern const mp_obj_fun_builtin_var_t mod_xen_ring_write_obj;
extern const mp_obj_fun_builtin_fixed_t mod_xen_ring_indices_obj;
extern const mp_rom_obj_tuple_t modxen_ring_console_out;
extern const mp_rom_obj_tuple_t modxen_ring_console_in;
extern const mp_rom_obj_tuple_t modxen_ring_xenstore_req;
extern const mp_rom_obj_tuple_t modxen_ring_xenstore_rsp;

#define MODXEN_RING_GLOBALS \
    { MP_ROM_QSTR(MP_QSTR_ring_read), MP_ROM_PTR(&mod_xen_ring_read_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_ring_write), MP_ROM_PTR(&mod_xen_ring_write_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_ring_indices), MP_ROM_PTR(&mod_xen_ring_indices_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_RING_CONSOLE_OUT), MP_ROM_PTR(&modxen_ring_console_out) }, \
    { MP_ROM_QSTR(MP_QSTR_RING_CONSOLE_IN), MP_ROM_PTR(&modxen_ring_console_in) }, \
    { MP_ROM_QSTR(MP_QSTR_RING_XENSTORE_REQ), MP_ROM_PTR(&modxen_ring_xenstore_req) }, \
    { MP_ROM_QSTR(MP_QSTR_RING_XENSTORE_RSP), MP_ROM_PTR(&modxen_ring_xenstore_rsp) },

#endif
