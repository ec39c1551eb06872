"""HAProxy for the tests: the distribution's package, which .ci/run installs at a pinned
version. Missing, a test skips on a laptop and fails in CI (CI set), like hledger
(tests/support/export_tools.py) and promtool (tests/deploy/tools.py)."""

from __future__ import annotations

import os

import pytest

from finance_bot.sandbox.balancer import find_haproxy


def haproxy() -> str:
    found = find_haproxy()
    if found is None:
        message = "haproxy is not installed (apt-get install haproxy; .ci/run pins its version)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found
