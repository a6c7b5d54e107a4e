"""One training per output folder: the folder is claimed when a training starts and released when
it ends, and the model is written only into a folder that nobody else changed meanwhile.

The claim is an exclusive ``flock`` on ``<output>/.training.lock``: the kernel releases it when
the process ends, however it ends (``kill -9`` included), so a crashed training never leaves a
stale lock behind. The file names the holder (pid, host, start) for the message the second
training gets.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from types import TracebackType

from stainless.model_folder import MODEL_JSON, WEIGHTS

LOCK_NAME = ".training.lock"


def _holder(lock: Path) -> str:
    """``pid N on HOST since HH:MM:SS`` from a lock file, or ``another process``."""
    try:
        holder = json.loads(lock.read_text())
        return f"pid {holder['pid']} on {holder['host']} since {holder['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _model_state(folder: Path) -> tuple[tuple[int, int, int] | None, ...]:
    """``(inode, size, mtime_ns)`` of the model files, None where absent: what a training
    compares at the end with what it saw at the start."""
    states: list[tuple[int, int, int] | None] = []
    for name in (WEIGHTS, MODEL_JSON):
        try:
            status = (folder / name).stat()
        except FileNotFoundError:
            states.append(None)
            continue
        states.append((status.st_ino, status.st_size, status.st_mtime_ns))
    return tuple(states)


class OutputClaim:
    """Claim a training's output folder for this process, for the ``with`` block.

    Parameters
    ----------
    folder : Path
        The model folder the training writes (created, with its parents, when missing; removed
        again on exit when this claim created it and it is left empty).

    Raises
    ------
    FileExistsError
        On entry: another training holds the folder.

    Examples
    --------
    >>> with OutputClaim(Path("models/nuclei")) as claim:  # doctest: +SKIP
    ...     train()
    ...     claim.check_unchanged()
    ...     save_model_folder(...)
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = folder / LOCK_NAME
        self._descriptor: int | None = None
        self._created: list[Path] = []
        self._model_at_start: tuple[tuple[int, int, int] | None, ...] = ()

    def __enter__(self) -> OutputClaim:
        self._created = [p for p in (self.folder, *self.folder.parents) if not p.exists()]
        self.folder.mkdir(parents=True, exist_ok=True)
        while True:
            descriptor = os.open(self.lock, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                raise FileExistsError(
                    f"model folder '{self.folder}' is being written by another training "
                    f"({_holder(self.lock)}); wait for it to end or give another --output"
                ) from None
            # the holder before us may have removed the file after we opened it: lock the file
            # that is there now, not an unlinked one
            try:
                same = os.stat(self.lock).st_ino == os.fstat(descriptor).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(descriptor)
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%X")}
        os.ftruncate(descriptor, 0)
        os.write(descriptor, json.dumps(holder).encode())
        self._descriptor = descriptor
        self._model_at_start = _model_state(self.folder)
        return self

    def check_unchanged(self) -> None:
        """``FileExistsError`` when the folder's model files are not those of the start: another
        process wrote a model there while this training ran (so this one must not replace it)."""
        if _model_state(self.folder) != self._model_at_start:
            raise FileExistsError(
                f"model folder '{self.folder}' was changed by another process while this "
                f"training ran ({WEIGHTS} / {MODEL_JSON} are not those of the start); this "
                "training's model was not written over it"
            )

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._descriptor is None:
            return
        self.lock.unlink(missing_ok=True)  # while still holding it (see __enter__)
        os.close(self._descriptor)
        self._descriptor = None
        for folder in self._created:  # deepest first
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
