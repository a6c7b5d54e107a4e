"""Models that take any number of planes (issue 14): training on focus series, predicting from
one plane, a chosen run of planes, or a whole series; pixel sizes; inputs they cannot use."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import ndimage as ndi

from stainless.cli.main import main
from stainless.data.resample import resample_planes
from stainless.inference.predictor import TranslationPredictor
from stainless.io import ImageMetadata, read_image, write_image
from tests.cli.test_train_predict import _one_line_error
from tests.training.conftest import translation_config, write_synthetic_pairs


def _focus_series(folder: Path, seed: int) -> None:
    """``stack<seed>.tif``: three planes (sharp, blurred, dimmer) of the phase-like image."""
    plane = read_image(folder / f"lf{seed}.tif").array.astype(np.float64)
    series = np.stack([plane, ndi.gaussian_filter(plane, 2), plane * 0.8])
    write_image(folder / f"stack{seed}.tif", series.astype(np.uint16), axes="CYX")


@pytest.fixture(scope="module", params=["any", "resample"])
def any_planes_model(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Path:
    folder = tmp_path_factory.mktemp(f"planes_{request.param}")
    write_synthetic_pairs(folder, [0, 1, 2], size=64)
    for seed in (0, 1, 2):
        _focus_series(folder, seed)
    raw = translation_config(folder, input_planes=request.param)
    for sample in [*raw["data"]["samples"], *raw["data"]["validation"]]:  # type: ignore[index]
        sample["inputs"] = [sample["inputs"][0].replace("lf", "stack")]
    raw["data"].update(  # type: ignore[attr-defined]
        {"crop_size": 32, "gamma_range": [0.7, 1.4], "pixel_size_um": 0.5}
    )
    raw["training"].update({"pcc_weight": 0.5, "schedule": "warmup_cosine"})  # type: ignore[attr-defined]
    (folder / "config.yaml").write_text(yaml.safe_dump(raw))
    argv = ["train", "translation", "--config", str(folder / "config.yaml"), "--no-progress"]
    assert main(argv) == 0
    return folder / "model"


def test_an_any_planes_model_records_its_input_convention(any_planes_model: Path) -> None:
    info = json.loads((any_planes_model / "model.json").read_text())
    assert info["input_planes"] in ("any", "resample")
    channels = 2 if info["input_planes"] == "any" else 3  # mean + spread, or the 3-plane series
    assert info["in_channels"] == channels and info["trained_planes"] == 3
    assert info["pixel_size_um"] == 0.5


def test_one_plane_a_chosen_run_and_the_whole_series_all_predict(
    any_planes_model: Path, tmp_path: Path
) -> None:
    folder = any_planes_model.parent
    model = str(any_planes_model)
    one = ["predict", "--model", model, "--input", str(folder / "lf2.tif"), "--tile", "32"]
    assert main([*one, "--output", str(tmp_path / "one")]) == 0
    series = ["predict", "--model", model, "--input", str(folder / "stack2.tif"), "--tile", "32"]
    assert main([*series, "--output", str(tmp_path / "all")]) == 0
    assert main([*series, "--planes", "0", "--output", str(tmp_path / "first")]) == 0
    single = read_image(tmp_path / "one" / "lf2_dapi.ome.tif").array
    whole = read_image(tmp_path / "all" / "stack2_dapi.ome.tif").array
    first = read_image(tmp_path / "first" / "stack2_dapi.ome.tif").array
    assert single.shape == whole.shape == (64, 64)
    np.testing.assert_array_equal(first, single)  # plane 0 of the stack is lf2
    assert not np.array_equal(whole, single)  # the series adds its detail through focus
    # the single-plane files of one sample, joined with --stack
    planes = []
    for index, plane in enumerate(read_image(folder / "stack2.tif").array):
        planes.append(tmp_path / f"z{index}.tif")
        write_image(planes[-1], plane, axes="YX")
    files = ["--input", *map(str, planes), "--stack", "--name", "joined", "--tile", "32"]
    assert main(["predict", "--model", model, *files, "--output", str(tmp_path / "j")]) == 0
    joined = read_image(tmp_path / "j" / "joined_dapi.ome.tif").array
    np.testing.assert_array_equal(joined, whole)


def test_images_at_another_pixel_size_are_resampled_to_the_models(
    any_planes_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = any_planes_model.parent
    plane = read_image(folder / "lf2.tif").array
    coarse = plane[::2, ::2]  # the same field at 1 µm pixels
    one_um = ImageMetadata(None, (1.0, 1.0))
    write_image(tmp_path / "coarse.ome.tif", coarse, axes="YX", metadata=one_um)
    write_image(tmp_path / "bare.tif", coarse, axes="YX")
    base = ["predict", "--model", str(any_planes_model), "--tile", "32"]
    coarse_input = ["--input", str(tmp_path / "coarse.ome.tif")]
    assert main([*base, *coarse_input, "--output", str(tmp_path / "m")]) == 0
    assert "warning" not in capsys.readouterr().err
    assert (
        main([*base, "--input", str(tmp_path / "bare.tif"), "--output", str(tmp_path / "b")]) == 0
    )
    assert "pixel size of" in capsys.readouterr().err  # unknown: warned, used as is
    flag = ["--pixel-size", "1", "--name", "flag", "--output", str(tmp_path / "m")]
    assert main([*base, "--input", str(tmp_path / "bare.tif"), *flag]) == 0
    from_metadata = read_image(tmp_path / "m" / "coarse_dapi.ome.tif").array
    from_flag = read_image(tmp_path / "m" / "flag_dapi.ome.tif").array
    as_is = read_image(tmp_path / "b" / "bare_dapi.ome.tif").array
    assert from_metadata.shape == coarse.shape
    np.testing.assert_array_equal(from_metadata, from_flag)
    assert not np.array_equal(from_metadata, as_is)
    # rescaling = predicting the image resampled to the model's 0.5 µm, brought back
    predictor = TranslationPredictor.load(any_planes_model)
    at_1um = predictor.predict(coarse[None], pixel_size_um=1.0)["dapi"]
    magnified = resample_planes(coarse[None].astype(np.float32), 2.0)
    at_model = predictor.predict(magnified, pixel_size_um=0.5)["dapi"]
    back = resample_planes(at_model[None], shape=coarse.shape)[0]
    np.testing.assert_allclose(at_1um, back, rtol=1e-4, atol=1e-2)


def test_inputs_the_model_cannot_use_are_refused_in_one_line(
    any_planes_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = any_planes_model.parent
    base = ["predict", "--model", str(any_planes_model), "--output", str(tmp_path / "o")]
    rgb = tmp_path / "colour.png"
    write_image(rgb, np.zeros((64, 64, 3), np.uint8), axes="YXC")
    _one_line_error(capsys, [*base, "--input", str(rgb)], "is an RGB colour image")
    stack = ["--input", str(folder / "stack2.tif")]
    _one_line_error(capsys, [*base, *stack, "--planes", "5"], "has 3 plane(s)")
    _one_line_error(capsys, [*base, *stack, "--planes", "a"], "--planes expects")
    _one_line_error(capsys, [*base, *stack, "--planes", "1,1"], "names a plane twice")
    for size in ("0", "-1", "nan"):
        _one_line_error(capsys, [*base, *stack, "--pixel-size", size], "must be a number > 0")
    _one_line_error(capsys, [*base, *stack, "--pixel-size", "500"], "is the unit µm")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    # an RGB image can still be used, one channel picked with --planes
    assert main([*base, "--input", str(rgb), "--planes", "1"]) == 0


def test_segmentation_from_an_any_planes_translation_model_takes_any_planes(
    any_planes_model: Path, tmp_path: Path
) -> None:
    from tests.training.test_segmentation_training import segmentation_config

    folder = any_planes_model.parent
    raw = segmentation_config(init=str(any_planes_model), head="semantic", classes=3)
    for sample in [*raw["data"]["samples"], *raw["data"]["validation"]]:
        seed = sample["inputs"][0][3]
        sample.update(inputs=[f"stack{seed}.tif"], labels=f"dapi_nuc{seed}.tif")
        sample["cells"] = f"dapi_nuc{seed}.tif"
        dapi = read_image(folder / f"dapi{seed}.tif").array
        write_image(folder / f"dapi_nuc{seed}.tif", ndi.label(dapi > dapi.mean())[0], axes="YX")
    raw["postprocess"]["tune_on"] = None
    raw["training"]["class_weights"] = "balanced"
    raw["output"] = str(tmp_path / "seg")
    (folder / "seg.yaml").write_text(yaml.safe_dump(raw))
    assert (
        main(["train", "segmentation", "--config", str(folder / "seg.yaml"), "--no-progress"]) == 0
    )
    info = json.loads((tmp_path / "seg" / "model.json").read_text())
    translation = json.loads((any_planes_model / "model.json").read_text())
    assert info["input_planes"] == translation["input_planes"]  # inherited from the init
    assert info["in_channels"] == translation["in_channels"]
    for image in ("lf2.tif", "stack2.tif"):
        args = ["segment", "--model", str(tmp_path / "seg"), "--input", str(folder / image)]
        assert main([*args, "--output", str(tmp_path / "out"), "--tile", "32"]) == 0
    classes = read_image(tmp_path / "out" / "lf2_labels.tif").array
    assert classes.shape == (64, 64) and classes.max() <= 2
