"""Picking a model's input channels from an image, Cellpose-style."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from stainless.io import channels as channel_module
from stainless.io.channels import parse_channels, select_channels

SOURCE = Path("field.png")


def test_parse_channels_reads_indices_names_and_absent() -> None:
    assert parse_channels("2,1") == [2, 1]
    assert parse_channels("Green, none") == ["green", 0]
    for bad, message in (
        ("2,,1", "empty entry"),
        ("0,none", "name no channel"),
        ("-1", "start at 1"),
    ):
        with pytest.raises(ValueError, match=message):
            parse_channels(bad)


def test_rgb_channels_are_picked_by_index_or_name() -> None:
    rgb = np.stack([np.full((4, 4), value, np.uint8) * np.arange(4) for value in (10, 20, 30)])
    by_index = select_channels(rgb, None, [2, 1], SOURCE)
    by_name = select_channels(rgb, None, ["green", "red"], SOURCE)
    np.testing.assert_array_equal(by_index, rgb[[1, 0]])
    np.testing.assert_array_equal(by_name, by_index)
    assert select_channels(rgb, None, [2, 0], SOURCE)[1].max() == 0  # absent: zeros


def test_an_empty_channel_is_zeros_and_reported_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(channel_module, "_reported_empty", set())
    green_only = np.zeros((3, 8, 8), np.uint8)
    green_only[1] = np.arange(64, dtype=np.uint8).reshape(8, 8)
    green_only[0, 0, 0] = 1  # a stray level in the red channel: still empty
    with pytest.warns(UserWarning, match="channel 1 is empty in 'field.png'"):
        picked = select_channels(green_only, None, [2, 1], SOURCE)
    assert picked[1].max() == 0 and picked[0].max() == 63
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        select_channels(green_only, None, [2, 1], SOURCE)
    assert not caught  # once per channel


def test_a_grey_image_feeds_the_first_channel_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(channel_module, "_reported_single_plane", set())
    grey = np.arange(16, dtype=np.uint16).reshape(1, 4, 4)
    with pytest.warns(UserWarning, match=r"has one channel: it feeds input 1; channel\(s\) \[1\]"):
        picked = select_channels(grey, None, [2, 1], SOURCE)
    np.testing.assert_array_equal(picked[0], grey[0])
    assert picked[1].max() == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        select_channels(grey, None, [2, 1], SOURCE)  # said once per run
        select_channels(grey, None, [1, 0], SOURCE)  # nucleus absent on purpose: nothing to say


def test_channels_the_image_lacks_are_named() -> None:
    rgb = np.ones((3, 4, 4), np.uint8)
    with pytest.raises(ValueError, match=r"'field.png' has 3 channel\(s\); channel 5 does not"):
        select_channels(rgb, None, [5, 1], SOURCE)
    with pytest.raises(ValueError, match=r"has no channel named 'dapi' \(channels: red, green"):
        select_channels(rgb, None, ["dapi"], SOURCE)
    with pytest.raises(ValueError, match=r"no channel named 'dapi' \(channels: GFP, mCherry\)"):
        select_channels(np.ones((2, 4, 4)), ("GFP", "mCherry"), ["dapi"], SOURCE)
