"""Report on a training run of ``timm_ran.train``, and copy its logs where they can be committed:
``python -m timm_ran.run_report RUN_DIR [--copy-to results/NAME]``.

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
import shlex
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

from .cli import ToolParser, run_tool
from .errors import MissingPathError
from .files import atomic_copy, atomic_write_text

__all__ = ['RUN_LOGS', 'STARTED_FORMAT', 'JPEG_COPY_SPLIT', 'JPEG_COPY_TEST', 'load_run', 'epochs_done',
           'load_weights_evidence', 'segment_trained', 'segment_hardware_kind', 'training_time_by_hardware',
           'recipe_summary', 'segment_differences', 'data_summary', 'segment_start', 'segment_epoch_times', 'segments_table', 'progress',
           'render', 'copy_run_logs', 'copy_logs', 'main']

RUN_LOGS = ('summary.csv', 'summary.json', 'segments.json', 'args.json', 'curves.png')
STARTED_FORMAT = '%Y-%m-%dT%H:%M:%S%z'  # a segment's 'started' in segments.json: local time with its UTC offset
JPEG_COPY_SPLIT = 'CIFAR-10 {split} (JPEG q75 copy)'  # how a split of ../shared/data/cifar10-jpeg is reported
JPEG_COPY_TEST = JPEG_COPY_SPLIT.format(split='test')


def load_run(run_dir: str) -> Dict[str, Any]:
    """The run's ``args.json``, ``summary.json`` and ``segments.json`` (empty lists where missing)."""
    path = os.path.join(run_dir, 'args.json')
    if not os.path.isfile(path):
        raise MissingPathError(f'RUN_DIR {run_dir!r} is not a timm_ran.train run: it has no args.json')
    run = dict(args=_read_json(path))
    for name in ('summary', 'segments'):
        file = os.path.join(run_dir, f'{name}.json')
        run[name] = _read_json(file) if os.path.isfile(file) else []
    return run


def epochs_done(run: Dict[str, Any]) -> int:
    """How many epochs of its schedule (``run['args']['epochs']``) a ``load_run`` run has finished."""
    return run['summary'][-1]['epoch'] + 1 if run['summary'] else 0


def load_weights_evidence(root: str, name: str) -> Dict[str, Any]:
    """What a checkout records about its shipped weights ``name``: ``weights/<name>.json`` (``measured``, as
    ``timm_ran.export_weights --results`` wrote it), the evidence ``folder`` it names (relative to ``root``),
    that folder's ``test.json`` (``results``: the ``timm_ran.validate`` output) and its run (``load_run``)."""
    measured = _read_json(os.path.join(root, 'weights', f'{name}.json'))
    folder = os.path.join(root, measured['results'])
    return dict(measured=measured, folder=measured['results'], results=_read_json(os.path.join(folder, 'test.json')),
                run=load_run(folder))


def duration(seconds: float) -> str:
    """A time span as the project's reports write it: hours with two decimals from one hour up, else minutes."""
    return f'{seconds / 3600:.2f} h' if seconds >= 3600 else f'{seconds / 60:.1f} min'


def training_time(summary: List[Dict[str, Any]]) -> float:
    """Seconds a run has spent in its epochs (training and evaluation): the sum of ``summary.json``'s times."""
    return sum(row['epoch_time'] for row in summary)


def segment_trained(segment: Dict[str, Any], epoch: int) -> bool:
    """Whether a ``segments.json`` entry trained ``epoch`` (a segment that finished none covers no epoch)."""
    return segment['first_epoch'] <= epoch <= segment['last_epoch']


def segment_hardware_kind(segment: Dict[str, Any]) -> str:
    """'CPU', or the GPU's name, for a ``segments.json`` entry: from its ``device_type`` field ('cpu' or
    'cuda'). Entries written before the field existed describe a CPU by its model, vector capability and
    thread count (ending in 'threads') and a GPU by its device name, which is read instead."""
    hardware, device_type = segment['hardware'], segment.get('device_type')
    if device_type is None:
        device_type = 'cpu' if hardware.endswith(' threads') else 'cuda'
    return 'CPU' if device_type == 'cpu' else hardware


def training_time_by_hardware(run: Dict[str, Any]) -> Dict[str, float]:
    """Seconds of a ``load_run`` run's epochs per kind of hardware (``segment_hardware_kind``), in the order the
    run first used each. An epoch that no segment covers (a run without ``segments.json``) counts as
    'unrecorded hardware'."""
    times: Dict[str, float] = {}
    for row in run['summary']:
        kinds = [segment_hardware_kind(s) for s in run['segments'] if segment_trained(s, row['epoch'])]
        kind = kinds[-1] if kinds else 'unrecorded hardware'
        times[kind] = times.get(kind, 0.) + row['epoch_time']
    return times


def recipe_summary(run: Dict[str, Any]) -> str:
    """One line on how a ``load_run`` run trained: epochs, optimiser, learning rate and schedule, batch,
    precision and the summed epoch times, split by the hardware that ran them when it was more than one kind
    (e.g. '9.04 h (8.91 h on CPU, 8.1 min on NVIDIA H200)')."""
    args = run['args']
    precision = 'bf16' if args.get('amp') else 'fp32'
    parts = [f'{duration(seconds)} on {kind}' for kind, seconds in training_time_by_hardware(run).items()]
    if len(parts) > 1:
        time = f"{duration(training_time(run['summary']))} ({', '.join(parts)})"
    else:
        time = parts[0] if parts else duration(0.)
    differences = segment_differences(run['segments'])
    return (f"{args['epochs']} epochs, {args['opt'].upper()} lr {args['lr']:g} {args['sched']}, batch "
            f"{args['batch_size']}, {precision}, {time}" + ''.join(f'; {d}' for d in differences))


# arguments that do not change what a segment computes (where the run and its data live, how it logs)
_PLACE_ARGS = {'--output', '--resume', '--data-dir', '--no-progress', '--workers', '-j', '--checkpoint-hist'}


def _options(command: str) -> Dict[str, Tuple[str, ...]]:
    """A segment's ``timm_ran.train`` command as option -> its values (a flag: no values)."""
    tokens = shlex.split(command)
    tokens = tokens[tokens.index('timm_ran.train') + 1:] if 'timm_ran.train' in tokens else tokens
    options: Dict[str, Tuple[str, ...]] = {}
    for token in tokens:
        if token.startswith('-') and not _is_number(token):
            key = token
            options[key] = ()
        else:
            options[key] += (token,)
    return {k: v for k, v in options.items() if k not in _PLACE_ARGS}


def _is_number(token: str) -> bool:
    try:
        float(token)
        return True
    except ValueError:
        return False


def segment_differences(segments: List[Dict[str, Any]]) -> List[str]:
    """How segments differ from the last one in what they compute: arguments given or left out (e.g. 'epochs
    0-3 without --torchcompile', 'epochs 36-41 without --amp (fp32)') and software ('epochs 76-86 on torch
    2.11.0'); the last segment's arguments are the run's ``args.json``."""
    if len(segments) < 2:
        return []
    last, last_software = _options(segments[-1].get('command', '')), segments[-1].get('software')
    notes = []
    for segment in segments[:-1]:
        if segment['last_epoch'] < segment['first_epoch']:
            continue  # trained nothing that the run kept
        own, parts = _options(segment.get('command', '')), []
        missing = sorted(k for k in last if k not in own)
        extra = sorted(k for k in own if k not in last)
        changed = sorted(k for k in own if k in last and own[k] != last[k])
        if missing:
            parts.append('without ' + ', '.join(missing) + (' (fp32)' if '--amp' in missing else ''))
        if extra:
            parts.append('with ' + ', '.join(' '.join((k,) + own[k]) for k in extra))
        parts += [f"{k} {' '.join(own[k])}" for k in changed]
        if segment.get('software') and last_software and segment['software'] != last_software:
            parts.append(f"on {segment['software']}")
        if parts:
            notes.append(f"epochs {segment['first_epoch']}-{segment['last_epoch']} {', '.join(parts)}")
    return notes


def data_summary(results: Dict[str, Any]) -> str:
    """What a ``timm_ran.validate`` JSON measured on: the split of the data folder, with the name the
    project gives its CIFAR-10 JPEG copy."""
    folder, split = os.path.basename(os.path.normpath(results['data']['dir'])), results['data']['split']
    return JPEG_COPY_SPLIT.format(split=split) if folder == 'cifar10-jpeg' else f'{folder} {split}'


def validate_command(name: str, data_dir: str, tta: bool = False) -> str:
    """The acceptance command that measures shipped weights ``name`` (``MODEL.TAG``) on ``data_dir``."""
    return (f"python -m timm_ran.validate --model {name.split('.')[0]} --pretrained --data-dir {data_dir}"
            + (' --tta' if tta else ''))


def _read_json(path: str) -> Any:
    with open(path) as f:
        return json.load(f)


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


def segments_table(segments: List[Dict[str, Any]], summary: List[Dict[str, Any]]) -> str:
    """One Markdown row per process of a run (``segments.json``), with each one's epoch times from the run's
    ``summary``."""
    lines = ['| segment | epochs | started | wall time | time per epoch | hardware | software | command |',
             '|---:|---|---|---:|---|---|---|---|']
    for number, segment in enumerate(segments, 1):
        first, last = segment['first_epoch'], segment['last_epoch']
        epochs = f'{first}-{last} ({last - first + 1})' if last >= first else 'none finished'
        lines.append(f"| {number} | {epochs} | {segment_start(segment)} | {duration(segment['wall_time_s'])} | "
                     f"{segment_epoch_times(segment, summary)} | {segment['hardware']} | {segment['software']} | "
                     f"`{segment['command']}` |")
    return '\n'.join(lines)


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
              + ' (the run\'s own logs, copied by `python -m timm_ran.run_report RUN_DIR --copy-to DIR`).', '']
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
    parser = ToolParser(prog='python -m timm_ran.run_report', description=__doc__.split('\n\n')[0])
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
