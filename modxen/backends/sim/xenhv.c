// The sim's side of xenhv.h: the scratch area, bringing the model up, the
// wake-up of the interpreter and the hypercall entry point, which hands each
// hypercall to its decoder through one table.
//
// Owns: the model's boot state (sim_model_reset) and the kicker thread.
// Must not know: what a decoder does with its arguments (domctl.c,
// platform.c, memory.c, evtchn.c, flask.c) or MicroPython's scheduler (the
// wake signal and its backoff are unix_wake.c's).
#include "sim.h"
#include <stdio.h>
#include <time.h>

#include "backends/unix_wake.h"

const char xenhv_backend_name[] = "sim";

uint8_t *xenhv_scratch(void) {
    return sim_scratch;
}

// Bring the model to its boot state: dom0 only, FLASK off, privileged.
void sim_model_reset(void) {
    while (sim.domains != NULL) {
        sim_domain_t *d = sim.domains;
        sim.domains = d->next;
        sim_domain_free(d);
    }
    for (sim_map_t *m = sim.maps; m != NULL; m = m->next) {
        m->d = NULL;    // orphaned: unmap only gives the address range back
    }
    sim.dom0 = sim_domain_new(0);
    sim.dom0->ssid = SID_DOM0;
    sim.dom0->max_vcpus = SIM_NR_CPUS;
    sim.dom0->address_size = 64;
    sim_ports_init(sim.dom0, SIM_MAX_PORTS - 1);
    memset(sim.state_changed, 0, sizeof(sim.state_changed));
    sim.unique_ids = 0;
    sim.dom0->unique_id = ++sim.unique_ids;
    sim_domain_insert(sim.dom0);
    sim.rover = 0;
    sim.privileged = true;
    sim.flask = FLASK_OFF;
    sim_labels_default();
    free(sim.policy);
    sim.policy = NULL;
    sim.policy_len = 0;
    for (size_t i = 0; i < MP_ARRAY_SIZE(sim.irq_owner); i++) {
        sim.irq_owner[i] = 0xffff;
    }
    for (size_t i = 0; i < MP_ARRAY_SIZE(sim_devices); i++) {
        sim_devices[i].owner = -1;
    }
    sim.nrules = 0;
    sim.tracing = false;
    sim.ntrace = 0;
    sim.con_out_len = 0;
    sim.con_in_prod = sim.con_in_cons = 0;
}

int xenhv_init(void) {
    sim_model_lock();
    if (!sim_up) {
        sim.rel = sim_release_select();
        if (sim.rel == NULL) {
            sim_model_unlock();
            fprintf(stderr, "sim: MODXEN_SIM_XEN=%s: the sim acts as Xen 4.16 to 4.23\n", getenv("MODXEN_SIM_XEN"));
            return -XEN_EINVAL;
        }
        unix_wake_init();
        sim_model_reset();
        sim_up = true;
    }
    sim_model_unlock();
    return 0;
}

// The wake signal can land just before the interpreter enters a blocking
// call (then only the no-op handler runs and the call sleeps its full time).
// A kicker thread signals again, with unix_wake.c's backoff, while the
// scheduler still holds unrun work, as the linux backend's reader does.
static pthread_mutex_t kick_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kick_cv = PTHREAD_COND_INITIALIZER;
static bool kick_wanted;
static bool kick_started;
volatile int sim_wake_drops;

static void *kicker_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&kick_mu);
    for (;;) {
        while (!kick_wanted) {
            pthread_cond_wait(&kick_cv, &kick_mu);
        }
        kick_wanted = false;
        pthread_mutex_unlock(&kick_mu);
        for (int ms = 2; ms > 0; ms = unix_wake_retry(ms)) {
            struct timespec ts = { 0, (long)ms * 1000000L };
            nanosleep(&ts, NULL);
        }
        pthread_mutex_lock(&kick_mu);
    }
    return NULL;
}

// The sim's events are raised on the interpreter's thread (scheduled at
// once) or by a test's guest thread (which signals): wait for either.
int xenhv_wait(int timeout_ms) {
    if (!sim_up) {
        return -XEN_ENODEV;
    }
    return unix_wake_wait(-1, timeout_ms);
}

void xenhv_wake(void) {
    if (sim_up && unix_wake_from_other_thread()) {
        if (sim_wake_drops > 0) {
            sim_wake_drops--;     // the signal that lands too early, forced
        } else {
            unix_wake_signal();
        }
        pthread_mutex_lock(&kick_mu);
        if (!kick_started) {
            // the kicker never runs Python: it takes no signals
            kick_started = unix_wake_thread(kicker_main) == 0;
        }
        kick_wanted = true;
        pthread_cond_signal(&kick_cv);
        pthread_mutex_unlock(&kick_mu);
    }
}

// The hypercalls the model answers; anything else is ENOSYS ("other").
static const struct {
    unsigned int op;
    sim_decoder_t decode;
} decoders[] = {
    { __HYPERVISOR_domctl, sim_do_domctl },
    { __HYPERVISOR_sysctl, sim_do_sysctl },
    { __HYPERVISOR_memory_op, sim_do_memory_op },
    { __HYPERVISOR_hvm_op, sim_do_hvm_op },
    { __HYPERVISOR_event_channel_op, sim_do_event_channel_op },
    { __HYPERVISOR_xsm_op, sim_do_xsm_op },
    { __HYPERVISOR_console_io, sim_do_console_io },
    { __HYPERVISOR_xen_version, sim_do_xen_version },
    { __HYPERVISOR_sched_op, sim_do_sched_op },
};

long xenhv_hypercall(unsigned int op, unsigned long a1, unsigned long a2,
    unsigned long a3, unsigned long a4, unsigned long a5) {
    (void)a4;
    (void)a5;
    xenhv_init();
    sim_model_lock();
    long rc = 0;
    size_t i = 0;
    while (i < MP_ARRAY_SIZE(decoders) && decoders[i].op != op) {
        i++;
    }
    if (i < MP_ARRAY_SIZE(decoders)) {
        rc = decoders[i].decode(a1, a2, a3);
    } else if ((rc = sim_note_call(N_OP_other)) == 0) {
        rc = -XEN_ENOSYS;
    }
    sim_model_unlock();
    return rc;
}
