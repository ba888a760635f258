// Waking the interpreter thread of a unix firmware (sim and linux backends).
//
// An upcall that arrives on another thread (the linux backend's evtchn
// reader, a test's guest thread in the sim) schedules its node and must make
// whatever the interpreter is blocked in (stdin read, time.sleep's select,
// select.poll) return: a signal without SA_RESTART gives EINTR, and the unix
// port then runs mp_handle_pending(), which runs the scheduled node.
//
// The other direction: unix_wake_wait() is where the interpreter itself
// blocks for an event (_xen.wait), on a backend's file descriptor (the linux
// backend's /dev/xen/evtchn) or on nothing but the wake signal (the sim),
// without losing a wake that lands between its check and its sleep.
//
// Owns: the wake signal, the interpreter thread's id, the retry backoff and
// the interpreter's race-free wait.
// Must not know: Xen, event channels or which backend calls it. It reads
// MicroPython's scheduler state (MP_STATE_VM sched_*), the one place that
// does.
#define _GNU_SOURCE 1
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "py/mpstate.h"
#include "unix_wake.h"

#define RETRY_MAX_MS 128

pthread_t unix_wake_interp;
volatile bool unix_wake_up;

static void wake_handler(int sig) {
    (void)sig;
}

int unix_wake_init(void) {
    if (unix_wake_up) {
        return 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = wake_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;   // no SA_RESTART: blocked syscalls must see EINTR
    if (sigaction(UNIX_WAKE_SIGNAL, &sa, NULL) != 0) {
        return -errno;
    }
    unix_wake_interp = pthread_self();
    unix_wake_up = true;
    return 0;
}

// Work queued behind a callback that runs now: the scheduler is LOCKED and
// turns PENDING when that callback returns, maybe just before the
// interpreter blocks again. Keep looking, without signalling a busy
// interpreter, until then.
static bool work_queued(void) {
    #if MICROPY_SCHEDULER_STATIC_NODES
    if (MP_STATE_VM(sched_head) != NULL) {
        return true;
    }
    #endif
    return MP_STATE_VM(sched_len) != 0;
}

int unix_wake_retry(int ms) {
    int state = MP_STATE_VM(sched_state);
    if (state == MP_SCHED_PENDING) {
        unix_wake_signal();
    } else if (state != MP_SCHED_LOCKED || !work_queued()) {
        return -1;
    }
    return ms < RETRY_MAX_MS ? ms * 2 : RETRY_MAX_MS;
}

int unix_wake_thread(void *(*fn)(void *)) {
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&t, &a, fn, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&a);
    return -rc;
}

// Wait on the interpreter thread until fd is readable (fd < 0: no fd), a
// signal arrives (the wake signal, Ctrl-C) or timeout_ms passes (-1: no
// limit). Work already scheduled returns at once. The wake signal is blocked
// from the check of the scheduler until ppoll() atomically unblocks it, so
// a wake sent in between interrupts the ppoll instead of being lost.
// Returns 1 if fd is readable, 0 otherwise (timeout, signal, work queued).
int unix_wake_wait(int fd, int timeout_ms) {
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, UNIX_WAKE_SIGNAL);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = 0;
    if (MP_STATE_VM(sched_state) != MP_SCHED_PENDING) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };
        sigset_t during = old;
        sigdelset(&during, UNIX_WAKE_SIGNAL);
        sigdelset(&during, SIGINT);
        int r = ppoll(&pfd, fd >= 0 ? 1 : 0, timeout_ms < 0 ? NULL : &ts, &during);
        rc = r > 0 && (pfd.revents & POLLIN) ? 1 : 0;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

// The same wait without the two signal-mask system calls (each costs tens of
// microseconds in an emulated dom0, on every event): a wake or a Ctrl-C that
// lands between the check and poll() is not seen by this poll. The caller
// must have another thread re-send the wake while work stays pending
// (unix_wake_pending; the linux backend's parked reader does, every 50 ms).
int unix_wake_poll(int fd, int timeout_ms) {
    if (MP_STATE_VM(sched_state) == MP_SCHED_PENDING) {
        return 0;
    }
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    int r = poll(&pfd, fd >= 0 ? 1 : 0, timeout_ms);
    return r > 0 && (pfd.revents & POLLIN) ? 1 : 0;
}

// Work (an upcall, a Ctrl-C) waits for the interpreter to run it.
bool unix_wake_pending(void) {
    return MP_STATE_VM(sched_state) == MP_SCHED_PENDING;
}
