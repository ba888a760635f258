"""Guests over the ring transport (a bytearray page with a guest-side
driver written for the tests). The firmware side is mp/ring_cases.py."""
import errno

from xenheaders import XEN
from xslib import mp


def test_introduce_release_and_special_watches():
    mp("ring_cases.introduce_release_and_special_watches")


def test_relative_paths_and_domain_path():
    mp("ring_cases.relative_paths_and_domain_path")


def test_permissions_between_two_guests_and_dom0():
    mp("ring_cases.permissions_between_two_guests_and_dom0")


def test_quotas_nodes_watches_transactions_size():
    mp("ring_cases.quotas_nodes_watches_transactions_size")


def test_reconnection():
    mp("ring_cases.reconnection",
       XEN.XENSTORE_SERVER_FEATURE_RECONNECTION | XEN.XENSTORE_SERVER_FEATURE_ERROR,
       XEN.XENSTORE_CONNECTED)


def test_corrupt_indices_stop_the_ring():
    mp("ring_cases.corrupt_indices_stop_the_ring", XEN.XENSTORE_ERROR_RINGIDX,
       XEN.XENSTORE_ERROR_PROTO, XEN.XENSTORE_CONNECTED, XEN.XENSTORE_ERROR_NONE)


def test_messages_of_every_size_cross_the_ring():
    # the server's input buffer starts small and grows for a long message:
    # around that edge, and up to Xen's payload limit (several ring-fulls)
    sizes = [10, 255, 256, 257, 271, 272, 273, 1000, 1024, 2048, 4000, XEN.XENSTORE_PAYLOAD_MAX]
    header = 16
    assert mp("ring_cases.messages_of_every_size", sizes) == \
        [header + 256] + [[n, True] for n in sizes] + [header + XEN.XENSTORE_PAYLOAD_MAX]


def test_a_failing_callback_leaves_the_ring_whole():
    # the kick or the store raising is not the guest's doing: the error
    # passes through, the ring is not stopped, the next call goes on
    mp("ring_cases.a_failing_callback_leaves_the_ring_whole", errno.EBADF, errno.EBADMSG)


def test_the_first_reply_is_kicked_before_the_ring_is_read_again():
    # The guest waits for its reply: it is kicked as soon as that reply is
    # in the ring, before the server reads on; the replies to requests that
    # came with it share one more kick.
    kicks, req, rep = mp("ring_cases.kicks_for_requests_in_one_event", 1)
    assert kicks == [[rep, req]]
    kicks, req, rep = mp("ring_cases.kicks_for_requests_in_one_event", 5)
    assert kicks == [[rep, req], [5 * rep, 5 * req]]


def test_guest_that_never_reads_replies_is_bounded():
    mp("ring_cases.guest_that_never_reads_replies_is_bounded")
