import json, sys
for f in sys.argv[1:]:
    d = json.load(open(f))['cases']
    wrong = [n for n, r in d.items() if any(v < 0.3 for k, v in r['dice'].items() if not k.startswith('any'))]
    s = json.load(open(f))['summary']
    print(f.split('/')[-1], 'images', len(d), 'misnamed', len(wrong), wrong, 'L5 %.3f bodies %.3f discs %.3f' % (s['L5']['mean'], s['all vertebral bodies']['mean'], (s.get('all discs',{}).get('mean') or float('nan'))))
