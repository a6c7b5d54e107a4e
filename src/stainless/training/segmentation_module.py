"""Lightning module for segmentation: the head's loss, validation, freezing schedule, optimiser."""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.callbacks import Callback
from torch import nn

from stainless.config import SegmentationConfig
from stainless.losses import HeadLossSettings
from stainless.models.heads import head_of
from stainless.training._validation import AveragedValidation
from stainless.training.schedule import BudgetCosineSchedule

Batch = dict[str, torch.Tensor]


class SegmentationModule(AveragedValidation):
    """Trains a segmentation network (backbone + head, or a translation body + adapter).

    Losses: semantic → CE / Dice / Jaccard / CE + Dice; distance → MSE(distance) + α ·
    BCE(mask), α = the first batch's MSE / BCE unless configured ([Bonte2022], eq. 2;
    kept in the checkpoint so a resumed run uses the same α); hover → HoVer-Net loss.

    Parameters
    ----------
    config : SegmentationConfig
    network : nn.Module
    frozen_body : nn.Module, optional
        Parameters kept frozen for ``training.freeze_epochs`` epochs (the translation body);
        ignored when the rest of the network has no weights (the shifted-sigmoid head).
    class_weights : (K,) tensor, optional
    """

    shown_in_progress = ("dice_fg",)
    distance_alpha: torch.Tensor
    class_weights: torch.Tensor

    def __init__(
        self,
        config: SegmentationConfig,
        network: nn.Module,
        frozen_body: nn.Module | None = None,
        class_weights: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.network = network
        body_ids = {id(p) for p in frozen_body.parameters()} if frozen_body is not None else set()
        # a shifted-sigmoid head has no weights of its own: freezing the body would train nothing
        has_head_weights = any(id(p) not in body_ids for p in network.parameters())
        self.frozen_body = frozen_body if has_head_weights else None
        self.head = head_of(config.model.head)
        alpha = config.training.distance_alpha
        self.register_buffer(
            "distance_alpha", torch.tensor(float("nan") if alpha is None else alpha)
        )
        self.register_buffer(
            "class_weights", class_weights if class_weights is not None else torch.ones(0)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) normalised planes → (N, head maps, H, W) raw maps."""
        return self.network(x)

    def loss(self, maps: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The head's loss of raw ``maps`` against ``target`` (see the class docstring)."""
        settings = HeadLossSettings(
            semantic_loss=self.config.training.semantic_loss,
            class_weights=self.class_weights if self.class_weights.numel() else None,
            distance_alpha=self.distance_alpha,
        )
        return self.head.loss(maps.float(), target, settings)

    def training_step(self, batch: Batch, batch_index: int) -> torch.Tensor:
        loss = self.loss(self(batch["input"]), batch["target"])
        self.log("loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: Batch, batch_index: int) -> None:
        maps = self(batch["input"]).float()
        target = batch["target"]
        self.record("loss", float(self.loss(maps, target)))
        predicted, truth = self.head.foreground(maps), self.head.target_foreground(target)
        overlap = float((predicted & truth).sum())
        total = float(predicted.sum() + truth.sum())
        self.record("dice_fg", 2 * overlap / total if total else 1.0)

    def on_train_epoch_start(self) -> None:
        if self.frozen_body is not None:
            trainable = self.current_epoch >= self.config.training.freeze_epochs
            for parameter in self.frozen_body.parameters():
                parameter.requires_grad_(trainable)

    def configure_optimizers(self) -> Any:
        """Adam or AdamW; the learning rate is set each step by :meth:`configure_callbacks`."""
        training = self.config.training
        optimizer_class = torch.optim.AdamW if training.optimizer == "adamw" else torch.optim.Adam
        return optimizer_class(
            self.network.parameters(), lr=training.learning_rate, weight_decay=training.weight_decay
        )

    def configure_callbacks(self) -> list[Callback]:
        """Warm-up, then a cosine that ends where the run's step or time budget ends."""
        training = self.config.training
        budget = training.max_minutes * 60 if training.max_minutes is not None else None
        schedule = BudgetCosineSchedule(
            training.learning_rate, training.final_lr_fraction, training.warmup_steps, budget
        )
        return [schedule]
