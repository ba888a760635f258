# tests/zephyr/test_main_boot.py's firmware side: the Zephyr firmware's
# main.py run on the host firmware with a stand-in for the board module
# `_xenboard`. What main.py prints is the test's subject, and only the
# process's own stdout holds all of it (sys.print_exception writes there,
# past print()), so the boot runs as a script:
#     micropython main_boot.py MAIN [STORE]
# STORE is a file whose bytes image_store() returns (None without one).
import sys


class Board:
    """The stand-in for _xenboard: image_store() and repl_run()."""

    def __init__(self, store):
        self.store = store

    def image_store(self):
        if self.store is None:
            return None
        with open(self.store, 'rb') as f:
            return f.read()

    def repl_run(self, reset):
        print('@@REPL')


def boot(main, store=None):
    # the host firmware has a _xenboard of its own (the REPL terminal): the
    # stand-in takes its place in sys.modules, which import looks at first
    sys.modules['_xenboard'] = Board(store)
    with open(main) as f:
        src = f.read()
    exec(src, {'__name__': '__main__'})


def policy_state():
    """The policy store's state after a boot (MODXEN_STATE)."""
    import xen.policy
    return xen.policy.status()['state']


if __name__ == '__main__':
    boot(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
