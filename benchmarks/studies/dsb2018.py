"""Nucleus instance segmentation on DSB2018 (BBBC038, CC0): distance-map, HoVer and flows models.

``../shared/data/dsb2018/splits.csv``: train on ``train`` (353 images), validate and tune the
post-processing thresholds on ``val`` (43), report on ``test`` (56). U-Net models from
``benchmarks/configs/dsb2018_{distance,hover,flows}.yaml`` (manifest ``dsb2018_manifest.csv``);
``--max-minutes`` trains each at the same wall-time budget; ``--model HEAD=FOLDER`` scores an
already trained folder (e.g. the built-in ``nuclei-fluorescence``) instead of training that head.
Rows of heads not run this time are kept from the previous ``dsb2018.json``.

Each model segments the test images with ``stainless segment`` (plain, and with ``--tta``: the
mean of the four 90° rotations) and is scored with ``stainless evaluate segmentation`` (mean over
images), exactly the commands a user runs:

    stainless segment --model benchmarks/results/dsb2018/distance \
        --input benchmarks/results/dsb2018/test_images --output <dir>
    stainless evaluate segmentation --pred <dir> --gt benchmarks/results/dsb2018/test_labels

    python benchmarks/studies/dsb2018.py            # trains the models (≤ 45 min each on 2 cores)
    python benchmarks/studies/dsb2018.py --reuse    # evaluates the trained models
    python benchmarks/studies/dsb2018.py --heads distance flows --max-minutes 34.6 \
        --model distance=src/stainless/zoo/nuclei-fluorescence   # flows vs distance, same time

Writes ``benchmarks/results/dsb2018.json``. Anchor: StarDist reports csi@0.50 = 0.864 on its own
DSB2018 subset (trained on a GPU).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from stainless.cli.main import main as stainless
from stainless.config import load_segmentation_config
from stainless.model_folder import is_model_folder, read_meta
from stainless.provenance import write_record
from stainless.training.segmentation import train_segmentation

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
RESULTS = HERE / "results" / "dsb2018"
HEADS = ("distance", "hover", "flows")
REPORTED = ("csi@0.50", "map_csi", "f1@0.50", "pq@0.50", "precision@0.50", "recall@0.50", "aji")


def link_test_split(data: Path) -> tuple[Path, Path]:
    """Folders of links to the test images and labels (evaluate pairs them by name)."""
    images, labels = RESULTS / "test_images", RESULTS / "test_labels"
    for folder in (images, labels):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    with (data / "dsb2018" / "splits.csv").open(newline="") as handle:
        test_ids = [row["id"] for row in csv.DictReader(handle) if row["split"] == "test"]
    for image_id in test_ids:
        (images / f"{image_id}.png").symlink_to(data / "dsb2018" / "images" / f"{image_id}.png")
        (labels / f"{image_id}.png").symlink_to(data / "dsb2018" / "labels" / f"{image_id}.png")
    return images, labels


def train_or_reuse(head: str, reuse: bool, max_minutes: float | None) -> Path:
    budget = {"training.max_minutes": max_minutes} if max_minutes is not None else {}
    config = load_segmentation_config(HERE / "configs" / f"dsb2018_{head}.yaml", **budget)
    if reuse and is_model_folder(config.output):
        print(f"{head}: reusing {config.output}")
    else:
        print(f"{head}: training")
        train_segmentation(
            config, overwrite=True, progress="bar" if sys.stderr.isatty() else "lines"
        )
    return config.output


def evaluate(
    head: str, model: Path, images: Path, labels: Path, tta: bool = False
) -> dict[str, Any]:
    name = f"{head}_tta" if tta else head
    predictions = RESULTS / "predictions" / name
    shutil.rmtree(predictions, ignore_errors=True)
    started = time.perf_counter()
    args = ["segment", "--model", str(model), "--input", str(images), "--output", str(predictions)]
    if stainless(args + (["--tta"] if tta else [])) != 0:
        raise RuntimeError(f"stainless segment failed for {head}")
    segment_seconds = time.perf_counter() - started
    scores = RESULTS / f"scores_{name}.json"
    args = ["evaluate", "segmentation", "--pred", str(predictions), "--gt", str(labels)]
    if stainless([*args, "--output", str(scores), "--overwrite"]) != 0:
        raise RuntimeError(f"stainless evaluate failed for {head}")
    summary = json.loads(scores.read_text())["summary"]
    meta = read_meta(model)
    return {
        **{key: summary[key] for key in REPORTED},
        "n_images": int(summary["n_images"]),
        "training_minutes": round(meta["training_seconds"] / 60, 1),
        "epochs": meta["epochs"],
        "batches": meta["batches"],
        "tuned_thresholds": {k: v for k, v in meta.get("tuning", {}).items() if k != "on"},
        "segment_seconds_56_images": round(segment_seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--reuse", action="store_true", help="evaluate already trained models")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "dsb2018.json")
    parser.add_argument("--heads", nargs="+", choices=HEADS, default=list(HEADS))
    parser.add_argument("--max-minutes", type=float, help="wall-time budget of each training")
    parser.add_argument("--no-tta", action="store_true", help="skip the --tta rows")
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="HEAD=FOLDER",
        help="score this trained model folder for HEAD instead of training it",
    )
    args = parser.parse_args()
    given = dict(item.split("=", 1) for item in args.model)
    started = time.perf_counter()
    images, labels = link_test_split(args.data.resolve())
    results = json.loads(args.output.read_text())["results"] if args.output.is_file() else {}
    for head in args.heads:
        if head in given:
            model = Path(given[head])
        else:
            model = train_or_reuse(head, args.reuse, args.max_minutes)
        results[head] = {**evaluate(head, model, images, labels), "model": str(model)}
        if not args.no_tta:
            results[f"{head}_tta"] = {
                **evaluate(head, model, images, labels, tta=True),
                "model": str(model),
            }
    print(f"\n{'model':<10}" + "".join(f"{k:>15}" for k in (*REPORTED, "train min")))
    for head, row in results.items():
        values = [row[k] for k in REPORTED] + [row["training_minutes"]]
        print(f"{head:<10}" + "".join(f"{v:>15.4f}" for v in values))
    output = {
        "benchmark": "dsb2018",
        "data": str(args.data / "dsb2018"),
        "split": "train 353 / val 43 (threshold tuning) / test 56 (reported)",
        "results": results,
        "anchor": {"stardist_csi@0.50_own_subset": 0.864},
        "reproduce_with": "stainless segment --model benchmarks/results/dsb2018/<head> --input "
        "benchmarks/results/dsb2018/test_images --output P && stainless evaluate segmentation "
        "--pred P --gt benchmarks/results/dsb2018/test_labels",
    }
    write_record(args.output, output, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
