"""A translation model on inputs as users have them (issue 14): any plane count, other pixel
sizes, other cameras' intensities — DAPI (and every target's) PCC on the isl-neurons test strip.

The strip is columns 768–1023 of the one isl-neurons field (never trained on). Prediction: 256-px
tiles, 50 % overlap, Gaussian blending, the four quarter turns averaged (TTA), as in
``isl_neurons.py``. Sections:

* ``planes``   — all 13 planes, and each single plane z00 … z12 (a plane-count-free model only);
* ``intensity``— copies of the strip's planes with another tone curve (gamma 0.5 / 0.7 / 1.5 / 2.0
                 on the [0, 1]-scaled raw planes, then back to uint16) and a contrast stretch
                 (×3 about the median, clipped to uint16: the brightest halo pixels saturate);
* ``nuclei``   — nuclei segmented by the built-in ``nuclei-fluorescence`` (objects ≥ 60 px, as in
                 ``stainless demo``) from the predicted and from the real DAPI, scored (csi@0.50)
                 against nuclei derived from the real DAPI, on the whole strip and on the demo's
                 crop (rows 768–1023), from all 13 planes and from plane 6 alone;
* ``pixel_size``— the strip magnified by 0.5 / 0.75 / 1.5 / 2 (planes linear, truth linear),
                 predicted as is and with the pixel size given (the model resamples to its own);
                 PCC against the rescaled truth. A model that does not record its pixel size is
                 given a nominal 1 µm (the study needs only the ratio).

    python benchmarks/studies/isl_any_planes.py --model phase-to-dapi --name builtin
    python benchmarks/studies/isl_any_planes.py --compare builtin_v1 phase_to_dapi_v2

Writes ``benchmarks/results/isl_any_planes_<name>.json`` and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from stainless.data.resample import resample_planes
from stainless.inference.predictor import TilingOptions, TranslationPredictor
from stainless.io import read_image, read_input_planes
from stainless.metrics import pearson
from stainless.model_folder import resolve_model
from stainless.provenance import write_record

HERE = Path(__file__).resolve().parents[1]
DATA = HERE.parent.parent / "shared" / "data" / "isl-neurons"
TEST_COLUMNS = slice(768, 1024)
GAMMAS = (0.5, 0.7, 1.5, 2.0)
SCALES = (0.5, 0.75, 1.5, 2.0)
NOMINAL_PIXEL_UM = 1.0


def test_strip() -> tuple[NDArray[np.uint16], dict[str, NDArray[np.float64]]]:
    """The 13 raw phase planes ``(13, 1024, 256)`` and the targets of the test strip."""
    planes, _ = read_input_planes(sorted(DATA.glob("phase_z*.png")))
    truths = {
        name: read_image(DATA / f"{name}.png").array[:, TEST_COLUMNS].astype(np.float64)
        for name in ("dapi", "map2", "nfh")
    }
    return planes[:, :, TEST_COLUMNS], truths


def scores(
    predictor: TranslationPredictor,
    planes: NDArray[np.generic],
    truths: dict[str, NDArray[np.float64]],
    pixel_size_um: float | None = None,
) -> dict[str, float]:
    """PCC per target of the model's predictions of ``planes``."""
    options = TilingOptions(tile=256, overlap_fraction=0.5, batch_size=4, tta=True)
    predictions = predictor.predict(planes, "phase", options, pixel_size_um)
    return {
        name: round(pearson(predictions[name], truths[name]), 4)
        for name in predictor.info.target_names
        if name in truths
    }


def tone_curve(planes: NDArray[np.uint16], gamma: float) -> NDArray[np.uint16]:
    """``planes`` with the tone curve ``x^gamma`` on [0, 1] = [0, 65535]."""
    scaled = (planes.astype(np.float64) / 65535.0) ** gamma
    return np.round(scaled * 65535.0).astype(np.uint16)


def contrast_stretch(planes: NDArray[np.uint16], factor: float = 3.0) -> NDArray[np.uint16]:
    """``planes`` stretched ``factor``× about their median, clipped to uint16."""
    median = float(np.median(planes))
    stretched = (planes.astype(np.float64) - median) * factor + median
    return np.clip(np.round(stretched), 0, 65535).astype(np.uint16)


def planes_section(
    predictor: TranslationPredictor,
    planes: NDArray[np.uint16],
    truths: dict[str, NDArray[np.float64]],
) -> dict[str, dict[str, float]]:
    rows = {"all 13": scores(predictor, planes, truths)}
    if predictor.info.any_planes:
        for index in range(planes.shape[0]):
            rows[f"z{index:02d}"] = scores(predictor, planes[index : index + 1], truths)
    return rows


def intensity_section(
    predictor: TranslationPredictor,
    planes: NDArray[np.uint16],
    truths: dict[str, NDArray[np.float64]],
) -> dict[str, dict[str, float]]:
    copies = {"as acquired": planes, "contrast x3 (clipped)": contrast_stretch(planes)}
    copies.update({f"gamma {g}": tone_curve(planes, g) for g in GAMMAS})
    rows = {}
    for label, copy in copies.items():
        rows[f"{label}, all 13"] = scores(predictor, copy, truths)
        if predictor.info.any_planes:
            rows[f"{label}, z06"] = scores(predictor, copy[6:7], truths)
    return rows


def pixel_size_section(
    predictor: TranslationPredictor,
    planes: NDArray[np.uint16],
    truths: dict[str, NDArray[np.float64]],
) -> dict[str, dict[str, float]]:
    model_pixel = predictor.info.pixel_size_um or NOMINAL_PIXEL_UM
    aware = TranslationPredictor(
        predictor.network,
        dataclasses.replace(predictor.info, pixel_size_um=model_pixel),
        str(predictor.device.type),
    )
    rows = {}
    for scale in SCALES:
        magnified = resample_planes(planes.astype(np.float32), scale)
        magnified_truths = {
            name: resample_planes(truth[None].astype(np.float32), scale)[0].astype(np.float64)
            for name, truth in truths.items()
        }
        image_pixel = model_pixel / scale
        rows[f"x{scale}, as is"] = scores(predictor, magnified, magnified_truths)
        rows[f"x{scale}, --pixel-size {image_pixel:g}"] = scores(
            aware, magnified, magnified_truths, image_pixel
        )
    return rows


def nuclei_section(
    predictor: TranslationPredictor,
    planes: NDArray[np.uint16],
    truths: dict[str, NDArray[np.float64]],
) -> dict[str, dict[str, float]]:
    from stainless.demo import NEURON_MIN_SIZE_PX
    from stainless.inference.segmenter import SegmentationPredictor
    from stainless.metrics import instance_metrics
    from stainless.postprocessing.from_fluorescence import labels_from_fluorescence

    nuclei = SegmentationPredictor.load("nuclei-fluorescence")
    options = TilingOptions(tile=256, overlap_fraction=0.25)
    demo_options = TilingOptions(tile=256, overlap_fraction=0.25, tta=True)  # as stainless demo
    settings = {"min_size_px": float(NEURON_MIN_SIZE_PX)}
    real = truths["dapi"]
    regions = {"strip": slice(0, 1024), "demo crop": slice(768, 1024)}
    inputs = {"real DAPI": None, "predicted, all 13": planes}
    if predictor.info.any_planes:
        inputs["predicted, z06"] = planes[6:7]
    rows: dict[str, dict[str, float]] = {}
    for label, chosen in inputs.items():
        predicted = None if chosen is None else predictor.predict(chosen, "phase", demo_options)
        image = real if predicted is None else predicted["dapi"]
        for region, rows_slice in regions.items():
            truth = labels_from_fluorescence(real[rows_slice], split="distance_intensity")
            found = nuclei.segment(image[rows_slice][None], options, settings)
            scores = instance_metrics(truth, found)
            rows[f"{label}, {region}"] = {
                "n_true": float(scores["n_true"]),
                "n_pred": float(scores["n_pred"]),
                "csi@0.50": round(float(scores["csi@0.50"]), 3),
            }
    return rows


def markdown(section: dict[str, dict[str, float]], title: str) -> str:
    targets = list(next(iter(section.values())))
    names = [t if title == "nuclei" else f"PCC {t}" for t in targets]
    lines = [f"| {title} | " + " | ".join(names) + " |"]
    lines.append("|---" * (len(targets) + 1) + "|")
    for label, row in section.items():
        lines.append(f"| {label} | " + " | ".join(f"{row[t]:.3g}" for t in targets) + " |")
    return "\n".join(lines)


def comparison(names: list[str], target: str = "dapi") -> str:
    """One table of ``target`` PCC per row over the saved results of several models."""
    documents = {
        name: json.loads((HERE / "results" / f"isl_any_planes_{name}.json").read_text())
        for name in names
    }
    lines = ["| input | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for section in ("planes", "intensity", "pixel_size"):
        labels: list[str] = []
        for document in documents.values():
            for label in document["results"].get(section, {}):
                if label not in labels:
                    labels.append(label)
        for label in labels:
            cells = []
            for document in documents.values():
                row = document["results"].get(section, {}).get(label)
                cells.append(f"{row[target]:.3f}" if row else "—")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", help="translation model folder or name")
    parser.add_argument("--name", help="label of the results file")
    parser.add_argument(
        "--compare", nargs="+", metavar="NAME", help="print one DAPI table of saved results"
    )
    parser.add_argument(
        "--sections", nargs="+", default=["planes", "intensity", "nuclei", "pixel_size"]
    )
    args = parser.parse_args()
    if args.compare:
        print(comparison(args.compare))
        return 0
    if not (args.model and args.name):
        parser.error("give --model and --name (or --compare)")
    started = time.perf_counter()
    predictor = TranslationPredictor.load(resolve_model(args.model))
    planes, truths = test_strip()
    sections = {
        "planes": planes_section,
        "intensity": intensity_section,
        "nuclei": nuclei_section,
        "pixel_size": pixel_size_section,
    }
    results: dict[str, Any] = {}
    for name in args.sections:
        results[name] = sections[name](predictor, planes, truths)
        print(markdown(results[name], name), flush=True)
    document = {
        "benchmark": "isl_any_planes",
        "model": str(args.model),
        "model_info": dataclasses.asdict(predictor.info),
        "data": "../shared/data/isl-neurons, test strip = columns 768-1023",
        "prediction": "256-px tiles, 50% overlap, Gaussian blending, TTA (4 quarter turns)",
        "results": results,
        "command": " ".join(sys.argv),
    }
    write_record(HERE / "results" / f"isl_any_planes_{args.name}.json", document, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
