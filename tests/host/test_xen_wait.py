"""_xen.wait(timeout_ms) and xen.serve(seconds): dom0 sleeps until an event
channel's upcall (or other scheduled work) arrives, runs the callbacks, and
returns; on the sim the event comes from a guest thread. The firmware side is
mp/xen_wait.py; tests/xen/dom0/test_xen_api.py holds the same on real Xen."""
from mpfirmware import mp


def test_wait_times_out_without_events():
    assert mp("xen_wait.timeout_without_events", 150) >= 150


def test_an_event_from_another_thread_ends_the_wait_after_its_callback():
    seen, waited = mp("xen_wait.event_from_another_thread", 50, 5000)
    assert seen == 1
    assert 50 <= waited < 5000          # ended by the event, not the timeout


def test_no_wakeup_is_lost_between_the_check_and_the_sleep():
    # the notify races the interpreter's way into ppoll(); a lost wake-up
    # would show as a round that needs the whole 2 s
    assert mp("xen_wait.no_lost_wakeup", 200, 2000) == [200, 0]


def test_serve_runs_callbacks_for_its_time():
    seen, served = mp("xen_wait.serve_for", 0.4, 50)
    assert seen == 1 and served >= 400


def test_ctrl_c_ends_a_wait():
    got, waited = mp("xen_wait.interrupted", 0.3, 20000)
    assert got == "KeyboardInterrupt" and waited < 10000


def test_wait_refuses_a_timeout_that_is_not_a_number():
    assert mp("xen_wait.bad_timeout") == ["TypeError", "can't convert str to int"]
