#!/usr/bin/python3
"""The demo model's held-out numbers, measured by falip itself (maintainer tool; see README.md).

Generates the held-out sets (seed 0, the README's seed: demo REC 200 pictures, whose first 24 are the
README's `demo/val`; demo-cls 360 pictures, 20 per class) into --root and prints one markdown table per
task: every method, gold and proposal boxes, FALIP over α, with falip's 95 % intervals.

    /usr/bin/python3 tools/train-demo-model/evaluate.py --model assets/demo-model --root /tmp/demo-heldout
"""
import argparse
import json
import os
import shutil
import subprocess

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
HELD_OUT = (('demo', 0, 200), ('demo-cls', 0, 360))
METHODS = 'plain,falip,crop,redcircle,blur,redcircle+falip'
ALPHAS = ('0.05', '0.1', '0.2', '0.5', '1')


def falip(args, root, json_out=True):
    env = dict(os.environ, FALIP_DATASETS=os.path.join(root, 'datasets'), FALIP_MODELS=os.path.join(root, 'models'),
               FALIP_RESULTS=os.path.join(root, 'results'))
    done = subprocess.run(['node', os.path.join(REPO, 'bin', 'falip.js'), *args, *(['--json'] if json_out else [])],
                          env=env, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"falip {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout) if json_out else None


def cells(result, setting=None, alpha='0.2'):
    """{(row label without the setting, setting, α): (accuracy, ci, n)} of one `falip eval --json`."""
    out = {}
    for row in result['rows']:
        label = row['label'][: -len(f' {setting}')] if setting and row['label'].endswith(f' {setting}') else row['label']
        ours = row['cells'][0]['ours']
        out[(label, setting, alpha)] = (ours['value'], ours['ci'], ours['n'])
    return out


def fmt(cell):
    acc, (lo, hi), _ = cell
    return f'{acc:.1f} [{lo:.1f}, {hi:.1f}]'


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model', required=True, help='a Hugging Face CLIP folder')
    p.add_argument('--root', required=True, help='scratch folder (datasets, models, results); emptied first')
    a = p.parse_args()
    root, model = os.path.abspath(a.root), os.path.abspath(a.model)
    shutil.rmtree(root, ignore_errors=True)
    for name, seed, images in HELD_OUT:
        falip(['data', name, '--seed', str(seed), '--images', str(images), '--out-root', os.path.join(root, 'datasets')], root, json_out=False)

    rec = {}
    for setting in ('gold', 'prop'):
        rec.update(cells(falip(['eval', 'demo', '--model', model, '--setting', setting, '--method', METHODS], root), setting))
        for alpha in ALPHAS:
            if alpha != '0.2':
                args = ['eval', 'demo', '--model', model, '--setting', setting, '--method', 'falip', '--alpha', alpha]
                rec.update(cells(falip(args, root), setting, alpha))
    n = rec[('plain', 'gold', '0.2')][2]
    print(f'REC, demo seed 0 × 200 pictures ({n} sentences); accuracy % [95 % interval]\n')
    print('| method | gold | prop |\n| --- | --- | --- |')
    rows = [('plain', '0.2'), *[('falip', x) for x in ALPHAS], ('crop', '0.2'), ('redcircle', '0.2'), ('blur', '0.2'), ('redcircle+falip', '0.2')]
    for method, alpha in rows:
        name = f'falip α {alpha}' if method == 'falip' else method
        print(f"| {name} | {fmt(rec[(method, 'gold', alpha)])} | {fmt(rec[(method, 'prop', alpha)])} |")

    cls = cells(falip(['eval', 'demo-cls', '--model', model, '--method', 'plain,falip,crop,redcircle,blur'], root))
    n = next(iter(cls.values()))[2]
    print(f'\nClassification with a box, demo-cls seed 0 × 360 pictures ({n}); top-1 % [95 % interval]\n')
    print('| method | top-1 |\n| --- | --- |')
    for (label, _, _), cell in cls.items():
        print(f'| {label} | {fmt(cell)} |')


if __name__ == '__main__':
    main()
