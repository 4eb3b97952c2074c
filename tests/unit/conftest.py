"""Unit tests: pure Python, no server, well under a second in all.

tests/conftest.py still applies (it puts the repository on sys.path and starts nothing by itself);
here the server fixtures are replaced by ones that fail, so a test that needs MariaDB cannot hide
in tests/unit/ and slow it down.
"""
from __future__ import annotations

import pytest


def _no_server() -> None:
    pytest.fail("tests/unit/ runs without a server: move a test that needs MariaDB up to tests/")


@pytest.fixture(scope="session")
def sandbox_cfg():
    _no_server()


@pytest.fixture(scope="session")
def admin():
    _no_server()


@pytest.fixture(scope="session")
def server():
    _no_server()
