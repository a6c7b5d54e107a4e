"""Shared fixtures: no network, and the real data beside the repository when present."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
from collections.abc import Iterator
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


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB filesystem (tmpfs), so that writes past it fail with ENOSPC; skipped where
    this user cannot mount one."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill_disk(disk: Path, leave_bytes: int) -> Path:
    """Fill the filesystem of ``disk`` with one file, ``disk/filler``, until ``leave_bytes``
    are left free; returns the filler."""
    filler = disk / "filler"
    status = os.statvfs(disk)
    filler.write_bytes(b"\0" * max(status.f_bavail * status.f_frsize - leave_bytes, 0))
    return filler
