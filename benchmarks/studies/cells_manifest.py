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
    python benchmarks/studies/cells_manifest.py --leave-out nuclei     # without dsb2018 + bbbc039

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


def cells_rows(usiigaci_share: float = SHARES["usiigaci"]) -> list[dict[str, str]]:
    """The manifest rows (name, input, labels, split, dataset, weight).

    ``usiigaci_share`` other than the default grows or shrinks the Usiigaci crop mass only: the
    nucleus images (weight 1 each) and the isl-neurons field (its weight in ``cells.yaml``) keep
    theirs, so the other shares shrink or grow in proportion.
    """
    usiigaci = [dict(row, dataset="usiigaci") for row in read("usiigaci_manifest.csv")]
    nuclei = [row for row in read("nuclei_manifest.csv") if row["dataset"] in NUCLEUS_SETS]
    nucleus_train = sum(row["split"] == "train" for row in nuclei)
    usiigaci_train = sum(row["split"] == "train" for row in usiigaci)
    others = nucleus_train + isl_weight()  # crop mass of everything but Usiigaci
    usiigaci_weight = usiigaci_share / (1.0 - usiigaci_share) * others / usiigaci_train
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
    parser.add_argument("--leave-out", choices=("usiigaci", "nuclei", *NUCLEUS_SETS))
    parser.add_argument(
        "--usiigaci-share", type=float, default=SHARES["usiigaci"],
        help="share of the crops from Usiigaci (the others keep their weights); writes "
        "cells_manifest_usiigaci<PERCENT>.csv when not the default",
    )  # fmt: skip
    args = parser.parse_args()
    if not 0.0 < args.usiigaci_share < 1.0:
        parser.error(f"--usiigaci-share must lie in (0, 1), got {args.usiigaci_share}")
    left_out = NUCLEUS_SETS if args.leave_out == "nuclei" else (args.leave_out,)
    rows = [row for row in cells_rows(args.usiigaci_share) if row["dataset"] not in left_out]
    name = f"cells_manifest_without_{args.leave_out}" if args.leave_out else "cells_manifest"
    if args.usiigaci_share != SHARES["usiigaci"]:
        name += f"_usiigaci{round(args.usiigaci_share * 100)}"
    with (CONFIGS / f"{name}.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} rows; isl-neurons weight {isl_weight():.1f}")


if __name__ == "__main__":
    main()
