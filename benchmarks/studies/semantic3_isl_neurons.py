"""3-class semantic segmentation from phase contrast: background / nucleus / cell (isl-neurons).

Labels come from the stains, as in the bright-field nucleus/cytoplasm paper: nuclei from DAPI
(instances, ``--split distance_intensity``), cells from MAP2 (semantic mask); cytoplasm = MAP2
and not nucleus. U-Net, the small FC-DenseNet (Tiramisu) and DeepLabv3+ train on the training
region (columns 0–767) with the same crops, loss (CE + Dice, balanced class weights) and budget
(``benchmarks/configs/semantic3_isl_<arch>.yaml``), and are scored on the test strip (columns
768–1023) by ``stainless segment`` + ``stainless evaluate semantic``: Dice per class, parameter
count and training time. Paper (bright-field, 3 classes): Dice 0.91 / 0.93 / 0.94.

    python benchmarks/studies/semantic3_isl_neurons.py [--reuse] [--data ../shared/data]

Writes ``benchmarks/results/semantic3_isl_neurons.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from stainless.cli.main import main as stainless
from stainless.config import load_segmentation_config
from stainless.data.segmentation import load_segmentation_sample
from stainless.data.targets import three_class_target
from stainless.io import write_image
from stainless.model_folder import is_model_folder, read_meta
from stainless.models import load_segmentation_network
from stainless.provenance import write_record
from stainless.training.segmentation import train_segmentation

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
RESULTS = HERE / "results" / "semantic3_isl_neurons"
ARCHITECTURES = ("unet", "tiramisu", "deeplabv3plus")
CLASSES = ["background", "nucleus", "cell"]
TEST_REGION = (0, 768, 1024, 1024)


def make_labels(data: Path) -> None:
    """DAPI nuclei (shared with the few-shot benchmark) and the MAP2 cell mask."""
    nuclei = HERE / "results" / "fewshot_isl_neurons" / "labels"
    if not (nuclei / "dapi_labels.tif").is_file():
        dapi = str(data / "isl-neurons" / "dapi.png")
        args = ["--split", "distance_intensity", "--output", str(nuclei)]
        if stainless(["labels", "from-fluorescence", "--input", dapi, *args]) != 0:
            raise RuntimeError("labels from DAPI failed")
    if not (RESULTS / "labels" / "map2_mask.tif").is_file():
        map2 = str(data / "isl-neurons" / "map2.png")
        args = ["--mode", "semantic", "--output", str(RESULTS / "labels")]
        if stainless(["labels", "from-fluorescence", "--input", map2, *args]) != 0:
            raise RuntimeError("labels from MAP2 failed")


def test_files(config_path: Path) -> tuple[Path, Path]:
    """The test strip's 13 planes (one CYX TIFF) and its class map."""
    config = load_segmentation_config(config_path)
    sample = config.data.samples[0].model_copy(update={"region": TEST_REGION})
    from stainless.io import read_input_planes

    planes, _ = read_input_planes(sample.inputs)
    y0, x0, y1, x1 = TEST_REGION
    folder = RESULTS / "test"
    folder.mkdir(parents=True, exist_ok=True)
    image = folder / "strip.tif"
    write_image(image, planes[:, y0:y1, x0:x1], axes="CYX", overwrite=True)
    loaded = load_segmentation_sample(sample, config.data.input_percentiles)
    assert loaded.cells is not None
    truth = folder / "strip_classes.tif"
    write_image(truth, three_class_target(loaded.labels, loaded.cells), axes="YX", overwrite=True)
    return image, truth


def run_one(architecture: str, reuse: bool, image: Path, truth: Path) -> dict[str, Any]:
    config = load_segmentation_config(HERE / "configs" / f"semantic3_isl_{architecture}.yaml")
    if not (reuse and is_model_folder(config.output)):
        print(f"{architecture}: training")
        train_segmentation(
            config, overwrite=True, progress="bar" if sys.stderr.isatty() else "lines"
        )
    predictions = RESULTS / "predictions" / architecture
    args = ["segment", "--model", str(config.output), "--input", str(image)]
    if stainless([*args, "--output", str(predictions), "--overwrite"]) != 0:
        raise RuntimeError(f"segment failed for {architecture}")
    scores = RESULTS / f"scores_{architecture}.json"
    args = ["evaluate", "semantic", "--pred", str(predictions / "strip_labels.tif")]
    args += ["--gt", str(truth), "--classes", *CLASSES, "--output", str(scores), "--overwrite"]
    if stainless(args) != 0:
        raise RuntimeError(f"evaluate failed for {architecture}")
    summary = json.loads(scores.read_text())["summary"]
    network, _ = load_segmentation_network(config.output)
    meta = read_meta(config.output)
    return {
        **{f"dice_{c}": summary[f"dice_{c}"] for c in CLASSES},
        "mean_dice": summary["mean_dice"],
        "parameters": int(sum(p.numel() for p in network.parameters())),
        "training_minutes": round(meta["training_seconds"] / 60, 1),
        "batches": meta["batches"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--reuse", action="store_true", help="evaluate already trained models")
    parser.add_argument(
        "--output", type=Path, default=HERE / "results" / "semantic3_isl_neurons.json"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    make_labels(args.data)
    image, truth = test_files(HERE / "configs" / "semantic3_isl_unet.yaml")
    results = {arch: run_one(arch, args.reuse, image, truth) for arch in ARCHITECTURES}
    header = ["dice_background", "dice_nucleus", "dice_cell", "parameters", "training_minutes"]
    print(f"\n{'model':<14}" + "".join(f"{h:>18}" for h in header))
    for arch, row in results.items():
        print(f"{arch:<14}" + "".join(f"{np.round(row[h], 4):>18}" for h in header))
    output = {
        "benchmark": "semantic3_isl_neurons",
        "data": str(args.data / "isl-neurons"),
        "split": "train columns 0-767, test columns 768-1023",
        "results": results,
        "anchor": {"brightfield_paper_dice_bg_nucleus_cytoplasm": [0.91, 0.93, 0.94]},
    }
    write_record(args.output, output, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
