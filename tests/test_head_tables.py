"""A segmentation head is one declaration split over three tables (network half in
``models.heads``, target in ``data.targets``, decoder + grid in ``postprocessing.decoders``): the
tables agree, and a head declared in those three places alone trains, tunes and segments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

from stainless.data.targets import TARGETS, foreground_target
from stainless.models.heads import HEADS, Head
from stainless.postprocessing.decoders import DECODERS, MASK_THRESHOLDS, Decoder
from stainless.postprocessing.labels import clean_labels
from tests.training.test_segmentation_training import (
    segmentation_config,
    write_config,
    write_segmentation_data,
)


def test_every_head_is_declared_in_every_table() -> None:
    assert set(HEADS) == set(TARGETS) == set(DECODERS)
    for name, decoder in DECODERS.items():
        assert decoder.grid, f"head '{name}' has no threshold grid"
        assert all(values for values in decoder.grid.values())


@pytest.mark.parametrize("head", sorted(HEADS))
def test_the_network_half_matches_the_target_half(head: str) -> None:
    labels = np.zeros((32, 32), dtype=np.int32)
    labels[4:14, 4:14], labels[16:28, 10:26] = 1, 2
    target = torch.from_numpy(TARGETS[head](labels, None))[None]
    truth = HEADS[head].target_foreground(target)
    np.testing.assert_array_equal(truth[0].numpy(), labels > 0)
    maps = torch.randn(1, HEADS[head].channels(2), 32, 32)
    assert HEADS[head].activate(maps).shape == maps.shape
    assert HEADS[head].foreground(maps).shape == (1, 32, 32)


def _foreground_only_head() -> tuple[Head, object, Decoder]:
    """A new head, written as a user would: one logit map of the foreground."""
    network_half = Head(
        channels=lambda classes: 1,
        activate=torch.sigmoid,
        loss=lambda maps, target, settings: torch.nn.functional.binary_cross_entropy_with_logits(
            maps, target
        ),
        foreground=lambda maps: maps[:, 0] > 0,
        target_foreground=lambda target: target[:, 0] > 0.5,
    )

    def target(labels: np.ndarray, cells: np.ndarray | None) -> np.ndarray:
        return foreground_target(labels)[None]

    def decode(maps: np.ndarray, thresholds: dict[str, float]) -> np.ndarray:
        components, _ = ndi.label(maps[0] > thresholds.get("mask_threshold", 0.5))
        return clean_labels(components, min_size_px=int(thresholds.get("min_size_px", 0)))

    return network_half, target, Decoder(decode, {"mask_threshold": MASK_THRESHOLDS})


def test_a_head_declared_in_three_tables_trains_tunes_and_segments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stainless.cli.main import main
    from stainless.inference.segmenter import SegmentationPredictor

    network_half, target, decoder = _foreground_only_head()
    monkeypatch.setitem(HEADS, "blobs", network_half)
    monkeypatch.setitem(TARGETS, "blobs", target)  # type: ignore[arg-type]
    monkeypatch.setitem(DECODERS, "blobs", decoder)
    write_segmentation_data(tmp_path, [0, 1, 2])
    config = segmentation_config(head="blobs")
    config["training"]["epochs"] = 1
    path = write_config(tmp_path, config)
    assert main(["train", "segmentation", "--config", str(path), "--no-progress"]) == 0
    predictor = SegmentationPredictor.load(tmp_path / "seg", device="cpu")
    assert predictor.info.head == "blobs"
    assert "mask_threshold" in predictor.info.thresholds
    image = np.random.default_rng(0).random((1, 40, 40), dtype=np.float32)
    assert predictor.segment(image, thresholds={"mask_threshold": 0.5}).shape == (40, 40)


def test_an_undeclared_head_is_refused_by_the_config(tmp_path: Path) -> None:
    write_segmentation_data(tmp_path, [0, 1, 2])
    path = write_config(tmp_path, segmentation_config(head="boxes"))
    from stainless.config import load_segmentation_config

    with pytest.raises(ValueError, match=r"model.head: .*unknown head 'boxes'"):
        load_segmentation_config(path)


def test_a_head_refuses_classes_it_does_not_support(tmp_path: Path) -> None:
    from stainless.config import load_segmentation_config

    write_segmentation_data(tmp_path, [0, 1, 2])
    path = write_config(tmp_path, segmentation_config(head="flows", classes=3))
    with pytest.raises(ValueError, match=r"model.head 'flows' supports model.classes \[2\], not 3"):
        load_segmentation_config(path)
