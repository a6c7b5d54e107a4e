"""``stainless export``: ONNX graphs and torch.export programs that compute what the torch
network computes, run by stainless (``--model X.onnx``) with its own pre- and post-processing,
and one-line refusals of what cannot be exported or run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from stainless.cli.main import main
from stainless.export.source import export_source
from stainless.inference.predictor import load_predictor
from stainless.inference.segmenter import SegmentationPredictor
from stainless.io import read_input_planes, read_labels, write_image
from stainless.metrics.instance import instance_metrics

DSB_TEST_IMAGE = "0acd2c223d300ea55d0546797713851e818e5c697d073b7f4091b96ce0f3d2fe.png"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The built-in ``cells`` as ONNX and pt2, and ``phase-to-dapi`` as ONNX."""
    folder = tmp_path_factory.mktemp("exported")
    paths = {"cells.onnx": ("cells", "onnx"), "cells.pt2": ("cells", "pt2"),
             "phase-to-dapi.onnx": ("phase-to-dapi", "onnx")}  # fmt: skip
    for name, (model, graph) in paths.items():
        argv = ["export", "--model", model, "--format", graph, "--output", str(folder / name)]
        assert main(argv) == 0
    return {name: folder / name for name in paths}


def test_onnx_maps_and_labels_match_torch_on_a_real_image_of_any_size(
    exported: dict[str, Path], shared_data: Path, tmp_path: Path
) -> None:
    planes = read_input_planes([shared_data / "dsb2018" / "images" / DSB_TEST_IMAGE])[0]
    planes = planes[:, :250, :203]  # not a multiple of the stride: stainless pads the tiles
    two = np.concatenate([planes, np.zeros_like(planes)]).astype(np.float32)
    torch_model = SegmentationPredictor.load("cells", "cpu")
    onnx_model = SegmentationPredictor.load(exported["cells.onnx"], "cpu")
    expected = torch_model.predict_maps(two, magnification=1.5)
    got = onnx_model.predict_maps(two, magnification=1.5)
    assert got.shape == expected.shape == (3, 250, 203)
    assert np.abs(got - expected).max() <= 1e-4
    np.testing.assert_array_equal(onnx_model.labels(got), torch_model.labels(expected))
    argv = ["segment", "--model", str(exported["cells.onnx"]), "--input",
            str(shared_data / "dsb2018" / "images" / DSB_TEST_IMAGE), "--diameter", "19",
            "--output", str(tmp_path / "out")]  # fmt: skip
    assert main(argv) == 0
    labels = read_labels(next((tmp_path / "out").glob("*_labels.tif"))).array
    assert labels.max() >= 5  # the image holds 9 nuclei


def test_the_graph_refuses_sides_that_are_not_a_multiple_of_the_stride(
    exported: dict[str, Path],
) -> None:
    from stainless.inference.onnx_engine import load_onnx_network

    network, info = load_onnx_network(exported["cells.onnx"], "segmentation")
    assert network(torch.zeros(1, 2, 32, 48)).shape == (1, 3, 32, 48)
    with pytest.raises(ValueError, match=f"multiples of {info.size_multiple}"):
        network(torch.zeros(1, 2, 30, 48))


def test_the_pt2_program_runs_without_stainless_classes(exported: dict[str, Path]) -> None:
    program = torch.export.load(str(exported["cells.pt2"])).module()
    source = export_source("cells")
    batch = torch.randn(3, 2, 64, 96)
    with torch.inference_mode():
        np.testing.assert_allclose(program(batch), source.network(batch), atol=1e-5)


def test_a_translation_graph_predicts_as_the_torch_model(exported: dict[str, Path]) -> None:
    rng = np.random.default_rng(0)
    phase = rng.normal(1000, 50, (3, 70, 90)).astype(np.float32)  # any plane count
    expected = load_predictor("phase-to-dapi", "cpu", "fp32").predict(phase)
    got = load_predictor(exported["phase-to-dapi.onnx"], "cpu").predict(phase)
    assert set(got) == set(expected)
    for name, image in expected.items():
        spread = float(image.max() - image.min()) or 1.0
        assert np.abs(got[name] - image).max() <= 1e-4 * spread


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    assert message in err[0], err[0]


def test_bad_exports_and_graphs_are_refused_in_one_line(
    tmp_path: Path, exported: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    import onnx
    from onnx import TensorProto, helper

    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    (incomplete / "model.json").write_text('{"kind": "segmentation"}')
    out = str(tmp_path / "x.onnx")
    _fails(capsys, ["export", "--model", str(incomplete), "--format", "onnx", "--output", out],
           "is not a stainless model folder")  # fmt: skip
    _fails(capsys, ["export", "--model", "cells", "--format", "onnx", "--output",
                    str(tmp_path / "x.pt2")], "must end in .onnx")  # fmt: skip
    _fails(capsys, ["export", "--model", "cells", "--format", "pt2", "--output",
                    str(exported["cells.pt2"])], "exists; pass --overwrite")  # fmt: skip
    graph = helper.make_graph(
        [helper.make_node("Identity", ["planes"], ["maps"])], "foreign",
        [helper.make_tensor_value_info("planes", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("maps", TensorProto.FLOAT, [1, 1, 8, 8])],
    )  # fmt: skip
    foreign = tmp_path / "foreign.onnx"
    onnx.save_model(helper.make_model(graph), str(foreign))
    image = tmp_path / "image.tif"
    write_image(image, np.zeros((32, 32), np.uint16), axes="YX")
    segment = ["segment", "--input", str(image), "--output", str(tmp_path / "labels")]
    _fails(capsys, [*segment, "--model", str(foreign)], "is not a stainless export")
    _fails(capsys, [*segment, "--model", str(exported["phase-to-dapi.onnx"])],
           "is a translation model, not a segmentation model")  # fmt: skip
    (tmp_path / "garbage.onnx").write_bytes(b"not a graph")
    _fails(capsys, [*segment, "--model", str(tmp_path / "garbage.onnx")], "is not an ONNX graph")
    assert not (tmp_path / "labels").exists() and not Path(out).exists()


def test_engine_onnxruntime_exports_once_into_the_cache_and_segments_the_same(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = shared_data / "dsb2018" / "images" / DSB_TEST_IMAGE
    cache = tmp_path / "cache"
    found = {}
    for run, engine in enumerate(("onnxruntime", "onnxruntime", "torch")):
        out = tmp_path / f"out{run}"
        options = ["--diameter", "19", "--engine", engine, "--graph-cache", str(cache)]
        argv = ["segment", "--model", "cells", "--input", str(image), "--output", str(out)]
        assert main([*argv, *options]) == 0
        found[run] = read_labels(next(out.glob("*_labels.tif"))).array
        said = capsys.readouterr().err
        assert ("exported 'cells'" in said) == (run == 0)  # the second run finds the graph
    assert len(list((cache / "graphs").glob("cells-*.onnx"))) == 1
    assert found[0].max() >= 5
    assert instance_metrics(found[2], found[0], thresholds=[0.5])["csi@0.50"] >= 0.95
    _fails(capsys, ["segment", "--model", "cells", "--input", str(image), "--output",
                    str(tmp_path / "bf16"), "--engine", "onnxruntime", "--precision", "bf16"],
           "--precision bf16 needs --engine torch")  # fmt: skip


def test_running_a_graph_writes_nothing_outside_the_given_paths(
    exported: dict[str, Path], tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    home = tmp_path / "home"
    home.mkdir()
    script = ("import stainless, numpy as np\n"
              "from stainless.inference.onnx_engine import load_onnx_network\n"
              f"network, _ = load_onnx_network({str(exported['cells.onnx'])!r}, 'segmentation')\n"
              "import torch; network(torch.zeros(1, 2, 32, 32))\n")  # fmt: skip
    environment = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    environment.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    subprocess.run([sys.executable, "-c", script], check=True, env=environment)
    assert list(home.rglob("*")) == []  # onnxruntime's device id and event store stay unwritten
