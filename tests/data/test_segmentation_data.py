"""Segmentation crops: targets computed after augmentation, class balance, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from stainless.config import SegmentationDataConfig
from stainless.data.segmentation import (
    LoadedSegmentationSample,
    SegmentationCrops,
    make_target,
    segmentation_validation_crops,
)
from stainless.data.synthetic import make_synthetic_sample


def loaded(seed: int = 0, size: int = 96, sparse: bool = False) -> LoadedSegmentationSample:
    sample = make_synthetic_sample((size, size), cell_radius_px=8, seed=seed)
    nuclei = sample.nucleus_labels.astype(np.int32)
    if sparse:  # keep one nucleus: foreground is rare
        nuclei = np.where(nuclei == nuclei.max(), nuclei, 0)
    return LoadedSegmentationSample(
        "s", sample.label_free[None], nuclei, sample.cell_labels.astype(np.int32)
    )


def data(**changes: object) -> SegmentationDataConfig:
    return SegmentationDataConfig.model_validate(
        {"samples": [], "crop_size": 32, "crops_per_epoch": 40, **changes}
    )


@pytest.mark.parametrize("head", ["semantic", "distance", "hover"])
@pytest.mark.parametrize(
    "augment",
    [
        {},
        {"rotation": True, "scaling": [0.7, 1.4], "intensity": True},
        {"flips": False, "rot90": False},
    ],
)
def test_crops_have_the_heads_target(head: str, augment: dict[str, object]) -> None:
    crops = SegmentationCrops([loaded()], head, data(augment=augment), seed=1)
    item = crops[3]
    channels = {"semantic": 1, "distance": 2, "hover": 3}[head]
    assert item["input"].shape == (1, 32, 32)
    assert item["target"].shape == (channels, 32, 32)
    target = item["target"].numpy()
    if head == "distance":  # the mask is where the distance is positive
        assert ((target[0] > 0) <= (target[1] > 0)).all() and target[0].max() <= 1
    if head == "hover":  # HoVer maps live inside objects only
        assert np.abs(target[1:]).max() <= 1 and (target[1:, target[0] == 0] == 0).all()


def test_hover_target_follows_the_rotation() -> None:
    """Computed after the warp: inside each object the horizontal map grows with x and the
    vertical one with y, whatever the rotation."""
    from scipy import ndimage as ndi

    crops = SegmentationCrops(
        [loaded()], "hover", data(augment={"rotation": True, "rot90": True}), seed=0
    )
    correlations = []
    for index in range(10):
        target = crops[index]["target"].numpy()
        objects, count = ndi.label(target[0] > 0)
        for object_id in range(1, count + 1):
            ys, xs = np.nonzero(objects == object_id)
            if xs.size > 20 and np.ptp(xs) > 2 and np.ptp(ys) > 2:
                correlations.append(np.corrcoef(xs, target[1][ys, xs])[0, 1])
                correlations.append(np.corrcoef(ys, target[2][ys, xs])[0, 1])
    assert len(correlations) > 10 and np.median(correlations) > 0.9


def test_same_seed_epoch_and_index_give_the_same_crop() -> None:
    first = SegmentationCrops([loaded()], "distance", data(), seed=5)
    second = SegmentationCrops([loaded()], "distance", data(), seed=5)
    np.testing.assert_array_equal(first[7]["input"], second[7]["input"])
    second.set_epoch(1)
    assert not np.array_equal(first[7]["input"], second[7]["input"])


def test_class_balanced_centres_find_a_rare_class() -> None:
    sample = loaded(sparse=True)
    balanced = SegmentationCrops([sample], "semantic", data(crop_size=16), seed=0)
    uniform = SegmentationCrops(
        [sample], "semantic", data(crop_size=16, class_balanced=False), seed=0
    )

    def centre_hits(crops: SegmentationCrops) -> float:
        return float(np.mean([crops[i]["target"][0, 8, 8] > 0 for i in range(len(crops))]))

    assert centre_hits(balanced) > 0.3  # about half of the centres are on the one nucleus
    assert centre_hits(balanced) > centre_hits(uniform)


def test_three_classes_and_validation_crops() -> None:
    sample = loaded()
    target = make_target("semantic", sample.labels, sample.cells)
    assert set(np.unique(target)) == {0.0, 1.0, 2.0}
    crops = segmentation_validation_crops([sample, loaded(1, size=20)], "distance", 32)
    assert [c["input"].shape for c in crops] == [(1, 32, 32), (1, 32, 32)]  # small one padded
    with pytest.raises(ValueError, match="unknown head"):
        make_target("boxes", sample.labels, None)
