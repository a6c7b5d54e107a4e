"""The ``stainless`` command line: ``main(argv) -> exit code``.

Each command lives in its own module with ``add_parser(subparsers)`` and ``run(args) -> int``;
heavy libraries (torch, Lightning) are imported inside ``run`` so that ``--help`` stays instant.
User errors (bad files, bad values: ``ValueError``, ``OSError``) become one line on stderr and exit
code 2; ``--debug`` shows the traceback instead. Anything else (a ``TypeError``...) is a bug in
stainless: it is reported as one, with the way to get the traceback, and exits 1. A training
stopped by SIGTERM / SIGINT exits 143 / 130 after saving a checkpoint to resume from.
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings
from collections.abc import Sequence
from typing import TextIO

from stainless import __version__
from stainless.cli import (
    demo,
    evaluate,
    experiment,
    export,
    info,
    labels,
    models,
    overlay,
    predict,
    segment,
    train,
)
from stainless.training.interruption import TrainingInterrupted

EXIT_BUG = 1
EXIT_USER_ERROR = 2
COMMANDS = (
    demo,
    info,
    train,
    predict,
    segment,
    labels,
    evaluate,
    overlay,
    experiment,
    models,
    export,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="stainless",
        description="Label-free microscopy: in silico labelling, segmentation and evaluation.",
    )
    parser.add_argument("--version", action="version", version=f"stainless {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback when a command fails"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def _show_warning_on_one_line(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning_on_one_line
            return int(args.handler(args))
    except TrainingInterrupted as interruption:
        print(f"stainless {args.command}: {interruption}", file=sys.stderr)
        return interruption.exit_code
    except (ValueError, OSError) as error:
        if args.debug:
            traceback.print_exc()
        else:
            print(f"stainless {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"stainless {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a bug, not a user error: say so and how to see where
        if args.debug:
            traceback.print_exc()
        else:
            print(
                f"stainless {args.command}: internal error (a bug in stainless): "
                f"{type(error).__name__}: {error}; rerun with --debug for the traceback "
                "and report it",
                file=sys.stderr,
            )
        return EXIT_BUG


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
