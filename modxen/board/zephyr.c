// _xenboard on Zephyr: the dom0 REPL of the Zephyr firmware, its console
// input, a soft reset that keeps the dom0 services, and the board's image
// store. The host firmware's _xenboard is board/unix.c.
//
// Owns: the console input hook, VIRQ_CONSOLE or the poll timer, the image
// store mapping. Must not know: the binding's internals (it binds its VIRQ
// through xenhv.h) or what the REPL runs (board/repl.c, pyexec).
//
// Input. A Zephyr dom0 writes its console with the console_io hypercall
// (Zephyr's hvc-consoleio driver), which is poll-only: Zephyr's console
// handler is off, so the input hook MicroPython's port installs
// (uart_console_in_debug_hook_install: its ring buffer, Ctrl-C ->
// KeyboardInterrupt) is never called. The firmware links with
// --wrap=uart_console_in_debug_hook_install (port/zephyr/CMakeLists.txt), so
// the port's hook passes through here; we keep it and feed it ourselves:
//   - VIRQ_CONSOLE: Xen raises it in dom0 whenever serial input for dom0
//     arrives; its handler (Zephyr's event ISR) drains CONSOLEIO_read into
//     the hook and wakes the interpreter (mp_hal_signal_event). Nothing runs
//     while no key is pressed.
//   - a k_timer polling CONSOLEIO_read every CONFIG_MODXEN_CONSOLE_POLL_MS
//     when the VIRQ cannot be bound (or when the Kconfig choice asks for it).
// Neither MicroPython's nor Zephyr's sources are changed.
//
// Soft reset. The port's main loop tears the whole VM down on Ctrl-D
// (mp_deinit, gc_sweep_all), which would kill the dom0 services (xenstore,
// consoles, event channels). The frozen main.py runs _xenboard.repl_run()
// instead: pyexec's friendly/raw REPL in a loop where Ctrl-D gives fresh
// globals and calls a Python reset hook, and the heap stays.

#include <string.h>

#include "py/runtime.h"
#include "py/mphal.h"
#include "py/gc.h"
#include "py/objarray.h"
#include "py/mperrno.h"
#include "shared/runtime/pyexec.h"

#include "xenhv.h"
#include "repl.h"

#include <zephyr/kernel.h>
#include <zephyr/devicetree.h>
#include <zephyr/kernel/internal/mm.h>
#include <zephyr/arch/arm64/hypercall.h>
#include <zephyr/xen/events.h>

#ifndef CONFIG_MODXEN_CONSOLE_POLL_MS
#define CONFIG_MODXEN_CONSOLE_POLL_MS 20
#endif

void mp_hal_signal_event(void);

typedef int (*console_hook_t)(uint8_t ch);
void __real_uart_console_in_debug_hook_install(console_hook_t hook);

static struct {
    console_hook_t hook;
    int port;              // VIRQ_CONSOLE's port, or -1
    bool polling;
    uint32_t bytes;        // input bytes handed to the hook
    uint32_t wakeups;      // VIRQ events or timer ticks that ran the drain
    struct k_timer timer;
} con = { .port = -1 };

// ISR context (event ISR or timer): move what Xen holds for dom0 into the
// port's input ring. The hook handles Ctrl-C itself.
static void console_drain(bool wake) {
    static char buf[64];
    con.wakeups++;
    if (con.hook == NULL) {
        return;
    }
    for (;;) {
        int n = HYPERVISOR_console_io(CONSOLEIO_read, sizeof(buf), buf);
        if (n <= 0) {
            break;
        }
        for (int i = 0; i < n && i < (int)sizeof(buf); i++) {
            con.hook((uint8_t)buf[i]);
        }
        con.bytes += n;
        if (n < (int)sizeof(buf)) {
            break;
        }
    }
    if (wake) {
        mp_hal_signal_event();
    }
}

static void console_virq(void *priv) {
    (void)priv;
    console_drain(true);
}

static void console_tick(struct k_timer *t) {
    (void)t;
    console_drain(true);
}

static void console_start(void) {
    #if !defined(CONFIG_MODXEN_CONSOLE_INPUT_POLL)
    struct evtchn_bind_virq b = { .virq = VIRQ_CONSOLE, .vcpu = 0 };
    if (HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &b) == 0) {
        con.port = (int)b.port;
        bind_event_channel(b.port, console_virq, NULL);
        struct evtchn_unmask u = { .port = b.port };
        HYPERVISOR_event_channel_op(EVTCHNOP_unmask, &u);
        // anything typed before the port existed; no wake-up: the port's
        // event (mp_hal_init) is not set up yet when its hook is installed
        console_drain(false);
        return;
    }
    #endif
    con.polling = true;
    k_timer_init(&con.timer, console_tick, NULL);
    k_timer_start(&con.timer, K_MSEC(CONFIG_MODXEN_CONSOLE_POLL_MS), K_MSEC(CONFIG_MODXEN_CONSOLE_POLL_MS));
}

// MicroPython's port installs its input hook at start-up (zephyr_getchar_init).
void __wrap_uart_console_in_debug_hook_install(console_hook_t hook) {
    __real_uart_console_in_debug_hook_install(hook);
    bool first = con.hook == NULL;
    con.hook = hook;
    if (first && hook != NULL) {
        console_start();
    }
}

/******************************************************************************/
// Output. Xen's serial driver turns every "\n" a dom0 writes into "\r\n";
// MicroPython already writes "\r\n", so the wire would carry "\r\r\n",
// which tools that wait for "soft reboot\r\n" or "OK" lines (mpremote) never
// match. The port's mp_hal_stdout_tx_strn (its one output path, also linked
// with --wrap) passes through here and drops a "\r" that precedes "\n";
// lone "\r" (line editing) goes out unchanged.

mp_uint_t __real_mp_hal_stdout_tx_strn(const char *str, mp_uint_t len);

mp_uint_t __wrap_mp_hal_stdout_tx_strn(const char *str, mp_uint_t len) {
    const char *start = str;
    const char *end = str + len;
    for (const char *p = str; p + 1 < end; p++) {
        if (p[0] == '\r' && p[1] == '\n') {
            if (p > start) {
                __real_mp_hal_stdout_tx_strn(start, p - start);
            }
            start = p + 1;
        }
    }
    if (start < end) {
        __real_mp_hal_stdout_tx_strn(start, end - start);
    }
    return len;
}

/******************************************************************************/
// _xenboard: what the board's frozen main.py needs.

// console_input() -> ("virq", port) or ("poll", period_ms), bytes, wakeups
static mp_obj_t mod_xenboard_console_input(void) {
    mp_obj_t t[4] = {
        con.polling ? MP_OBJ_NEW_QSTR(MP_QSTR_poll) : MP_OBJ_NEW_QSTR(MP_QSTR_virq),
        MP_OBJ_NEW_SMALL_INT(con.polling ? CONFIG_MODXEN_CONSOLE_POLL_MS : con.port),
        mp_obj_new_int_from_uint(con.bytes),
        mp_obj_new_int_from_uint(con.wakeups),
    };
    if (con.hook == NULL) {
        t[0] = mp_const_none;
    }
    return mp_obj_new_tuple(4, t);
}
static MP_DEFINE_CONST_FUN_OBJ_0(mod_xenboard_console_input_obj, mod_xenboard_console_input);

// repl_run(reset): the REPL forever (repl.c). Ctrl-D (or SystemExit) prints
// "MPY: soft reboot", gives fresh globals and calls reset(); the heap, the
// `xen` package and everything it runs stay.
static mp_obj_t mod_xenboard_repl_run(mp_obj_t reset) {
    modxen_repl_loop(reset, NULL);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xenboard_repl_run_obj, mod_xenboard_repl_run);

// image_store() -> read-only memoryview of the board's guest image store (a
// "modxen,image-store" devicetree node: memory-mapped flash holding a tar
// archive), or None. Mapped once, on first use; main.py mounts it at /images.
static mp_obj_t mod_xenboard_image_store(void) {
    #if DT_HAS_COMPAT_STATUS_OKAY(modxen_image_store)
    #define MODXEN_IMAGES DT_INST(0, modxen_image_store)
    static uint8_t *va;
    const size_t size = DT_REG_SIZE_BY_IDX(MODXEN_IMAGES, 0);
    if (va == NULL) {
        k_mem_map_phys_bare(&va, DT_REG_ADDR_BY_IDX(MODXEN_IMAGES, 0), size, K_MEM_CACHE_WB);
        if (va == NULL) {
            mp_raise_OSError(MP_ENOMEM);
        }
    }
    return mp_obj_new_memoryview('B', size, va);   // no RW flag: read-only
    #else
    return mp_const_none;
    #endif
}
static MP_DEFINE_CONST_FUN_OBJ_0(mod_xenboard_image_store_obj, mod_xenboard_image_store);

static const mp_rom_map_elem_t xenboard_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__xenboard) },
    { MP_ROM_QSTR(MP_QSTR_repl_run), MP_ROM_PTR(&mod_xenboard_repl_run_obj) },
    { MP_ROM_QSTR(MP_QSTR_console_input), MP_ROM_PTR(&mod_xenboard_console_input_obj) },
    { MP_ROM_QSTR(MP_QSTR_image_store), MP_ROM_PTR(&mod_xenboard_image_store_obj) },
};
static MP_DEFINE_CONST_DICT(xenboard_globals, xenboard_globals_table);

const mp_obj_module_t mp_module_xenboard = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&xenboard_globals,
};

MP_REGISTER_MODULE(MP_QSTR__xenboard, mp_module_xenboard);
