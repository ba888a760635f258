"""Guest consoles on the sim, driven from the guest side (mp/conguest.py):
output into the backlog, input through the 1024-byte ring, malicious
indices, several consoles, consumers. The firmware side is
mp/guest_console.py."""
from errno import EBADF, EEXIST, EIO, ENOBUFS

from mpfirmware import mp

BOOT_LINE = b"boot log line\n"


def test_layout_from_xen_headers():
    r = mp("guest_console.layouts")
    # struct xencons_interface: in[1024], out[2048], in_cons, in_prod, out_cons, out_prod
    assert r[0] == [0, 1024, 3072, 3076]
    assert r[1] == [1024, 2048, 3080, 3084]
    # struct xenstore_domain_interface: req[1024], rsp[1024], req_cons, req_prod, rsp_cons, rsp_prod
    assert r[2] == [0, 1024, 2048, 2052]
    assert r[3] == [1024, 1024, 2056, 2060]


def test_flood_backlog_keeps_newest_and_counts_lost():
    r = mp("guest_console.flood_backlog", BOOT_LINE, 100000, 7, 700, 3000)
    assert r["early"]
    assert r["total"] == 100000 + len(BOOT_LINE)
    assert r["lost"] == 100000 - 3000
    assert r["len"] == 3000 and r["newest"]
    assert r["lost_after"] == 97000      # reading does not change what was lost
    assert r["again"] == 0               # read() returns each byte once
    assert r["hist"]                     # history() keeps the newest bytes


def test_reader_keeping_up_loses_nothing():
    r = mp("guest_console.reader_keeping_up", 50000, 3, 4096)
    assert r == {"same": True, "lost": 0, "n": 50000}


def test_guest_is_notified_after_consuming():
    r = mp("guest_console.notified_after_consuming")
    assert r[0] == 0
    assert r[1] >= 1       # dom0 drained the out ring and told the guest
    assert r[2] >= 1       # dom0 filled the in ring and told the guest


def test_input_5000_bytes_through_1024_ring():
    r = mp("guest_console.input_through_ring", 5000, 11, 1500)
    assert r["in_size"] == 1024
    assert r["n"] == 5000 and r["same"]
    assert r["queued0"] == 5000 - 1024     # the rest waited for the guest
    assert r["queued"] == 0
    assert r["maxfill"] <= 1024
    assert r["out_clean"]


def test_input_queue_limit():
    r = mp("guest_console.input_queue_limit", 2000, 2500, 600)
    assert r == [2500 - 1024, ENOBUFS]


def test_malicious_out_prod_breaks_only_that_console():
    r, err = mp("guest_console.malicious_out_prod", 0x7fff0000, stderr=True)
    assert r["broken"] and r["good_broken"] is None
    assert r["hist"] == "before\n" and r["total"] == 7
    assert r["good"] == "still fine\n"
    assert r["werr"] == EIO              # input to a broken console
    assert r["page_tail"]
    assert "domain" in err and "broken" in err


def test_malicious_in_cons_and_bad_start_indices():
    r, err = mp("guest_console.malicious_in_cons_and_bad_start", stderr=True)
    assert r["b1"] and r["b2"]
    assert r["total2"] == 0
    assert r["in_area"] != b"hello"      # nothing written into a corrupt ring
    assert err.count("broken") >= 2


def test_two_guests_at_once():
    r = mp("guest_console.two_guests", 30000)
    assert r == {"a": True, "b": True, "ia": "to a", "ib": "to b", "get": True, "all": True}


def test_callbacks_and_rotated_log(workdir):
    r = mp("guest_console.callbacks_and_rotated_log", str(workdir), 10000, 2, 35000)
    d = r["domid"]
    assert r["cb"]                       # a failing consumer does not stop the others
    assert r["names"] == ["console-%d.log" % d, "console-%d.log.1" % d, "console-%d.log.2" % d]
    assert all(s <= 10000 for s in r["sizes"])
    assert r["tail"] and r["loglen"] >= 20000   # the newest output, in order, across files


def test_close_unmaps_and_is_idempotent():
    r = mp("guest_console.close_unmaps")
    assert r["m"][1] == r["m"][0] + 1 and r["m"][2] == r["m"][0]
    assert r["dup"] == EEXIST
    assert r["missing"] and r["port_gone"]
    assert r["werr"] == EBADF
    assert r["again"]


def test_serve_before_unpause_then_guest_runs():
    line = b"[    0.000000] Booting Linux\n"
    assert mp("guest_console.serve_before_unpause", line) == [True, line]


def test_bad_arguments_are_clear_errors():
    out, maps = mp("guest_console.bad_arguments")
    assert out[:7] == ["ValueError"] * 7
    assert out[7] is None
    assert out[8] == "OSError" and out[9] == "OSError"
    assert out[10] == "ValueError"
    assert maps == 0                     # failed serve() leaves nothing mapped
