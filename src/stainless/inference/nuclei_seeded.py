"""Cells seeded by nuclei: for images with a nuclear stain beside the cytoplasm or membrane one.

The nuclei come from a nucleus model run on the nucleus channel alone; each becomes the seed of
a watershed over the cell model's foreground probability (computed from both channels), so that
every nucleus gets one cell and the cell boundaries follow the dips of that probability between
touching cells, whatever the stain looks like (a filled cytoplasm dye or a membrane ring). This
is CellProfiler's "propagate" secondary objects, with the network's probability in place of the
stain's intensity; :func:`stainless.postprocessing.cells_from_nuclei.cells_from_nuclei` is the
intensity-only version (``labels from-fluorescence --seeds``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi
from skimage.segmentation import watershed

from stainless.inference.object_size import own_size_magnification
from stainless.inference.segmenter import SegmentationPredictor
from stainless.postprocessing.labels import clean_labels
from stainless.tiling import TilingOptions

NUCLEUS_PLANE = 1
"""Index of the nucleus channel among a two-channel cell model's inputs (cytoplasm first)."""


def cells_from_seeds(
    probability: NDArray[np.floating],
    nuclei: NDArray[np.integer],
    mask_threshold: float = 0.5,
    min_size_px: int = 0,
) -> NDArray[np.int32]:
    """One cell per nucleus: a watershed of ``-probability`` seeded by ``nuclei``, inside the
    foreground (``probability > mask_threshold``, plus the nuclei themselves).

    Parameters
    ----------
    probability : (Y, X) float ndarray
        A cell model's foreground probability.
    nuclei : (Y, X) integer ndarray
        Nucleus instance labels (0 = background).
    mask_threshold : float
    min_size_px : int
        Cells smaller than this are dropped.

    Returns
    -------
    (Y, X) int32 ndarray
        Cell labels 1..N, one connected region each; every kept nucleus lies in its cell.
    """
    if probability.shape != nuclei.shape or probability.ndim != 2:
        raise ValueError(
            f"probability {probability.shape} and nuclei {nuclei.shape} must be (Y, X) images "
            "of one size"
        )
    foreground = (probability > mask_threshold) | (nuclei > 0)
    smooth = ndi.gaussian_filter(np.asarray(probability, dtype=np.float64), 1.0)
    cells = watershed(-smooth, markers=nuclei.astype(np.int32), mask=foreground)
    return clean_labels(np.asarray(cells, dtype=np.int32), min_size_px=min_size_px).astype(np.int32)


@dataclass
class NucleiSeededSegmenter:
    """A two-channel cell model and a nucleus model used together (``segment --nuclei-seeded``).

    Parameters
    ----------
    cells : SegmentationPredictor
        A cell model whose inputs are (cytoplasm, nucleus) and whose first map is a foreground
        probability (flows, distance or two-class semantic head).
    nuclei : SegmentationPredictor
        A one-channel nucleus model (e.g. the built-in ``nuclei``).
    """

    cells: SegmentationPredictor
    nuclei: SegmentationPredictor

    def __post_init__(self) -> None:
        if self.cells.info.in_channels != 2:
            raise ValueError(
                f"--nuclei-seeded needs a cell model with two inputs (cytoplasm, nucleus); this "
                f"one takes {self.cells.info.in_channels}"
            )
        if self.cells.info.head == "hover" or self.cells.info.classes > 2:
            raise ValueError("--nuclei-seeded needs a flows, distance or 2-class semantic model")

    def find_nuclei(
        self, nucleus: NDArray[np.generic], options: TilingOptions | None, source: Path
    ) -> NDArray[np.integer]:
        """Nucleus labels ``(Y, X)`` of the nucleus plane, at the size the nucleus model finds."""
        planes = self.nuclei.input_planes(nucleus[None], None, source)
        magnification, found = own_size_magnification(self.nuclei, planes, options)
        if found is not None:
            print(f"{source.name}: nucleus diameter {found:.1f} px (found automatically)",
                  file=sys.stderr)  # fmt: skip
        return self.nuclei.segment(planes, options, magnification=magnification)

    def segment(
        self,
        planes: NDArray[np.generic],
        source: Path,
        options: TilingOptions | None = None,
        thresholds: dict[str, float] | None = None,
        magnification: float = 1.0,
    ) -> NDArray[np.int32]:
        """Cell labels ``(Y, X)`` of the cell model's input planes ``(2, Y, X)`` (as
        :meth:`SegmentationPredictor.input_planes` picks them).

        Raises
        ------
        ValueError
            Naming ``source`` when its nucleus channel is absent or empty.
        """
        nucleus = planes[NUCLEUS_PLANE]
        if not np.any(nucleus != nucleus.flat[0]):
            raise ValueError(
                f"'{source}': --nuclei-seeded needs a nucleus channel, but this image has none "
                "(name it with --channels CYTOPLASM,NUCLEUS, e.g. 2,1)"
            )
        nuclei = self.find_nuclei(nucleus, options, source)
        maps = self.cells.predict_maps(planes, options, magnification=magnification)
        merged = {**self.cells.info.thresholds, **(thresholds or {})}
        return cells_from_seeds(
            maps[0],
            nuclei,
            mask_threshold=merged.get("mask_threshold", 0.5),
            min_size_px=int(merged.get("min_size_px", 0)),
        )
