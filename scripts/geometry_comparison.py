"""Choose the training geometry for images of any size on held-out images (issue 50): train attention56 with
each ``--train-crop`` on a photo-like folder (scripts/photo_folder.py) under paired seeds, and compare the
held-out top-1.

    python scripts/photo_folder.py ~/timm-ran-runs/photos
    python scripts/geometry_comparison.py --data-dir ~/timm-ran-runs/photos --runs-dir ~/timm-ran-runs/geometry \
        --output results/finetune-geometry

Every run is the same command but for ``--train-crop`` and ``--seed`` (the seed also draws the held-out
images, so each seed compares the crops on the same split); runs resume with ``--resume auto``, and a
finished run is read, not trained again. Writes ``OUTPUT/comparison.json`` and ``comparison.md`` after
every run. The networks train from scratch: the shipped weights have seen every CIFAR-10 training image
these photos are made from, so fine-tuning them would measure memory, not geometry.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import torch

from timm_ran.markdown import markdown_table
from timm_ran.training.files import atomic_write_text
from timm_ran.training.runtime import cpu_has_native_bf16
from timm_ran.training.seeds import paired_difference, spread
from timm_ran.training.run_log import hardware_fields

CROPS = ('pad', 'rrc')


def train_command(data_dir: str, run_dir: str, crop: str, seed: int, epochs: int) -> list:
    amp = ['--amp'] if cpu_has_native_bf16() else []
    return [sys.executable, '-m', 'timm_ran.train', '--model', 'attention56', '--data-dir', data_dir,
            '--holdout', '600', '--epochs', str(epochs), '--batch-size', '64', '--lr', '0.1', '--warmup-epochs', '1',
            '--warmup-lr', '0.01', '--sched-on-updates', '--smoothing', '0.1', '--train-crop', crop,
            '--seed', str(seed), '--channels-last', '--workers', '1', '--eval-interval', str(epochs), '--no-progress',
            *amp, '--output', run_dir, '--resume', 'auto']


def held_out_top1(run_dir: str, epochs: int):
    path = os.path.join(run_dir, 'summary.json')
    if not os.path.exists(path):
        return None
    rows = json.loads(Path(path).read_text())
    return rows[-1]['eval_top1'] if len(rows) == epochs else None


def render(report: dict) -> str:
    lines = [
        '# Training geometry for images of any size (held-out images)', '',
        'Held-out top-1 (%) of attention56 trained from scratch on a photo-like folder: 3,000 CIFAR-10 training '
        'images (JPEG q75 copy), 300 a class, each up-sampled and cropped to its own size and shape (shorter '
        'side 40-128 px, aspect 1.1-1.67, `scripts/photo_folder.py`), 2,400 trained on and a seeded 600 held out. '
        'Evaluation is the same for both: the shorter side resized to 32, a 32x32 centre crop.', '',
        '- `pad`: the evaluation view, then 4-pixel reflect padding, a random 32x32 crop and a flip (the paper\'s '
        'CIFAR augmentation on that view);',
        '- `rrc`: timm\'s random-resized crop of 35-100% of the whole image\'s area (aspect 3/4-4/3), a flip.', '',
        f"Commands: `python scripts/photo_folder.py PHOTOS` (seed 0), then `{report['command']}`", '',
        f"Every run: `{report['run_command']}` (CROP and SEED vary). Hardware: {report['hardware']}.", '']
    rows = []
    for seed in report['seeds']:
        row = report['top1'].get(str(seed), {})
        cells = [f"{row[c]:.2f}" if c in row else '-' for c in CROPS]
        diff = f"{row['pad'] - row['rrc']:+.2f}" if all(c in row for c in CROPS) else '-'
        rows.append([str(seed), *cells, diff])
    lines += markdown_table(['seed', *CROPS, 'pad - rrc'], rows, '|---|' + '---:|' * (len(CROPS) + 1))
    if report.get('summary'):
        s = report['summary']
        lines += ['', f"Mean over seeds: pad {s['pad']['mean']:.2f} +/- {s['pad']['sd']:.2f}, rrc "
                      f"{s['rrc']['mean']:.2f} +/- {s['rrc']['sd']:.2f} (sd, n = {s['pad']['n']}); pad - rrc "
                      f"{s['difference']['mean']:+.2f} points, 95% t-interval "
                      + (f"[{s['difference']['low']:+.2f}, {s['difference']['high']:+.2f}]."
                         if s['difference']['low'] is not None else 'not defined for one seed.')]
    return '\n'.join(lines) + '\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data-dir', required=True)
    parser.add_argument('--runs-dir', required=True)
    parser.add_argument('--output', default='results/finetune-geometry')
    parser.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3])
    parser.add_argument('--epochs', type=int, default=12)
    args = parser.parse_args()
    os.makedirs(args.output, exist_ok=True)
    template = train_command(args.data_dir, 'RUNS/CROP-sSEED', 'CROP', 0, args.epochs)
    report = dict(command=shlex.join(['python', 'scripts/geometry_comparison.py', *sys.argv[1:]]),
                  run_command=shlex.join(['python', *template[1:]]).replace("'--seed' '0'", '--seed SEED')
                  .replace('--seed 0', '--seed SEED'),
                  hardware=hardware_fields(torch.device('cpu'))['hardware'],
                  seeds=args.seeds, top1={})
    for seed in args.seeds:
        for crop in CROPS:
            run_dir = os.path.join(args.runs_dir, f'{crop}-s{seed}')
            if held_out_top1(run_dir, args.epochs) is None:
                subprocess.run(train_command(args.data_dir, run_dir, crop, seed, args.epochs), check=True)
            report['top1'].setdefault(str(seed), {})[crop] = held_out_top1(run_dir, args.epochs)
            complete = {int(s): r for s, r in report['top1'].items() if all(c in r for c in CROPS)}
            if complete:
                report['summary'] = dict(
                    pad=vars(spread([r['pad'] for r in complete.values()])),
                    rrc=vars(spread([r['rrc'] for r in complete.values()])),
                    difference=vars(paired_difference({s: r['pad'] for s, r in complete.items()},
                                                      {s: r['rrc'] for s, r in complete.items()})))
            atomic_write_text(os.path.join(args.output, 'comparison.json'), json.dumps(report, indent=1) + '\n')
            atomic_write_text(os.path.join(args.output, 'comparison.md'), render(report))


if __name__ == '__main__':
    main()
