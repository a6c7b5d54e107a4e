"""Lightning modules for in silico labelling: U-Net regression and pix2pix.

Both validate the same way (PCC, SSIM and MAE per target, in network units, on fixed crops) and
share the optimiser recipe of [LightMyCells2024]: Adam (2e-4, betas 0.5/0.999), constant
learning rate, then a linear decay to 0 over the last epochs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from lightning.pytorch.callbacks import Callback

from stainless.config import TranslationConfig
from stainless.losses import (
    discriminator_loss,
    generator_adversarial_loss,
    masked_l1,
    masked_pcc_loss,
    range_weights,
)
from stainless.metrics import mae, pearson, ssim
from stainless.models import build_discriminators, build_translation_network
from stainless.training._validation import AveragedValidation
from stainless.training.schedule import BudgetCosineSchedule

WARMUP_STEPS = 50

Batch = dict[str, torch.Tensor]


class TranslationModule(AveragedValidation):
    """Shared parts: the network, modality routing, validation metrics, LR schedule.

    Parameters
    ----------
    config : TranslationConfig
    in_channels : int
        Input planes.
    target_names : list of str
        Output channel order.
    """

    def __init__(
        self, config: TranslationConfig, in_channels: int, target_names: list[str]
    ) -> None:
        super().__init__()
        self.config = config
        self.target_names = target_names
        self.network = build_translation_network(config.model, in_channels, len(target_names))
        self.dynamic = config.model.modality_strategy == "dynamic"

    def forward(self, x: torch.Tensor, modality: torch.Tensor | None = None) -> torch.Tensor:
        """(N, C, H, W) inputs → (N, T, H, W) predictions in network units."""
        return self.network(x, modality if self.dynamic else None)

    def _schedule(self, epoch: int) -> float:
        """Learning-rate factor: 1 for the constant epochs, then linear down to 0."""
        training = self.config.training
        constant = training.constant_epochs
        decay = training.epochs - constant
        if epoch < constant or decay == 0:
            return 1.0
        return max(0.0, 1.0 - (epoch - constant + 1) / (decay + 1))

    def _adam(self, parameters: Any) -> torch.optim.Adam:
        training = self.config.training
        return torch.optim.Adam(parameters, lr=training.learning_rate, betas=training.betas)

    def validation_step(self, batch: Batch, batch_index: int) -> None:
        prediction = self(batch["input"], batch["modality"]).float().cpu().numpy()
        target = batch["target"].float().cpu().numpy()
        present = batch["present"].cpu().numpy()
        for n, t in zip(*np.nonzero(present), strict=True):
            name = self.target_names[t]
            self.record(f"pcc_{name}", pearson(prediction[n, t], target[n, t]))
            self.record(f"ssim_{name}", ssim(prediction[n, t], target[n, t], data_range=2.0))
            self.record(f"mae_{name}", mae(prediction[n, t], target[n, t]))


class RegressionModule(TranslationModule):
    """U-Net regression with an L1 loss over present targets (the ISL / pytorch_fnet baseline),
    plus ``pcc_weight · (1 − PCC)`` when configured."""

    def training_step(self, batch: Batch, batch_index: int) -> torch.Tensor:
        prediction = self(batch["input"], batch["modality"]).float()
        loss = masked_l1(prediction, batch["target"], batch["present"])
        weight = self.config.training.pcc_weight
        if weight > 0:
            loss = loss + weight * masked_pcc_loss(prediction, batch["target"], batch["present"])
        self.log("loss", loss, prog_bar=True)
        return loss

    def configure_optimizers(self) -> Any:
        optimizer = self._adam(self.network.parameters())
        if self.config.training.schedule == "warmup_cosine":
            return optimizer  # the learning rate is set each step by configure_callbacks
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, self._schedule)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"},
        }

    def configure_callbacks(self) -> list[Callback]:
        """With ``schedule: warmup_cosine``: warm-up over :data:`WARMUP_STEPS` steps, then a
        cosine to 5 % of the peak that ends where the step or time budget ends."""
        training = self.config.training
        if training.schedule != "warmup_cosine":
            return []
        budget = training.max_minutes * 60 if training.max_minutes is not None else None
        return [BudgetCosineSchedule(training.learning_rate, 0.05, WARMUP_STEPS, budget)]


class Pix2PixModule(TranslationModule):
    """pix2pix with one decoder and one PatchGAN per target and the adaptive partial-label loss.

    Generator loss ``λ1 · mean(M ⊙ |G(x) − y|) + λ2 · cGAN``; both terms, and the discriminator's,
    are computed for present targets only.
    """

    def __init__(
        self, config: TranslationConfig, in_channels: int, target_names: list[str]
    ) -> None:
        super().__init__(config, in_channels, target_names)
        self.discriminators = build_discriminators(config.model, in_channels, len(target_names))
        self.automatic_optimization = False

    def _discriminate(self, target_index: int, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.discriminators[target_index](torch.cat([x, y], dim=1))

    def training_step(self, batch: Batch, batch_index: int) -> None:
        training = self.config.training
        optimizer_g, optimizer_d = self.optimizers()  # type: ignore[attr-defined]
        x, target, present = batch["input"], batch["target"], batch["present"]
        fake = self(x, batch["modality"])
        present_targets = [t for t in range(len(self.target_names)) if bool(present[:, t].any())]

        d_loss = fake.new_zeros(())
        for t in present_targets:
            rows = present[:, t]
            real_logits = self._discriminate(t, x[rows], target[rows, t : t + 1])
            fake_logits = self._discriminate(t, x[rows], fake[rows, t : t + 1].detach())
            d_loss = d_loss + discriminator_loss(real_logits.float(), fake_logits.float())
        if present_targets:
            d_loss = d_loss / len(present_targets)
            optimizer_d.zero_grad()
            self.manual_backward(d_loss)
            optimizer_d.step()

        weights = range_weights(target, batch["value_range"], training.outside_range_weight)
        l1 = masked_l1(fake.float(), target, present, weights)
        adversarial = fake.new_zeros(())
        for t in present_targets:
            rows = present[:, t]
            adversarial = adversarial + generator_adversarial_loss(
                self._discriminate(t, x[rows], fake[rows, t : t + 1]).float()
            )
        if present_targets:
            adversarial = adversarial / len(present_targets)
        g_loss = training.lambda_l1 * l1 + training.lambda_gan * adversarial
        optimizer_g.zero_grad()
        self.manual_backward(g_loss)
        optimizer_g.step()
        self.log_dict(
            {"loss": g_loss.detach(), "l1": l1.detach(), "d": d_loss.detach()}, prog_bar=True
        )

    def on_train_epoch_end(self) -> None:
        for scheduler in self.lr_schedulers():  # type: ignore[union-attr]
            scheduler.step()

    def configure_optimizers(self) -> Any:
        optimizer_g = self._adam(self.network.parameters())
        optimizer_d = self._adam(self.discriminators.parameters())
        schedulers = [
            torch.optim.lr_scheduler.LambdaLR(o, self._schedule) for o in (optimizer_g, optimizer_d)
        ]
        return [optimizer_g, optimizer_d], schedulers
