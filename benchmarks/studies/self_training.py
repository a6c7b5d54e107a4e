"""Self-training (issue 24): supervised vs ST vs ST++ at the same total wall time, 3 seeds, on three
testbeds where labels are few and unlabelled images many.

Testbeds (``--testbed``, repeatable; data in ``../shared/data``, never a test image in training):

* ``dsb10`` — DSB2018 (CC0): 10 % of the ``train`` split labelled (a seeded draw, 35 images),
  the other 318 unlabelled (the first ``--max-unlabelled`` of a seeded shuffle); tuned on the
  first 12 images of ``val``, scored on ``test`` (56).
* ``dense1`` / ``dense2`` — the dense-tissue benchmark (Han et al. 2024): K = 1 or 2 labelled
  training portions (a seeded draw of the 7; columns 0-998), the other portions' columns 0-998
  unlabelled (cut to files under the run folder); tuned on the labelled portions' validation cuts,
  scored on the 7 test strips; never ``whole/``.
* ``cross`` — modality transfer: DSB2018 fluorescence labelled (10 %, as ``dsb10``),
  ``dsb2018-histology`` ``train`` images unlabelled (their labels unused), one grey input with
  contrast inversion (``data.colour: grey``, ``augment.invert``); tuned on the first 12 DSB
  ``val`` images, scored on the histology ``test`` split (16).

Rows at one budget of ``--minutes`` per row: ``supervised`` trains for all of it (its loading
and tuning overhead is measured); ``ST`` and ``ST++`` time a pseudo-labelling pass on three
unlabelled images, subtract the inference they will need (ST: one pass; ST++: the final model
and two snapshots on every image, then one more pass) and the overhead of their extra training
stages, and split the rest evenly over their two or three trainings. Each row's measured wall
time is reported beside its scores. The flows U-Net (width 16, depth 4, 128² crops in batches
of 8) for every row; csi@0.50 is the mean over the test images at the images' own size.

    python benchmarks/studies/self_training.py --testbed dsb10 --minutes 9 --seeds 0 1 2
    python benchmarks/studies/self_training.py --testbed dense1 --testbed dense2 --testbed cross

Writes ``benchmarks/results/self_training.json`` (rows of other testbeds or seeds are kept, so
the seeds can be run one session at a time) and
``benchmarks/results/self_training.png``.
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

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[2]
RESULTS = REPOSITORY / "benchmarks" / "results"
WORK = RESULTS / "self_training"
DENSE = ("JML_Position10_CD3", "JML_Position8_CD3", "JML_Position8_CD4", "JML_Position8_CD8",
         "JML_Position9_CD3", "CFL_Position13_CD3", "CFL_Position7_CD3")  # fmt: skip
TRAIN_COLUMNS, VAL_COLUMNS = (0, 999), (999, 1159)
METHODS = ("supervised", "st", "st++")


def _split(data: Path, dataset: str, split: str) -> list[str]:
    with (data / dataset / "splits.csv").open(newline="") as handle:
        return [row["id"] for row in csv.DictReader(handle) if row["split"] == split]


def _sample(data: Path, dataset: str, image_id: str, **extra: Any) -> dict[str, Any]:
    return {"name": image_id[:12], "inputs": [str(data / dataset / "images" / f"{image_id}.png")],
            "labels": str(data / dataset / "labels" / f"{image_id}.png"), **extra}  # fmt: skip


def _dense(data: Path, name: str, columns: tuple[int, int], tag: str = "") -> dict[str, Any]:
    folder = data / "dense-tissue" / "train"
    return {"name": name + tag, "inputs": [str(folder / f"{name}_img.png")],
            "labels": str(folder / f"{name}_masks.png"),
            "region": [0, columns[0], 1040, columns[1]]}  # fmt: skip


def _write_unlabelled(folder: Path, sources: list[tuple[Path, tuple[int, int] | None]]) -> Path:
    """Links to (or column cuts of) the unlabelled images in ``folder``."""
    from stainless.io import read_image, write_image

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for source, columns in sources:
        if columns is None:
            (folder / source.name).symlink_to(source)
        else:
            image = read_image(source)
            cut = np.asarray(image.array)[..., :, columns[0] : columns[1]]
            write_image(folder / source.name, cut, axes=image.axes)
    return folder


def testbed(name: str, seed: int, data: Path, max_unlabelled: int) -> dict[str, Any]:
    """The base config (dict), the unlabelled folder and the test samples of one testbed."""
    rng = np.random.default_rng(seed)
    folder = WORK / f"{name}_s{seed}"
    config: dict[str, Any] = {
        "seed": seed,
        "data": {"crop_size": 128, "batch_size": 8, "crops_per_epoch": 160,
                 "class_balanced": True, "validation_split": None,
                 "augment": {"flips": True, "rot90": True, "scaling": [0.75, 1.33],
                             "intensity": True}},
        "model": {"architecture": "unet", "width": 16, "depth": 4, "head": "flows"},
        "training": {"epochs": 1000, "learning_rate": 0.001, "val_every_n_steps": 100},
        "postprocess": {"min_size_px": 10, "tune_on": "val"},
    }  # fmt: skip
    if name in ("dsb10", "cross"):
        train = list(rng.permutation(_split(data, "dsb2018", "train")))
        labelled, rest = train[: round(0.1 * len(train))], train[round(0.1 * len(train)) :]
        config["data"]["samples"] = [_sample(data, "dsb2018", i) for i in labelled]
        config["data"]["validation"] = [_sample(data, "dsb2018", i)  # 12: quick tuning
                                        for i in _split(data, "dsb2018", "val")[:12]]  # fmt: skip
        if name == "dsb10":
            pool = [(data / "dsb2018" / "images" / f"{i}.png", None) for i in rest]
            test = [_sample(data, "dsb2018", i) for i in _split(data, "dsb2018", "test")]
        else:
            histology = list(rng.permutation(_split(data, "dsb2018-histology", "train")))
            pool = [(data / "dsb2018-histology" / "images" / f"{i}.png", None) for i in histology]
            test = [_sample(data, "dsb2018-histology", i)
                    for i in _split(data, "dsb2018-histology", "test")]  # fmt: skip
            config["data"]["colour"] = "grey"
            config["data"]["augment"]["invert"] = True
    else:
        k = int(name.removeprefix("dense"))
        order = list(rng.permutation(DENSE))
        labelled, rest = order[:k], order[k:]
        config["data"]["samples"] = [_dense(data, n, TRAIN_COLUMNS) for n in labelled]
        config["data"]["validation"] = [_dense(data, n, VAL_COLUMNS, "-val") for n in labelled]
        pool = [(data / "dense-tissue" / "train" / f"{n}_img.png", TRAIN_COLUMNS) for n in rest]
        test = [{"name": n, "inputs": [str(data / "dense-tissue" / "test" / f"{n}_img.png")],
                 "labels": str(data / "dense-tissue" / "test" / f"{n}_masks.png")}
                for n in DENSE]  # fmt: skip
    unlabelled = _write_unlabelled(folder / "unlabelled", pool[:max_unlabelled])
    return {"config": config, "unlabelled": unlabelled, "test": test, "folder": folder,
            "labelled": len(config["data"]["samples"]),
            "pool": min(len(pool), max_unlabelled)}  # fmt: skip


def _score(model: Path, test: list[dict[str, Any]]) -> float:
    from stainless.inference.segmenter import SegmentationPredictor
    from stainless.io import read_input_planes, read_labels
    from stainless.metrics.instance import instance_metrics

    predictor = SegmentationPredictor.load(model, "cpu")
    scores = []
    for sample in test:
        files = [Path(f) for f in sample["inputs"]]
        raw, metadata = read_input_planes(files)
        labels = predictor.segment(predictor.input_planes(raw, metadata.channel_names, files[0]))
        truth = read_labels(Path(sample["labels"])).array
        scores.append(instance_metrics(truth, labels, thresholds=[0.5])["csi@0.50"])
    return float(np.mean(scores))


def _inference_seconds(bed: dict[str, Any], probe: Path) -> float:
    """Seconds to segment one unlabelled image with a trained model of the row's size."""
    from stainless.experiments._pseudo_labels import PseudoLabeller

    labeller = PseudoLabeller(probe, "cpu")
    files = sorted(bed["unlabelled"].iterdir())[:3]
    started = time.perf_counter()
    for index, file in enumerate(files):
        labeller.write([file], bed["folder"] / "probe" / f"{index}.tif")
    return (time.perf_counter() - started) / len(files)


def run_row(
    bed: dict[str, Any], method: str, minutes: float, per_image_s: float, overhead_s: float
) -> dict[str, Any]:
    """Train one row so that its whole run takes about ``minutes`` + the supervised row's
    ``overhead_s`` (loading and threshold tuning, once per training stage), and score it."""
    from stainless.config.loading import segmentation_config_from_mapping
    from stainless.experiments.self_training import self_train
    from stainless.training.segmentation import train_segmentation

    raw = json.loads(json.dumps(bed["config"]))
    raw["output"] = str(bed["folder"] / method)
    images, overhead = bed["pool"], overhead_s / 60
    if method == "supervised":
        stage = minutes
    elif method == "st":
        stage = (minutes - overhead - images * per_image_s / 60) / 2
        raw["data"]["unlabelled"] = str(bed["unlabelled"])
        raw["self_training"] = {"method": "st"}
    else:
        # reliability: the final model and 2 snapshots on every image; then one pass more
        stage = (minutes - 2 * overhead - 4 * images * per_image_s / 60) / 3
        raw["data"]["unlabelled"] = str(bed["unlabelled"])
        raw["self_training"] = {"method": "st++", "checkpoints": 3}
    if stage <= 0.5:
        raise ValueError(f"{method}: {minutes} min leave {stage:.2f} min per training stage")
    raw["training"]["max_minutes"] = round(stage, 3)
    config = segmentation_config_from_mapping(raw, f"{method} row")
    shutil.rmtree(config.output, ignore_errors=True)
    started = time.perf_counter()
    if method == "supervised":
        train_segmentation(config, progress="none")
    else:
        self_train(config, progress="none")
    wall = time.perf_counter() - started
    return {"method": method, "stage_minutes": round(stage, 2), "wall_minutes": round(wall / 60, 2),
            "csi@0.50": round(_score(config.output, bed["test"]), 4)}  # fmt: skip


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    beds = sorted({r["testbed"] for r in rows})
    figure, axes = plt.subplots(1, len(beds), figsize=(3.2 * len(beds), 3.2), squeeze=False)
    for axis, bed in zip(axes[0], beds, strict=True):
        for index, method in enumerate(METHODS):
            values = [r["csi@0.50"] for r in rows if r["testbed"] == bed and r["method"] == method]
            axis.scatter([index] * len(values), values, color="grey", s=12)
            if values:
                axis.bar(index, np.mean(values), alpha=0.5)
        axis.set_xticks(range(len(METHODS)), METHODS)
        axis.set_title(bed)
        axis.set_ylabel("test csi@0.50")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean csi@0.50 and wall time per testbed and method (over the seeds run)."""
    summary = []
    for bed in sorted({r["testbed"] for r in rows}):
        for method in METHODS:
            chosen = [r for r in rows if r["testbed"] == bed and r["method"] == method]
            if chosen:
                summary.append({"testbed": bed, "method": method, "seeds": len(chosen), **{
                    key: round(float(np.mean([r[key] for r in chosen])), 4)
                    for key in ("csi@0.50", "wall_minutes")}})  # fmt: skip
    return summary


def save(path: Path, rows: list[dict[str, Any]], command: str, started: float) -> None:
    """Writes the rows so far (each with the command that made it), their summary, the latest
    command and run metadata."""
    from stainless.provenance import write_record

    write_record(path, {"study": "supervised vs ST vs ST++ at equal wall time", "rows": rows,
                        "summary": summarise(rows), "command": command}, started)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPOSITORY.parent / "shared" / "data")
    parser.add_argument("--testbed", action="append",
                        choices=("dsb10", "dense1", "dense2", "cross"))  # fmt: skip
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--minutes", type=float, default=9.0, help="wall-time budget per row")
    parser.add_argument("--max-unlabelled", type=int, default=120)
    args = parser.parse_args()

    started = time.perf_counter()
    path = RESULTS / "self_training.json"
    beds = args.testbed or ["dsb10"]
    kept = json.loads(path.read_text())["rows"] if path.is_file() else []
    rows = [r for r in kept if r["testbed"] not in beds or r["seed"] not in args.seeds]
    command = " ".join(["python benchmarks/studies/self_training.py", *sys.argv[1:]])
    for name in beds:
        for seed in args.seeds:
            bed = testbed(name, seed, args.data, args.max_unlabelled)
            supervised = run_row(bed, "supervised", args.minutes, 0.0, 0.0)
            overhead = max(0.0, 60 * (supervised["wall_minutes"] - args.minutes))
            per_image = _inference_seconds(bed, bed["folder"] / "supervised")
            for method in ("supervised", "st", "st++"):
                row = supervised if method == "supervised" else run_row(
                    bed, method, args.minutes, per_image, overhead)  # fmt: skip
                rows.append({"testbed": name, "seed": seed, "labelled": bed["labelled"],
                             "unlabelled": bed["pool"], "inference_s_per_image":
                             round(per_image, 2), "minutes_per_row": args.minutes,
                             "command": command, **row})  # fmt: skip
                print(rows[-1], file=sys.stderr, flush=True)
                save(path, rows, command, started)  # an interrupted study keeps its rows
            plot(rows, RESULTS / "self_training.png")
    for line in summarise(rows):
        print(line, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
