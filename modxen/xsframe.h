// xsframe.c: xenstore wire framing helpers for the _xen globals table.
#ifndef MODXEN_XSFRAME_H
#define MODXEN_XSFRAME_H

#include "py/obj.h"

extern const mp_obj_fun_builtin_var_t mod_xen_xs_parse_obj;
extern const mp_obj_fun_builtin_var_t mod_xen_xs_packet_obj;
extern const mp_obj_fun_builtin_fixed_t mod_xen_xs_path_ok_obj;
extern const mp_obj_fun_builtin_var_t mod_xen_xs_readinto_obj;
extern const mp_obj_fun_builtin_fixed_t mod_xen_xs_tail_obj;
extern const mp_obj_fun_builtin_fixed_t mod_xen_xs_child_add_obj;
extern const mp_obj_fun_builtin_fixed_t mod_xen_xs_child_del_obj;

#define MODXEN_XSFRAME_GLOBALS \
    { MP_ROM_QSTR(MP_QSTR_xs_parse), MP_ROM_PTR(&mod_xen_xs_parse_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_xs_packet), MP_ROM_PTR(&mod_xen_xs_packet_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_xs_path_ok), MP_ROM_PTR(&mod_xen_xs_path_ok_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_xs_readinto), MP_ROM_PTR(&mod_xen_xs_readinto_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_xs_tail), MP_ROM_PTR(&mod_xen_xs_tail_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_xs_child_add), MP_ROM_PTR(&mod_xen_xs_child_add_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_xs_child_del), MP_ROM_PTR(&mod_xen_xs_child_del_obj) },

#endif
