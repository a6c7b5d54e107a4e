"""One picture of a nucleus model on every kind of nucleus image it may meet (issue 24): one
held-out image of each set of ``benchmarks/configs/nuclei_manifest.csv`` (the first of its split),
the model's nuclei (at the size it finds itself) in yellow, the ground truth in red, csi@0.50 in
each title (and the diameter it found).

    python benchmarks/studies/nuclei_gallery.py --model nuclei --output docs/nuclei_gallery.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nuclei_generalist import manifest_rows

SETS = (
    ("dsb2018", "test", "DSB2018 fluorescence"),
    ("bbbc039", "test", "BBBC039 Hoechst"),
    ("dsb2018-stage1-test", "stage1-fluorescence", "stage-1 test, fluorescence"),
    ("dsb2018-histology", "test", "DSB2018 H&E"),
    ("dsb2018-stage1-test", "stage1-histology", "stage-1 test, colour"),
    ("sephace-bf-dapi", "brightfield", "bright-field (SEPHACE)"),
)
NUCLEI_ACROSS = 10
"""Each panel shows the central square of its image about this many true nuclei across."""


def _display(raw: np.ndarray) -> np.ndarray:
    """``(C, Y, X)`` planes → ``(Y, X, 3)`` uint8: colour kept, grey stretched."""
    from stainless.viz.outlines import grey_to_rgb

    if raw.shape[0] >= 3:
        return np.moveaxis(raw[:3], 0, -1).astype(np.uint8)
    return grey_to_rgb(raw[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="nuclei")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from stainless.data.object_size import median_object_diameter
    from stainless.inference.object_size import estimate_diameter, native_diameter
    from stainless.inference.segmenter import SegmentationPredictor
    from stainless.io import read_input_planes, read_labels
    from stainless.io.atomic import write_atomically
    from stainless.metrics.instance import instance_metrics
    from stainless.viz.outlines import draw_outlines

    predictor = SegmentationPredictor.load(args.model, "cpu")
    figure, axes = plt.subplots(1, len(SETS), figsize=(2.6 * len(SETS), 3.0), dpi=110)
    for axis, (dataset, split, title) in zip(axes, SETS, strict=True):
        row = manifest_rows([split], [dataset])[0]
        path = Path(row["input"])
        raw, metadata = read_input_planes([path])
        planes = predictor.input_planes(raw, metadata.channel_names, path)
        found = estimate_diameter(predictor, planes).diameter_px
        labels = predictor.segment(planes, magnification=native_diameter(predictor.info) / found)
        truth = read_labels(Path(row["labels"])).array
        csi = instance_metrics(truth, labels, thresholds=[0.5])["csi@0.50"]
        picture = draw_outlines(draw_outlines(_display(raw), truth, (255, 60, 60)),
                                labels, (255, 230, 0))  # fmt: skip
        height, width = picture.shape[:2]
        side = int(np.clip(NUCLEI_ACROSS * (median_object_diameter([truth]) or 20), 160, 800))
        top, left = max((height - side) // 2, 0), max((width - side) // 2, 0)
        axis.imshow(picture[top : top + side, left : left + side], interpolation="nearest")
        axis.set_title(f"{title}\ncsi@0.50 {csi:.2f}, {found:.0f} px", fontsize=8)
        axis.set_axis_off()
    figure.suptitle(f"{args.model}: found (yellow), ground truth (red)", fontsize=9)
    figure.tight_layout(rect=(0, 0, 1, 0.93))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_atomically(args.output, lambda temporary: figure.savefig(temporary, format="png"))
    finally:
        plt.close(figure)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
