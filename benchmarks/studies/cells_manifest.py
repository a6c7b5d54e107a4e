"""Write ``benchmarks/configs/cells_manifest.csv``: the image list of the ``cells`` generalist.

Rows come from the existing per-set manifests (same relative paths): the Usiigaci phase-contrast
cells (MIT) and the fluorescence nuclei of dsb2018 and bbbc039 (CC0). Only sets whose licence
lets the trained weights ship are listed: dense-tissue (no licence) is held out for testing,
sephace-bf-dapi (non-commercial) is not used, and dsb2018-histology (RGB) is left out because the
two-channel convention would read its red and green as cytoplasm and nucleus. A ``weight`` per
row makes each set's share of the training crops independent of its image count
(``SHARES``); validation rows are the first ``VALIDATION_PER_SET`` of each set's ``val`` split, so
that thresholds are tuned on cells as much as on nuclei. The isl-neurons MAP2 + DAPI field (the
one two-channel set) is listed in ``cells.yaml`` itself, as it needs a region.

    python benchmarks/studies/cells_manifest.py
    python benchmarks/studies/cells_manifest.py --leave-out usiigaci   # ..._without_usiigaci.csv

``--leave-out SET`` writes the manifest without one set (its train and val rows) for the
leave-one-set-out runs at equal budget: the other sets keep their weights, so their shares of
the crops grow in proportion, and the run trains as many steps as the full one:

    stainless train segmentation --config benchmarks/configs/cells.yaml \
        --set data.manifest=cells_manifest_without_usiigaci.csv \
        --output benchmarks/results/cells/without_usiigaci
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SHARES = {"usiigaci": 0.35, "nuclei": 0.50}
"""Share of the training crops per source (the rest goes to the isl-neurons field)."""
VALIDATION_PER_SET = 6
NUCLEUS_SETS = ("dsb2018", "bbbc039")


def read(name: str) -> list[dict[str, str]]:
    with (CONFIGS / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def cells_rows() -> list[dict[str, str]]:
    """The manifest rows (name, input, labels, split, dataset, weight)."""
    usiigaci = [dict(row, dataset="usiigaci") for row in read("usiigaci_manifest.csv")]
    nuclei = [row for row in read("nuclei_manifest.csv") if row["dataset"] in NUCLEUS_SETS]
    nucleus_train = sum(row["split"] == "train" for row in nuclei)
    usiigaci_train = sum(row["split"] == "train" for row in usiigaci)
    total = nucleus_train / SHARES["nuclei"]  # crop mass when each nucleus image weighs 1
    usiigaci_weight = SHARES["usiigaci"] * total / usiigaci_train
    rows = []
    groups = [(usiigaci, usiigaci_weight)] + [
        ([r for r in nuclei if r["dataset"] == name], 1.0) for name in NUCLEUS_SETS
    ]
    for group, weight in groups:
        rows += [dict(row, weight=f"{weight:.3f}") for row in group if row["split"] == "train"]
        validation = [row for row in group if row["split"] == "val"][:VALIDATION_PER_SET]
        rows += [dict(row, weight="1") for row in validation]
    return [{key: row[key] for key in ("name", "input", "labels", "split", "dataset", "weight")}
            for row in rows]  # fmt: skip


def isl_weight() -> float:
    """The weight of the isl-neurons field: the crop share ``SHARES`` leaves over."""
    nucleus_train = sum(
        r["split"] == "train" and r["dataset"] in NUCLEUS_SETS for r in read("nuclei_manifest.csv")
    )
    return (1.0 - sum(SHARES.values())) * nucleus_train / SHARES["nuclei"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leave-out", choices=("usiigaci", *NUCLEUS_SETS))
    args = parser.parse_args()
    rows = [row for row in cells_rows() if row["dataset"] != args.leave_out]
    name = f"cells_manifest_without_{args.leave_out}" if args.leave_out else "cells_manifest"
    with (CONFIGS / f"{name}.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} rows; isl-neurons weight {isl_weight():.1f}")


if __name__ == "__main__":
    main()
