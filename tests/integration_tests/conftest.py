"""Fixtures of the integration tests: the servers ``.ci/run`` starts on 127.0.0.1."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="module")
def pg_url() -> str:
    """The PostgreSQL server of ``.ci/setup-postgres``; skipped without one, except on CI."""
    url = os.environ.get("LEARNACT_TEST_PG_URL")
    if not url:
        reason = "LEARNACT_TEST_PG_URL is not set; `source .ci/setup-postgres` starts a server"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run these tests)")
        pytest.skip(reason)
    return url
