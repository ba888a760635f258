"""Nothing a guest says is lost: the console ring is drained one last time on
VIRQ_DOM_EXC and in every teardown (destroy, on_poweroff, on_reboot, on_crash,
a failed build), a dead domain's console stays readable (bounded), a
restarted domain's console carries the old output after a separator line,
and crash output reaches a log file. On the sim, on every release.

The guest here writes its last line into its console ring and dies *without*
notifying dom0, the case a real guest hits when it powers off right after
printing: only the final drain can see that line. The firmware side is
mp/last_words_cases.py."""
from errno import EIO

import pytest

from domain.test_domain_create import arm64_image, printed
from mpfirmware import mp


@pytest.fixture
def kernel(tmp_path):
    k = tmp_path / "Image"
    k.write_bytes(arm64_image())
    return str(k)


def cfg(kernel, **kw):
    c = {"name": "g", "kernel": kernel, "memory": 32}
    c.update(kw)
    return c


@pytest.mark.parametrize("reason,key", [("poweroff", "on_poweroff"), ("crash", "on_crash"),
                                        ("reboot", "on_reboot")])
def test_last_line_before_shutdown_reaches_dom0_on_destroy(kernel, reason, key):
    r = mp("last_words_cases.last_line_then_shutdown", cfg(kernel, **{key: "destroy"}), reason)
    dead, text, closed, ids = r
    assert dead and closed and ids == [0]
    assert text == "booted\nLAST-WORDS-%s\n" % reason


def test_last_line_then_restart_keeps_old_output_after_a_separator(kernel):
    r = mp("last_words_cases.restarted", cfg(kernel, on_poweroff="restart"))
    old, renewed, now = r
    assert old == "first life\nLAST-BEFORE-POWEROFF\n"
    assert renewed
    sep = "--- g: domain 1 poweroff; restarted as domain 2 ---"
    assert now == "first life\nLAST-BEFORE-POWEROFF\n\n%s\nsecond life\n" % sep


def test_explicit_destroy_drains_and_a_failed_build_leaves_nothing(kernel, tmp_path):
    r = mp("last_words_cases.destroyed_and_failed_build", cfg(kernel), cfg(kernel, name="h"), EIO)
    assert r == ["BEFORE-DESTROY\n", True, [0]]


def test_dead_consoles_are_bounded_oldest_dropped(kernel):
    r = mp("last_words_cases.dead_consoles_bounded", cfg(kernel), 3)
    kept, g0_dropped, newest = r
    assert kept == [["g2", "I am g2\n"], ["g3", "I am g3\n"], ["g4", "I am g4\n"]]
    assert g0_dropped and newest == "g4"


def test_xl_console_replays_a_dead_domain(kernel):
    out = printed("last_words_cases.xl_console_of_dead", cfg(kernel, on_crash="destroy"))
    assert "[domain g (1) is dead; its last output:]\nKernel panic - not syncing: sysrq triggered crash\n" in out
    assert "[end of domain g's console]" in out


def test_crash_output_lands_in_the_log_before_teardown(kernel, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    r = mp("last_words_cases.crash_log", str(logs), cfg(kernel, on_crash="destroy"))
    assert r == "oops: panic text\n"
