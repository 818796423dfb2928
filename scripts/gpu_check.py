"""Check and measure everything CUDA in one command, for the rare session that has a GPU.

    python scripts/gpu_check.py OUT_DIR [--data-dir ../shared/data/cifar10-jpeg]
    python scripts/gpu_check.py OUT_DIR --dry-run      # print the steps, run nothing

Steps, each a command of this repository, its output kept in OUT_DIR:

1. the test suite's CUDA tests (``pytest -m cuda``, tests/test_cuda.py): every registered model forward
   and backward on the GPU, bf16 and fp16 autocast with channels_last, ``torch.compile`` of a CIFAR
   and an ImageNet model, the shipped weights on the GPU against the CPU, fp16 training with a
   gradient scaler, in-memory batches on the device;
2. ``benchmarks/throughput.py --device cuda``: every default model against its baseline, inference and
   training, bf16, eager and compiled;
3. two short ``timm_ran.train`` runs of attention92 on CIFAR-10 (2 epochs each, bf16, channels_last,
   in-memory batches on the GPU), eager and ``--torchcompile``: training images/s of the second
   epoch and the projected time of a 200-epoch schedule.

Writes ``OUT_DIR/gpu-check.md`` and ``gpu-check.json`` (each step's command, exit status, wall time and
figures), ready to commit under ``results/``. Without CUDA it says so and exits with status 1. The
whole check is meant to finish within 10 minutes on one H100.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from typing import Any, Dict, List

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from timm_ran.files import atomic_write_text  # noqa: E402

SCHEDULE_EPOCHS = 200
H100_GOAL_IMG_PER_S = 20_000  # attention92 CIFAR-10 training, bf16, channels_last (issue 14)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('output', help='folder for the results (created)')
    parser.add_argument('--data-dir', default=os.path.join(ROOT, '..', 'shared', 'data', 'cifar10-jpeg'))
    parser.add_argument('--batch-size', type=int, default=128, help='batch of the attention92 runs (the recipe: 128)')
    parser.add_argument('--dry-run', action='store_true', help='print the steps and exit')
    return parser


def steps(args) -> List[Dict[str, Any]]:
    python = sys.executable
    out = args.output
    train = [python, '-m', 'timm_ran.train', '--model', 'attention92', '--data-dir', args.data_dir, '--epochs', '2',
             '--batch-size', str(args.batch_size), '--lr', '0.1', '--sched', 'cosine', '--amp',
             '--amp-dtype', 'bfloat16', '--channels-last', '--in-memory', '--device', 'cuda', '--no-progress']
    return [
        dict(name='cuda-tests', title='CUDA tests (pytest -m cuda)',
             command=[python, '-m', 'pytest', '-m', 'cuda', '-q', '-rs', '-p', 'no:cacheprovider',
                      '--junitxml', os.path.join(out, 'cuda-tests.xml'), os.path.join(ROOT, 'tests')]),
        dict(name='throughput', title='benchmarks/throughput.py --device cuda (bf16, eager and compiled)',
             command=[python, os.path.join(ROOT, 'benchmarks', 'throughput.py'), '--device', 'cuda',
                      '--precision', 'bf16', '--mode', 'eager', 'compile', '--phase', 'infer', 'train',
                      '--batch-size-cifar', '1024', '--batch-size-imagenet', '256',
                      '--output', os.path.join(out, 'throughput')]),
        dict(name='train-eager', title='attention92, 2 epochs of CIFAR-10, bf16, eager',
             command=train + ['--output', os.path.join(out, 'attention92-eager')],
             run_dir=os.path.join(out, 'attention92-eager')),
        dict(name='train-compile', title='attention92, 2 epochs of CIFAR-10, bf16, torch.compile',
             command=train + ['--torchcompile', '--output', os.path.join(out, 'attention92-compile')],
             run_dir=os.path.join(out, 'attention92-compile')),
    ]


def training_figures(run_dir: str) -> Dict[str, Any]:
    """Images/s of the last epoch (the first one includes warm-up and compilation) and the projection."""
    with open(os.path.join(run_dir, 'summary.json')) as f:
        history = json.load(f)
    last = history[-1]
    projected_h = SCHEDULE_EPOCHS * last['epoch_time'] / 3600
    return dict(train_img_per_s=last['train_img_per_s'], epoch_time_s=last['epoch_time'],
                eval_top1=last['eval_top1'], projected_200_epochs_h=projected_h,
                meets_h100_goal=last['train_img_per_s'] >= H100_GOAL_IMG_PER_S)


def render(results: List[Dict[str, Any]], device: str) -> str:
    lines = ['# GPU check', '', f'Device: {device}. Made by `python scripts/gpu_check.py OUT_DIR`.', '',
             '| step | exit | wall time | result |', '|---|---:|---:|---|']
    for r in results:
        figures = r.get('figures', {})
        if 'train_img_per_s' in figures:
            summary = (f"{figures['train_img_per_s']:.0f} train img/s (epoch 2), {SCHEDULE_EPOCHS} epochs ≈ "
                       f"{figures['projected_200_epochs_h']:.2f} h; goal {H100_GOAL_IMG_PER_S:,} img/s "
                       f"{'met' if figures['meets_h100_goal'] else 'not met'}")
        else:
            summary = r.get('tail', '').strip().splitlines()[-1] if r.get('tail', '').strip() else ''
        lines.append(f"| {r['title']} | {r['returncode']} | {r['wall_s']:.0f} s | {summary} |")
    lines += ['', 'Commands:', ''] + [f"- `{r['command']}`" for r in results]
    lines += ['', 'Full outputs: `<step>.log` beside this file; throughput table: `throughput/throughput-cuda.md`.']
    return '\n'.join(lines) + '\n'


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    plan = steps(args)
    if args.dry_run:
        for number, step in enumerate(plan, 1):
            print(f"{number}. {step['title']}\n   {shlex.join(step['command'])}")
        return 0
    import torch
    if not torch.cuda.is_available():
        print('error: no CUDA device here (torch.cuda.is_available() is False); run this on a machine with '
              'a GPU, or see the steps with --dry-run', file=sys.stderr)
        return 1
    device = torch.cuda.get_device_name(0)
    os.makedirs(args.output, exist_ok=True)
    results = []
    for step in plan:
        started = time.time()
        done = subprocess.run(step['command'], cwd=ROOT, capture_output=True, text=True)
        log = done.stdout + done.stderr
        atomic_write_text(os.path.join(args.output, f"{step['name']}.log"), log)
        result = dict(name=step['name'], title=step['title'], command=shlex.join(step['command']),
                      returncode=done.returncode, wall_s=time.time() - started, tail=log[-2000:])
        if 'run_dir' in step and done.returncode == 0:
            result['figures'] = training_figures(step['run_dir'])
        results.append(result)
        print(f"{step['title']}: exit {done.returncode} in {result['wall_s']:.0f} s", flush=True)
        atomic_write_text(os.path.join(args.output, 'gpu-check.json'),
                          json.dumps(dict(device=device, steps=results), indent=1) + '\n')
        atomic_write_text(os.path.join(args.output, 'gpu-check.md'), render(results, device))
    return 0 if all(r['returncode'] == 0 for r in results) else 1


if __name__ == '__main__':
    sys.exit(main())
