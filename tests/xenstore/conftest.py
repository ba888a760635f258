# pytest hooks and fixtures for tests/xenstore; the helpers live in xslib.py
# (a uniquely named module: every test folder has a conftest.py).
from xslib import *  # noqa: F401,F403
