"""Dense-tissue benchmark (Han et al. 2024 [Han2024]): stainless vs Cellpose ``cyto`` on the 7 test
strips.

Data: ``../shared/data/dense-tissue`` (immunofluorescence CD3/CD4/CD8 of HSV-infected skin,
12,575 expert-drawn cells). Protocol of the paper: train on the first K of the 7 training portions
in the paper's order, evaluate on the 7 test strips, report the mean over strips of csi@0.50 (the
paper's "AP"), map_csi, ARI, and the same with both sides filtered to >= 100 px. Each training
portion is cut once more (columns 0-998 train, 999-1158 validate and tune the thresholds); the
test strips are only ever predicted. Every stage is a stainless command on a YAML in
``benchmarks/configs``, resumable:

``pretext``   ``stainless train translation --config dense_tissue_isl_cd3_to_dapi.yaml``
              (CD3 -> DAPI U-Net on the 5 positions with DAPI, no masks: the ISL init)
              and ``stainless train segmentation --config generalist_flows.yaml``
              (a flows body on DSB2018 + Usiigaci + the dense-tissue training portions)
``sweep``     ``stainless experiment sweep --config dense_tissue_sweep.yaml``
              (distance / HoVer, random / ISL init, K = 1, 2, 7, seeds 0-2, 400 steps each),
              then ``dense_tissue_sweep_flows.yaml`` (flows: random / ISL / generalist init, seed 0)
``ablation``  ``stainless experiment sweep --config dense_tissue_ablation.yaml``
              (the K = 7 distance run, one change at a time, as the paper's Table 6)
``flagship``  ``stainless train segmentation --config dense_tissue_{distance,flows}.yaml``
              with the changes of ``FLAGSHIPS`` and ``--max-minutes 58`` (<= 60 min on 2 cores)
``report``    Cellpose ``cyto`` (``peers-venv``, diameter 15) and the flagships segment the test
              strips in one run, ``stainless evaluate segmentation --errors`` scores both; the
              sweep and ablation are summarised. Writes ``results/dense_tissue.json`` and
              ``results/dense_tissue_k.png`` and prints the RESULTS.md tables.

    python benchmarks/studies/dense_tissue.py all
    python benchmarks/studies/dense_tissue.py report      # only re-scores the trained models
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from stainless.cli.main import main as stainless
from stainless.experiments.plots import plot_sweep
from stainless.experiments.sweep import read_rows, summarise
from stainless.model_folder import is_model_folder, read_meta
from stainless.provenance import write_record

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
CONFIGS = HERE / "configs"
RESULTS = HERE / "results" / "dense_tissue"
PAPER_ANCHORS = {
    "cellpose_cyto_pretrained": 0.516,
    "cellpose_trained_from_scratch_k7": 0.653,
    "cellpose_cyto_finetuned_k7": 0.694,
    "cellpose_cyto_finetuned_k7_tuned (patch 448, no rotation)": 0.711,
    "... with min size 100": 0.746,
    "human expert (one strip)": 0.662,
}
FLAGSHIPS: dict[str, tuple[str, list[str]]] = {  # K = 7 models: folder -> (config, --set)
    "distance_k7_random_s0": ("dense_tissue_distance.yaml", []),
    "distance_k7_patch256_s0": (  # the ablation's best change; 1920 steps of 2 crops
        "dense_tissue_distance.yaml",
        [
            "data.crop_size=256",
            "data.batch_size=2",
            "data.crops_per_epoch=128",
            "training.epochs=30",
        ],
    ),
    "flows_k7_random_s0": ("dense_tissue_flows.yaml", ["training.epochs=30"]),
    "flows_k7_dsbinit_s0": (  # fine-tunes the DSB2018 flows U-Net (benchmarks/studies/dsb2018.py)
        "dense_tissue_flows.yaml",
        ["training.epochs=30", f"model.encoder_weights={HERE / 'results' / 'dsb2018' / 'flows'}"],
    ),
}
BUDGET_MINUTES = 58  # a flagship gets <= 60 min of wall time on the 2-core benchmark machine
REPORTED = ("csi@0.50", "map_csi", "ari", "f1@0.50", "precision@0.50", "recall@0.50")
SUMMARISED = ("csi@0.50", "map_csi", "ari", "csi@0.50_min100")
ERRORS = ("n_true", "n_pred", "matched", "split", "merged", "missed", "spurious")


def run(argv: list[str]) -> None:
    """One stainless command, in this process; a failure stops the benchmark."""
    print("stainless " + " ".join(argv), flush=True)
    if stainless(argv) != 0:
        raise RuntimeError(f"stainless {' '.join(argv)} failed")


def train(kind: str, config: str, output: Path, retrain: bool, settings: list[str]) -> None:
    """Train a model unless its folder is complete (or retrain it)."""
    if is_model_folder(output) and not retrain:
        print(f"reusing {output}")
        return
    overrides = [part for setting in settings for part in ("--set", setting)]
    arguments = ["--config", str(CONFIGS / config), "--output", str(output), "--overwrite"]
    run(["train", kind, *arguments, "--max-minutes", str(BUDGET_MINUTES), *overrides])


def evaluate(pred: Path, data: Path, min_size: int) -> dict[str, Any]:
    """``stainless evaluate segmentation --errors`` of a prediction folder on the test strips."""
    out = pred.parent / f"{pred.name}_scores_min{min_size}.json"
    run(
        [
            "evaluate",
            "segmentation",
            "--pred",
            str(pred),
            "--gt",
            str(data / "*_masks.png"),
            "--output",
            str(out),
            "--overwrite",
            "--min-size",
            str(min_size),
            "--errors",
        ]
    )
    scores = json.loads(out.read_text())
    return {
        "mean": {key: scores["summary"][key] for key in REPORTED},
        "per_strip_csi@0.50": {row["name"]: row["csi@0.50"] for row in scores["per_image"]},
        "errors": {key: int(scores["summary"][f"{key}_total"]) for key in ERRORS},
    }


def segment_with_stainless(
    model: Path, data: Path, predictions: Path | None = None
) -> tuple[Path, float]:
    """``stainless segment`` of every ``*_img.png`` in ``data``; the folder and the seconds."""
    predictions = predictions or RESULTS / "predictions" / model.name
    started = time.perf_counter()
    images = [str(path) for path in sorted(data.glob("*_img.png"))]
    run(
        [
            "segment",
            "--model",
            str(model),
            "--input",
            *images,
            "--output",
            str(predictions),
            "--overwrite",
        ]
    )
    return predictions, time.perf_counter() - started


def segment_with_cellpose(
    data: Path,
    peers_python: Path,
    weights: Path,
    predictions: Path | None = None,
    diameter: float = 15,
) -> tuple[Path, float]:
    """Cellpose ``cyto`` (``peers-venv``) on every ``*_img.png`` in ``data``; folder, seconds."""
    predictions = predictions or RESULTS / "predictions" / "cellpose_cyto"
    command = [
        str(peers_python),
        str(HERE / "peers" / "cellpose_predict.py"),
        "--model",
        str(weights),
        "--input",
        str(data / "*_img.png"),
        "--output",
        str(predictions),
        "--diameter",
        str(diameter),
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, env={**os.environ, "OMP_NUM_THREADS": "2"})
    return predictions, time.perf_counter() - started


def scored(
    predictions: Path,
    seconds: float,
    data: Path,
    seconds_key: str = "segment_seconds_7_strips",
    **details: Any,
) -> dict[str, Any]:
    """Scores of a prediction folder on ``data``: all objects, both sides >= 100 px, errors."""
    plain, filtered = evaluate(predictions, data, 0), evaluate(predictions, data, 100)
    return {
        "metrics": {k: v for k, v in plain.items() if k != "errors"},
        "metrics_min100": {k: v for k, v in filtered.items() if k != "errors"},
        "errors": plain["errors"],
        seconds_key: round(seconds, 1),
        **details,
    }


def report(data: Path, peers_python: Path, weights: Path, out: Path) -> dict[str, Any]:
    """Cellpose and the flagships on the test strips in one run, plus the sweep summaries."""
    started = time.perf_counter()
    results = {
        "cellpose_cyto_pretrained": scored(
            *segment_with_cellpose(data, peers_python, weights),
            data,
            settings="diameter 15, channels [0, 0], cellpose<4 in peers-venv",
        )
    }
    for name, (config, settings) in FLAGSHIPS.items():
        folder = RESULTS / name
        if is_model_folder(folder):
            meta = read_meta(folder)
            results[f"stainless_{name}"] = scored(
                *segment_with_stainless(folder, data),
                data,
                config=f"configs/{config}",
                changes=settings,
                training_minutes=round(meta["training_seconds"] / 60, 1),
                training_threads=meta.get("torch_threads"),
                validation_tuning=meta.get("tuning", {}),
                model=str(folder.relative_to(HERE.parent)),
            )
    sweep_rows = read_rows(HERE / "results" / "dense_tissue_sweep.csv")
    baseline = [
        r for r in sweep_rows if (r["task"], r["init"], r["k"]) == ("distance", "random", "7")
    ]
    ablation_rows = [{**r, "variant": "baseline (patch 128, batch 8)"} for r in baseline]
    ablation_rows += read_rows(HERE / "results" / "dense_tissue_ablation.csv")
    cellpose = results["cellpose_cyto_pretrained"]["metrics"]["mean"]["csi@0.50"]
    references = {"Cellpose cyto (ours)": cellpose, "paper: Cellpose tuned K=7": 0.711}
    plot_sweep(sweep_rows, out.with_name("dense_tissue_k.png"), ("csi@0.50",), references)
    output = {
        "benchmark": "dense_tissue",
        "data": str(data),
        "protocol": "train on the first K training portions (paper order; columns 0-998 train, "
        "999-1158 validate and tune thresholds), report the mean over the 7 test strips",
        "results": results,
        "sweep": {
            "config": "configs/dense_tissue_sweep{,_flows}.yaml",
            "summary": summarise(sweep_rows, ("task", "init", "k"), SUMMARISED),
        },
        "ablation": {
            "config": "configs/dense_tissue_ablation.yaml",
            "summary": summarise(ablation_rows, ("variant",), SUMMARISED),
        },
        "paper_anchors_csi@0.50": PAPER_ANCHORS,
        "reproduce_with": "stainless segment --model benchmarks/results/dense_tissue/<flagship> "
        "--input ../shared/data/dense-tissue/test/*_img.png --output P && stainless evaluate "
        "segmentation --pred P --gt '../shared/data/dense-tissue/test/*_masks.png'",
    }
    write_record(out, output, started)
    print(markdown_tables(output))
    return output


def markdown_tables(output: dict[str, Any]) -> str:
    """The report's tables in Markdown (for ``RESULTS.md``)."""
    lines = [
        "| model | csi@0.50 | map_csi | ARI | csi@0.50 ≥100 px | precision | recall |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in output["results"].items():
        mean, filtered = entry["metrics"]["mean"], entry["metrics_min100"]["mean"]
        lines.append(
            f"| {name} | {mean['csi@0.50']:.3f} | {mean['map_csi']:.3f} | "
            f"{mean['ari']:.3f} | {filtered['csi@0.50']:.3f} | "
            f"{mean['precision@0.50']:.3f} | {mean['recall@0.50']:.3f} |"
        )
    lines += ["", "| model | " + " | ".join(ERRORS) + " |", "|---" * (len(ERRORS) + 1) + "|"]
    for name, entry in output["results"].items():
        lines.append(f"| {name} | " + " | ".join(str(entry["errors"][k]) for k in ERRORS) + " |")
    for part, columns in (("sweep", ("task", "init", "k")), ("ablation", ("variant",))):
        lines += ["", f"| {' | '.join(columns)} | seeds | csi@0.50 | csi@0.50 ≥100 px | s/run |"]
        lines.append("|---" * (len(columns) + 4) + "|")
        for e in output[part]["summary"]:
            names = " | ".join(str(e[c]) for c in columns)
            lines.append(
                f"| {names} | {e['seeds']} | {e['csi@0.50']:.3f} ± "
                f"{e['csi@0.50_std']:.3f} | {e['csi@0.50_min100']:.3f} | "
                f"{e['training_seconds_mean']:.0f} |"
            )
    return "\n".join(lines)


def add_peer_options(parser: argparse.ArgumentParser) -> None:
    """``--peers-python`` (the ``cellpose<4`` venv) and ``--cellpose-weights`` (``cyto``)."""
    parser.add_argument("--peers-python", type=Path, default=HERE.parent / "peers-venv/bin/python")
    parser.add_argument(
        "--cellpose-weights",
        type=Path,
        default=HERE.parent.parent / "shared" / "peers" / "cellpose_cyto.pth",
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    stages = ("pretext", "sweep", "ablation", "flagship", "report", "all")
    parser.add_argument("stage", choices=stages)
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--retrain", action="store_true", help="retrain pretext / flagships")
    add_peer_options(parser)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "dense_tissue.json")
    args = parser.parse_args()
    test = (args.data / "dense-tissue" / "test").resolve()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.stage in ("pretext", "sweep", "all"):
        pretext = RESULTS / "isl_cd3_to_dapi"
        train("translation", "dense_tissue_isl_cd3_to_dapi.yaml", pretext, args.retrain, [])
        generalist = RESULTS / "generalist_flows"
        train("segmentation", "generalist_flows.yaml", generalist, args.retrain, [])
    sweeps = {"sweep": ("sweep", "sweep_flows"), "ablation": ("ablation",)}
    for stage, names in sweeps.items():
        if args.stage in (stage, "all"):
            for name in names:
                run(["experiment", "sweep", "--config", str(CONFIGS / f"dense_tissue_{name}.yaml")])
    if args.stage in ("flagship", "all"):
        for name, (config, settings) in FLAGSHIPS.items():
            train("segmentation", config, RESULTS / name, args.retrain, settings)
    if args.stage in ("report", "all"):
        report(test, args.peers_python, args.cellpose_weights, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
