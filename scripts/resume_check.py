"""Kill a training run during its second epoch, resume it, and compare with an uninterrupted run.

    python scripts/resume_check.py --data-dir ../shared/data/cifar10-jpeg --train-subset 2000

Both runs use the same seed. The interrupted run gets SIGKILL a few seconds into epoch 2 (after the
epoch-1 checkpoint is written), then ``--resume auto`` continues it. Passes (exit 0) when every tensor
of the final weights is bit-identical to the uninterrupted run's and the resumed run's log has each
epoch exactly once.
"""
import argparse
import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import List

import torch


def train_command(output: str, args: argparse.Namespace, resume: bool = False) -> List[str]:
    command = [
        sys.executable, '-m', 'timm_ran.train', '--model', args.model, '--data-dir', args.data_dir,
        '--train-subset', str(args.train_subset), '--val-subset', str(args.val_subset), '--epochs', '2',
        '--batch-size', str(args.batch_size), '--workers', str(args.workers), '--seed', '7', '--amp',
        '--channels-last', '--output', output, '--no-progress', '--device', 'cpu',
    ]
    return command + (['--resume', 'auto'] if resume else [])


def run_check(args: argparse.Namespace, workdir: str) -> List[str]:
    """The problems found (empty when the resumed run matches the uninterrupted one)."""
    straight, interrupted = os.path.join(workdir, 'straight'), os.path.join(workdir, 'interrupted')
    subprocess.run(train_command(straight, args), check=True, capture_output=True)

    process = subprocess.Popen(train_command(interrupted, args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first_checkpoint = os.path.join(interrupted, 'checkpoint-0.pth.tar')
    while not os.path.exists(first_checkpoint):
        if process.poll() is not None:
            return [f'the run to interrupt ended early (exit {process.returncode})']
        time.sleep(0.05)
    time.sleep(args.kill_after)
    process.send_signal(signal.SIGKILL)
    process.wait()
    problems = []
    killed_at = torch.load(os.path.join(interrupted, 'last.pth.tar'), map_location='cpu', weights_only=False)['epoch']
    if killed_at != 0:
        problems.append(f'the kill came after epoch {killed_at + 1} had finished: raise --train-subset')

    subprocess.run(train_command(interrupted, args, resume=True), check=True, capture_output=True)
    final = [torch.load(os.path.join(d, 'last.pth.tar'), map_location='cpu', weights_only=False)['state_dict']
             for d in (straight, interrupted)]
    different = [k for k in final[0] if not torch.equal(final[0][k], final[1][k])]
    if final[0].keys() != final[1].keys() or different:
        problems.append(f'{len(different)} tensors differ after the resume, e.g. {different[:3]}')
    with open(os.path.join(interrupted, 'summary.csv'), newline='') as f:
        epochs = [int(row['epoch']) for row in csv.DictReader(f)]
    if epochs != [0, 1]:
        problems.append(f'the resumed log has epochs {epochs}, expected [0, 1]')
    return problems


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data-dir', default=os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'data',
                                                           'cifar10-jpeg'))
    parser.add_argument('--model', default='attention56')
    parser.add_argument('--train-subset', type=int, default=2000)
    parser.add_argument('--val-subset', type=int, default=500)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--kill-after', type=float, default=3.0, help='seconds into epoch 2')
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        problems = run_check(args, workdir)
    for problem in problems:
        print('FAIL:', problem)
    if not problems:
        print(f'OK: killed during epoch 2 and resumed, {args.model} ends with the same weights as the '
              f'uninterrupted run ({args.train_subset} images, 2 epochs) and the log has epochs 0 and 1 once')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
