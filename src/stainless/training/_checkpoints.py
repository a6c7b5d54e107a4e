"""Checkpoints that survive a full disk or a kill: each is written beside its final name and
renamed into place (the previous one stays until the new one is complete), and a checkpoint is
checked before a resume trusts it."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from stainless.io.atomic import write_atomically


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's torch checkpoint I/O, but atomic on the checkpoint's own filesystem.

    Lightning stages a checkpoint in the system temp folder and *moves* it to its name, which
    is a copy (not atomic) when the two are on different filesystems: a full disk then leaves a
    truncated file under the final name. Here the file is written (and fsync'd) as a hidden
    sibling and renamed through :func:`stainless.io.atomic.write_atomically`.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        """Write ``checkpoint`` to ``path`` atomically.

        Raises
        ------
        OSError
            The write failed (a full disk...); ``path`` is as it was before.
        """
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO takes no storage_options")
        final = Path(path)
        final.parent.mkdir(parents=True, exist_ok=True)

        # serialised in memory first (as Lightning does): a failing file write is then an
        # OSError, not torch's zip writer's RuntimeError
        serialised = io.BytesIO()
        torch.save(checkpoint, serialised)

        def write(temporary: Path) -> None:
            with temporary.open("wb") as handle:
                handle.write(serialised.getbuffer())
                handle.flush()
                os.fsync(handle.fileno())

        try:
            write_atomically(final, write)
        except OSError as error:
            reason = error.strerror or str(error)
            raise OSError(
                f"could not write checkpoint '{final}': {reason}; the checkpoints written "
                "before it are kept whole. Free some space and rerun with --resume"
            ) from None


def checkpoint_problem(path: Path) -> str | None:
    """Why ``path`` cannot be resumed from (missing, truncated, corrupt), or None when its zip
    container and every member's CRC are intact (read without unpickling anything)."""
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
    except FileNotFoundError:
        return "it does not exist"
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        return f"it is truncated or not a checkpoint ({error})"
    if broken is not None:
        return f"its member '{broken}' is corrupt"
    return None


def last_good_checkpoint(folder: Path, but: Path) -> Path | None:
    """The newest readable ``*.ckpt`` in ``folder`` other than ``but``."""
    candidates = sorted(
        (p for p in folder.glob("*.ckpt") if p != but),
        key=lambda p: p.stat().st_mtime_ns,
        reverse=True,
    )
    return next((p for p in candidates if checkpoint_problem(p) is None), None)


def check_resumable(path: Path) -> None:
    """``ValueError`` in one line when ``--resume`` cannot trust the checkpoint at ``path``,
    naming the newest good checkpoint beside it if there is one."""
    problem = checkpoint_problem(path)
    if problem is None:
        return
    good = last_good_checkpoint(path.parent, path)
    advice = (
        f"the last good checkpoint is '{good}': copy it to '{path}' and rerun with --resume"
        if good is not None
        else "no good checkpoint is left: train again with --overwrite"
    )
    raise ValueError(f"--resume: checkpoint '{path}' is unreadable: {problem}; {advice}")
