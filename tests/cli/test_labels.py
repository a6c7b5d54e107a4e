"""``stainless labels from-fluorescence``: stain → labels, thresholds, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from stainless.cli.main import main
from stainless.data.synthetic import make_synthetic_sample
from stainless.io import ImageMetadata, read_labels, write_image
from stainless.postprocessing.cells_from_nuclei import cells_from_nuclei
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
    assert "--threshold must be otsu, li, gmm or a number" in capsys.readouterr().err


def test_cells_grown_from_nuclei_hold_their_nucleus_and_stay_near_it(tmp_path: Path) -> None:
    sample = make_synthetic_sample((96, 96), cell_radius_px=10, clustering=0.0, seed=4)
    nuclei = labels_from_fluorescence(sample.nuclear_stain, sigma_px=1.0, min_size_px=10)
    cell_stain = sample.membrane_stain + sample.nuclear_stain  # cytoplasm-like: fills the cell
    cells = cells_from_nuclei(cell_stain, nuclei, sigma_px=1.0, min_size_px=10)
    assert set(np.unique(cells)) == set(np.unique(nuclei))  # one cell per nucleus
    assert np.array_equal(cells[nuclei > 0], nuclei[nuclei > 0])  # each nucleus in its cell
    assert (cells > 0).sum() > 1.5 * (nuclei > 0).sum()  # cytoplasm around the nuclei
    near = cells_from_nuclei(cell_stain, nuclei, sigma_px=1.0, max_distance_px=2.0)
    assert (near > 0).sum() < (cells > 0).sum()
    from scipy import ndimage as ndi

    assert ndi.distance_transform_edt(nuclei == 0)[near > 0].max() <= 2.0
    # the command line: --seeds from a file; --max-distance without --seeds is refused
    write_image(tmp_path / "stain.tif", (cell_stain * 60000).astype(np.uint16), axes="YX")
    write_image(tmp_path / "nuclei.tif", nuclei.astype(np.uint16), axes="YX")
    args = ["labels", "from-fluorescence", "--input", str(tmp_path / "stain.tif")]
    seeds = ["--seeds", str(tmp_path / "nuclei.tif"), "--sigma", "1", "--min-size", "10"]
    assert main([*args, *seeds, "--output", str(tmp_path / "cells")]) == 0
    written = read_labels(tmp_path / "cells" / "stain_labels.tif").array
    assert set(np.unique(written)) == set(np.unique(nuclei))
    assert main([*args, "--max-distance", "5", "--output", str(tmp_path / "x")]) == 2
