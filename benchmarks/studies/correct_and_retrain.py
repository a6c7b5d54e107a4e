"""Correct and retrain (issue 26, section 3): how many corrected objects take a built-in model
to its own test csi + 0.05 on a set, in the loop the napari *Fine-tune* widget runs.

The user is simulated as Cellpose 2.0's human-in-the-loop study did [Pachitariu2022]: on a
training image the current model segments (at the object size it finds), the user keeps every
predicted object that matches a true one at IoU >= 0.5, deletes each unmatched prediction and
paints each missed true object (the true mask). One *corrected object* is one deletion or one
painting; matched objects are accepted as they are, borders and all. The pair joins the
corrections folder (``stainless.training.corrections``) and the built-in is fine-tuned on the
whole folder for ``--minutes`` (``train segmentation --init``, the widget's call). The new model
segments the next training image, and so on. A second arm corrects only the ``--partial`` largest
errors of the first image (the user fixes the glaring ones and moves on); a third
(``--regions``) corrects every object in a central square of the first image holding about N
objects, and trains on that square alone (the user corrects a region wholly).

Scored on the set's held-out test images (never corrected, never trained on) at the size the
model finds, csi@0.50 mean over images, and at each image's true median object size (what
``--diameter`` gives: the model apart from its size search). The built-in's score is measured in
the same run.

Testbeds: ``usiigaci`` (the 5 Usiigaci phase-contrast test fields; training images from the 35
training fields, in a seeded order), ``dense-tissue`` (the 7 test strips; training images from
the 7 training portions; never trained on by ``cells``).

    python benchmarks/studies/correct_and_retrain.py --testbed dense-tissue --init cells \
        --rounds 2 --partial 30,100,300 --regions 100,300,600 --minutes 3 --seed 0
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from cells import DATA, segment, test_images  # benchmarks/studies/cells.py

from stainless.provenance import write_record

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
RESULTS = HERE / "results" / "correct_and_retrain"
GAIN = 0.05
"""The aim: the built-in's test csi + this."""


def simulate_correction(
    pred: np.ndarray, truth: np.ndarray, budget: int | None = None, iou: float = 0.5
) -> tuple[np.ndarray, dict[str, int]]:
    """A user's correction of ``pred``: delete unmatched predictions, paint missed true objects.

    Parameters
    ----------
    pred, truth : ndarray, shape (Y, X)
        The model's labels and the true labels.
    budget : int, optional
        Fix only this many errors, largest first; all when None.
    iou : float
        The match threshold: a prediction matched at this IoU is kept as it is.

    Returns
    -------
    corrected : ndarray, shape (Y, X)
        The corrected labels (uint32).
    counts : dict
        ``deleted``, ``painted``, ``kept`` (accepted predictions), ``corrected`` (deleted +
        painted) and ``objects`` (objects in the corrected labels).
    """
    from stainless.metrics._overlap import overlap_table
    from stainless.metrics.instance import matched_pairs

    table = overlap_table(truth, pred)
    pairs = matched_pairs(table, iou)
    kept = set(table.pred_ids[table.pair_pred[pairs]].tolist())
    found = set(table.true_ids[table.pair_true[pairs]].tolist())
    pred_ids, pred_areas = np.unique(pred[pred > 0], return_counts=True)
    true_ids, true_areas = np.unique(truth[truth > 0], return_counts=True)
    pred_objects = zip(pred_ids, pred_areas, strict=True)
    true_objects = zip(true_ids, true_areas, strict=True)
    errors = [("delete", int(i), int(a)) for i, a in pred_objects if i not in kept]
    errors += [("paint", int(i), int(a)) for i, a in true_objects if i not in found]
    errors.sort(key=lambda error: -error[2])
    chosen = errors if budget is None else errors[:budget]
    corrected = pred.astype(np.uint32)
    next_id = int(corrected.max()) + 1
    for action, object_id, _ in chosen:
        if action == "delete":
            corrected[pred == object_id] = 0
        else:
            corrected[truth == object_id] = next_id
            next_id += 1
    deleted = sum(action == "delete" for action, *_ in chosen)
    counts = {"deleted": deleted, "painted": len(chosen) - deleted, "kept": len(kept),
              "corrected": len(chosen), "objects": len(np.unique(corrected)) - 1}  # fmt: skip
    return corrected, counts


def training_pool(testbed: str, seed: int) -> list[tuple[str, np.ndarray, np.ndarray, Path]]:
    """(name, planes (C, Y, X), truth (Y, X), path) of the testbed's training images, in a
    seeded order."""
    from cells import _read

    from stainless.io import read_labels

    pairs: list[tuple[str, Path, Path]] = []
    if testbed == "usiigaci":
        root = DATA / "usiigaci-phase-cells"
        for line in (root / "splits.csv").read_text().splitlines()[1:]:
            name, split = line.split(",")[:2]
            if split == "train":
                pairs.append((name, root / "images" / f"{name}.png",
                              root / "labels" / f"{name}.png"))  # fmt: skip
    else:
        for image in sorted((DATA / "dense-tissue" / "train").glob("*_img.png")):
            name = image.name.removesuffix("_img.png")
            pairs.append((name, image, image.with_name(f"{name}_masks.png")))
    order = np.random.default_rng(seed).permutation(len(pairs))
    return [(pairs[i][0], _read(pairs[i][1]), read_labels(pairs[i][2]).array, pairs[i][1])
            for i in order]  # fmt: skip


def test_score(model: str, testbed: str, true_size: bool = False) -> dict[str, Any]:
    """csi@0.50 of ``model`` on the testbed's test images (mean), at the size it finds, or with
    ``true_size`` at each image's true median diameter (as ``--diameter`` gives it; keys end in
    ``_true_size``)."""
    from stainless.data.object_size import median_object_diameter
    from stainless.inference.segmenter import SegmentationPredictor
    from stainless.metrics.instance import instance_metrics

    predictor = SegmentationPredictor.load(model)
    scores, objects = [], []
    for _, _, raw, truth, source in test_images((testbed,)):
        size = median_object_diameter([truth]) if true_size else None
        labels, _, _ = segment(predictor, None, raw, source, size)
        scores.append(float(instance_metrics(truth, labels, thresholds=[0.5])["csi@0.50"]))
        objects.append(int(len(np.unique(labels)) - 1))
    ending = "_true_size" if true_size else ""
    return {f"csi@0.50{ending}": round(float(np.mean(scores)), 4),
            f"per_image{ending}": [round(s, 4) for s in scores],
            f"objects_found{ending}": objects}  # fmt: skip


def model_labels(model: str, raw: np.ndarray, source: Path) -> np.ndarray:
    """The labels ``model`` gives ``raw`` at the size it finds."""
    from stainless.inference.segmenter import SegmentationPredictor

    return segment(SegmentationPredictor.load(model), None, raw, source)[0]


def central_region(truth: np.ndarray, objects: int) -> tuple[slice, slice]:
    """A central square of ``truth`` (Y, X) that holds about ``objects`` true objects (by the
    image's mean object density), at most the whole image."""
    count = len(np.unique(truth)) - 1
    side = round(float(np.sqrt(objects * truth.size / max(count, 1))))
    side = min(side, *truth.shape)
    top, left = (truth.shape[0] - side) // 2, (truth.shape[1] - side) // 2
    return slice(top, top + side), slice(left, left + side)


def run_arm(
    arm: str, pool: list[Any], budgets: list[int | None], args: argparse.Namespace,
    done: dict[str, dict[str, Any]], log: Path, region_objects: int | None = None,
) -> None:  # fmt: skip
    """One arm of the loop: image k of ``pool`` corrected with ``budgets[k]`` errors fixed (in
    a central square of about ``region_objects`` objects only, which alone becomes the training
    pair, when given), then the init fine-tuned on every corrected image so far and scored;
    one record per round."""
    from stainless.training.corrections import add_corrected_pair, fine_tune_on_corrections

    folder = RESULTS / args.name / arm / "corrections"
    current = args.init
    total = 0
    for round_index, budget in enumerate(budgets, start=1):
        key = f"{arm}/{round_index}"
        output = RESULTS / args.name / arm / f"round{round_index}"
        if key in done and (output / "model.json").is_file():
            current, total = str(output), done[key]["corrected_total"]
            continue
        name, raw, truth, source = pool[round_index - 1]
        started = time.perf_counter()
        pred = model_labels(current, raw, source)
        if region_objects is not None:  # the user corrects one square of the image, wholly
            rows, columns = central_region(truth, region_objects)
            raw, pred, truth = raw[:, rows, columns], pred[rows, columns], truth[rows, columns]
        corrected, counts = simulate_correction(pred, truth, budget)
        total += counts["corrected"]
        add_corrected_pair(folder, name, raw, corrected)
        if output.exists():  # an interrupted round: train it again
            shutil.rmtree(output)
        fine_tune_on_corrections(folder, args.init, args.minutes, output, seed=args.seed)
        record = {"arm": arm, "round": round_index, "image": name, "budget": budget,
                  "region_px": list(truth.shape), **counts,
                  "corrected_total": total, **test_score(str(output), args.testbed),
                  "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
        done[key] = record
        with log.open("a") as stream:
            stream.write(json.dumps({"key": key, **record}) + "\n")
        print(json.dumps(record), flush=True)
        current = str(output)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--testbed", choices=("usiigaci", "dense-tissue"), default="usiigaci")
    parser.add_argument("--init", default="cells", help="the built-in (or folder) corrected")
    parser.add_argument("--rounds", type=int, default=3, help="images corrected in the full arm")
    parser.add_argument("--partial", default="10,25", help="error budgets on the first image")
    parser.add_argument(
        "--regions", default="", help="objects in a wholly corrected central square of image 1"
    )
    parser.add_argument("--minutes", type=float, default=3.0, help="fine-tuning budget a round")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", help="results/correct_and_retrain/<name>[.json]")
    args = parser.parse_args()
    args.name = args.name or f"{args.testbed}_{Path(args.init).name}_seed{args.seed}"
    started = time.perf_counter()
    log = RESULTS / args.name / "rounds.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    if log.is_file():  # resumable: finished rounds are kept
        done = {row["key"]: row for row in map(json.loads, log.read_text().splitlines())}
    if "init" not in done:
        done["init"] = {"arm": "init", "round": 0, "corrected_total": 0,
                        **test_score(args.init, args.testbed)}  # fmt: skip
        with log.open("a") as stream:
            stream.write(json.dumps({"key": "init", **done["init"]}) + "\n")
    print(json.dumps(done["init"]), flush=True)
    pool = training_pool(args.testbed, args.seed)
    run_arm("full", pool, [None] * args.rounds, args, done, log)
    for budget in (int(b) for b in args.partial.split(",") if b):
        run_arm(f"partial{budget}", pool, [budget], args, done, log)
    for objects in (int(n) for n in args.regions.split(",") if n):
        run_arm(f"region{objects}", pool, [None], args, done, log, region_objects=objects)
    for key, row in done.items():  # every model also at the true size (the size search apart)
        if "csi@0.50_true_size" not in row:
            model = args.init if key == "init" else str(RESULTS / args.name / key.replace(
                "/", "/round"))  # fmt: skip
            row.update(test_score(model, args.testbed, true_size=True))
            with log.open("a") as stream:
                stream.write(json.dumps({"key": key, **row}) + "\n")
    aim = done["init"]["csi@0.50"] + GAIN
    reached = [row for key, row in done.items() if key != "init" and row["csi@0.50"] >= aim]
    fewest = min(reached, key=lambda row: row["corrected_total"], default=None)
    record = {
        "benchmark": "correct_and_retrain",
        "protocol": __doc__.split("\n\n")[1].strip() if __doc__ else "",
        "testbed": args.testbed, "init": args.init, "minutes_per_round": args.minutes,
        "seed": args.seed, "aim_csi@0.50": round(aim, 4),
        "fewest_corrections_reaching_aim": fewest and fewest["corrected_total"],
        "rounds": list(done.values()),
        "reproduce_with": "python " + " ".join(sys.argv),
        "wall_s": round(time.perf_counter() - started, 1),
    }  # fmt: skip
    write_record(HERE / "results" / f"correct_and_retrain_{args.name}.json", record)
    print(json.dumps({k: v for k, v in record.items() if k != "rounds"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
