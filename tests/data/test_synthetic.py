"""The synthetic generator: seeded, consistent ground truth, touching and separate cells."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from stainless.data.synthetic import make_synthetic_sample


def test_same_seed_same_sample_other_seed_other_sample() -> None:
    a = make_synthetic_sample((64, 64), seed=5)
    b = make_synthetic_sample((64, 64), seed=5)
    c = make_synthetic_sample((64, 64), seed=6)
    np.testing.assert_array_equal(a.cell_labels, b.cell_labels)
    np.testing.assert_array_equal(a.label_free, b.label_free)
    assert not np.array_equal(a.cell_labels, c.cell_labels)


@pytest.mark.parametrize("shape", [(33, 97), (128, 128)])
def test_any_size_and_value_ranges(shape: tuple[int, int]) -> None:
    sample = make_synthetic_sample(shape, seed=0)
    for image in (sample.label_free, sample.nuclear_stain, sample.membrane_stain):
        assert image.shape == shape and image.dtype == np.float32
        assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
    assert sample.cell_labels.shape == shape and sample.cell_labels.dtype == np.uint16


def test_every_nucleus_lies_inside_its_own_cell_and_ids_are_consecutive() -> None:
    sample = make_synthetic_sample((128, 128), seed=2)
    nuclei, cells = sample.nucleus_labels, sample.cell_labels
    assert np.all(cells[nuclei > 0] == nuclei[nuclei > 0])
    ids = np.unique(cells)
    assert ids.tolist() == list(range(int(ids.max()) + 1))


def test_clustered_cells_touch_and_spread_cells_mostly_do_not() -> None:
    def touching_pairs(labels: np.ndarray) -> int:
        right = (labels[:, 1:] != labels[:, :-1]) & (labels[:, 1:] > 0) & (labels[:, :-1] > 0)
        return int(right.sum())

    clustered = make_synthetic_sample((128, 128), clustering=1.0, seed=4).cell_labels
    spread = make_synthetic_sample((128, 128), clustering=0.0, n_cells=10, seed=4).cell_labels
    assert touching_pairs(clustered) > 50
    assert touching_pairs(spread) < touching_pairs(clustered)
    assert ndi.label(clustered > 0)[1] < int(clustered.max())  # clusters merge foreground blobs


def test_nuclear_stain_is_brighter_in_nuclei_and_phase_darker_in_cells() -> None:
    sample = make_synthetic_sample((128, 128), seed=1)
    nuclei = sample.nucleus_labels > 0
    assert sample.nuclear_stain[nuclei].mean() > 3 * sample.nuclear_stain[~nuclei].mean()
    cells = sample.cell_labels > 0
    assert sample.label_free[cells].mean() < sample.label_free[~cells].mean()


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="shape must be"):
        make_synthetic_sample((4, 4))
    with pytest.raises(ValueError, match="modality"):
        make_synthetic_sample((32, 32), modality="dic")  # type: ignore[arg-type]
