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


def write_atomically(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Call ``write(temporary)`` on a hidden sibling of ``path``, then rename it into place.

    The temporary name ends with ``path``'s own name, so writers that choose a format by suffix
    (``.png``, ``.ome.tif``) see the right one. On any failure the temporary is removed and
    ``path`` is left as it was. A folder written this way (a zarr store) replaces an existing
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
