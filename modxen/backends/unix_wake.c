// Waking the interpreter thread of a unix firmware (sim and linux backends).
//
// An upcall that arrives on another thread (the linux backend's evtchn
// reader, a test's guest thread in the sim) schedules its node and must make
// whatever the interpreter is blocked in (stdin read, time.sleep's select,
// select.poll) return: a signal without SA_RESTART gives EINTR, and the unix
// port then runs mp_handle_pending(), which runs the scheduled node.
//
// Owns: the wake signal, the interpreter thread's id and the retry backoff.
// Must not know: Xen, event channels or which backend calls it. It reads
// MicroPython's scheduler state (MP_STATE_VM sched_*), the one place that
// does.
#include <errno.h>
#include <signal.h>
#include <string.h>

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
