"""Distance map → instance labels: stainless vs scikit-image's ``h_maxima`` + ``watershed``.

Labels: the expert masks of one dense-tissue image (``whole/CFL_Position13_CD3``, 2108 touching
cells) resized to 2048 x 2048 (nearest neighbour). Maps as a network predicts them: the
per-object normalised distance target, Gaussian-smoothed (σ = 2 px) with Gaussian noise
(σ = 0.02, seed 0), clipped at 0; the mask is the smoothed (σ = 1.5 px) foreground. Both
pipelines take the same maps and settings (mask > 0.5, h = 0.3) and end with the same clean-up
(hole filling, sequential ids); they differ in how markers and basins are found:

* reference: ``skimage.morphology.h_maxima`` (reconstruction by dilation) → ``ndi.label`` →
  ``skimage.segmentation.watershed`` inside the mask
  (``stainless.postprocessing.instances.labels_from_distance_skimage``);
* stainless: ``labels_from_distance`` (one sort, compiled union-find dynamics and flooding).

Both run in this process, best of N after a warm-up (which also compiles the numba kernels).
Agreement: ARI (all pixels) and csi@0.5 of stainless' labels against the reference's.

    python benchmarks/speed/bench_postprocess.py [--data ../shared/data] [--repeats 5]

Writes ``benchmarks/results/bench_postprocess.json``; the last line printed is
``speedup_vs_skimage: <ratio>``.
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import h_maxima
from skimage.segmentation import watershed

from stainless.data.targets import distance_target
from stainless.io import read_labels
from stainless.metrics import instance_metrics
from stainless.postprocessing.instances import labels_from_distance, labels_from_distance_skimage
from stainless.provenance import run_metadata, write_record

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_matching import MASKS, SIZE, best_time, resize_nearest

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
H = 0.3
MASK_THRESHOLD = 0.5


def predicted_maps(labels: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A network-like (distance, mask probability) pair from instance labels, float32."""
    rng = np.random.default_rng(seed)
    distance = ndi.gaussian_filter(distance_target(labels), 2.0)
    distance = np.clip(distance + rng.normal(0.0, 0.02, labels.shape), 0, None)
    mask = ndi.gaussian_filter((labels > 0).astype(np.float32), 1.5)
    return distance.astype(np.float32), mask.astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "bench_postprocess.json")
    args = parser.parse_args()
    started = time.perf_counter()
    masks_path = args.data / MASKS
    truth = resize_nearest(read_labels(masks_path).array, SIZE)
    distance, mask = predicted_maps(truth)
    settings = {"mask": mask, "mask_threshold": MASK_THRESHOLD, "h": H}

    reference_s, reference = best_time(
        lambda: labels_from_distance_skimage(distance, **settings), args.repeats
    )
    stainless_s, ours = best_time(lambda: labels_from_distance(distance, **settings), args.repeats)
    # the reference's two stages on their own, for the record
    foreground = mask > MASK_THRESHOLD
    h_maxima_s, maxima = best_time(
        lambda: h_maxima(np.where(foreground, distance.astype(np.float64), 0.0), H), 1
    )
    markers, n_markers = ndi.label(maxima)
    watershed_s, _ = best_time(lambda: watershed(-distance, markers, mask=foreground), 1)

    agreement = instance_metrics(reference, ours, thresholds=[0.5])
    speedup = reference_s / stainless_s
    print(f"labels: {masks_path} resized to {SIZE}x{SIZE} ({int(truth.max())} ids)")
    print(f"foreground: {foreground.mean():.1%} of pixels; h-maxima markers: {n_markers}")
    print(f"objects: reference {int(reference.max())}, stainless {int(ours.max())}")
    print(f"agreement: ARI {agreement['ari']:.6f}, csi@0.50 {agreement['csi@0.50']:.4f}")
    print(f"best of {args.repeats}:")
    print(f"  scikit-image pipeline     {reference_s * 1e3:8.1f} ms")
    print(
        f"    (h_maxima alone {h_maxima_s * 1e3:.1f} ms, "
        f"watershed alone {watershed_s * 1e3:.1f} ms)"
    )
    print(f"  stainless labels_from_distance {stainless_s * 1e3:8.1f} ms")
    result = {
        "benchmark": "bench_postprocess",
        "data": {"masks": str(masks_path), "size": [SIZE, SIZE], "n_true": int(truth.max())},
        "maps": "distance_target smoothed sigma 2 + N(0, 0.02) noise (seed 0); mask = smoothed fg",
        "settings": {"h": H, "mask_threshold": MASK_THRESHOLD},
        "n_markers": int(n_markers),
        "objects": {"reference": int(reference.max()), "stainless": int(ours.max())},
        "ari": agreement["ari"],
        "csi@0.50": agreement["csi@0.50"],
        "skimage_pipeline_s": reference_s,
        "skimage_h_maxima_s": h_maxima_s,
        "skimage_watershed_s": watershed_s,
        "stainless_s": stainless_s,
        "speedup_vs_skimage": speedup,
        "repeats": args.repeats,
        "wall_s": time.perf_counter() - started,
        "metadata": run_metadata(
            scikit_image_version=version("scikit-image"), numba_version=version("numba")
        ),
    }
    write_record(args.output, result)
    if agreement["ari"] < 0.99:
        print(f"ARI {agreement['ari']:.4f} < 0.99: results differ", file=sys.stderr)
        return 1
    print(f"speedup_vs_skimage: {speedup:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
