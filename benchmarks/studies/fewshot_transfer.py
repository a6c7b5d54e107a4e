"""In-silico-labelling pretraining for few-shot instances, on testbeds where the random init
converges ([Bonte2022]: +31 % IoU nuclei, +94 % mAP cells at one annotated image; issue 27).

A gain over random weights only means something when random weights learn the task at all, so
each testbed first finds the fine-tuning budget at which the random init converges, then sweeps
K annotated images × inits × seeds at that one budget (``stainless experiment sweep``, resumable):

Every init trains the same flows U-Net (width 32, depth 4) for the same steps; ``isl`` starts it
with the pretext network's whole U-Net (the sweep's ``weight_inits``: every tensor, the first
layer summed over planes when the images have fewer), ``random`` with fresh weights.

* ``usiigaci`` — whole cells in phase contrast (Usiigaci, 35 training fields, 5 test fields).
  Inits: ``random``, ``isl`` (the built-in ``phase-to-dapi``, pretrained on isl-neurons' phase →
  DAPI, MAP2, NFH), ``cells`` (the built-in flows generalist, trained on Usiigaci among others)
  and ``cells-phase`` (trained on all 35 fields: an upper reference).
* ``sephace`` — nuclei in bright field (sephace ``set2``, labels from its DAPI), K = 1, 2, all 5
  tiles of the top half, tested on the bottom half. Inits: ``random`` and ``isl`` (bright field →
  DAPI trained on ``set1`` only, by ``studies/modality_strategies.py``).
* ``isl-neurons`` — the budget probe only: random weights on all 12 training crops at a longer
  budget than before; the sweep is run only if it converges.

    python benchmarks/studies/fewshot_transfer.py budget usiigaci     # the budget probe
    python benchmarks/studies/fewshot_transfer.py sweep usiigaci      # the K x init x seed sweep
    python benchmarks/studies/fewshot_transfer.py sweep sephace
    python benchmarks/studies/fewshot_transfer.py budget isl-neurons
    python benchmarks/studies/fewshot_transfer.py inspect sephace     # why a run finds nothing
    python benchmarks/studies/fewshot_transfer.py report              # fewshot_transfer.json

sephace is MIT non-commercial: benchmark only; nothing trained on it ships.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from stainless.cli.main import main as stainless
from stainless.experiments.plots import plot_sweep
from stainless.experiments.sweep import read_rows
from stainless.model_folder import is_model_folder, resolve_model
from stainless.provenance import write_record

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fewshot_inspect import inspect
from fewshot_isl_neurons import write_random_twin

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
CONFIGS = HERE / "configs"
RESULTS = HERE / "results"
SHARED = HERE.parent.parent / "shared" / "data"

SWEEPS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "usiigaci": (
        "fewshot_usiigaci_budget.yaml",
        (
            "fewshot_usiigaci.yaml",
            "fewshot_usiigaci_seeds.yaml",
            "fewshot_usiigaci_references.yaml",
        ),
    ),
    "sephace": (None, ("fewshot_sephace.yaml", "fewshot_sephace_seeds.yaml")),
    "isl-neurons": ("fewshot_isl_flows_budget.yaml", ()),
}
"""testbed → (budget probe config, sweep configs run in order) in ``benchmarks/configs``; the
configs of a testbed write one CSV."""

RANDOM_TWINS = {
    RESULTS / "fewshot_isl_flows" / "random_phase_to_dapi": lambda: resolve_model("phase-to-dapi"),
}
"""Random-init controls behind the 1-map adapter: a twin of the pretext network with fresh
weights, written before a sweep that uses it (the plain random init is ``null``)."""

SEPHACE_LABELS = RESULTS / "fewshot_sephace" / "labels"
ISL_NEURONS_LABELS = RESULTS / "fewshot_isl_neurons" / "labels"


def prepare(config: Path) -> None:
    """Write what the sweep ``config`` reads and nobody ships: random twins and stain labels."""
    sweep = yaml.safe_load(config.read_text())
    for folder in sweep["inits"].values():
        path = (config.parent / folder).resolve() if folder else None
        if path in RANDOM_TWINS and not is_model_folder(path):
            write_random_twin(RANDOM_TWINS[path](), path)
        elif path is not None and not is_model_folder(path):
            raise SystemExit(f"{config.name}: train the pretext model first: {path}")
    if "sephace" in config.name and not (SEPHACE_LABELS / "set2_dapi_labels.tif").is_file():
        stain = SHARED / "sephace-bf-dapi" / "set2" / "dapi.png"
        options = ["--sigma", "4", "--h", "6", "--min-size", "300"]
        _labels(stain, SEPHACE_LABELS, "set2_dapi_labels.tif", options)
    if "isl_flows" in config.name and not (ISL_NEURONS_LABELS / "dapi_labels.tif").is_file():
        stain = SHARED / "isl-neurons" / "dapi.png"
        options = ["--split", "distance_intensity"]
        _labels(stain, ISL_NEURONS_LABELS, "dapi_labels.tif", options)


def _labels(stain: Path, output: Path, name: str, options: list[str]) -> None:
    """Nuclei from a DAPI image with ``stainless labels from-fluorescence`` and ``options``."""
    staging = output / "staging"
    arguments = ["labels", "from-fluorescence", "--input", str(stain), "--output", str(staging)]
    if stainless([*arguments, *options]):
        raise SystemExit(f"labels from {stain} failed")
    (staging / f"{stain.stem}_labels.tif").replace(output / name)
    staging.rmdir()


def run(testbed: str, stage: str) -> int:
    budget, sweeps = SWEEPS[testbed]
    names = ((budget,) if budget else ()) if stage == "budget" else sweeps
    if not names:
        raise SystemExit(f"{testbed} has no {stage} config")
    for name in names:
        config = CONFIGS / name
        prepare(config)
        if stainless(["experiment", "sweep", "--config", str(config)]) != 0:
            return 1
    return 0


METRICS = ("csi@0.50", "iou", "map_csi")
"""Scores summarised: csi at IoU 0.5, foreground IoU ([Bonte2022]'s nuclei figure) and csi
averaged over IoU 0.5-0.95 (the mAP of [Bonte2022]'s cells figure)."""


def summary(csv_path: Path) -> list[dict[str, Any]]:
    """Mean ± std of :data:`METRICS` per (variant, K, init) over seeds, and each init's gain
    over the random init of the same variant and K."""
    groups: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for row in read_rows(csv_path):
        groups.setdefault((row["variant"], row["k"], row["init"]), []).append(row)
    entries = []
    for (variant, k, init), rows in groups.items():
        entry: dict[str, Any] = {
            "variant": variant,
            "k": k,
            "init": init,
            "seeds": [int(r["seed"]) for r in rows],
        }
        for metric in METRICS:
            values = [float(r[metric]) for r in rows]
            entry[metric] = round(float(np.mean(values)), 4)
            entry[f"{metric}_std"] = round(float(np.std(values)), 4)
        seconds = [float(r["training_seconds"]) for r in rows]
        entry["training_seconds"] = round(float(np.mean(seconds)), 1)
        entries.append(entry)
    by_key = {(e["variant"], e["k"], e["init"]): e for e in entries}
    for entry in entries:
        random = by_key.get((entry["variant"], entry["k"], "random"))
        if entry["init"] == "random" or random is None:
            continue
        for metric in METRICS:
            if random[metric] > 0:
                gain = entry[metric] / random[metric] - 1
                entry[f"{metric}_gain_over_random_%"] = round(100 * gain, 1)
    return entries


EARLIER_STEPS = {"baseline": 100, "long": 300}
"""Steps of the isl-neurons flows rows written before the budget probes (variants without the
step count in their name; 64² and 96² crops)."""


def steps_of(variant: str) -> int | None:
    """Training steps of a row's variant (``budget 600 steps`` or ``800 steps, scale 0.5`` →
    600 or 800), None when unknown."""
    words = variant.partition(", ")[0].split()
    if len(words) >= 2 and words[-1] == "steps" and words[-2].isdigit():
        return int(words[-2])
    return EARLIER_STEPS.get(variant)


def plot_budget_curves(curves: dict[str, list[tuple[int, float]]], path: Path) -> None:
    """csi@0.50 of the random init against training steps, one line per testbed and init."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.5, 3.6))
    for label, points in curves.items():
        points = sorted(points)
        axis.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    axis.axhline(0.5, linestyle=":", color="grey", linewidth=1)
    axis.set_xlabel("training steps (8 crops each)")
    axis.set_ylabel("csi@0.50 on the test images")
    axis.set_ylim(0, 1)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def report() -> int:
    started = time.perf_counter()
    record: dict[str, Any] = {"benchmark": "fewshot_transfer", "testbeds": {}}
    for testbed, (budget, sweeps) in SWEEPS.items():
        name = budget or sweeps[0]
        csv_path = (CONFIGS / yaml.safe_load((CONFIGS / name).read_text())["csv"]).resolve()
        if not csv_path.is_file():
            continue
        entries = summary(csv_path)
        record["testbeds"][testbed] = {
            "configs": [f"benchmarks/configs/{n}" for n in (budget, *sweeps) if n],
            "csv": str(csv_path.relative_to(HERE.parent)),
            "summary": entries,
        }
        print(f"## {testbed}")
        for e in entries:
            gains = [
                f"{metric} {e[f'{metric}_gain_over_random_%']:+.0f} %"
                for metric in METRICS
                if f"{metric}_gain_over_random_%" in e
            ]
            print(
                f"  {e['variant']:>18} K={e['k']:>3} {e['init']:>28}: csi "
                f"{e['csi@0.50']:.3f} ± {e['csi@0.50_std']:.3f}, IoU {e['iou']:.3f}, "
                f"mAP {e['map_csi']:.3f} (n={len(e['seeds'])})"
                + (f"; vs random: {', '.join(gains)}" if gains else "")
            )
    sweep_rows: list[dict[str, str]] = []
    curves: dict[str, list[tuple[int, float]]] = {}
    for testbed, (_, sweeps) in SWEEPS.items():
        if testbed not in record["testbeds"]:
            continue
        rows = read_rows(HERE.parent / record["testbeds"][testbed]["csv"])
        if sweeps:
            main_variant = next(iter(yaml.safe_load((CONFIGS / sweeps[0]).read_text())["variants"]))
            sweep_rows += [r for r in rows if r["variant"] == main_variant]
        largest = max(
            (r["k"] for r in rows), key=lambda k: (k == "all", int(k) if k.isdigit() else 0)
        )
        for row in rows:
            steps = steps_of(row["variant"])
            if steps is not None and row["k"] == largest and "random" in row["init"]:
                init = row["init"]
                if row["variant"] in EARLIER_STEPS:  # those rows' random init was the twin
                    init = "random twin, 1-map adapter"
                detail = row["variant"].partition(", ")[2]  # "scale 0.5", "full size"
                label = f"{testbed}, K = {largest}, {init}" + (f", {detail}" if detail else "")
                curves.setdefault(label, []).append((steps, float(row["csi@0.50"])))
    if sweep_rows:
        plot_sweep(sweep_rows, RESULTS / "fewshot_transfer.png", metrics=("csi@0.50", "iou"))
    plot_budget_curves(curves, RESULTS / "fewshot_transfer_budget.png")
    record["plots"] = [
        "benchmarks/results/fewshot_transfer.png",
        "benchmarks/results/fewshot_transfer_budget.png",
    ]
    record["budget_curves"] = curves
    write_record(RESULTS / "fewshot_transfer.json", record, started)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stage", choices=("budget", "sweep", "inspect", "report"))
    parser.add_argument("testbed", nargs="?", choices=tuple(SWEEPS))
    args = parser.parse_args()
    if args.stage == "report":
        return report()
    if args.testbed is None:
        parser.error(f"{args.stage} needs a testbed: {', '.join(SWEEPS)}")
    if args.stage == "inspect":
        config = CONFIGS / SWEEPS[args.testbed][1][0]
        prepare(config)
        output = RESULTS / f"fewshot_{args.testbed.replace('-', '_')}" / "inspect"
        record = inspect(config, output, RESULTS / f"fewshot_{args.testbed}_inspect.json")
        for image in record["images"]:
            print(image)
        return 0
    return run(args.testbed, args.stage)


if __name__ == "__main__":
    sys.exit(main())
