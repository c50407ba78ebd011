#!/bin/bash
# The S1 experiment's fold-1 model scored as the baseline was (whole images and cut at L5's centre), then probed.
cd /work/train/code_s1
W=${1:-/work/train/s1_f1_c4/fold1.pt}; T=${2:-s1}
for m in whole cut; do a=""; [ $m = cut ] && a="--end-inside L5"
  /work/main/.venv/bin/python benchmarks/score_folds.py --data /work/shared/data --threads 2 -o /work/train/s1/eval/${T}_$m.json --save-probabilities /work/train/s1/eval/${T}_${m}_p $a - $W -
done
/work/main/.venv/bin/python /work/train/s1/probe_s1.py /work/train/s1/eval/${T}_whole_p > /work/train/s1/eval/${T}_probe_whole.txt
/work/main/.venv/bin/python /work/train/s1/probe_s1.py /work/train/s1/eval/${T}_cut_p cut > /work/train/s1/eval/${T}_probe_cut.txt
echo evaldone
