"""Report on a training run of ``timm_ran.train``, and copy its logs where this repository commits them:
``python scripts/run_report.py RUN_DIR [--copy-to results/NAME]``.

Prints Markdown: how far the run is (epochs done of the schedule, the last evaluation), and one row per
segment of ``segments.json``, i.e. per process that trained it (the first start and every resume), with
its epochs, start (UTC), wall time, time per epoch, hardware and exact command. ``--copy-to DIR`` also
copies the run's logs (``summary.csv``, ``summary.json``, ``segments.json``, ``args.json``,
``curves.png``; not the checkpoints) into DIR and writes the report there as ``README.md``, so a run that
takes many sessions keeps its history in the repository.
"""
import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

from timm_ran.cli import ToolParser, run_tool
from timm_ran.markdown import markdown_table
from timm_ran.training.files import atomic_copy, atomic_write_text
from timm_ran.training.run_log import RUN_LOGS, STARTED_FORMAT, duration, epochs_done, load_run, segment_trained, \
    training_time

JPEG_COPY_SPLIT = 'CIFAR-10 {split} (JPEG q75 copy)'  # how a split of ../shared/data/cifar10-jpeg is reported
JPEG_COPY_TEST = JPEG_COPY_SPLIT.format(split='test')


def load_weights_evidence(root: str, name: str) -> Dict[str, Any]:
    """What a checkout records about its shipped weights ``name``: ``weights/<name>.json`` (``measured``, as
    ``timm_ran.export_weights --results`` wrote it), the evidence ``folder`` it names (relative to ``root``),
    that folder's ``test.json`` (``results``: the ``timm_ran.validate`` output) and its run (``load_run``)."""
    measured = json.loads(Path(root, 'weights', f'{name}.json').read_text())
    folder = os.path.join(root, measured['results'])
    return dict(measured=measured, folder=measured['results'], results=json.loads(Path(folder, 'test.json').read_text()),
                run=load_run(folder))


def data_summary(results: Dict[str, Any]) -> str:
    """What a ``timm_ran.validate`` JSON measured on: the split of the data folder, with the name the
    project gives its CIFAR-10 JPEG copy."""
    folder, split = os.path.basename(os.path.normpath(results['data']['dir'])), results['data']['split']
    return JPEG_COPY_SPLIT.format(split=split) if folder == 'cifar10-jpeg' else f'{folder} {split}'


def validate_command(name: str, data_dir: str, tta: bool = False) -> str:
    """The acceptance command that measures shipped weights ``name`` (``MODEL.TAG``) on ``data_dir``."""
    return (f"python -m timm_ran.validate --model {name.split('.')[0]} --pretrained --data-dir {data_dir}"
            + (' --tta' if tta else ''))


def segment_start(segment: Dict[str, Any]) -> str:
    """When a segment's process started (``segments.json``'s local ISO time with offset), in UTC to the minute."""
    started = datetime.strptime(segment['started'], STARTED_FORMAT)
    return started.astimezone(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')


def segment_epoch_times(segment: Dict[str, Any], summary: List[Dict[str, Any]]) -> str:
    """The seconds each epoch of a segment took (training and evaluation, from ``summary.json``): the first
    epoch alone, since it also holds the process's start-up (compilation with ``--torchcompile``), then the
    range of the others."""
    times = [round(row['epoch_time']) for row in summary if segment_trained(segment, row['epoch'])]
    if not times:
        return '-'
    if len(times) == 1:
        return f'{times[0]} s'
    low, high = min(times[1:]), max(times[1:])
    return f"{times[0]} s, then {low if low == high else f'{low}-{high}'} s"


def _software(segment: Dict[str, Any]) -> str:
    """torch and timm, and timm_ran's version and commit where the segment recorded them (``code``)."""
    return segment['software'] + (f", {segment['code']}" if 'code' in segment else '')


def segments_table(segments: List[Dict[str, Any]], summary: List[Dict[str, Any]]) -> str:
    """One Markdown row per process of a run (``segments.json``), with each one's epoch times from the run's
    ``summary``."""
    rows = []
    for number, segment in enumerate(segments, 1):
        first, last = segment['first_epoch'], segment['last_epoch']
        epochs = f'{first}-{last} ({last - first + 1})' if last >= first else 'none finished'
        rows.append([str(number), epochs, segment_start(segment), duration(segment['wall_time_s']),
                     segment_epoch_times(segment, summary), segment['hardware'], _software(segment),
                     f"`{segment['command']}`"])
    header = ['segment', 'epochs', 'started', 'wall time', 'time per epoch', 'hardware', 'software', 'command']
    return '\n'.join(markdown_table(header, rows, '|---:|---|---|---:|---|---|---|---|'))


def progress(run: Dict[str, Any]) -> str:
    """One paragraph: epochs done of the schedule, training time, the last evaluation."""
    history, total = run['summary'], run['args']['epochs']
    if not history:
        return f"No epoch finished yet (schedule: {total} epochs)."
    done = epochs_done(run)
    text = (f"{done} of {total} epochs done ({'finished' if done >= total else 'in progress'}); "
            f"{duration(training_time(history))} of training and evaluation (sum of the epochs' times); "
            f"last training loss {history[-1]['train_loss']:.4f}.")
    evaluated = [row for row in history if not math.isnan(row.get('eval_top1', math.nan))]
    if evaluated:
        row = evaluated[-1]
        where = f"held-out {run['args']['holdout']} training images" if run['args'].get('holdout') else \
            f"the {run['args'].get('val_split', 'test')!r} split"
        text += (f" Last evaluation (epoch {row['epoch']}, on {where}): top-1 {row['eval_top1']:.2f}%, "
                 f"top-5 {row['eval_top5']:.2f}%")
        if 'ema_top1' in row:
            text += f", EMA top-1 {row['ema_top1']:.2f}%"
        text += '. These are progress figures, never used to pick weights.' if done < total else '.'
    return text


def render(run_dir: str, title: Optional[str] = None) -> str:
    run = load_run(run_dir)
    args = run['args']
    title = title or f"{args['model']}: training run"
    lines = [f'# {title}', '', progress(run), '']
    if run['segments']:
        lines += ['Segments (one per process; each resume continues from the last checkpoint with '
                  '`--resume auto`):', '', segments_table(run['segments'], run['summary']), '']
    if os.path.isfile(os.path.join(run_dir, 'curves.png')):
        lines += ['![loss and accuracy curves](curves.png)', '']
    lines += ['Files: ' + ', '.join(f'`{name}`' for name in RUN_LOGS if os.path.isfile(os.path.join(run_dir, name)))
              + ' (the run\'s own logs, copied by `python scripts/run_report.py RUN_DIR --copy-to DIR`).', '']
    return '\n'.join(lines)


def copy_run_logs(source: str, destination: str) -> List[str]:
    """Copy the ``RUN_LOGS`` that ``source`` has into ``destination`` (atomically, file by file)."""
    copied = [name for name in RUN_LOGS if os.path.isfile(os.path.join(source, name))]
    for name in copied:
        atomic_copy(os.path.join(source, name), os.path.join(destination, name))
    return copied


def existing_title(report_path: str) -> Optional[str]:
    """The heading of the report already at ``report_path`` (its first line, ``# ...``), or None."""
    if not os.path.isfile(report_path):
        return None
    with open(report_path, encoding='utf-8') as f:
        first_line = f.readline().rstrip('\n')
    if not first_line.startswith('# '):
        return None
    return first_line[2:].strip() or None


def copy_logs(run_dir: str, destination: str, title: Optional[str] = None, note: str = '') -> List[str]:
    """Copy the run's logs into ``destination`` and write its README.md (the report, then ``note``).

    Without ``title`` the heading of the README.md already in ``destination`` is kept, so refreshing a
    committed report does not replace its heading by the default one.
    """
    report_path = os.path.join(destination, 'README.md')
    report = render(run_dir, title or existing_title(report_path))
    copied = copy_run_logs(run_dir, destination)
    atomic_write_text(report_path, report + note)
    return copied


def main(argv: Optional[List[str]] = None) -> None:
    parser = ToolParser(prog='python scripts/run_report.py', description=__doc__.split('\n\n')[0])
    parser.add_argument('run_dir', metavar='RUN_DIR', help='the --output folder of a timm_ran.train run')
    parser.add_argument('--copy-to', metavar='DIR', default=None, help='copy the logs and the report here')
    parser.add_argument('--title', default=None,
                        help='heading of the report (default: the one already in --copy-to, else "MODEL: training run")')
    args = parser.parse_args(argv)
    if args.copy_to:
        copied = copy_logs(args.run_dir, args.copy_to, args.title)
        print(f"{args.copy_to}: {', '.join(copied)}, README.md")
    else:
        print(render(args.run_dir, args.title))


if __name__ == '__main__':
    run_tool(main)
