"""Inference engines: torch (today's default path) vs onnxruntime running the exported ONNX
graph, on built-in models and real images, speed and agreement together (issue 26).

* translation: the built-in ``phase-to-dapi`` on the isl-neurons phase focus series (all its
  planes, the whole 1024 x 1024 field): torch as ``stainless predict`` runs it by default
  (``precision auto``: bf16 where a timed trial finds it faster), torch float32, and
  onnxruntime. Agreement of each against torch float32 on the normalised targets: Pearson r,
  the 99.9th percentile and the maximum of |difference|;
* segmentation: the built-in ``cells`` on the 7 dense-tissue test strips, end to end
  (``SegmentationPredictor.segment`` at a fixed ``--diameter``, as ``stainless segment`` runs it:
  normalisation, tiles, flows decoding), torch float32 vs onnxruntime, and whether the objects
  are the same: identical label images, and csi@0.50 of onnxruntime's objects against torch's;
  each engine's csi@0.50 against the expert masks; with ``--cellpose PYTHON`` (the peers'
  virtual env, ``../shared/peers/README.md``) also Cellpose ``cyto`` at the same diameter
  (``benchmarks/peers/cellpose_predict.py`` in that interpreter, best of N an image after its
  model is loaded), its csi@0.50, and each engine's speed-up over it.

Both engines run in this process, best of N after a warm-up; the graphs are exported once
before timing (their export time is reported apart). The last line printed is
``onnxruntime_speedup: translation <ratio>, segmentation <ratio>``.

    python benchmarks/speed/bench_engines.py [--repeats 3] [--cellpose peers-venv/bin/python]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from bench_matching import best_time

from stainless.export.onnx_graph import export_onnx
from stainless.export.source import export_source
from stainless.inference.predictor import load_predictor
from stainless.inference.segmenter import SegmentationPredictor
from stainless.io import read_input_planes, read_labels
from stainless.metrics.instance import instance_metrics
from stainless.provenance import write_record

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
DATA = HERE.parent.parent / "shared" / "data"
DENSE_DIAMETER = 15.0
"""px: the dense-tissue cells' median diameter (13.8-16.8 on the test strips)."""


def agreement(got: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> dict[str, float]:
    """Pearson r, p99.9 and max |difference| over every target, each target scaled by its
    reference's 0.1-99.9 percentile range (so that the numbers read in [0, 1] units)."""
    rs, p999, worst = [], [], []
    for name, expected in reference.items():
        low, high = np.percentile(expected, (0.1, 99.9))
        difference = np.abs(got[name] - expected) / max(float(high - low), 1e-12)
        rs.append(float(np.corrcoef(got[name].ravel(), expected.ravel())[0, 1]))
        p999.append(float(np.percentile(difference, 99.9)))
        worst.append(float(difference.max()))
    return {"pearson_r_min": round(min(rs), 6), "p99.9_abs_difference": round(max(p999), 6),
            "max_abs_difference": round(max(worst), 6)}  # fmt: skip


def exported(model: str, folder: Path) -> tuple[Path, float]:
    """``model`` as an ONNX graph in ``folder`` and the seconds the export took."""
    started = time.perf_counter()
    path = folder / f"{model}.onnx"
    export_onnx(export_source(model), path)
    return path, time.perf_counter() - started


def translation(folder: Path, repeats: int) -> dict[str, Any]:
    isl = DATA / "isl-neurons"
    planes = read_input_planes(sorted(isl.glob("phase_z*.png")))[0]
    graph, export_s = exported("phase-to-dapi", folder)
    engines = {"torch default (precision auto)": load_predictor("phase-to-dapi", "cpu", "auto"),
               "torch fp32": load_predictor("phase-to-dapi", "cpu", "fp32"),
               "onnxruntime": load_predictor(graph, "cpu")}  # fmt: skip
    rows: dict[str, Any] = {}
    outputs = {}
    for name, predictor in engines.items():
        seconds, outputs[name] = best_time(lambda p=predictor: p.predict(planes), repeats)
        rows[name] = {"seconds": round(seconds, 3)}
    for name in engines:
        rows[name].update(agreement(outputs[name], outputs["torch fp32"]))
    default = engines["torch default (precision auto)"]
    return {"image": f"isl-neurons phase, {planes.shape} (planes, Y, X)",
            "default_precision": "bf16" if getattr(default, "use_bf16", False) else "fp32",
            "export_s": round(export_s, 1), "rows": rows}  # fmt: skip


def truth_score(labels: list[np.ndarray], truths: list[np.ndarray]) -> float:
    """Mean csi@0.50 of ``labels`` against the expert masks."""
    pairs = zip(truths, labels, strict=True)
    return round(float(np.mean([instance_metrics(t, x, thresholds=[0.5])["csi@0.50"]
                                for t, x in pairs])), 4)  # fmt: skip


def cellpose_row(
    python: Path, strips: list[Path], truths: list[np.ndarray], repeats: int, folder: Path
) -> dict[str, Any]:
    """Cellpose ``cyto`` on ``strips`` in its own interpreter: seconds (sum over the strips of
    the best of ``repeats``), objects and csi@0.50 against the expert masks."""
    out = folder / "cellpose"
    runner = HERE / "peers" / "cellpose_predict.py"
    weights = HERE.parent.parent / "shared" / "peers" / "cellpose_cyto.pth"
    subprocess.run([str(python), str(runner), "--model", str(weights), "--input",
                    str(strips[0].parent / "*_img.png"), "--output", str(out), "--diameter",
                    str(DENSE_DIAMETER), "--repeats", str(repeats)], check=True)  # fmt: skip
    seconds = sum(json.loads((out / "timing.json").read_text()).values())
    masks = [read_labels(out / f"{p.name.removesuffix('_img.png')}_cp_masks.tif").array
             for p in strips]  # fmt: skip
    return {"seconds": round(seconds, 3), "objects": int(sum(len(np.unique(m)) - 1 for m in masks)),
            "csi@0.50_vs_truth": truth_score(masks, truths)}  # fmt: skip


def segmentation(folder: Path, repeats: int, cellpose: Path | None = None) -> dict[str, Any]:
    strips = sorted((DATA / "dense-tissue" / "test").glob("*_img.png"))
    images = [read_input_planes([path])[0] for path in strips]
    graph, export_s = exported("cells", folder)
    engines = {
        "torch fp32": SegmentationPredictor.load("cells", "cpu", diameter=DENSE_DIAMETER),
        "onnxruntime": SegmentationPredictor.load(graph, "cpu", diameter=DENSE_DIAMETER),
    }
    rows: dict[str, Any] = {}
    labels = {}
    pairs = list(zip(images, strips, strict=True))
    for name, predictor in engines.items():

        def run(p: SegmentationPredictor = predictor) -> list[np.ndarray]:
            return [p.segment(p.input_planes(image, None, path)) for image, path in pairs]

        seconds, labels[name] = best_time(run, repeats)
        rows[name] = {"seconds": round(seconds, 3),
                      "objects": int(sum(len(np.unique(x)) - 1 for x in labels[name]))}  # fmt: skip
    pairs_of_labels = zip(labels["onnxruntime"], labels["torch fp32"], strict=True)
    same = all(np.array_equal(a, b) for a, b in pairs_of_labels)
    rows["onnxruntime"]["identical_labels"] = same
    scores = [
        instance_metrics(b, a, thresholds=[0.5])["csi@0.50"]
        for a, b in zip(labels["onnxruntime"], labels["torch fp32"], strict=True)
    ]
    rows["onnxruntime"]["csi@0.50_vs_torch"] = round(float(np.mean(scores)), 4)
    truths = [read_labels(path.with_name(path.name.replace("_img", "_masks"))).array
              for path in strips]  # fmt: skip
    for name in engines:
        rows[name]["csi@0.50_vs_truth"] = truth_score(labels[name], truths)
    if cellpose is not None:
        rows["Cellpose cyto"] = cellpose_row(cellpose, strips, truths, repeats, folder)
        for name in engines:
            rows[name]["speedup_vs_cellpose"] = round(
                rows["Cellpose cyto"]["seconds"] / rows[name]["seconds"], 2
            )
    return {"images": f"{len(strips)} dense-tissue test strips at --diameter {DENSE_DIAMETER}",
            "export_s": round(export_s, 1), "rows": rows}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cellpose", type=Path, help="the peers' Python (with cellpose<4)")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "bench_engines.json")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as temporary:
        result = {"translation": translation(Path(temporary), args.repeats),
                  "segmentation": segmentation(Path(temporary), args.repeats,
                                               args.cellpose)}  # fmt: skip
    ratios = {
        task: result[task]["rows"][base]["seconds"] / result[task]["rows"]["onnxruntime"]["seconds"]
        for task, base in (("translation", "torch default (precision auto)"),
                           ("segmentation", "torch fp32"))
    }  # fmt: skip
    record = {"benchmark": "inference engines", "protocol": __doc__.split("\n\n")[0],
              **result, "onnxruntime_speedup": {k: round(v, 2) for k, v in ratios.items()},
              "torch_threads": torch.get_num_threads(), "repeats": args.repeats,
              "reproduce_with": "python " + " ".join(sys.argv)}  # fmt: skip
    write_record(args.output, record, started)
    for task in ("translation", "segmentation"):
        for name, row in result[task]["rows"].items():
            print(f"{task:13s} {name:32s} {row}")
    print("onnxruntime_speedup: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
