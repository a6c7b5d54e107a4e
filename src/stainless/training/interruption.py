"""A training stopped by a signal: what was saved and how to go on (no torch import here, so the
command line can catch it cheaply)."""

from __future__ import annotations

import signal
from pathlib import Path


class TrainingInterrupted(Exception):
    """A training stopped by SIGTERM or SIGINT after saving a resumable checkpoint.

    Parameters
    ----------
    signal_number : int
    checkpoint : Path
        The checkpoint written just before stopping.

    Attributes
    ----------
    exit_code : int
        ``128 + signal_number`` (143 for SIGTERM, 130 for SIGINT), as a shell reports a process
        killed by that signal.
    """

    def __init__(self, signal_number: int, checkpoint: Path) -> None:
        self.signal_number = signal_number
        self.checkpoint = checkpoint
        self.exit_code = 128 + signal_number
        name = signal.Signals(signal_number).name
        super().__init__(
            f"stopped by {name}; checkpoint saved to '{checkpoint}'. Resume with the same "
            "command and --resume"
        )
