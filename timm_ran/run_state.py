"""Carry a training run's resume state in the repository, so that a run of many sessions survives the loss
of the machine that holds its folder:

    python -m timm_ran.run_state save RUN_DIR DIR       # at every stop: the logs (run_report) + last.pth.tar
    python -m timm_ran.run_state restore DIR RUN_DIR    # on a new machine, then resume with --resume auto

``save`` is ``python -m timm_ran.run_report RUN_DIR --copy-to DIR`` plus the run's ``last.pth.tar``, the
only checkpoint ``--resume auto`` needs. ``restore`` puts them back into RUN_DIR, and refuses when RUN_DIR
already holds the same or a later epoch, so it never rolls a run back. The resumed run reaches the weights
of an uninterrupted one (``timm_ran.train``'s seeding per epoch; tests/test_train.py checks it).
"""
import os
from typing import List, Optional

from .checkpoints import load_checkpoint_file
from .cli import ToolParser, run_tool
from .errors import InputError, MissingPathError
from .files import atomic_copy
from .run_report import copy_logs, copy_run_logs, load_run

__all__ = ['CHECKPOINT', 'RESUME_NOTE', 'checkpoint_epoch', 'save', 'restore', 'main']

CHECKPOINT = 'last.pth.tar'
RESUME_NOTE = ('`last.pth.tar`: the run\'s resume state after epoch {epoch} (`python -m timm_ran.run_state save`), '
               'to continue the run on another machine: `python -m timm_ran.run_state restore DIR RUN_DIR`, then '
               'the run\'s own command (it ends in `--resume auto`). Not weights to use: those ship in weights/ '
               'once the schedule ends.\n')


def checkpoint_epoch(run_dir: str) -> Optional[int]:
    """The last finished epoch in ``run_dir``'s ``last.pth.tar`` (``None`` when it has none)."""
    path = os.path.join(run_dir, CHECKPOINT)
    return load_checkpoint_file(path)['epoch'] if os.path.isfile(path) else None


def save(run_dir: str, destination: str, title: Optional[str] = None) -> List[str]:
    """Copy the run's ``last.pth.tar``, logs and report into ``destination``; returns the files copied. The
    report names the epoch of the copied checkpoint (read from the copy: the run may write a newer one)."""
    if not os.path.isfile(os.path.join(run_dir, CHECKPOINT)):
        raise MissingPathError(f'RUN_DIR {run_dir!r} has no {CHECKPOINT}: no epoch of the run has finished')
    load_run(run_dir)  # a folder that is not a run fails here, before anything is written
    atomic_copy(os.path.join(run_dir, CHECKPOINT), os.path.join(destination, CHECKPOINT))
    note = RESUME_NOTE.format(epoch=checkpoint_epoch(destination))
    return copy_logs(run_dir, destination, title, note) + [CHECKPOINT]


def restore(source: str, run_dir: str) -> int:
    """Copy a ``save``\\ d state from ``source`` into ``run_dir``; returns the epoch it holds. Raises
    ``InputError`` when ``run_dir`` is already at that epoch or later (nothing is then changed)."""
    carried = checkpoint_epoch(source)
    if carried is None:
        raise MissingPathError(f'{source!r} holds no saved run state: it has no {CHECKPOINT}')
    current = checkpoint_epoch(run_dir)
    if current is not None and current >= carried:
        raise InputError(f'RUN_DIR {run_dir!r} is already at epoch {current}, the saved state in {source!r} at '
                         f'epoch {carried}: nothing restored (resume RUN_DIR as it is)')
    copy_run_logs(source, run_dir)  # the logs first: a run killed in between still resumes from its own checkpoint
    atomic_copy(os.path.join(source, CHECKPOINT), os.path.join(run_dir, CHECKPOINT))
    return carried


def main(argv: Optional[List[str]] = None) -> None:
    parser = ToolParser(prog='python -m timm_ran.run_state', description=__doc__.split('\n')[0])
    commands = parser.add_subparsers(dest='command', required=True, metavar='{save,restore}')
    saving = commands.add_parser('save', help='copy RUN_DIR\'s logs, report and last.pth.tar into DIR')
    saving.add_argument('run_dir', metavar='RUN_DIR', help='the --output folder of a timm_ran.train run')
    saving.add_argument('destination', metavar='DIR', help='a folder in the repository, e.g. results/runs/NAME')
    saving.add_argument('--title', default=None,
                        help='heading of the report (README.md in DIR); default: keep the one already there')
    restoring = commands.add_parser('restore', help='copy a saved state from DIR back into RUN_DIR')
    restoring.add_argument('source', metavar='DIR', help='a folder written by `save`')
    restoring.add_argument('run_dir', metavar='RUN_DIR', help='the run folder to resume with --resume auto')
    args = parser.parse_args(argv)
    if args.command == 'save':
        print(f"{args.destination}: {', '.join(save(args.run_dir, args.destination, args.title))}, README.md")
    else:
        print(f'{args.run_dir}: restored at epoch {restore(args.source, args.run_dir)}; '
              f'continue it with --resume auto')


if __name__ == '__main__':
    run_tool(main)
