"""The bad-input corpus (issue 12): every command, fed what a new user feeds it by mistake.

Each case builds its inputs in a fresh folder, runs one ``stainless`` command line and asserts the
whole promise: the documented exit code, one line on stderr that says what is wrong (no
traceback; a batch that fails after some inputs finished also shows their progress lines and says
their outputs were discarded), nothing written anywhere (no output file, no empty output folder)
and every input byte-for-byte and mode-for-mode unchanged. The cases follow the campaign of the
issue: non-finite pixels, corrupt model folders, damaged zarr stores, batches that would be
half-written, confusing messages. The last tests are unusual inputs that must simply work.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import tifffile
import yaml

from stainless.cli.main import main
from stainless.data.synthetic import make_synthetic_sample
from stainless.io import write_image
from stainless.zoo import list_models
from tests.training.conftest import train_tiny_translation_model
from tests.training.test_segmentation_training import segmentation_config, write_segmentation_data

BUILT_IN = {model.name: model.folder for model in list_models()}


@dataclass(frozen=True)
class Case:
    """One bad command line: its arguments, exit code and a piece of the expected message."""

    argv: list[str]
    message: str
    exit_code: int = 2
    progress_lines: int = 0
    """Lines of inputs that finished before the bad one (their outputs are discarded too)."""


@pytest.fixture(scope="module")
def translation_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny trained translation model (one phase plane → DAPI, membrane)."""
    return train_tiny_translation_model(tmp_path_factory.mktemp("translation"))


def _nuclei(seed: int = 1, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    sample = make_synthetic_sample((size, size), cell_radius_px=6, seed=seed)
    return (sample.nuclear_stain * 60000).astype(np.float32), sample.nucleus_labels


def _image(ws: Path, name: str, array: np.ndarray, axes: str = "YX") -> str:
    write_image(ws / name, array, axes=axes)
    return str(ws / name)


def _with_nan_patch(ws: Path) -> str:
    image, _ = _nuclei()
    image[10:40, 10:40] = np.nan
    return _image(ws, "nan_patch.tif", image)


def _model_copy(ws: Path, name: str = "nuclei-fluorescence") -> Path:
    folder = ws / "model"
    shutil.copytree(BUILT_IN[name], folder)
    return folder


def _segment(ws: Path, *inputs: str, model: str | Path = "nuclei-fluorescence") -> list[str]:
    return ["segment", "--model", str(model), "--input", *inputs, "--output", str(ws / "out")]


def _train_segmentation(ws: Path, config: dict[str, object]) -> list[str]:
    write_segmentation_data(ws, [0, 1, 2])
    (ws / "seg.yaml").write_text(yaml.safe_dump(config))
    return ["train", "segmentation", "--config", str(ws / "seg.yaml"), "--no-progress"]


# --- 1. non-finite and complex pixels -------------------------------------------------------


def nan_patch_segment(ws: Path, _: Path) -> Case:
    return Case(_segment(ws, _with_nan_patch(ws)), "holds 900 non-finite pixel(s)")


def two_inf_pixels_segment(ws: Path, _: Path) -> Case:
    image = _nuclei()[0]
    image[3, 3], image[5, 5] = np.inf, -np.inf
    return Case(_segment(ws, _image(ws, "inf.tif", image)), "holds 2 non-finite pixel(s)")


def all_nan_segment(ws: Path, _: Path) -> Case:
    image = np.full((64, 64), np.nan, np.float32)
    return Case(_segment(ws, _image(ws, "all_nan.tif", image)), "holds 4096 non-finite")


def complex_segment(ws: Path, _: Path) -> Case:
    image = _nuclei()[0]
    path = ws / "complex.tif"
    tifffile.imwrite(path, image.astype(np.complex64))
    return Case(_segment(ws, str(path)), "complex-valued pixels")


def nan_patch_predict(ws: Path, translation: Path) -> Case:
    argv = ["predict", "--model", str(translation), "--input", _with_nan_patch(ws)]
    return Case([*argv, "--modality", "phase", "--output", str(ws / "out")], "non-finite")


def nan_prediction_evaluate_translation(ws: Path, _: Path) -> Case:
    image = _nuclei()[0]
    truth = _image(ws, "dapi.tif", image)
    argv = ["evaluate", "translation", "--pred", _with_nan_patch(ws), "--gt", truth]
    return Case([*argv, "--output", str(ws / "scores.json")], "nan_patch.tif' holds 900")


def nan_stain_labels_from_fluorescence(ws: Path, _: Path) -> Case:
    argv = ["labels", "from-fluorescence", "--input", _with_nan_patch(ws)]
    return Case([*argv, "--output", str(ws / "out")], "non-finite")


def nan_labels_evaluate_segmentation(ws: Path, _: Path) -> Case:
    labels = _nuclei()[1]
    truth = _image(ws, "a_masks.tif", labels.astype(np.uint16))
    broken = labels.astype(np.float32)
    broken[0, 0] = np.nan
    pred = _image(ws, "a_pred.tif", broken)
    return Case(["evaluate", "segmentation", "--pred", pred, "--gt", truth], "a_pred.tif' holds 1")


def nan_training_image(ws: Path, _: Path) -> Case:
    argv = _train_segmentation(ws, segmentation_config())
    image = _nuclei(seed=0)[0]
    image[0:5, 0:5] = np.nan
    write_image(ws / "img0.tif", image, axes="YX", overwrite=True)
    return Case(argv, "img0.tif' holds 25 non-finite")


# --- 2. corrupt model folders ---------------------------------------------------------------


def _segment_with_model_file(ws: Path, name: str, content: bytes | str) -> list[str]:
    """``segment`` with a copy of the built-in nuclei model whose file ``name`` holds
    ``content``."""
    model = _model_copy(ws)
    data = content.encode() if isinstance(content, str) else content
    (model / name).write_bytes(data)
    return _segment(ws, _image(ws, "a.tif", _nuclei()[0]), model=model)


def truncated_weights(ws: Path, _: Path) -> Case:
    start = (BUILT_IN["nuclei-fluorescence"] / "weights.safetensors").read_bytes()[:1000]
    return Case(_segment_with_model_file(ws, "weights.safetensors", start), "is unreadable")


def empty_weights(ws: Path, _: Path) -> Case:
    return Case(_segment_with_model_file(ws, "weights.safetensors", b""), "is unreadable")


def model_json_missing_a_key(ws: Path, _: Path) -> Case:
    text = (BUILT_IN["nuclei-fluorescence"] / "model.json").read_text()
    argv = _segment_with_model_file(ws, "model.json", text.replace('"input_percentiles"', '"p"'))
    return Case(argv, "model.json is invalid: input_percentiles: Field required")


def model_json_holding_a_list(ws: Path, _: Path) -> Case:
    argv = _segment_with_model_file(ws, "model.json", "[1, 2]")
    return Case(argv, "model.json must hold a JSON object, not a list")


def model_json_garbled(ws: Path, _: Path) -> Case:
    argv = _segment_with_model_file(ws, "model.json", '{"head": "flows",')
    return Case(argv, "model.json is not valid JSON")


def config_yaml_garbled(ws: Path, _: Path) -> Case:
    argv = _segment_with_model_file(ws, "config.yaml", "model: [unet,\n  head: flows\n")
    return Case(argv, "config.yaml:3:1' is not valid YAML")


def weights_of_another_architecture(ws: Path, _: Path) -> Case:
    other = (BUILT_IN["phase-to-dapi"] / "weights.safetensors").read_bytes()
    argv = _segment_with_model_file(ws, "weights.safetensors", other)
    return Case(argv, "weights.safetensors does not fit the network described by config.yaml")


def nan_weights(ws: Path, _: Path) -> Case:
    from safetensors.torch import load, save

    weights = load((BUILT_IN["nuclei-fluorescence"] / "weights.safetensors").read_bytes())
    first = next(iter(weights))
    weights[first] = weights[first].clone().fill_(float("nan"))
    argv = _segment_with_model_file(ws, "weights.safetensors", save(weights))
    return Case(argv, "holds NaN or infinite values in 1 tensor(s)")


# --- 3. damaged zarr stores -----------------------------------------------------------------


def zarr_with_missing_chunks(ws: Path, _: Path) -> Case:
    image = _nuclei(size=1024)[0]
    write_image(ws / "big.zarr", image, axes="YX")
    shutil.rmtree(ws / "big.zarr" / "c" / "1")
    return Case(_segment(ws, str(ws / "big.zarr")), "is missing 2 of 4 chunks")


# --- 4. batches that would be half-written --------------------------------------------------


def corrupt_second_image_in_a_folder(ws: Path, _: Path) -> Case:
    folder = ws / "images"
    folder.mkdir()
    _image(folder, "a.tif", _nuclei()[0])
    (folder / "b.tif").write_bytes(b"II*\x00 this is not a TIFF")
    return Case(_segment(ws, str(folder)), "b.tif': corrupt or truncated")


def truncated_second_png_in_a_folder(ws: Path, _: Path) -> Case:
    folder = ws / "images"
    folder.mkdir()
    image = (_nuclei()[0] / 60000 * 255).astype(np.uint8)
    _image(folder, "a.png", image)
    data = (folder / "a.png").read_bytes()
    (folder / "b.png").write_bytes(data[: len(data) // 2])  # a valid header, half the pixels
    message = "b.png': corrupt or truncated .png file"
    return Case(_segment(ws, str(folder)), message, progress_lines=1)


def inputs_writing_the_same_output(ws: Path, _: Path) -> Case:
    (ws / "x").mkdir()
    (ws / "y").mkdir()
    first = _image(ws / "x", "a.png", (_nuclei()[0] / 60000 * 255).astype(np.uint8))
    second = _image(ws / "y", "a.tif", _nuclei(seed=2)[0])
    return Case(_segment(ws, first, second), "would both write 'a_labels.tif'")


# --- 5./6. paths and names ------------------------------------------------------------------


def unknown_init_name(ws: Path, _: Path) -> Case:
    return Case(
        _train_segmentation(ws, segmentation_config(init="phase-to-nothing")),
        f"is neither a model folder nor a built-in model (built-in: {', '.join(sorted(BUILT_IN))})",
    )


# --- 10. messages and validation ------------------------------------------------------------


def yaml_syntax_error(ws: Path, _: Path) -> Case:
    (ws / "bad.yaml").write_text("seed: 0\ndata: {samples: [a, b}\n")
    return Case(["train", "segmentation", "--config", str(ws / "bad.yaml")], "bad.yaml:2:")


def duplicate_yaml_key(ws: Path, _: Path) -> Case:
    argv = _train_segmentation(ws, segmentation_config())
    text = (ws / "seg.yaml").read_text()
    (ws / "seg.yaml").write_text(text + "seed: 3\n")
    return Case(argv, "key 'seed' is given twice")


def batch_size_zero(ws: Path, _: Path) -> Case:
    argv = _segment(ws, _image(ws, "a.tif", _nuclei()[0]))
    return Case([*argv, "--batch-size", "0"], "--batch-size must be >= 1, got 0")


def z_stack_for_a_one_plane_model(ws: Path, _: Path) -> Case:
    stack = np.stack([_nuclei(seed=s)[0] for s in range(5)])
    path = ws / "stack.tif"
    tifffile.imwrite(path, stack, metadata={"axes": "ZYX"})
    return Case(_segment(ws, str(path)), "gives 5 z-planes but model")


def z_stack_for_labels_from_fluorescence(ws: Path, _: Path) -> Case:
    stack = np.stack([_nuclei(seed=s)[0] for s in range(5)])
    path = ws / "stack.tif"
    tifffile.imwrite(path, stack, metadata={"axes": "ZYX"})
    argv = ["labels", "from-fluorescence", "--input", str(path), "--output", str(ws / "out")]
    return Case(argv, "is a z-stack of 5 planes")


def channel_of_a_one_channel_png(ws: Path, _: Path) -> Case:
    path = _image(ws, "a.png", (_nuclei()[0] / 60000 * 255).astype(np.uint8))
    argv = ["labels", "from-fluorescence", "--input", path, "--channel", "DAPI"]
    return Case([*argv, "--output", str(ws / "out")], "--channel DAPI does not apply")


def infinite_h_segment(ws: Path, _: Path) -> Case:
    argv = _segment(ws, _image(ws, "a.tif", _nuclei()[0]))
    return Case([*argv, "--h", "inf"], "--h must be a finite number > 0, got inf")


def infinite_h_labels(ws: Path, _: Path) -> Case:
    argv = ["labels", "from-fluorescence", "--input", _image(ws, "a.tif", _nuclei()[0])]
    return Case([*argv, "--h", "inf", "--output", str(ws / "out")], "--h must be a finite")


def image_smaller_than_a_crop(ws: Path, _: Path) -> Case:
    argv = _train_segmentation(ws, segmentation_config())
    write_image(ws / "img0.tif", np.ones((1, 1), np.uint16), axes="YX", overwrite=True)
    write_image(ws / "nuc0.tif", np.ones((1, 1), np.uint16), axes="YX", overwrite=True)
    write_image(ws / "cell0.tif", np.ones((1, 1), np.uint16), axes="YX", overwrite=True)
    return Case(argv, "img0.tif' is 1x1 pixels")


def budget_shorter_than_an_epoch(ws: Path, _: Path) -> Case:
    argv = _train_segmentation(ws, segmentation_config())
    return Case([*argv, "--max-minutes", "0.00001"], "is shorter than one epoch here")


def _predict_builtin(ws: Path, *extra: str) -> list[str]:
    """``predict`` with the built-in phase-to-dapi (any number of grey planes) into ``ws/out``."""
    return ["predict", "--model", "phase-to-dapi", *extra, "--output", str(ws / "out")]


def rgb_for_a_grey_plane_model(ws: Path, _: Path) -> Case:
    path = _image(ws, "colour.png", np.zeros((64, 64, 3), np.uint8), axes="YXC")
    return Case(_predict_builtin(ws, "--input", path), "is an RGB colour image")


def plane_the_stack_lacks(ws: Path, _: Path) -> Case:
    stack = np.stack([_nuclei(seed=s)[0] for s in range(3)])
    path = _image(ws, "stack.tif", stack, axes="ZYX")
    return Case(_predict_builtin(ws, "--input", path, "--planes", "7"), "has 3 plane(s)")


def zero_pixel_size(ws: Path, _: Path) -> Case:
    path = _image(ws, "a.tif", _nuclei()[0])
    return Case(_predict_builtin(ws, "--input", path, "--pixel-size", "0"), "must be a number > 0")


def negative_pixel_size_segment(ws: Path, _: Path) -> Case:
    argv = _segment(ws, _image(ws, "a.tif", _nuclei()[0]), model="cells-phase")
    return Case([*argv, "--pixel-size", "-0.5"], "--pixel-size must be a number > 0")


# --- 7. faults of issue 23 -------------------------------------------------------------------


def pages_of_different_sizes(ws: Path, _: Path) -> Case:
    with tifffile.TiffWriter(ws / "pages.tif") as writer:
        writer.write(_nuclei()[0])
        writer.write(_nuclei(size=48)[0])
    return Case(_segment(ws, str(ws / "pages.tif")), "holds 2 images of different shapes")


def whole_image_larger_than_memory(ws: Path, _: Path) -> Case:
    # a 20000² BigTIFF, sparse on disk: only its header is ever read
    image = tifffile.memmap(ws / "big.tif", shape=(20000, 20000), dtype="uint16", bigtiff=True)
    del image
    return Case(_segment(ws, str(ws / "big.tif")), "(--output big.zarr) or raise --max-memory")


def max_memory_not_a_size(ws: Path, _: Path) -> Case:
    argv = _segment(ws, _image(ws, "a.tif", _nuclei()[0]))
    return Case([*argv, "--max-memory", "plenty"], "--max-memory must be a size such as 16G")


def worker_timeout_zero(ws: Path, _: Path) -> Case:
    argv = _segment(ws, _image(ws, "a.tif", _nuclei()[0]))
    return Case([*argv, "--worker-timeout", "0"], "--worker-timeout must be > 0 s")


# --- 8. self-training (issue 24) ------------------------------------------------------------


def _self_training(ws: Path, unlabelled: str, **model: object) -> list[str]:
    config = segmentation_config(**model)
    config["data"]["unlabelled"] = unlabelled
    return _train_segmentation(ws, config)


def unlabelled_folder_empty(ws: Path, _: Path) -> Case:
    (ws / "raw").mkdir()
    return Case(_self_training(ws, "raw"), "data.unlabelled folder")


def unlabelled_folder_of_label_images(ws: Path, _: Path) -> Case:
    (ws / "raw").mkdir()
    _image(ws / "raw", "field_masks.tif", _nuclei()[1].astype(np.uint16))
    return Case(_self_training(ws, "raw"), "field_masks.tif' is a label image")


def unlabelled_images_of_another_plane_count(ws: Path, _: Path) -> Case:
    (ws / "raw").mkdir()
    _image(ws / "raw", "two.tif", np.stack([_nuclei()[0]] * 2), axes="CYX")
    return Case(_self_training(ws, "raw"), "has 2 plane(s) but the labelled images have 1")


def unlabelled_with_a_semantic_head(ws: Path, _: Path) -> Case:
    (ws / "raw").mkdir()
    _image(ws / "raw", "field.tif", _nuclei()[0])
    return Case(_self_training(ws, "raw", head="semantic"), "'semantic' cannot self-train")


def nuclei_seeded_with_a_one_channel_model(ws: Path, _: Path) -> Case:
    argv = [*_segment(ws, _image(ws, "a.tif", _nuclei()[0])), "--nuclei-seeded"]
    return Case(argv, "needs a cell model with two inputs (cytoplasm, nucleus)")


# --- 7. exports and exported graphs (issue 26) ------------------------------------------------


def export_of_a_folder_without_weights(ws: Path, _: Path) -> Case:
    folder = _model_copy(ws)
    (folder / "weights.safetensors").unlink()
    argv = ["export", "--model", str(folder), "--format", "onnx", "--output", str(ws / "m.onnx")]
    return Case(argv, "is not a stainless model folder")


def onnx_file_that_is_not_a_stainless_export(ws: Path, _: Path) -> Case:
    import onnx
    from onnx import TensorProto, helper

    tensor = helper.make_tensor_value_info
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "foreign",
                              [tensor("x", TensorProto.FLOAT, [1, 1, 8, 8])],
                              [tensor("y", TensorProto.FLOAT, [1, 1, 8, 8])])  # fmt: skip
    onnx.save_model(helper.make_model(graph), str(ws / "foreign.onnx"))
    argv = _segment(ws, _image(ws, "a.tif", _nuclei()[0]), model=ws / "foreign.onnx")
    return Case(argv, "is not a stainless export")


def bf16_asked_of_onnxruntime(ws: Path, _: Path) -> Case:
    argv = [*_segment(ws, _image(ws, "a.tif", _nuclei()[0])), "--engine", "onnxruntime"]
    return Case([*argv, "--precision", "bf16"], "--precision bf16 needs --engine torch")


CASES: list[Callable[[Path, Path], Case]] = [
    nan_patch_segment,
    two_inf_pixels_segment,
    all_nan_segment,
    complex_segment,
    nan_patch_predict,
    nan_prediction_evaluate_translation,
    nan_stain_labels_from_fluorescence,
    nan_labels_evaluate_segmentation,
    nan_training_image,
    truncated_weights,
    empty_weights,
    model_json_missing_a_key,
    model_json_holding_a_list,
    model_json_garbled,
    config_yaml_garbled,
    weights_of_another_architecture,
    nan_weights,
    zarr_with_missing_chunks,
    corrupt_second_image_in_a_folder,
    truncated_second_png_in_a_folder,
    inputs_writing_the_same_output,
    unknown_init_name,
    yaml_syntax_error,
    duplicate_yaml_key,
    batch_size_zero,
    z_stack_for_a_one_plane_model,
    z_stack_for_labels_from_fluorescence,
    channel_of_a_one_channel_png,
    infinite_h_segment,
    infinite_h_labels,
    image_smaller_than_a_crop,
    budget_shorter_than_an_epoch,
    rgb_for_a_grey_plane_model,
    plane_the_stack_lacks,
    zero_pixel_size,
    negative_pixel_size_segment,
    pages_of_different_sizes,
    whole_image_larger_than_memory,
    max_memory_not_a_size,
    worker_timeout_zero,
    unlabelled_folder_empty,
    unlabelled_folder_of_label_images,
    unlabelled_images_of_another_plane_count,
    unlabelled_with_a_semantic_head,
    nuclei_seeded_with_a_one_channel_model,
    export_of_a_folder_without_weights,
    onnx_file_that_is_not_a_stainless_export,
    bf16_asked_of_onnxruntime,
]


def snapshot(*roots: Path) -> dict[str, tuple[str, int]]:
    """Every file and folder under ``roots``: content hash (files) and permission bits."""
    state: dict[str, tuple[str, int]] = {}
    for root in roots:
        for path in [root, *sorted(root.rglob("*"))]:
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
            state[str(path)] = (digest, path.stat().st_mode)
    return state


@pytest.mark.parametrize("build", CASES, ids=[case.__name__ for case in CASES])
def test_bad_input_gives_one_line_and_writes_nothing(
    build: Callable[[Path, Path], Case],
    translation_model: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    case = build(tmp_path, translation_model)
    before = snapshot(tmp_path, translation_model)
    capsys.readouterr()
    code = main(case.argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == case.exit_code, err
    assert len(err) == 1 + case.progress_lines, err
    assert "Traceback" not in err[-1] and "internal error" not in err[-1], err[-1]
    assert case.message in err[-1], err[-1]
    if case.progress_lines:
        assert "nothing was written" in err[-1], err[-1]
    assert snapshot(tmp_path, translation_model) == before  # nothing written, inputs unchanged
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not logged, logged  # a library's own log line would be a second message on stderr


# --- unusual inputs that are fine: sensible behaviour, not an error -------------------------


def _segment_count(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().err.strip().splitlines()[-1].split(":")[1].split("->")[0]


def test_huge_float64_values_segment_like_the_clean_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = _nuclei()[0]
    clean = _image(tmp_path, "clean.tif", image)
    huge = _image(tmp_path, "huge.tif", image.astype(np.float64) * 1e300)
    counts = [
        _segment_count(capsys, _segment(tmp_path / name, path))
        for name, path in (("a", clean), ("b", huge))
    ]
    assert counts[0] == counts[1] and counts[0].strip() != "0 objects"
    labels = [
        tifffile.imread(tmp_path / folder / "out" / f"{stem}_labels.tif")
        for folder, stem in (("a", "clean"), ("b", "huge"))
    ]
    np.testing.assert_array_equal(labels[0], labels[1])


def test_a_zarr_store_is_one_image_for_segment_and_evaluate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image, truth = _nuclei()
    write_image(tmp_path / "a.zarr", image, axes="YX")
    assert main(_segment(tmp_path, str(tmp_path / "a.zarr"))) == 0
    labels = tifffile.imread(tmp_path / "out" / "a_labels.tif")
    write_image(tmp_path / "a_pred.zarr", labels, axes="YX")
    write_image(tmp_path / "a_masks.png", truth.astype(np.uint16), axes="YX")
    argv = ["evaluate", "segmentation", "--pred", str(tmp_path / "a_pred.zarr")]
    assert main([*argv, "--gt", str(tmp_path / "a_masks.png")]) == 0
    assert "csi" in capsys.readouterr().out


def test_a_foreign_zarr_with_skipped_chunks_is_read_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import zarr

    stored = zarr.create_array(
        store=str(tmp_path / "f.zarr"), shape=(64, 1024), chunks=(64, 512), dtype="float32"
    )
    stored[:, :512] = _nuclei(size=512)[0][:64]  # the right half stays unwritten (fill value 0)
    stored.attrs["axes"] = "YX"
    assert main(_segment(tmp_path, str(tmp_path / "f.zarr"))) == 0
    err = capsys.readouterr().err
    assert "is missing 1 of 2 chunks; they are read as the fill value" in err


def test_a_built_in_model_name_works_as_model_init(tmp_path: Path) -> None:
    from stainless.config import load_segmentation_config

    write_segmentation_data(tmp_path, [0, 1, 2])
    path = tmp_path / "seg.yaml"
    path.write_text(yaml.safe_dump(segmentation_config(init="phase-to-dapi")))
    assert load_segmentation_config(path).model.init == BUILT_IN["phase-to-dapi"]
    path.write_text(yaml.safe_dump(segmentation_config()))
    config = load_segmentation_config(path, **{"model.init": "phase-to-dapi"})  # as --init does
    assert config.model.init == BUILT_IN["phase-to-dapi"]


def test_written_files_follow_the_umask(tmp_path: Path) -> None:
    """Every file a command writes gets ``0o666 & ~umask`` (some writers use mkstemp's 0600);
    run in a child process with umask 002, as a user's shell would start it."""
    import os
    import subprocess
    import sys

    write_segmentation_data(tmp_path, [0, 1, 2])
    config = segmentation_config()
    config["training"]["epochs"] = 1
    (tmp_path / "seg.yaml").write_text(yaml.safe_dump(config))
    scores = tmp_path / "scores.json"
    labels, truth = tmp_path / "out" / "img2_labels.tif", tmp_path / "nuc2.tif"
    commands = [
        ["train", "segmentation", "--config", str(tmp_path / "seg.yaml"), "--no-progress"],
        _segment(tmp_path, str(tmp_path / "img2.tif"), model=tmp_path / "seg"),
        ["evaluate", "segmentation", "--pred", str(labels), "--gt", str(truth), "--output"],
    ]
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    commands[-1].append(str(scores))
    for argv in commands:
        subprocess.run(
            [sys.executable, "-m", "stainless", *argv],
            check=True,
            env=environment,
            preexec_fn=lambda: os.umask(0o002),
            capture_output=True,
        )
    written = [*(tmp_path / "seg").rglob("*"), *(tmp_path / "out").iterdir(), scores]
    modes = {str(p.relative_to(tmp_path)): oct(p.stat().st_mode & 0o777) for p in written}
    expected = {name: oct(0o775 if (tmp_path / name).is_dir() else 0o664) for name in modes}
    assert modes == expected


def test_labels_without_objects_train_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _train_segmentation(tmp_path, segmentation_config())
    write_image(tmp_path / "nuc0.tif", np.zeros((64, 64), np.uint16), axes="YX", overwrite=True)
    capsys.readouterr()
    assert main(argv) == 0
    assert "nuc0.tif' hold no object; it teaches only background" in capsys.readouterr().err
