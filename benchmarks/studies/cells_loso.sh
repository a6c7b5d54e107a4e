#!/usr/bin/env bash
# Leave-one-set-out for the `cells` generalist (issue 25): which training set helps, at equal
# budget. Four runs of benchmarks/configs/cells.yaml from random weights, each STEPS steps of
# 16 x 128^2 crops (a step count, not minutes, so that the runs stay equal when the machine is
# shared): all sets, then without Usiigaci, without the nucleus sets (dsb2018 + bbbc039), without
# the isl-neurons field. The other sets keep their per-image weights, so their shares grow in
# proportion. Resumable: a finished run is skipped, an interrupted one resumes. Then each model is
# scored at the true object size on every held-out set, the left-out one included:
#   bash benchmarks/studies/cells_loso.sh            # trains, then writes results/cells_loso.json
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS=${STEPS:-240}
OUT=benchmarks/results/cells
python benchmarks/studies/cells_manifest.py --leave-out usiigaci
python benchmarks/studies/cells_manifest.py --leave-out nuclei
python benchmarks/studies/cells_manifest.py
train() {  # name, then extra --set options
    local name=$1; shift
    if [ -f "$OUT/loso_$name/weights.safetensors" ]; then echo "loso_$name: done"; return; fi
    local resume=()
    if [ -d "$OUT/loso_$name" ]; then resume=(--resume); fi
    stainless train segmentation --config benchmarks/configs/cells.yaml \
        --output "$OUT/loso_$name" "${resume[@]}" --set training.max_minutes=null \
        --set training.max_steps="$STEPS" --set training.val_every_n_steps="$STEPS" "$@"
}
train all
train without_usiigaci --set data.manifest=benchmarks/configs/cells_manifest_without_usiigaci.csv
train without_nuclei --set data.manifest=benchmarks/configs/cells_manifest_without_nuclei.csv
train without_isl --set "data.samples=[]" --set "data.validation=[]"
python benchmarks/studies/cells.py evaluate --name cells_loso --sizes true --no-seeded \
    --sets usiigaci,dense-tissue,isl-neurons,dsb2018,bbbc039 \
    --model all="$OUT/loso_all" --model without_usiigaci="$OUT/loso_without_usiigaci" \
    --model without_nuclei="$OUT/loso_without_nuclei" --model without_isl="$OUT/loso_without_isl"
