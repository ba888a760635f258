# pytest fixtures for tests/xenstore; the helpers live in xslib.py
# (a uniquely named module: every test folder has a conftest.py).
from xslib import sockdir, xsd  # noqa: F401  (fixtures)
