"""S1 found by a 6-class model's saved probabilities (score_folds --save-probabilities): per image, the S1 class's
largest piece and where it lies against the named L5 and the manual L5 (superior-inferior, mm)."""
import sys, json, numpy as np
sys.path.insert(0, '/work/train/code_s1/DiscCore')
from scipy import ndimage
from disccore.training.data import list_cases, read_case, manual_labels_on_file_grid
from disccore.segment.levels import name_levels
sys.path.insert(0, '/work/train/code_s1/benchmarks')
from score_folds import cut_at_the_centre_of
probdir, cut = sys.argv[1], len(sys.argv) > 2 and sys.argv[2] == 'cut'
cases = {c.name: c for c in list_cases('/work/shared/data')}
import glob, os
rows = []
for f in sorted(glob.glob(probdir + '/*.npy')):
    name = os.path.basename(f)[:-4]; case = cases[name]
    img, lab = read_case(case)
    manual = manual_labels_on_file_grid(case, img, lab)
    if cut:
        img, lab = cut_at_the_centre_of(manual['L5'], img, lab, keep_inferior=False)
        manual = manual_labels_on_file_grid(case, img, lab)
    probs = np.load(f).astype(np.float32) / 255
    g = img.geometry
    def z(mask):
        idx = np.argwhere(mask)
        return float(g.index_to_lps(idx.mean(0))[2]) if len(idx) else None
    named, _ = name_levels(probs, g)
    l5n = named.array == 24
    r = {'case': name}
    if probs.shape[0] > 5:
        s1 = probs.argmax(0) == 5
        lab_s1, n = ndimage.label(s1)
        if n:
            sizes = ndimage.sum(s1, lab_s1, range(1, n + 1)); s1 = lab_s1 == (np.argmax(sizes) + 1)
        r['s1_vox'] = int(s1.sum()); r['s1_mean_p'] = float(probs[5][s1].mean()) if s1.any() else 0
        r['s1_on_manual_l5'] = int((s1 & manual.get('L5', np.zeros_like(s1))).sum())
        r['z_s1_minus_named_l5'] = (z(s1) - z(l5n)) if s1.any() and l5n.any() else None
        r['z_s1_minus_manual_l5'] = (z(s1) - z(manual['L5'])) if s1.any() and 'L5' in manual else None
    r['named_l5_dice'] = float(2 * (l5n & manual['L5']).sum() / (l5n.sum() + manual['L5'].sum())) if 'L5' in manual else None
    rows.append(r); print(json.dumps({k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items()}), flush=True)
