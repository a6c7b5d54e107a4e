"""Sweep plots: a metric against the number of training images K."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stainless.io import write_atomically


def _k_order(k: str) -> tuple[bool, int]:
    return (k == "all", int(k) if k != "all" else 0)


def plot_sweep(
    rows: Sequence[dict[str, str]],
    path: Path,
    metrics: Sequence[str] = ("iou", "csi@0.50"),
    references: Mapping[str, float] | None = None,
) -> Path:
    """One panel per (task, metric), one line per (init, variant): mean ± std over seeds
    against K. ``references`` draws labelled horizontal lines (a peer, a paper's number) on
    every panel. Written atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(r["task"] for r in rows))
    ks = sorted({r["k"] for r in rows}, key=_k_order)
    lines = list(dict.fromkeys((r["init"], r.get("variant", "baseline")) for r in rows))
    figure, axes = plt.subplots(
        len(tasks), len(metrics), figsize=(4.8 * len(metrics), 3.6 * len(tasks)), squeeze=False
    )
    for row_axes, task in zip(axes, tasks, strict=True):
        for axis, metric in zip(row_axes, metrics, strict=True):
            for init, variant in lines:
                means, stds = [], []
                for k in ks:
                    values = [
                        float(r[metric])
                        for r in rows
                        if (r["task"], r["init"], r.get("variant", "baseline"), r["k"])
                        == (task, init, variant, k)
                        and r.get(metric, "") != ""
                    ]
                    means.append(np.mean(values) if values else np.nan)
                    stds.append(np.std(values) if values else np.nan)
                label = init if len({v for _, v in lines}) == 1 else f"{init}, {variant}"
                axis.errorbar(range(len(ks)), means, yerr=stds, marker="o", capsize=3, label=label)
            for name, value in (references or {}).items():
                axis.axhline(value, linestyle=":", linewidth=1, color="grey")
                axis.annotate(name, (0, value), fontsize=7, va="bottom")
            _decorate(axis, ks, metric, task)
    figure.tight_layout()
    try:
        write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=120, format="png"))
    finally:
        plt.close(figure)
    return path


def _decorate(axis: Any, ks: list[str], metric: str, task: str) -> None:
    axis.set_xticks(range(len(ks)), [str(k) for k in ks])
    axis.set_xlabel("training images K")
    axis.set_ylabel(metric)
    axis.set_title(task)
    axis.set_ylim(0, 1)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7)
