"""Shared fixtures: no network, and the real data beside the repository when present."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

# Hypothesis keeps caches in ./.hypothesis by default; tests write only to temporary folders.
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="stainless-hypothesis-"))
settings.register_profile("stainless", database=None)
settings.load_profile("stainless")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that opens an internet socket: stainless must work offline."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("tests must not use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` (real public microscopy); the test is skipped where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA
