"""Pseudo-labels and ST++ reliability from a trained model folder (and its training snapshots)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from safetensors.torch import load_file

from stainless.inference.object_size import estimate_diameter, native_diameter
from stainless.inference.segmenter import SegmentationPredictor
from stainless.io import read_input_planes, write_image
from stainless.metrics.instance import instance_metrics
from stainless.models import load_segmentation_network
from stainless.training._snapshots import saved_snapshots


class PseudoLabeller:
    """Segments unlabelled images with the model in ``folder`` (at the size found in each image
    when the model was trained at one object size)."""

    def __init__(self, folder: Path, device: str = "auto") -> None:
        self.folder = folder
        self.device = device
        self.predictor = SegmentationPredictor.load(folder, device)

    def _planes(self, files: Sequence[Path]) -> NDArray[np.generic]:
        raw, metadata = read_input_planes(files)
        return self.predictor.input_planes(raw, metadata.channel_names, files[0])

    def _magnification(self, planes: NDArray[np.generic]) -> float:
        info = self.predictor.info
        if not info.one_diameter:
            return 1.0
        return native_diameter(info) / estimate_diameter(self.predictor, planes).diameter_px

    def write(self, files: Sequence[Path], path: Path) -> Path:
        """Segment the image of ``files`` and write its labels to ``path`` (atomically)."""
        planes = self._planes(files)
        labels = self.predictor.segment(planes, magnification=self._magnification(planes))
        dtype = np.uint16 if int(labels.max(initial=0)) <= np.iinfo(np.uint16).max else np.uint32
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_image(path, labels.astype(dtype), axes="YX", overwrite=True)

    def _snapshot_predictors(self, count: int) -> list[SegmentationPredictor]:
        predictors = []
        for snapshot in saved_snapshots(self.folder, count):
            network, info = load_segmentation_network(self.folder)
            network.load_state_dict(load_file(str(snapshot)))
            predictors.append(SegmentationPredictor(network, info, self.device))
        if not predictors:
            raise ValueError(
                f"model '{self.folder}' has no training snapshots to measure reliability with"
            )
        return predictors

    def agreement(self, files: Sequence[Path], count: int) -> float:
        """ST++ reliability of one image: the mean csi@0.50 of each earlier snapshot's labels
        against this model's (1 = every snapshot finds the same objects)."""
        if not hasattr(self, "_snapshots"):
            self._snapshots = self._snapshot_predictors(count)
        planes = self._planes(files)
        magnification = self._magnification(planes)
        final = self.predictor.segment(planes, magnification=magnification)
        scores = [
            instance_metrics(final, snapshot.segment(planes, magnification=magnification),
                             thresholds=[0.5])["csi@0.50"]
            for snapshot in self._snapshots
        ]  # fmt: skip
        return float(np.mean(scores))
