// consmux: one REPL, two consoles (make run's dom0, scripts/run/dom0-init.sh).
//
//   consmux REPL CONSOLE...
//
// REPL is the terminal the firmware's REPL serves (`micropython -m xen.repl
// REPL` links its pty's slave there); each CONSOLE is a tty of dom0 (hvc0,
// the Xen console on QEMU's serial, i.e. the user's terminal; hvc1, a virtio
// console on a local TCP socket, where mpremote connects). Every byte typed
// on any console goes to the REPL, every byte the REPL writes goes to every
// console: two people on one serial line. Every tty is put in raw mode, so
// Ctrl-A, Ctrl-C, Ctrl-D and Ctrl-] are bytes for MicroPython, not signals.
// A console that cannot take output right now (nobody reading) is skipped
// for that write rather than stalling the others.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define MAXC 4

static int open_raw(const char *path, int flags) {
    int fd = open(path, flags | O_NOCTTY);
    if (fd < 0) {
        fprintf(stderr, "consmux: %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    return fd;
}

static void write_all(int fd, const char *p, ssize_t n, int tries) {
    while (n > 0) {
        ssize_t w = write(fd, p, (size_t)n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN && tries-- > 0) {
                struct pollfd pf = { .fd = fd, .events = POLLOUT };
                poll(&pf, 1, 100);
                continue;
            }
            return;
        }
        p += w;
        n -= w;
    }
}

int main(int argc, char **argv) {
    if (argc < 3 || argc - 2 > MAXC) {
        fprintf(stderr, "usage: consmux REPL CONSOLE...\n");
        return 2;
    }
    int repl = -1;
    for (int i = 0; i < 100 && repl < 0; i++) {   // the REPL links its pty when it is up
        if (access(argv[1], F_OK) == 0) {
            repl = open_raw(argv[1], O_RDWR);
            break;
        }
        usleep(100000);
    }
    if (repl < 0) {
        fprintf(stderr, "consmux: no REPL at %s\n", argv[1]);
        return 1;
    }
    int n = argc - 2;
    int con[MAXC];
    for (int i = 0; i < n; i++) {
        con[i] = open_raw(argv[2 + i], O_RDWR | O_NONBLOCK);
    }
    if (con[0] < 0) {
        return 1;
    }
    char buf[4096];
    for (;;) {
        struct pollfd pf[MAXC + 1];
        pf[0].fd = repl;
        pf[0].events = POLLIN;
        for (int i = 0; i < n; i++) {
            pf[1 + i].fd = con[i];
            pf[1 + i].events = POLLIN;
        }
        if (poll(pf, (nfds_t)n + 1, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            return 1;
        }
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = read(repl, buf, sizeof(buf));
            if (r <= 0 && !(r < 0 && (errno == EINTR || errno == EAGAIN))) {
                return 0;   // the REPL is gone
            }
            // hvc0 (index 0) is the user's terminal: never drop its output
            for (int i = 0; r > 0 && i < n; i++) {
                if (con[i] >= 0) {
                    write_all(con[i], buf, r, i == 0 ? 1000000 : 20);
                }
            }
        }
        int idle_hup = 0;
        for (int i = 0; i < n; i++) {
            if (con[i] < 0) {
                continue;
            }
            if (pf[1 + i].revents & POLLIN) {
                ssize_t r = read(con[i], buf, sizeof(buf));
                if (r > 0) {
                    write_all(repl, buf, r, 1000000);
                }
            } else if (pf[1 + i].revents & (POLLHUP | POLLERR)) {
                idle_hup = 1;   // nobody on that console's far side: do not spin
            }
        }
        if (idle_hup) {
            usleep(20000);
        }
    }
}
