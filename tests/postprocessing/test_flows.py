"""Flows (Cellpose-style instances): labels → flows target → decoder gives the labels back."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage as ndi
from sklearn.metrics import adjusted_rand_score

from stainless.data.targets import flows_target, foreground_target
from stainless.io import read_labels
from stainless.metrics import instance_metrics
from stainless.postprocessing.flows import labels_from_flows
from tests.postprocessing.test_round_trips import touching_disks


def rectangles() -> np.ndarray:
    """Two objects with odd sides (their centre pixel is unique, so turns keep the flows)."""
    labels = np.zeros((33, 33), dtype=np.int32)
    labels[3:14, 5:26] = 1
    labels[17:30, 3:12] = 2
    return labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_touching_disks_survive_the_flows_round_trip(seed: int) -> None:
    labels = touching_disks(seed)
    recovered = labels_from_flows(foreground_target(labels), flows_target(labels), min_size_px=0)
    assert recovered.max() == len(np.unique(labels)) - 1
    assert adjusted_rand_score(labels.ravel(), recovered.ravel()) >= 0.99


def test_flows_are_unit_vectors_towards_the_centre_and_zero_outside() -> None:
    labels = rectangles()
    flows = flows_target(labels)
    norms = np.hypot(*flows)
    assert norms[labels == 0].max() == 0
    assert norms[8, 15] == 0 and norms[23, 7] == 0  # the centres
    inside = (labels > 0) & (norms > 0)
    assert inside.sum() == (labels > 0).sum() - 2
    assert np.allclose(norms[inside], 1.0, atol=1e-5)
    assert flows[1, 8, 6] > 0.9 and flows[1, 8, 24] < -0.9  # left edge → right, right → left
    assert flows[0, 4, 15] > 0.9 and flows[0, 12, 15] < -0.9  # top → down, bottom → up


def test_an_empty_image_gives_no_objects() -> None:
    empty = np.zeros((20, 30), dtype=np.int32)
    assert not flows_target(empty).any()
    assert labels_from_flows(np.zeros((20, 30)), np.zeros((2, 20, 30))).max() == 0


def test_the_flow_threshold_drops_an_object_whose_flows_are_wrong() -> None:
    labels = rectangles()
    flows = flows_target(labels)
    ys, xs = np.nonzero(labels == 2)  # all pointing at the bottom-right corner, not the centre
    towards = np.stack([29 - ys, 11 - xs]).astype(np.float32)
    flows[:, ys, xs] = towards / np.maximum(np.hypot(*towards), 1e-6)
    foreground = foreground_target(labels)
    kept = labels_from_flows(foreground, flows, flow_threshold=0.0, min_size_px=0)
    checked = labels_from_flows(foreground, flows, flow_threshold=0.4, min_size_px=0)
    assert kept.max() == 2 and checked.max() == 1
    assert (checked[labels == 1] > 0).all() and (checked[labels == 2] == 0).all()


def test_an_object_covering_most_of_the_image_is_dropped_in_reasonable_time() -> None:
    labels = np.zeros((300, 300), dtype=np.int32)
    labels[10:290, 10:290] = 1
    flows = flows_target(labels)  # 1000 diffusion steps at most
    assert np.hypot(*flows)[labels > 0].max() == pytest.approx(1.0)
    assert labels_from_flows(foreground_target(labels), flows).max() == 0


def test_mismatched_maps_are_refused() -> None:
    with pytest.raises(ValueError, match=r"flows have shape \(2, 10, 10\); expected \(2, 12, 12\)"):
        labels_from_flows(np.zeros((12, 12)), np.zeros((2, 10, 10)))


def test_flows_test_time_augmentation_turns_vectors_back() -> None:
    """An ideal flows 'network' seen through all eight views gives back the exact flows."""
    from stainless.inference.segmenter import SegmentationPredictor
    from stainless.model_folder import SegmentationModelInfo
    from stainless.tiling import TilingOptions

    labels = rectangles()

    class IdealFlows(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            maps = []
            for image in x[:, 0].numpy():
                objects, _ = ndi.label(image > 0.5)
                logit = (image > 0.5) * 20.0 - 10
                maps.append(np.concatenate([logit[None], 5 * flows_target(objects)]))
            return torch.from_numpy(np.stack(maps).astype(np.float32))

    info = SegmentationModelInfo("flows", 2, 1, (0.0, 100.0), 1, {})
    predictor = SegmentationPredictor(IdealFlows(), info, device="cpu", precision="fp32")
    planes = (labels > 0)[None].astype(np.float32)
    options = TilingOptions(tile=33, tta=True, tta_flips=True)
    maps = predictor.predict_maps(planes, options)
    np.testing.assert_allclose(maps[1:], flows_target(labels), atol=1e-5)
    assert predictor.segment(planes, options).max() == 2


@pytest.mark.slow
def test_real_masks_survive_the_flows_round_trip(shared_data: Path) -> None:
    files = sorted((shared_data / "dense-tissue" / "test").glob("*_masks.png"))
    dsb = shared_data / "dsb2018"
    with (dsb / "splits.csv").open(newline="") as handle:
        ids = [row["id"] for row in csv.DictReader(handle) if row["split"] == "test"]
    files += [dsb / "labels" / f"{image_id}.png" for image_id in ids]
    assert len(files) == 7 + 56
    for file in files:
        truth = read_labels(file).array
        recovered = labels_from_flows(foreground_target(truth), flows_target(truth), min_size_px=0)
        scores = instance_metrics(truth, recovered, thresholds=[0.5])
        # a nucleus under 10 px cannot gather the 10 end points a seed needs
        assert scores["csi@0.50"] >= (0.94 if file.parent.name == "labels" else 0.99), file
