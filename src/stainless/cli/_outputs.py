"""Where the TIFF outputs of ``predict``, ``segment`` and ``labels`` go: ``--output``, output
names planned and checked before any work, the command's own earlier outputs left out of its
inputs, and outputs that appear together or not at all."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stainless.cli._inputs import Sample
from stainless.io import OutputBatch


def add_output_option(parser: argparse.ArgumentParser, help_text: str, required: bool) -> None:
    """``--output`` (every command's name for where results go), with ``--out`` accepted as a
    hidden alias of earlier releases."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--output", type=Path, help=help_text)
    group.add_argument("--out", dest="output", type=Path, help=argparse.SUPPRESS)


def refuse_existing(planned: list[Path], overwrite: bool) -> None:
    """``FileExistsError`` naming the first planned output that exists, unless ``overwrite``."""
    existing = [path for path in planned if path.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"output '{existing[0]}' exists; pass --overwrite to replace it")


def plan_outputs(
    samples: list[Sample], output: Path, endings: list[str], overwrite: bool
) -> dict[str, list[Path]]:
    """Sample name → its output files (``<output>/<name><ending>``), checked before any work.

    Raises
    ------
    ValueError
        Two inputs would write the same output (``x/a.png`` and ``y/a.tif`` both make
        ``a_labels.tif``).
    FileExistsError
        An output exists and ``overwrite`` is not set.
    """
    first_input: dict[str, Path] = {}
    for name, files, _ in samples:
        if name in first_input:
            raise ValueError(
                f"inputs '{first_input[name]}' and '{files[0]}' would both write "
                f"'{name}{endings[0]}'; rename one or segment them separately"
            )
        first_input[name] = files[0]
    planned = {name: [output / f"{name}{ending}" for ending in endings] for name, _, _ in samples}
    refuse_existing([path for paths in planned.values() for path in paths], overwrite)
    return planned


def skip_own_outputs(samples: list[Sample], output: Path, endings: list[str]) -> list[Sample]:
    """The samples less the files this command writes (``<name><ending>``) when they lie in
    the output folder itself: with ``--output`` = the input folder, a re-run must not take the
    last run's labels for images. Says on stderr how many were skipped."""
    folder = output.resolve()
    kept = [
        sample
        for sample in samples
        if not (
            len(sample[1]) == 1
            and sample[1][0].resolve().parent == folder
            and sample[1][0].name.endswith(tuple(endings))
        )
    ]
    if len(kept) < len(samples):
        patterns = ", ".join("*" + ending for ending in endings)
        print(f"skipped {len(samples) - len(kept)} file(s) in the output folder that this "
              f"command wrote ({patterns})", file=sys.stderr)  # fmt: skip
    if not kept:
        raise ValueError(f"--input holds only outputs of this command ({', '.join(endings)})")
    return kept


@contextmanager
def all_or_nothing(output: Path, overwrite: bool) -> Iterator[OutputBatch]:
    """An :class:`OutputBatch` for a command's outputs: they appear when every input succeeded.
    When an input fails after outputs were staged, the error says that they were discarded,
    so a re-run needs no ``--overwrite``."""
    with OutputBatch(output, overwrite) as batch:
        try:
            yield batch
        except (OSError, ValueError) as error:
            if not batch.staged_count:
                raise
            kind = OSError if isinstance(error, OSError) else ValueError
            raise kind(
                f"{error}; nothing was written (the {batch.staged_count} output(s) staged "
                "before the error were discarded)"
            ) from error
