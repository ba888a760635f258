// The dom0 REPL loop shared by both _xenboard modules: the host firmware's
// (board/unix.c, on a pty or the user's terminal) and the board's
// (board/zephyr.c, on Xen's console). The terminal plumbing differs; the
// loop is this one.
//
// Owns: soft reset (fresh globals, the reset hook). Must not know: the
// terminal, Xen.
#include "py/runtime.h"
#include "py/mphal.h"
#include "py/gc.h"
#include "shared/runtime/pyexec.h"

#include "repl.h"

static mp_obj_t fresh_globals(void) {
    mp_obj_t g = mp_obj_new_dict(4);
    mp_obj_dict_store(g, MP_OBJ_NEW_QSTR(MP_QSTR___name__), MP_OBJ_NEW_QSTR(MP_QSTR___main__));
    return g;
}

static void use_globals(mp_obj_t g) {
    mp_globals_set(MP_OBJ_TO_PTR(g));
    mp_locals_set(MP_OBJ_TO_PTR(g));
}

void modxen_repl_loop(mp_obj_t reset, bool (*input_over)(void)) {
    mp_obj_dict_t *saved_globals = mp_globals_get();
    mp_obj_dict_t *saved_locals = mp_locals_get();
    mp_obj_t globals = fresh_globals();
    for (;;) {
        use_globals(globals);
        // Idle: Ctrl-C is a key for pyexec until it runs code.
        mp_hal_set_interrupt_char(-1);
        int ret = 0;
        nlr_buf_t nlr;
        if (nlr_push(&nlr) == 0) {
            if (pyexec_mode_kind == PYEXEC_MODE_RAW_REPL) {
                ret = pyexec_raw_repl();
            } else {
                ret = pyexec_friendly_repl();
            }
            nlr_pop();
        } else {
            // An exception outside user code (e.g. a KeyboardInterrupt that
            // landed while pyexec waited for input): report it, carry on.
            mp_hal_set_interrupt_char(-1);
            mp_obj_print_exception(&mp_plat_print, MP_OBJ_FROM_PTR(nlr.ret_val));
            continue;
        }
        if (ret & PYEXEC_FORCED_EXIT) {
            mp_hal_stdout_tx_str("MPY: soft reboot\r\n");
            globals = fresh_globals();
            use_globals(globals);
            if (input_over != NULL && input_over()) {
                break;
            }
            if (reset != mp_const_none) {
                if (nlr_push(&nlr) == 0) {
                    mp_call_function_0(reset);
                    nlr_pop();
                } else {
                    mp_obj_print_exception(&mp_plat_print, MP_OBJ_FROM_PTR(nlr.ret_val));
                }
            }
            gc_collect();
        } else if (input_over != NULL && input_over()) {
            break;
        }
    }
    mp_globals_set(saved_globals);
    mp_locals_set(saved_locals);
}
