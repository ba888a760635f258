# pytest hooks and fixtures for tests/console; the helpers live in consolelib.py
# (a uniquely named module: every test folder has a conftest.py).
from consolelib import *  # noqa: F401,F403
