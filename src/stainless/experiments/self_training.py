"""Self-training on unlabelled images: ST++ (Yang et al., CVPR 2022, as used by [Xue2022]) and
plain ST, as one resumable pipeline with a line per stage.

ST++ (``self_training.method: st++``):

1. supervised training on the labelled images, keeping ``checkpoints - 1`` snapshots along
   the way (``self-training/1-supervised``);
2. reliability of each unlabelled image: the mean instance csi@0.50 of the earlier snapshots'
   labels against the final model's ([Xue2022] uses F1, a monotone function of csi per image);
   written to ``self-training/reliability.json``;
3. pseudo-labels of the most reliable ``reliable_fraction`` with the supervised model
   (``self-training/pseudo-labels/round-1``);
4. training on labelled + those pseudo-labelled images, the strong augmentation on the
   pseudo-labelled only (``self-training/2-reliable``);
5. pseudo-labels of the rest with that model (``pseudo-labels/round-2``);
6. training on everything: the final model, written to ``output``.

ST (``method: st``): step 1, pseudo-labels of every unlabelled image, one training on
everything. Pseudo-labels are ordinary label images (``<name>_labels.tif``; ``stainless overlay``
shows them). A model trained at one object size (``data.object_diameter``) labels each image at
the size it finds in it. Every stage's numbers go to the final model's ``meta.json``
(``self_training``). Re-running with ``--resume`` keeps the finished stages (when the config is
the one they were made with) and resumes an interrupted training.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

from stainless import model_folder
from stainless.config import SegmentationConfig, SegmentationSampleConfig
from stainless.config.loading import dump_config
from stainless.data.segmentation import training_and_validation_samples
from stainless.data.unlabelled import check_unlabelled, find_unlabelled
from stainless.experiments._pseudo_labels import PseudoLabeller
from stainless.io import write_text_atomically
from stainless.io.collections import image_stem
from stainless.io.json_text import json_text
from stainless.training._claim import OutputClaim
from stainless.training._fit import Progress
from stainless.training.segmentation import train_segmentation

STAGES = "self-training"
PLAN = "plan.json"


def _say(text: str) -> None:
    print(f"self-training: {text}", file=sys.stderr, flush=True)


def _names(images: list[list[Path]]) -> list[str]:
    """A distinct name per unlabelled image (its stem, numbered when two share one)."""
    names: list[str] = []
    for files in images:
        stem = image_stem(files[0])
        names.append(stem if stem not in names else f"{stem}-{len(names)}")
    return names


def _plan(config: SegmentationConfig, images: list[list[Path]]) -> dict[str, Any]:
    text = dump_config(config) + json.dumps([[str(f) for f in files] for files in images])
    return {"config_sha256": hashlib.sha256(text.encode()).hexdigest(), "images": len(images)}


def _check_plan(root: Path, plan: dict[str, Any], resume: bool, overwrite: bool) -> None:
    """Refuse to mix stages of another config, or to overwrite stages without being asked."""
    record = root / PLAN
    if not record.is_file():
        return
    if overwrite:
        for entry in root.iterdir():
            if entry.name != PLAN and not entry.name.startswith("."):
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        return
    if not resume:
        raise FileExistsError(
            f"'{root}' holds the stages of an earlier self-training; pass --resume to continue "
            "it or --overwrite to start again"
        )
    if json.loads(record.read_text()) != plan:
        raise ValueError(
            f"'{root}' holds the stages of a self-training with another config or other "
            "unlabelled images; pass --overwrite to start again or give another --output"
        )


def self_train(
    config: SegmentationConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool | Progress = True,
) -> Path:
    """Run the self-training of ``config`` (``data.unlabelled`` set) and write the final model
    folder at ``config.output``; returns it.

    Raises
    ------
    ValueError, OSError
        Bad unlabelled images (none, label images, another plane count), before any training.
    FileExistsError
        Stages or a model already there (without ``resume`` / ``overwrite``), or another
        self-training writing them.
    """
    if config.data.unlabelled is None:
        raise ValueError("self-training needs data.unlabelled")
    images = find_unlabelled(config.data.unlabelled)[: config.self_training.max_unlabelled]
    labelled, validation = training_and_validation_samples(config.data)
    check_unlabelled(images, labelled[0].inputs,
                     [s.labels for s in labelled + validation], config.data.colour)  # fmt: skip
    root = config.output / STAGES
    with OutputClaim(root):
        plan = _plan(config, images)
        _check_plan(root, plan, resume, overwrite)
        # only a self-training begun earlier is resumed (never another training's checkpoint)
        begun = (root / PLAN).is_file() and not overwrite
        if model_folder.is_model_folder(config.output) and not (overwrite or (resume and begun)):
            raise FileExistsError(
                f"model folder '{config.output}' exists; pass --overwrite to replace it"
            )
        write_text_atomically(root / PLAN, json_text(plan))
        run = _Run(config, root, images, progress, resume and begun, overwrite)
        return run.st_plus_plus() if config.self_training.method == "st++" else run.st()


class _Run:
    """The stages of one self-training run (see the module docstring)."""

    def __init__(
        self,
        config: SegmentationConfig,
        root: Path,
        images: list[list[Path]],
        progress: bool | Progress,
        resume: bool,
        overwrite: bool,
    ) -> None:
        self.config = config
        self.root = root
        self.images = images
        self.names = _names(images)
        self.progress = progress
        self.resume = resume
        self.overwrite = overwrite
        self.record: dict[str, Any] = {"method": config.self_training.method, "stages": []}

    def _train(
        self, label: str, folder: Path, pseudo: list[SegmentationSampleConfig],
        init: Path | None, snapshots: int = 0,
    ) -> Path:  # fmt: skip
        final = folder == self.config.output
        finished = model_folder.is_model_folder(folder) and (
            not final or (self.resume and "self_training" in model_folder.read_meta(folder))
        )
        if finished:
            _say(f"{label}: finished earlier, kept ({folder})")
        else:
            _say(f"{label}: training on {len(pseudo)} pseudo-labelled + the labelled images")
            data = self.config.data.model_copy(
                update={"samples": [*self.config.data.samples, *pseudo], "unlabelled": None}
            )
            model = self.config.model
            if init is not None and self.config.self_training.warm_start:
                model = model.model_copy(update={"encoder_weights": init})
            stage = self.config.model_copy(update={"output": folder, "data": data, "model": model})
            resumable = model_folder.last_checkpoint(folder).is_file() and self.resume
            train_segmentation(stage, resume=resumable, overwrite=final and self.overwrite,
                               progress=self.progress, snapshots=snapshots)  # fmt: skip
        meta = model_folder.read_meta(folder)
        self.record["stages"].append({
            "stage": label, "folder": str(folder), "pseudo_labelled": len(pseudo),
            "training_seconds": meta.get("training_seconds"), "batches": meta.get("batches"),
            "tuning": meta.get("tuning"),
        })  # fmt: skip
        return folder

    def _pseudo(self, model: Path, which: list[int], round_name: str
                ) -> list[SegmentationSampleConfig]:  # fmt: skip
        """Pseudo-label images ``which`` with ``model`` (kept when written earlier)."""
        folder = self.root / "pseudo-labels" / round_name
        labeller = PseudoLabeller(model)
        samples = []
        for number, index in enumerate(which):
            path = folder / f"{self.names[index]}_labels.tif"
            if not path.is_file():
                labeller.write(self.images[index], path)
            samples.append(SegmentationSampleConfig(
                name=f"pseudo:{self.names[index]}", inputs=self.images[index], labels=path,
                pseudo=True,
            ))  # fmt: skip
            if (number + 1) % 25 == 0 or number + 1 == len(which):
                _say(f"pseudo-labels {round_name}: {number + 1}/{len(which)}")
        self.record[f"pseudo_labels_{round_name}"] = {"model": str(model), "images": len(which)}
        return samples

    def _finish(self, folder: Path) -> Path:
        model_folder.update_model_folder(folder, meta={"self_training": self.record})
        _say(f"final model written to {folder}")
        return folder

    def st(self) -> Path:
        """Supervised, pseudo-labels of every image, one training on everything."""
        supervised = self._train("1/2 supervised", self.root / "1-supervised", [], None)
        everything = self._pseudo(supervised, list(range(len(self.images))), "round-1")
        return self._finish(self._train("2/2 all", self.config.output, everything, supervised))

    def st_plus_plus(self) -> Path:
        """ST++: supervised with snapshots, reliability, reliable half, the rest, everything."""
        count = self.config.self_training.checkpoints
        supervised = self._train("1/3 supervised", self.root / "1-supervised", [], None, count)
        reliability = self._reliability(supervised, count)
        order = list(np.argsort([-r for r in reliability], kind="stable"))
        cut = max(1, round(self.config.self_training.reliable_fraction * len(order)))
        reliable, rest = [int(i) for i in order[:cut]], [int(i) for i in order[cut:]]
        first = self._pseudo(supervised, reliable, "round-1")
        retrained = self._train("2/3 reliable", self.root / "2-reliable", first, supervised)
        second = self._pseudo(retrained, rest, "round-2")
        final = self._train("3/3 all", self.config.output, first + second, retrained)
        return self._finish(final)

    def _reliability(self, supervised: Path, count: int) -> list[float]:
        """Each image's mean csi@0.50 of the snapshots' labels against the final model's."""
        record = self.root / "reliability.json"
        if record.is_file():
            saved = json.loads(record.read_text())
            if saved.get("images") == self.names:
                _say("reliability: computed earlier, kept")
                self.record["reliability"] = saved
                return [float(v) for v in saved["reliability"]]
        labeller = PseudoLabeller(supervised)
        scores = []
        for number, files in enumerate(self.images):
            scores.append(labeller.agreement(files, count))
            if (number + 1) % 25 == 0 or number + 1 == len(self.images):
                _say(f"reliability: {number + 1}/{len(self.images)} images")
        saved = {"images": self.names, "reliability": [round(s, 4) for s in scores],
                 "mean": round(float(np.mean(scores)), 4)}  # fmt: skip
        write_text_atomically(record, json_text(saved))
        self.record["reliability"] = saved
        return scores
