"""For every shared image: the L5-S1 disc that a reference model (weights in argv[1]) finds, saved in the canonical
layout of disccore.segment.canonical (the training's layout) as a boolean npz, for deriving S1 below it."""
import sys, types, numpy as np, torch
sys.path.insert(0, '/work/main/DiscCore'); sys.path.insert(0, '/work/main/benchmarks')
from model_choice import segmenter
from disccore.training.data import list_cases, read_case
from disccore.segment.canonical import reorientation_for
args = types.SimpleNamespace(model=None, weights=sys.argv[1], threads=2)
seg = segmenter(args)
out = {}
for case in list_cases('/work/shared/data'):
    img, _ = read_case(case)
    lab = seg(img)
    reo = reorientation_for(img.geometry.direction)
    d = np.ascontiguousarray(reo.to_canonical(lab.array == 124))
    out[case.name] = d
    print(case.name, int(d.sum()), flush=True)
np.savez_compressed(sys.argv[2], **out)
