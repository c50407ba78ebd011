#!/bin/bash
# One fold of the next retraining's cross-validation, as chained single cycles, frozen code eec0171.
set -e
cd /work/train
F=$1
PY=/work/main/.venv/bin/python
export PYTHONPATH=/work/train/code_s1/DiscCore
export DISCCORE_S1_DISCS=/work/train/s1/l5s1_fold1.npz
T=${THREADS:-2}
run() { out=$1; shift; [ -f "$out/fold$F.pt" ] && { echo "skip $out"; return; }; rm -rf "$out"; echo "start $out $(date)";
  $PY -m disccore train --data /work/shared/data -o "$out" --folds 3 --fold $F --cv-only --cycles 1 --threads $T "$@" > "$out.log" 2>&1; echo "done $out $(date)"; }
run s1_f${F}_c1 --seed 0
run s1_f${F}_c2 --init s1_f${F}_c1/fold$F.pt --iterations 1600 --learning-rate 1e-3 --seed 1
run s1_f${F}_c3 --init s1_f${F}_c2/fold$F.pt --iterations 1600 --learning-rate 1e-3 --seed 2
run s1_f${F}_c4 --init s1_f${F}_c3/fold$F.pt --iterations 1600 --learning-rate 1e-3 --seed 3 --disc-margin-from-cycle 1
