"""Why a few-shot run finds no object: one kept model's maps on the sweep's test images.

A sweep row of csi 0 says nothing about where the run failed: the network may see no object
(the foreground probability stays low on the test images), or see them and lose them in the
decoding (the flow-consistency check, ``flow_threshold``, drops objects whose flows are not
learnt). This trains the sweep's first variant with random weights on all K samples (seed 0),
keeps the model, and writes per test image: the mean foreground probability inside and outside
the true objects, how many true objects the network sees (mean probability ≥ 0.5 inside), and
the objects and csi@0.50 with the model's own thresholds and with the flow check off; plus the
probability map as [Han2024]'s evaluation overlay (true outlines red, objects found with the
flow check off yellow / green) as a PNG. Used by ``fewshot_transfer.py inspect``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi

from stainless.experiments.sweep import load_sweep_config, load_test_images, run_config
from stainless.inference.segmenter import SegmentationPredictor
from stainless.metrics.instance import instance_metrics
from stainless.model_folder import is_model_folder
from stainless.provenance import write_record
from stainless.tiling import TilingOptions
from stainless.training.segmentation import train_segmentation
from stainless.viz.overlay import render_overlay, save_overlay_png

DECODINGS: dict[str, dict[str, float]] = {
    "own_thresholds": {},
    "flow_check_off": {"flow_threshold": 0.0},
}
"""Threshold overrides the maps are decoded with: the model's own, and without the flow check
(``flow_check_off``'s objects are drawn in the overlay)."""


def seen_objects(probability: NDArray[np.floating], truth: NDArray[np.integer]) -> int:
    """How many true objects of ``truth`` ``(Y, X)`` have a mean foreground ``probability``
    ``(Y, X)`` of at least 0.5 inside."""
    ids = np.unique(truth[truth > 0])
    return int((np.asarray(ndi.mean(probability, truth, ids)) >= 0.5).sum()) if ids.size else 0


def inspect(config: Path, output: Path, record_path: Path) -> dict[str, Any]:
    """Train (or reuse, in ``output / "model"``) the random-init run on all samples of the
    sweep ``config``'s first task and variant, score its maps on the test images and write
    ``record_path`` (JSON) and one overlay PNG per test image beside it."""
    started = time.perf_counter()
    sweep = load_sweep_config(config)
    task, variant = next(iter(sweep.tasks)), next(iter(sweep.variants))
    model = output / "model"
    if not is_model_folder(model):
        train_segmentation(
            run_config(sweep, task, variant, "all", "random", 0, model),
            overwrite=True,
            progress="lines",
        )
    predictor = SegmentationPredictor.load(model, device="cpu")
    options = TilingOptions(tile=sweep.tile, overlap_fraction=sweep.overlap_fraction)
    images = []
    for name, planes, truth in load_test_images(sweep):
        maps = predictor.predict_maps(predictor.input_planes(planes, None, Path(name)), options)
        probability, inside = maps[0], truth > 0
        entry: dict[str, Any] = {
            "image": name,
            "true_objects": int(np.unique(truth[inside]).size),
            "objects_seen": seen_objects(probability, truth),
            "mean_probability_inside": round(float(probability[inside].mean()), 3),
            "mean_probability_outside": round(float(probability[~inside].mean()), 3),
        }
        objects = {label: predictor.labels(maps, override) for label, override in DECODINGS.items()}
        for label, predicted in objects.items():
            scores = instance_metrics(truth, predicted, thresholds=(0.5,))
            entry[label] = {
                "objects": int(np.unique(predicted[predicted > 0]).size),
                "csi@0.50": round(float(scores["csi@0.50"]), 3),
            }
        overlay = record_path.with_name(f"{record_path.stem}_{Path(name).stem}.png")
        rgb, counts = render_overlay(probability, objects["flow_check_off"], truth)
        save_overlay_png(rgb, counts, overlay, "foreground probability (grey), flow check off")
        entry["overlay"] = str(overlay.name)
        images.append(entry)
    record = {
        "benchmark": "fewshot_inspect",
        "sweep": str(config.name),
        "run": {"task": task, "variant": variant, "k": "all", "init": "random", "seed": 0},
        "model": str(model),
        "thresholds": predictor.info.thresholds,
        "images": images,
    }
    write_record(record_path, record, started)
    return record
