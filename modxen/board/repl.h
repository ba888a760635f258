// The dom0 REPL loop shared by the host and the board firmware.
#ifndef MODXEN_REPL_H
#define MODXEN_REPL_H

#include <stdbool.h>
#include "py/obj.h"

// MicroPython's own pyexec REPL (friendly, raw, raw-paste) forever, with a
// board's soft reset: Ctrl-D (or SystemExit) prints "MPY: soft reboot",
// gives fresh globals and calls reset() (None: nothing); the heap, the `xen`
// package and every service it runs stay. Returns when input_over() (may be
// NULL) says the terminal is gone.
void modxen_repl_loop(mp_obj_t reset, bool (*input_over)(void));

#endif
