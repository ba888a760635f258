// _xenboard on the unix port: the dom0 REPL terminal of the host firmware
// (the stand-in for the Xen console) and the signals that reach the
// interpreter. The Zephyr firmware's _xenboard is board/zephyr.c.
//
// Owns: the terminal (pty or stdio), its pump thread, Ctrl-C and signals as
// KeyboardInterrupt. Must not know: Xen (it only asks the backend to wake the
// interpreter, xenhv_wake) or what the REPL runs (board/repl.c, pyexec).
//
// On a board the REPL sits on the dom0 Xen console and is MicroPython's own
// shared/runtime/pyexec.c (friendly REPL, raw REPL, raw-paste: what mpremote
// speaks). The unix port of MicroPython 1.25 has no raw REPL, so the host
// firmware compiles that same pyexec.c (from the MicroPython tree, see
// micropython.mk) and runs it here, on a pseudo-terminal or on the user's
// terminal:
//
//   repl_tty(path)   path "-": the process's own terminal (raw mode, restored
//                    at exit); otherwise a new pty whose slave is linked at
//                    path. Input reaches fd 0 through a pipe fed by a pump
//                    thread; output goes to the terminal on fd 1.
//   repl_run(reset)  pyexec's friendly/raw REPL forever. Ctrl-D (or
//                    SystemExit) is a soft reset as on a board: "MPY: soft
//                    reboot", reset() (Python: unmount, forget user modules)
//                    and fresh globals; dom0 services (event channel upcalls,
//                    the state of the `xen` package) live on.
//
// Ctrl-C: the terminal is in raw mode, so 0x03 is a byte, not a signal. The
// pump thread looks at every byte; while the interpreter runs code with the
// interrupt character enabled (pyexec and micropython.kbd_intr(3) install the
// unix port's SIGINT handler, kbd_intr(-1) removes it, so the handler *is*
// the switch) it drops the 0x03 and schedules KeyboardInterrupt, then wakes
// the interpreter out of any blocking call until it has taken it. Otherwise
// 0x03 is input like any byte (pyexec's own line editing uses it, mpremote's
// mount protocol sends binary data with kbd_intr(-1)).
//
// Upcalls keep running while the REPL waits: the unix port's stdin read is
// restarted after EINTR through mp_handle_pending, and backends wake the
// interpreter thread with a signal (xenhv_wake).

#define _GNU_SOURCE 1   // posix_openpt, ptsname
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "py/runtime.h"
#include "py/mphal.h"
#include "py/gc.h"
#include "shared/runtime/pyexec.h"

#include "xenhv.h"
#include "repl.h"

#ifndef MP_NORETURN
#define MP_NORETURN NORETURN
#endif

static struct {
    bool up;
    bool stdio;            // the user's terminal (restore its mode at exit)
    volatile bool eof;     // the terminal is gone: leave repl_run
    int term_in;           // read by the pump
    int pipe_w;            // the pump writes here; the read end is fd 0
    int slave_keep;        // our own slave fd, so the master never hangs up
    struct termios orig;   // stdio mode: the terminal's mode before us
    pthread_t pump;
} tty = { .term_in = -1, .pipe_w = -1, .slave_keep = -1 };

static bool intr_enabled(void) {
    struct sigaction sa;
    if (sigaction(SIGINT, NULL, &sa) != 0) {
        return false;
    }
    return sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN;
}

static bool kbd_pending(void) {
    return MP_STATE_MAIN_THREAD(mp_pending_exception) == MP_OBJ_FROM_PTR(&MP_STATE_VM(mp_kbd_exception));
}

static void write_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;   // nobody reads fd 0 any more: drop
        }
        p += w;
        n -= (size_t)w;
    }
}

static void *pump_main(void *arg) {
    (void)arg;
    // Only the interpreter thread takes the wake signal and SIGINT.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    uint8_t buf[512];
    int kick_ms = -1;
    for (;;) {
        struct pollfd pf = { .fd = tty.term_in, .events = POLLIN };
        int r = poll(&pf, 1, kick_ms);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (kick_ms >= 0) {
            // A KeyboardInterrupt is scheduled: the wake signal may have
            // landed just before a blocking call, so repeat it (backing off)
            // until the interpreter has taken the exception.
            if (kbd_pending()) {
                xenhv_wake();
                kick_ms = kick_ms < 200 ? kick_ms * 2 : 200;
            } else {
                kick_ms = -1;
            }
        }
        if (r == 0) {
            continue;
        }
        ssize_t n = read(tty.term_in, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n <= 0) {
            // The terminal is gone (stdio at EOF): end the REPL's input.
            tty.eof = true;
            close(tty.pipe_w);
            tty.pipe_w = -1;
            break;
        }
        size_t o = 0;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == CHAR_CTRL_C && intr_enabled()) {
                mp_sched_keyboard_interrupt();
                xenhv_wake();
                if (kick_ms < 0) {
                    kick_ms = 5;
                }
                continue;
            }
            buf[o++] = buf[i];
        }
        write_all(tty.pipe_w, buf, o);
    }
    return NULL;
}

static void restore_terminal(void) {
    if (tty.stdio) {
        tcsetattr(tty.term_in, TCSAFLUSH, &tty.orig);
    }
}

static MP_NORETURN void raise_errno_now(void) {
    mp_raise_OSError(errno);
}

// repl_tty(path) -> str: the terminal's device path ("-" for stdio).
static mp_obj_t mod_xenboard_repl_tty(mp_obj_t path_in) {
    const char *path = mp_obj_str_get_str(path_in);
    if (tty.up) {
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("REPL terminal already set up"));
    }
    const char *dev = "-";
    if (strcmp(path, "-") == 0) {
        tty.term_in = dup(STDIN_FILENO);
        if (tty.term_in < 0) {
            raise_errno_now();
        }
        if (isatty(tty.term_in) && tcgetattr(tty.term_in, &tty.orig) == 0) {
            // Keys as bytes (no signals, no echo, no line editing: pyexec's
            // readline does that); output processing stays on (\n -> \r\n).
            struct termios t = tty.orig;
            t.c_iflag &= ~(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
            t.c_cflag = (t.c_cflag & ~(CSIZE | PARENB)) | CS8;
            t.c_lflag = 0;
            t.c_cc[VMIN] = 1;
            t.c_cc[VTIME] = 0;
            tcsetattr(tty.term_in, TCSAFLUSH, &t);
            tty.stdio = true;
            atexit(restore_terminal);
        }
    } else {
        int m = posix_openpt(O_RDWR | O_NOCTTY);
        if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) {
            int e = errno;
            if (m >= 0) {
                close(m);
            }
            mp_raise_OSError(e);
        }
        dev = ptsname(m);
        int s = dev ? open(dev, O_RDWR | O_NOCTTY) : -1;
        if (s < 0) {
            int e = errno;
            close(m);
            mp_raise_OSError(e);
        }
        // The slave in raw mode, as a serial line to a board: a client sees
        // exactly the bytes the REPL writes and the REPL exactly its bytes.
        struct termios t;
        if (tcgetattr(s, &t) == 0) {
            cfmakeraw(&t);
            tcsetattr(s, TCSANOW, &t);
        }
        unlink(path);
        if (symlink(dev, path) != 0) {
            int e = errno;
            close(s);
            close(m);
            mp_raise_OSError(e);
        }
        tty.term_in = m;
        tty.slave_keep = s;
        dup2(m, STDOUT_FILENO);
    }
    int p[2];
    if (pipe(p) != 0) {
        raise_errno_now();
    }
    dup2(p[0], STDIN_FILENO);
    close(p[0]);
    tty.pipe_w = p[1];
    fcntl(tty.term_in, F_SETFD, FD_CLOEXEC);
    fcntl(tty.pipe_w, F_SETFD, FD_CLOEXEC);
    xenhv_init();   // the wake signal's handler, before the pump may send it
    if (pthread_create(&tty.pump, NULL, pump_main, NULL) != 0) {
        mp_raise_OSError(EAGAIN);
    }
    tty.up = true;
    return mp_obj_new_str(dev, strlen(dev));
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xenboard_repl_tty_obj, mod_xenboard_repl_tty);

// The terminal is gone and every byte it sent has been read.
static bool input_over(void) {
    if (!tty.eof) {
        return false;
    }
    struct pollfd pf = { .fd = STDIN_FILENO, .events = POLLIN };
    return poll(&pf, 1, 0) <= 0 || !(pf.revents & POLLIN);
}

// repl_run(reset) runs the REPL forever; reset() is called at each soft reset.
static mp_obj_t mod_xenboard_repl_run(mp_obj_t reset) {
    modxen_repl_loop(reset, input_over);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xenboard_repl_run_obj, mod_xenboard_repl_run);

/******************************************************************************/
// Interrupting the interpreter: a REPL's reader (Ctrl-C), a daemon that must
// stop on SIGTERM.

// interrupt_main(): raise KeyboardInterrupt in the main thread at its next
// pending check.
static mp_obj_t mod_xenboard_interrupt_main(void) {
    mp_sched_keyboard_interrupt();
    xenhv_wake();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(mod_xenboard_interrupt_main_obj, mod_xenboard_interrupt_main);

static void catch_signal_handler(int sig) {
    (void)sig;
    mp_sched_keyboard_interrupt();
}

// catch_signal(signum): deliver that signal (e.g. SIGTERM) as KeyboardInterrupt.
static mp_obj_t mod_xenboard_catch_signal(mp_obj_t signum) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = catch_signal_handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(mp_obj_get_int(signum), &sa, NULL) != 0) {
        mp_raise_OSError(errno);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xenboard_catch_signal_obj, mod_xenboard_catch_signal);

static const mp_rom_map_elem_t xenboard_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__xenboard) },
    { MP_ROM_QSTR(MP_QSTR_repl_tty), MP_ROM_PTR(&mod_xenboard_repl_tty_obj) },
    { MP_ROM_QSTR(MP_QSTR_repl_run), MP_ROM_PTR(&mod_xenboard_repl_run_obj) },
    { MP_ROM_QSTR(MP_QSTR_interrupt_main), MP_ROM_PTR(&mod_xenboard_interrupt_main_obj) },
    { MP_ROM_QSTR(MP_QSTR_catch_signal), MP_ROM_PTR(&mod_xenboard_catch_signal_obj) },
};
static MP_DEFINE_CONST_DICT(xenboard_globals, xenboard_globals_table);

const mp_obj_module_t mp_module_xenboard = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&xenboard_globals,
};

MP_REGISTER_MODULE(MP_QSTR__xenboard, mp_module_xenboard);
