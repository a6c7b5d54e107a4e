"""``stainless labels from-fluorescence``: stain → labels, thresholds, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from stainless.cli.main import main
from stainless.data.synthetic import make_synthetic_sample
from stainless.io import ImageMetadata, read_labels, write_image
from stainless.postprocessing.from_fluorescence import gmm_threshold, labels_from_fluorescence


def test_nuclei_are_recovered_from_their_stain() -> None:
    sample = make_synthetic_sample((128, 128), cell_radius_px=10, clustering=0.0, seed=3)
    labels = labels_from_fluorescence(sample.nuclear_stain, sigma_px=1.0, min_size_px=10)
    truth = sample.nucleus_labels
    assert adjusted_rand_score(truth.ravel(), labels.ravel()) > 0.8
    semantic = labels_from_fluorescence(sample.nuclear_stain, mode="semantic", sigma_px=1.0)
    assert semantic.dtype == np.uint8 and set(np.unique(semantic)) <= {0, 1}


def test_touching_nuclei_are_split() -> None:
    yy, xx = np.mgrid[:40, :60]
    stain = np.exp(-((yy - 20) ** 2 + (xx - 21) ** 2) / 60.0) + np.exp(
        -((yy - 20) ** 2 + (xx - 37) ** 2) / 60.0
    )
    for split in ("distance", "distance_intensity"):
        labels = labels_from_fluorescence(stain, sigma_px=0.5, min_size_px=5, split=split)  # type: ignore[arg-type]
        assert labels.max() == 2


def test_gmm_threshold_separates_two_populations() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(100, 5, 9000), rng.normal(200, 10, 1000)])
    assert 115 < gmm_threshold(values) < 185


def test_cli_writes_labels_and_refuses_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = make_synthetic_sample((64, 64), cell_radius_px=8, seed=1)
    stack = np.stack([sample.membrane_stain, sample.nuclear_stain]) * 60000
    metadata = ImageMetadata(channel_names=("Membrane", "DAPI"))
    write_image(tmp_path / "both.ome.tif", stack.astype(np.uint16), axes="CYX", metadata=metadata)
    out = tmp_path / "labels"
    args = ["labels", "from-fluorescence", "--input", str(tmp_path / "both.ome.tif")]
    assert main([*args, "--out", str(out)]) == 2
    assert "pick one with --channel" in capsys.readouterr().err
    assert main([*args, "--out", str(out), "--channel", "dapi", "--threshold", "gmm"]) == 0
    labels = read_labels(out / "both_labels.tif").array
    assert labels.max() >= 1
    assert main([*args, "--out", str(out), "--channel", "dapi"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--out", str(out), "--channel", "actin", "--overwrite"]) == 2
    assert "no channel named 'actin'" in capsys.readouterr().err
    assert main([*args, "--out", str(out), "--threshold", "half", "--channel", "dapi"]) == 2
    assert "--threshold must be otsu, gmm or a number" in capsys.readouterr().err
