"""Run metadata saved with every model, evaluation and benchmark result: what ran, where, when."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

KEY_PACKAGES = (
    "stainless",
    "numpy",
    "scipy",
    "scikit-image",
    "tifffile",
    "torch",
    "lightning",
)


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (``"not installed"`` when absent), without importing them."""
    versions = {}
    for name in names:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def source_commit() -> str | None:
    """The git commit of the stainless source tree, when it runs from a checkout (else None)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def run_metadata(**details: Any) -> dict[str, Any]:
    """Versions, source commit, machine, date and command line, plus any ``details``.

    Returns
    -------
    dict
        JSON-serialisable; ``details`` are included as given under their own keys.
    """
    return {
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]]),
        "versions": {"python": platform.python_version(), **package_versions()},
        "stainless_commit": source_commit(),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.machine(),
            "cpu_count": os.cpu_count(),
        },
        **details,
    }


def write_record(
    path: Path, document: dict[str, Any], started: float | None = None, **details: Any
) -> Path:
    """Write a benchmark or experiment record as indented JSON, atomically, and say where.

    ``wall_s`` (seconds since the ``time.perf_counter()`` value ``started``) and ``metadata``
    (:func:`run_metadata` with ``details``) are added to ``document``.
    """
    from stainless.io.atomic import write_text_atomically
    from stainless.io.json_text import json_text

    record = dict(document)
    if started is not None:
        record["wall_s"] = round(time.perf_counter() - started, 1)
    record["metadata"] = run_metadata(**details)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, json_text(record))
    print(f"wrote {path}", file=sys.stderr)
    return path
