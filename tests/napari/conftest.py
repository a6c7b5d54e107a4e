"""napari tests run headless under Xvfb (vispy needs OpenGL, which Qt's offscreen platform
lacks): with no display, one Xvfb server is started for the session; without napari or Xvfb
the tests are skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

napari = pytest.importorskip("napari")


def _start_xvfb() -> subprocess.Popen[bytes] | None:
    if os.environ.get("DISPLAY") or shutil.which("Xvfb") is None:
        return None
    display = f":{90 + os.getpid() % 100}"
    # -terminate: the server ends by itself when its last client (this process's Qt) goes, so
    # it outlives Qt's teardown at interpreter exit (killing it first crashes that teardown)
    command = ["Xvfb", display, "-screen", "0", "1280x1024x24", "-nolisten", "tcp", "-terminate"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    os.environ["DISPLAY"] = display
    return server


_SERVER = _start_xvfb()


@pytest.fixture(scope="session", autouse=True)
def _display() -> Iterator[None]:
    if not os.environ.get("DISPLAY"):
        pytest.skip("no display and no Xvfb: the napari tests need one")
    yield


_STATUS: dict[str, int] = {}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _STATUS["exit"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End the process with pytest's own status once everything is reported: with a Qt viewer
    and torch/Lightning trainings in one process, the C++ teardown at interpreter exit crashes
    (a segmentation fault or double free after every test passed), which would turn a green
    run red."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_STATUS.get("exit", 0))
