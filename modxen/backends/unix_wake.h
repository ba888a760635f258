// Waking the interpreter thread of a unix firmware from another thread: the
// one helper behind the sim's and the linux backend's xenhv_wake().
#ifndef MODXEN_UNIX_WAKE_H
#define MODXEN_UNIX_WAKE_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#define UNIX_WAKE_SIGNAL (SIGRTMIN + 6)

// Set by unix_wake_init(); read by the inline functions below.
extern pthread_t unix_wake_interp;
extern volatile bool unix_wake_up;

// Install the wake signal's handler (SIGRTMIN+6, no SA_RESTART) and take the
// calling thread as the interpreter's. Idempotent. Returns 0 or -errno.
int unix_wake_init(void);
// True once unix_wake_init() succeeded and the caller is not the interpreter.
static inline bool unix_wake_from_other_thread(void) {
    return unix_wake_up && !pthread_equal(pthread_self(), unix_wake_interp);
}
// Signal the interpreter (a no-op before unix_wake_init()).
static inline void unix_wake_signal(void) {
    if (unix_wake_up) {
        pthread_kill(unix_wake_interp, UNIX_WAKE_SIGNAL);
    }
}
// The backoff after a wake: the signal can land just before the interpreter
// enters a blocking call, so while the scheduler still holds unrun work the
// waker signals again. Given the last delay in ms (start with 1), signals
// the interpreter if work is PENDING and returns the next delay (2 ms
// doubling to 128 ms), or -1 once the interpreter has taken every item.
int unix_wake_retry(int ms);
// Start a detached thread that takes no signals (they all belong to the
// interpreter: its wake-up, Ctrl-C, the GC's thread signal). 0 or -errno.
int unix_wake_thread(void *(*fn)(void *));
int unix_wake_wait(int fd, int timeout_ms);
int unix_wake_poll(int fd, int timeout_ms);
bool unix_wake_pending(void);

#endif
