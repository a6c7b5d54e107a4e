"""Atomic writes: a file (or folder) appears complete under its name, or not at all."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _umask() -> int:
    """The process umask (read by setting and restoring it; there is no read-only call)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _give_default_mode(path: Path) -> None:
    """Files get ``0o666 & ~umask`` (0644 usually), whatever mode the writer chose: some
    writers (safetensors) create their file with ``mkstemp``'s 0600."""
    if path.is_file() and not path.is_symlink():
        os.chmod(path, 0o666 & ~_umask())


def write_atomically(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Call ``write(temporary)`` on a hidden sibling of ``path``, then rename it into place.

    The temporary name ends with ``path``'s own name, so writers that choose a format by suffix
    (``.png``, ``.ome.tif``) see the right one. On any failure the temporary is removed and
    ``path`` is left as it was. A file gets the mode the umask gives (0644 usually). A folder
    written this way (a zarr store) replaces an existing
    folder: the old one is renamed aside first and removed last.

    Parameters
    ----------
    path : path-like
        The final file or folder; its parent folder must exist.
    write : callable
        Writes the whole content to the path it is given (a file or a folder).

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> write_atomically("t.csv", lambda temporary: temporary.write_text("a\\n"))  # doctest: +SKIP
    """
    final = Path(path)
    token = secrets.token_hex(4)
    temporary = final.with_name(f".tmp-{token}-{final.name}")
    retired = final.with_name(f".old-{token}-{final.name}")
    try:
        write(temporary)
        _give_default_mode(temporary)
        if final.is_dir() and not final.is_symlink():
            os.replace(final, retired)
        os.replace(temporary, final)
    finally:
        for leftover in (temporary, retired):
            _remove(leftover)
    return final


def write_text_atomically(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically."""
    return write_atomically(path, lambda temporary: temporary.write_text(text, newline=""))


class OutputBatch:
    """The outputs of one batch command, appearing together or not at all.

    Each output is written (by the caller, with any writer) to the hidden name that
    :meth:`staged` gives, next to its final name. :meth:`commit` renames every staged file into
    place once all inputs succeeded; :meth:`discard` (or leaving the ``with`` block on an
    exception) removes them, and removes the output folder too when this batch created it and
    left it empty. The folder is created only when the first output is staged, so a refused run
    leaves nothing behind.

    Parameters
    ----------
    folder : Path
        Where the outputs go (created on first use, with its parents).
    overwrite : bool
        Replace existing outputs; otherwise an output that exists when the batch commits raises
        ``FileExistsError`` and nothing is renamed.

    Examples
    --------
    >>> with OutputBatch(Path("out"), overwrite=False) as batch:  # doctest: +SKIP
    ...     write_image(batch.staged(Path("out/a_labels.tif")), labels, axes="YX")
    """

    def __init__(self, folder: Path, overwrite: bool) -> None:
        self.folder = folder
        self.overwrite = overwrite
        self._token = secrets.token_hex(4)
        self._staged: dict[Path, Path] = {}
        self._created: list[Path] = []

    def staged(self, final: Path) -> Path:
        """The hidden temporary name to write ``final`` to (its folder is created if needed)."""
        if final in self._staged:
            raise ValueError(f"output '{final}' is written twice by one batch")
        if not final.parent.is_dir():
            missing = [p for p in (final.parent, *final.parent.parents) if not p.exists()]
            final.parent.mkdir(parents=True, exist_ok=True)
            self._created += missing
        temporary = final.with_name(f".tmp-{self._token}-{final.name}")
        self._staged[final] = temporary
        return temporary

    @property
    def staged_count(self) -> int:
        """Outputs staged and not yet committed or discarded."""
        return len(self._staged)

    def commit(self) -> list[Path]:
        """Rename every staged output into place; return the final paths."""
        existing = [final for final in self._staged if final.exists()]
        if existing and not self.overwrite:
            raise FileExistsError(f"output '{existing[0]}' exists; pass --overwrite to replace it")
        for final, temporary in self._staged.items():
            if final.is_dir() and not final.is_symlink():
                shutil.rmtree(final)
            os.replace(temporary, final)
        finals = list(self._staged)
        self._staged.clear()
        return finals

    def discard(self) -> None:
        """Remove staged outputs, and the folders this batch created if they are empty."""
        for temporary in self._staged.values():
            _remove(temporary)
        self._staged.clear()
        for folder in self._created:  # deepest first
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()

    def __enter__(self) -> OutputBatch:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if kind is None:
            try:
                self.commit()
            finally:
                self.discard()
        else:
            self.discard()
