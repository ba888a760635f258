# pytest hooks and fixtures for tests/policy; the helpers live in policylib.py
# (a uniquely named module: every test folder has a conftest.py).
from policylib import *  # noqa: F401,F403
