// repl_unix.c: the host firmware's dom0 REPL terminal (unix port only).
#ifndef MODXEN_REPL_UNIX_H
#define MODXEN_REPL_UNIX_H

#include "py/obj.h"

#if MODXEN_HOST_REPL
extern const mp_obj_fun_builtin_fixed_t mod_xen_repl_tty_obj;
extern const mp_obj_fun_builtin_fixed_t mod_xen_repl_run_obj;
#define MODXEN_REPL_GLOBALS \
    { MP_ROM_QSTR(MP_QSTR_repl_tty), MP_ROM_PTR(&mod_xen_repl_tty_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_repl_run), MP_ROM_PTR(&mod_xen_repl_run_obj) },
#else
#define MODXEN_REPL_GLOBALS
#endif

#endif
