"""Which channels of an image feed a model, Cellpose-style (``--channels 2,1``: cytoplasm in
green, nucleus in red).

A channel list has one entry per network input, in the model's order (for a cell model:
cytoplasm, then nucleus). An entry is a 1-based channel index, a channel name (the file's OME
channel names, or ``red`` / ``green`` / ``blue`` / ``alpha`` for RGB(A) images), or ``0`` /
``none`` for an input the images do not have (it is fed zeros). An *empty* channel (constant, or
an integer image whose values span at most 2 levels, e.g. the unused red of a green-only RGB
image) is fed zeros too, so that intensity normalisation does not stretch noise into a signal;
it is reported once per channel.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

ChannelList = list[int | str]
RGB_NAMES = ("red", "green", "blue", "alpha")
ABSENT = (0, "0", "none")
EMPTY_LEVELS = 2
"""An integer channel spanning at most this many grey levels counts as empty."""

_reported_empty: set[str] = set()
_reported_single_plane: set[str] = set()


def parse_channels(text: str) -> ChannelList:
    """``--channels`` text → a channel list: ``"2,1"`` → ``[2, 1]``, ``"green,none"`` →
    ``["green", 0]``.

    Raises
    ------
    ValueError
        An empty entry, a negative index, or nothing but absent channels.
    """
    entries: ChannelList = []
    for part in text.split(","):
        item = part.strip().lower()
        if not item:
            raise ValueError(f"--channels '{text}' has an empty entry")
        if item.lstrip("-").isdigit():
            if int(item) < 0:
                raise ValueError(f"--channels '{text}': indices start at 1 (0 = absent)")
            entries.append(int(item))
        else:
            entries.append(0 if item == "none" else item)
    check_channels(entries)
    return entries


def check_channels(channels: Sequence[int | str]) -> None:
    """``ValueError`` when no entry names a channel (all absent) or an index is negative."""
    if not channels or all(entry in ABSENT for entry in channels):
        raise ValueError(f"channels {list(channels)} name no channel (0 / none = absent)")
    if any(isinstance(entry, int) and entry < 0 for entry in channels):
        raise ValueError(f"channels {list(channels)}: indices start at 1 (0 = absent)")


def _is_empty(plane: NDArray[np.generic]) -> bool:
    low, high = plane.min(), plane.max()
    if np.issubdtype(plane.dtype, np.integer):
        return int(high) - int(low) <= EMPTY_LEVELS
    return bool(high == low)


def _index(entry: int | str, names: Sequence[str], count: int, source: Path) -> int | None:
    """The 0-based plane of one entry (None: absent)."""
    if entry in ABSENT:
        return None
    if isinstance(entry, int):
        if entry > count:
            raise ValueError(f"'{source}' has {count} channel(s); channel {entry} does not exist")
        return entry - 1
    lowered = [name.lower() for name in names]
    if entry.lower() not in lowered:
        known = ", ".join(names) if names else "none named"
        raise ValueError(f"'{source}' has no channel named '{entry}' (channels: {known})")
    return lowered.index(entry.lower())


def select_channels(
    planes: NDArray[np.generic],
    channel_names: Sequence[str] | None,
    channels: Sequence[int | str],
    source: Path,
) -> NDArray[np.generic]:
    """The planes ``(len(channels), Y, X)`` that ``channels`` pick from ``planes`` ``(C, Y, X)``.

    Absent and empty channels become zeros. A single-plane image (grey) feeds the first named
    entry, the others get zeros (a two-channel cell model then sees no nucleus channel).

    Raises
    ------
    ValueError
        An index beyond the image's channels or a name it does not have (naming ``source``).
    """
    count = planes.shape[0]
    names = list(channel_names or (RGB_NAMES[:count] if count in (3, 4) else ()))
    if count == 1:
        first = next(i for i, entry in enumerate(channels) if entry not in ABSENT)
        indices: list[int | None] = [0 if i == first else None for i in range(len(channels))]
        unmet = [entry for i, entry in enumerate(channels) if i > first and entry not in ABSENT]
        if unmet:
            _report_single_plane(source, first, unmet)
    else:
        indices = [_index(entry, names, count, source) for entry in channels]
    selected = np.zeros((len(channels), *planes.shape[1:]), dtype=planes.dtype)
    for position, (entry, index) in enumerate(zip(channels, indices, strict=True)):
        if index is None:
            continue
        if _is_empty(planes[index]):
            _report_empty(entry, source)
            continue
        selected[position] = planes[index]
    return selected


def _report_empty(entry: int | str, source: Path) -> None:
    message = (f"channel {entry!r} is empty in '{source}' (and maybe other images); it is fed "
               "as zeros, not normalised")  # fmt: skip
    _warn_once(_reported_empty, str(entry), message)


def _report_single_plane(source: Path, first: int, unmet: list[int | str]) -> None:
    """A grey image given channels for more inputs than its one plane."""
    message = (f"'{source}' (and maybe other images) has one channel: it feeds input "
               f"{first + 1}; channel(s) {unmet} named for the other inputs are fed as zeros "
               "(absent)")  # fmt: skip
    _warn_once(_reported_single_plane, str(unmet), message)


def _warn_once(reported: set[str], key: str, message: str) -> None:
    """Warn with ``message`` the first time ``key`` is seen in this run."""
    if key in reported:
        return
    reported.add(key)
    warnings.warn(message, stacklevel=4)
