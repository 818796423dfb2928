"""Choose the CIFAR-10 training recipe on held-out training images (never the test set).

    python scripts/recipe_comparison.py --data-dir ../shared/data/cifar10-jpeg --output results/recipe \\
        --runs-dir ~/timm-ran-runs/recipe

Trains each variant below with ``timm_ran.train`` for a short budget (``--epochs``) on the training split
minus a seeded 5,000 images held out (``--holdout 5000``), optionally on a seeded subset of the split
first (``--train-subset``), and evaluates on those 5,000 held-out images. The variants share one base
recipe and seed and differ in one setting each. Runs live under ``--runs-dir/<variant>`` and resume
(``--resume auto``), so an interrupted comparison continues; the table ``<output>/comparison.md`` (and
``.json``) is rewritten after every run, with each run's exact command.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
from typing import Dict, List

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from timm_ran.markdown import markdown_table  # noqa: E402
from timm_ran.training.files import atomic_write_text  # noqa: E402

BASE = ['--model', 'attention56', '--batch-size', '128', '--opt', 'sgd', '--momentum', '0.9',
        '--weight-decay', '5e-4', '--sched', 'cosine', '--sched-on-updates', '--warmup-epochs', '1',
        '--warmup-lr', '0.01', '--smoothing', '0.1', '--reprob', '0.25', '--model-ema', '--model-ema-warmup',
        '--model-ema-decay', '0.9998', '--channels-last', '--in-memory', '--holdout', '5000', '--seed', '42',
        '--no-progress', '--checkpoint-hist', '1']

# name -> (what differs from the base, extra arguments)
VARIANTS = {
    'base-lr0.1': ('SGD (Nesterov) lr 0.1', ['--lr', '0.1']),
    'lr0.2': ('lr 0.2', ['--lr', '0.2']),
    'low-res-half': ('lr 0.1, first half of the epochs at 24x24 (progressive resizing)', ['--lr', '0.1']),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data-dir', required=True)
    parser.add_argument('--output', default='results/recipe', help='folder of the comparison table')
    parser.add_argument('--runs-dir', required=True, help='folder of the runs (outside the work tree)')
    parser.add_argument('--epochs', type=int, default=6)
    parser.add_argument('--train-subset', type=int, default=20000,
                        help='seeded subset of the training split, the 5,000 held out included')
    parser.add_argument('--variants', nargs='+', default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument('--amp', action='store_true', help='bf16 autocast (fast only on CPUs with native bf16)')
    return parser


def command(name: str, args) -> List[str]:
    extra = list(VARIANTS[name][1])
    if name == 'low-res-half':
        extra += ['--low-res', '24', str(args.epochs // 2)]
    return [sys.executable, '-m', 'timm_ran.train', '--data-dir', args.data_dir, '--epochs', str(args.epochs),
            '--train-subset', str(args.train_subset), *BASE, *extra, *(['--amp'] if args.amp else []),
            '--output', os.path.join(args.runs_dir, name), '--resume', 'auto']


def render(rows: List[Dict], args) -> str:
    lines = [f'# Recipe comparison: attention56, {args.epochs} epochs, held-out training images', '',
             f'Trained on a seeded {args.train_subset:,}-image subset of the CIFAR-10 training split (JPEG q75 copy) '
             'less 5,000 images held out, evaluated on those 5,000 (never on the test set), final weights and '
             'their EMA at the last epoch. Produced by:', '',
             f'    python scripts/recipe_comparison.py --data-dir DATA --epochs {args.epochs} '
             f'--train-subset {args.train_subset} --runs-dir RUNS', '']
    table = []
    for row in rows:
        last = row['history'][-1]
        train_time = sum(r['train_time'] for r in row['history'])
        rate = sum(r['train_img_per_s'] for r in row['history']) / len(row['history'])
        table.append([row['name'], row['differs'], f"{last['eval_top1']:.2f}",
                      f"{last.get('ema_top1', float('nan')):.2f}", f"{last['eval_loss']:.4f}",
                      f"{last['train_loss']:.4f}", f'{train_time / 60:.1f} min', f'{rate:.1f}'])
    lines += markdown_table(['variant', 'differs from the base', 'held-out top-1', 'EMA top-1', 'held-out loss',
                             'train loss', 'train time', 'img/s'], table, '|---|---|---:|---:|---:|---:|---:|---:|')
    lines += ['', 'Base recipe (every variant): `' + ' '.join(BASE) + '`', '', 'Commands:', '']
    lines += [f"- {row['name']}: `{row['command']}`" for row in rows]
    return '\n'.join(lines) + '\n'


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    rows = []
    for name in args.variants:
        cmd = command(name, args)
        subprocess.run(cmd, check=True, cwd=ROOT)
        with open(os.path.join(args.runs_dir, name, 'summary.json')) as f:
            history = json.load(f)
        shown = ' '.join(shlex.quote(c) for c in ['python'] + cmd[1:])
        rows.append(dict(name=name, differs=VARIANTS[name][0], history=history, command=shown))
        atomic_write_text(os.path.join(args.output, 'comparison.json'), json.dumps(rows, indent=1) + '\n')
        atomic_write_text(os.path.join(args.output, 'comparison.md'), render(rows, args))


if __name__ == '__main__':
    main()
