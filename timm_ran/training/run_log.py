"""The log of a ``timm_ran.train`` run: the files its ``--output`` folder holds besides checkpoints, written
here during training and read here by every tool that reports on a run.

- ``args.json``: the arguments of the latest process (each process's own command is in ``segments.json``);
- ``summary.json`` / ``summary.csv``: one row per finished epoch (``epoch``, ``lr``, ``train_loss``,
  ``train_img_per_s``, ``eval_*`` / ``ema_*`` metrics, NaN when not evaluated, ``epoch_time`` in seconds),
  rewritten whole at every epoch end;
- ``segments.json``: one entry per process that trained the run (the first start and every resume): its
  command, the epochs it finished, when it started, its wall time, and the hardware as fields
  (``device_type``, ``device_name``; on a CPU also ``cpu_capability``, ``amx``, ``threads``) with
  ``hardware``, the same as one line for reports, the ``software`` (torch and timm) and the ``code``
  (timm_ran's version, and the git commit of a checkout, ``+dirty`` with uncommitted changes).
"""
import csv
import io
import json
import os
import platform
import shlex
import subprocess
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

import timm

from ..errors import MissingPathError
from .files import atomic_write_text

__all__ = ['RUN_LOGS', 'STARTED_FORMAT', 'write_args', 'read_history', 'write_history', 'hardware_fields',
           'RunSegments', 'load_run', 'epochs_done', 'duration', 'training_time', 'segment_trained',
           'epoch_segment', 'segment_hardware_kind', 'training_time_by_hardware', 'epoch_times_on', 'hardware_used',
           'segment_differences', 'recipe_summary']

RUN_LOGS = ('summary.csv', 'summary.json', 'segments.json', 'args.json', 'curves.png')
STARTED_FORMAT = '%Y-%m-%dT%H:%M:%S%z'  # a segment's 'started': local time with its UTC offset


def _read_json(path: str) -> Any:
    with open(path) as f:
        return json.load(f)


def write_args(output: str, args: Dict[str, Any]) -> None:
    atomic_write_text(os.path.join(output, 'args.json'), json.dumps(args, indent=1) + '\n')


def read_history(output: str, before_epoch: int) -> List[Dict[str, Any]]:
    """Rows of a run's summary.json for the epochs before ``before_epoch`` (what a resume keeps).

    Read from the JSON, not summary.csv, whose 6 significant figures would otherwise replace the full
    values in summary.json when the history is written back."""
    path = os.path.join(output, 'summary.json')
    if not os.path.exists(path):
        return []
    return [row for row in _read_json(path) if row['epoch'] < before_epoch]


def write_history(output: str, history: List[Dict[str, Any]]) -> None:
    """Rewrite summary.csv and summary.json whole, atomically."""
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=list(history[0]), lineterminator='\n')
    writer.writeheader()
    writer.writerows({k: f'{v:.6g}' if isinstance(v, float) else v for k, v in row.items()} for row in history)
    atomic_write_text(os.path.join(output, 'summary.csv'), table.getvalue())
    atomic_write_text(os.path.join(output, 'summary.json'), json.dumps(history, indent=1) + '\n')


def hardware_fields(device: torch.device) -> Dict[str, Any]:
    """What trains on ``device``: the GPU's name, or the CPU's model name, vector capability, whether it has
    AMX (bf16 speed depends on it) and the threads torch uses; ``hardware`` says the same in one line."""
    if device.type == 'cuda':
        name = torch.cuda.get_device_name(device)
        return dict(hardware=name, device_type='cuda', device_name=name)
    name, flags = platform.processor() or platform.machine(), []
    if os.path.exists('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            first_cpu = f.read().split('\n\n')[0].splitlines()
        info = {key.strip(): value.strip() for key, _, value in (line.partition(':') for line in first_cpu)}
        name, flags = info.get('model name', name), info.get('flags', '').split()
    capability, amx, threads = torch.backends.cpu.get_cpu_capability(), 'amx_tile' in flags, torch.get_num_threads()
    return dict(hardware=f"{name} ({capability}{' + AMX' if amx else ''}), {threads} threads", device_type='cpu',
                device_name=name, cpu_capability=capability, amx=amx, threads=threads)


def code_version() -> str:
    """timm_ran's version, with the commit when it runs from a git checkout (``+dirty``: changed since)."""
    from .. import __version__
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        commit = subprocess.run(['git', '-C', root, 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True,
                                timeout=10)
        dirty = subprocess.run(['git', '-C', root, 'status', '--porcelain', '--untracked-files=no'],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):  # no git here
        return f'timm_ran {__version__}'
    if commit.returncode != 0:  # not a checkout (an installed package)
        return f'timm_ran {__version__}'
    return f"timm_ran {__version__} at {commit.stdout.strip()}{'+dirty' if dirty.stdout.strip() else ''}"


class RunSegments:
    """``segments.json`` of a run, rewritten atomically after every epoch, so it always matches the
    checkpoint next to it. Segments of epochs a resume rolls back are cut to what the run kept."""

    def __init__(self, output: str, argv: List[str], start_epoch: int, device: torch.device, world_size: int):
        self.path = os.path.join(output, 'segments.json')
        segments = []
        if os.path.exists(self.path):
            segments = [s for s in _read_json(self.path) if s['first_epoch'] < start_epoch]
            for segment in segments:
                segment['last_epoch'] = min(segment['last_epoch'], start_epoch - 1)
        self.started = time.time()
        self.segments = segments + [dict(
            command=shlex.join(['python', '-m', 'timm_ran.train', *argv]), first_epoch=start_epoch,
            last_epoch=start_epoch - 1, started=time.strftime(STARTED_FORMAT), wall_time_s=0.,
            **hardware_fields(device), processes=world_size,
            software=f'torch {torch.__version__}, timm {timm.__version__}', code=code_version())]

    def epoch_done(self, epoch: int) -> None:
        self.segments[-1].update(last_epoch=epoch, wall_time_s=round(time.time() - self.started, 1))
        atomic_write_text(self.path, json.dumps(self.segments, indent=1) + '\n')


def load_run(run_dir: str) -> Dict[str, Any]:
    """The run's ``args`` (args.json), ``summary`` (summary.json) and ``segments`` (segments.json; empty
    lists where a file is missing)."""
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
    """'CPU', or the GPU's name, for a ``segments.json`` entry."""
    return 'CPU' if segment['device_type'] == 'cpu' else segment['device_name']


def epoch_segment(run: Dict[str, Any], epoch: int) -> Optional[Dict[str, Any]]:
    """The ``segments.json`` entry of a ``load_run`` run that trained ``epoch`` (the last one, where a killed
    segment and its resume both cover it), or None where no segment does (a run without ``segments.json``)."""
    segments = [s for s in run['segments'] if segment_trained(s, epoch)]
    return segments[-1] if segments else None


def training_time_by_hardware(run: Dict[str, Any]) -> Dict[str, float]:
    """Seconds of a ``load_run`` run's epochs per kind of hardware (``segment_hardware_kind``), in the order the
    run first used each. An epoch that no segment covers (``epoch_segment``) counts as 'unrecorded hardware'."""
    times: Dict[str, float] = {}
    for row in run['summary']:
        segment = epoch_segment(run, row['epoch'])
        kind = segment_hardware_kind(segment) if segment else 'unrecorded hardware'
        times[kind] = times.get(kind, 0.) + row['epoch_time']
    return times


def epoch_times_on(run: Dict[str, Any], hardware: str) -> List[float]:
    """The times of a ``load_run`` run's epochs that a segment on ``hardware`` (its ``hardware`` field, e.g.
    'AMD EPYC (AVX512), 2 threads') trained (``epoch_segment``)."""
    return [row['epoch_time'] for row in run['summary']
            if (epoch_segment(run, row['epoch']) or {}).get('hardware') == hardware]


def hardware_used(runs: Sequence[Dict[str, Any]], software: bool = False) -> List[str]:
    """The hardware the segments of ``load_run`` runs name (with the software each ran, if ``software``), each
    once, in the order first used."""
    segments = [segment for run in runs for segment in run['segments']]
    return list(dict.fromkeys(f"{s['hardware']}, {s['software']}" if software else s['hardware'] for s in segments))


# arguments that do not change what a segment computes (where the run and its data live, how it logs)
_PLACE_ARGS = {'--output', '--resume', '--data-dir', '--no-progress', '--workers', '-j', '--checkpoint-hist'}


def _options(command: str) -> Dict[str, Tuple[str, ...]]:
    """A segment's ``timm_ran.train`` command as option -> its values (a flag: no values)."""
    tokens = shlex.split(command)
    tokens = tokens[tokens.index('timm_ran.train') + 1:] if 'timm_ran.train' in tokens else tokens
    options: Dict[str, Tuple[str, ...]] = {}
    key = None
    for token in tokens:
        if token.startswith('-') and not _is_number(token):
            key = token
            options[key] = ()
        elif key is not None:  # a value of the option before it (none precedes the first option)
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
    last, last_software = _options(segments[-1]['command']), segments[-1]['software']
    notes = []
    for segment in segments[:-1]:
        if segment['last_epoch'] < segment['first_epoch']:
            continue  # trained nothing that the run kept
        own, parts = _options(segment['command']), []
        missing = sorted(k for k in last if k not in own)
        extra = sorted(k for k in own if k not in last)
        changed = sorted(k for k in own if k in last and own[k] != last[k])
        if missing:
            parts.append('without ' + ', '.join(missing) + (' (fp32)' if '--amp' in missing else ''))
        if extra:
            parts.append('with ' + ', '.join(' '.join((k,) + own[k]) for k in extra))
        parts += [f"{k} {' '.join(own[k])}" for k in changed]
        if segment['software'] != last_software:
            parts.append(f"on {segment['software']}")
        if parts:
            notes.append(f"epochs {segment['first_epoch']}-{segment['last_epoch']} {', '.join(parts)}")
    return notes


def recipe_summary(run: Dict[str, Any]) -> str:
    """One line on how a ``load_run`` run trained: epochs, optimiser, learning rate and schedule, batch,
    precision and the summed epoch times, split by the hardware that ran them when it was more than one kind
    (e.g. '9.04 h (8.91 h on CPU, 8.1 min on NVIDIA H200)'), then how earlier segments differed."""
    args = run['args']
    precision = 'bf16' if args.get('amp') else 'fp32'
    parts = [f'{duration(seconds)} on {kind}' for kind, seconds in training_time_by_hardware(run).items()]
    if len(parts) > 1:
        time_spent = f"{duration(training_time(run['summary']))} ({', '.join(parts)})"
    else:
        time_spent = parts[0] if parts else duration(0.)
    return (f"{args['epochs']} epochs, {args['opt'].upper()} lr {args['lr']:g} {args['sched']}, batch "
            f"{args['batch_size']}, {precision}, {time_spent}"
            + ''.join(f'; {d}' for d in segment_differences(run['segments'])))
