"""Throughput of the Residual Attention Networks against a plain ResNet of the same kind, in one process.

    python benchmarks/throughput.py                                   # CPU, the default models and matrix
    python benchmarks/throughput.py --device cuda --batch-size-cifar 1024 --batch-size-imagenet 256
    python benchmarks/throughput.py --models attention92 --precision bf16 --mode eager --phase train

Every RAN model is paired with its baseline: timm's ``resnet50`` for the ImageNet networks (224x224) and
our pre-activation ``resnet164_cifar`` (1.7M params, the paper's CIFAR baseline) for the CIFAR ones. For
each configuration (precision x compile mode x phase) the models and baselines are built once, warmed up,
then timed in turns, ``--repeats`` rounds of ``--iters`` steps each, and the median images/s is kept, so
slow phases of a noisy machine hit every model alike. Achieved GMAC/s is images/s times the forward
multiply-adds of one image (``timm_ran.sizes``); a training step counts 3x the forward MACs (forward,
input gradients, weight gradients). The figure that matters is the ratio of a model's achieved GMAC/s to
its baseline's in the same configuration.

A training step is forward, cross-entropy on random labels, backward and an SGD (momentum) step. bf16
means ``torch.autocast`` with bfloat16 (weights stay fp32); fp32 means no autocast. ``compile`` is
``torch.compile`` of the whole model (fullgraph); for inference with ``--freeze`` inductor's freezing
folds eval-mode BatchNorm into the convolutions. Inputs and weights are channels_last unless
``--no-channels-last``. Peak memory: on CUDA ``torch.cuda.max_memory_allocated`` over the timed steps;
on CPU, the growth of the peak resident set (VmHWM) over the first eager step of a fresh process
(activations, gradients and optimizer state; glibc's default allocator), for eager configurations only.

Results go to ``<output>/throughput-<device>.json`` (rewritten after every configuration, so an
interrupted run keeps what it measured) and ``<output>/throughput-<device>.md``.
"""
import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

import timm
import torch
import torch.nn.functional as F

import timm_ran
from timm_ran.cli import progress_bar
from timm_ran.markdown import markdown_table
from timm_ran.training.files import atomic_write_text
from timm_ran.training.runtime import autocast_context, tune_cpu_allocator
from timm_ran.sizes import count_size

DEFAULT_MODELS = ('attention56', 'attention92', 'attention56_imagenet', 'attention92_imagenet')
IMAGENET_BASELINE = 'resnet50'
CIFAR_BASELINE = 'resnet164_cifar'
PRECISIONS = ('fp32', 'bf16')
MODES = ('eager', 'compile')
PHASES = ('infer', 'train')
TRAIN_MAC_FACTOR = 3


@dataclass(frozen=True)
class Config:
    precision: str
    mode: str
    phase: str


@dataclass
class Measurement:
    model: str
    baseline: Optional[str]
    precision: str
    mode: str
    phase: str
    batch_size: int
    img_size: int
    gmacs_per_image: float
    img_per_s: float
    img_per_s_runs: List[float]
    gmac_per_s: float
    peak_memory_mb: Optional[float]
    ratio_to_baseline: Optional[float] = None


def baseline_of(model_name: str) -> str:
    """resnet50 for 224x224 (ImageNet) networks, resnet164_cifar for 32x32 (CIFAR) ones."""
    size = timm.create_model(model_name, device='meta').pretrained_cfg['input_size'][-1]
    return IMAGENET_BASELINE if size >= 224 else CIFAR_BASELINE




def synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


class Runner:
    """One model in one configuration: builds it, and runs steps on a fixed random batch."""

    def __init__(self, name: str, config: Config, batch_size: int, device: torch.device, channels_last: bool,
                 freeze: bool):
        self.config = config
        self.device = device
        self.train = config.phase == 'train'
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        model = timm.create_model(name).to(device=device, memory_format=memory_format).train(self.train)
        size = model.pretrained_cfg['input_size'][-1]
        self.img_size = size
        self.batch_size = batch_size
        self.inputs = torch.randn(batch_size, 3, size, size, device=device).to(memory_format=memory_format)
        self.targets = torch.randint(0, model.num_classes, (batch_size,), device=device)
        self.optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9) if self.train else None
        self.forward: Callable = model
        if config.mode == 'compile':
            options = {'freezing': True} if freeze and not self.train else None
            self.forward = torch.compile(model, fullgraph=True, options=options)

    def step(self) -> None:
        with autocast_context(self.device, self.config.precision == 'bf16', 'bfloat16'), torch.set_grad_enabled(self.train):
            logits = self.forward(self.inputs)
            if self.train:
                loss = F.cross_entropy(logits.float(), self.targets)
        if self.train:
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()

    def timed(self, iters: int) -> float:
        """Images per second over ``iters`` steps."""
        synchronize(self.device)
        start = time.perf_counter()
        for _ in range(iters):
            self.step()
        synchronize(self.device)
        return iters * self.batch_size / (time.perf_counter() - start)


def cpu_peak_memory_mb(name: str, config: Config, batch_size: int, channels_last: bool) -> float:
    """Growth of the peak resident set over one eager step of ``name``, in a fresh process."""
    args = [sys.executable, __file__, '--probe-memory', name, config.precision, config.phase, str(batch_size)]
    if not channels_last:
        args.append('--no-channels-last')
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def _vm_kb(field: str) -> int:
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith(field + ':'):
            return int(line.split()[1])
    raise RuntimeError(f'{field} not in /proc/self/status')


def probe_memory(name: str, precision: str, phase: str, batch_size: int, channels_last: bool) -> None:
    """Child process of ``cpu_peak_memory_mb``: the first step of a fresh process, so that no memory freed
    by an earlier step is already resident (which would hide part of the peak)."""
    runner = Runner(name, Config(precision, 'eager', phase), batch_size, torch.device('cpu'), channels_last, False)
    Path('/proc/self/clear_refs').write_text('5')  # resets VmHWM to the current resident set
    before = _vm_kb('VmRSS')
    runner.step()
    print((_vm_kb('VmHWM') - before) / 1024)


def measure_config(args: argparse.Namespace, config: Config, device: torch.device, baselines: Dict[str, str],
                   macs: Dict[str, float]) -> List[Measurement]:
    """All models of one configuration, timed in turns. ``baselines`` maps each RAN model to its baseline,
    ``macs`` every model and baseline to its forward GMACs per image."""
    names = list(macs)
    runners: Dict[str, Runner] = {}
    for name in names:
        imagenet = IMAGENET_BASELINE in (name, baselines.get(name))
        batch_size = args.batch_size_imagenet if imagenet else args.batch_size_cifar
        runners[name] = Runner(name, config, batch_size, device, args.channels_last, args.freeze)
        start = time.perf_counter()
        for _ in range(args.warmup):
            runners[name].step()
        print(f'  {name}: built and warmed up in {time.perf_counter() - start:.1f} s', flush=True)
    runs: Dict[str, List[float]] = {name: [] for name in names}
    peaks: Dict[str, Optional[float]] = {name: None for name in names}
    for _ in progress_bar(range(args.repeats), f'{config.precision} {config.mode} {config.phase}',
                          enabled=not args.no_progress):
        for name, runner in runners.items():
            if device.type == 'cuda':
                torch.cuda.reset_peak_memory_stats(device)
            runs[name].append(runner.timed(args.iters))
            if device.type == 'cuda':
                peaks[name] = max(peaks[name] or 0., torch.cuda.max_memory_allocated(device) / 2 ** 20)
    if device.type == 'cpu' and config.mode == 'eager' and args.memory:
        for name, runner in runners.items():
            peaks[name] = cpu_peak_memory_mb(name, config, runner.batch_size, args.channels_last)
    results = {}
    for name, runner in runners.items():
        gmacs = macs[name]
        img_per_s = statistics.median(runs[name])
        factor = TRAIN_MAC_FACTOR if config.phase == 'train' else 1
        results[name] = Measurement(
            model=name, baseline=baselines.get(name),
            precision=config.precision, mode=config.mode, phase=config.phase, batch_size=runner.batch_size,
            img_size=runner.img_size, gmacs_per_image=gmacs, img_per_s=img_per_s, img_per_s_runs=runs[name],
            gmac_per_s=img_per_s * gmacs * factor, peak_memory_mb=peaks[name])
    for result in results.values():
        if result.baseline is not None:
            result.ratio_to_baseline = result.gmac_per_s / results[result.baseline].gmac_per_s
    return list(results.values())


def measurements_table(results: List[Dict]) -> str:
    """One row per model and configuration; the ratio column compares achieved GMAC/s to the baseline."""
    header = ['model', 'precision', 'mode', 'phase', 'batch', 'img/s', 'GMAC/s', 'peak MiB', 'GMAC/s ratio to baseline']
    rows = [[r['model'], r['precision'], r['mode'], r['phase'], str(r['batch_size']), f"{r['img_per_s']:.1f}",
             f"{r['gmac_per_s']:.1f}", '-' if r['peak_memory_mb'] is None else f"{r['peak_memory_mb']:.0f}",
             '(baseline)' if r['baseline'] is None else f"**{r['ratio_to_baseline']:.3f}** vs {r['baseline']}"]
            for r in results]
    return '\n'.join(markdown_table(header, rows, '|---|---|---|---|---:|---:|---:|---:|---|')) + '\n'


def ratio_table(results: List[Dict]) -> str:
    """The figure that matters: each RAN model's achieved GMAC/s over its baseline's, per configuration."""
    configs = list(dict.fromkeys((r['precision'], r['mode'], r['phase']) for r in results))
    ratios = {(r['model'], r['precision'], r['mode'], r['phase']): r['ratio_to_baseline']
              for r in results if r['baseline'] is not None}
    models = list(dict.fromkeys((r['model'], r['baseline']) for r in results if r['baseline'] is not None))
    rows = [[f'{model} ({baseline})', *(f'{ratios[(model, *c)]:.3f}' if (model, *c) in ratios else '-'
                                         for c in configs)] for model, baseline in models]
    header = ['model (baseline)', *(' '.join(c) for c in configs)]
    return '\n'.join(markdown_table(header, rows, '|---|' + '---:|' * len(configs))) + '\n'


def environment(device: torch.device, args: argparse.Namespace, allocator_tuned: bool) -> Dict:
    env = {
        'python': platform.python_version(), 'torch': torch.__version__, 'timm': timm.__version__,
        'timm_ran': timm_ran.__version__, 'machine': platform.machine(), 'processor': platform.processor(),
        'cpu_threads': torch.get_num_threads(), 'device': device.type, 'channels_last': args.channels_last,
        'freeze': args.freeze, 'warmup': args.warmup, 'iters': args.iters, 'repeats': args.repeats,
        'cpu_allocator_tuned': allocator_tuned, 'train_mac_factor': TRAIN_MAC_FACTOR,
        'command': ' '.join([Path(sys.argv[0]).as_posix()] + sys.argv[1:]),
    }
    if device.type == 'cuda':
        env['gpu'] = torch.cuda.get_device_name(device)
    return env


def write_results(output: Path, device: torch.device, env: Dict, results: List[Dict]) -> None:
    stem = output / f'throughput-{device.type}'
    atomic_write_text(stem.with_suffix('.json'), json.dumps({'environment': env, 'results': results}, indent=2))
    header = (
        f"Measured by `{env['command']}` ({env['device']}, {env['cpu_threads']} CPU threads"
        f"{', ' + env['gpu'] if 'gpu' in env else ''}; torch {env['torch']}, timm {env['timm']}; "
        f"channels_last={env['channels_last']}, CPU allocator tuned={env['cpu_allocator_tuned']}; "
        f"median of {env['repeats']} rounds of {env['iters']} steps).\n\n")
    body = (f'GMAC/s ratio to the baseline:\n\n{ratio_table(results)}\n'
            f'All measurements:\n\n{measurements_table(results)}')
    atomic_write_text(stem.with_suffix('.md'), header + body)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--models', nargs='+', default=list(DEFAULT_MODELS),
                        help='RAN models (their baselines are added)')
    parser.add_argument('--precision', nargs='+', default=list(PRECISIONS), choices=PRECISIONS)
    parser.add_argument('--mode', nargs='+', default=list(MODES), choices=MODES)
    parser.add_argument('--phase', nargs='+', default=list(PHASES), choices=PHASES)
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda' (default: cpu)")
    parser.add_argument('--batch-size-cifar', type=int, default=128)
    parser.add_argument('--batch-size-imagenet', type=int, default=16)
    parser.add_argument('--warmup', type=int, default=2, help='untimed steps per model and configuration')
    parser.add_argument('--iters', type=int, default=3, help='steps per timed round')
    parser.add_argument('--repeats', type=int, default=5, help='timed rounds (the median is kept)')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar over the rounds (there is none unless stderr is a terminal)')
    parser.add_argument('--no-channels-last', dest='channels_last', action='store_false')
    parser.add_argument('--no-freeze', dest='freeze', action='store_false',
                        help='compile inference without inductor freezing (BatchNorm folding)')
    parser.add_argument('--no-memory', dest='memory', action='store_false', help='skip the CPU memory probes')
    parser.add_argument('--no-allocator-tuning', dest='tune_allocator', action='store_false',
                        help='keep glibc malloc defaults (see timm_ran.training.runtime)')
    parser.add_argument('--output', type=Path, default=Path('results/throughput'))
    parser.add_argument('--render', type=Path, metavar='JSON',
                        help="rewrite the Markdown of a results file (this script's JSON) and exit")
    parser.add_argument('--probe-memory', nargs=4, metavar=('MODEL', 'PRECISION', 'PHASE', 'BATCH'),
                        help=argparse.SUPPRESS)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.probe_memory:
        name, precision, phase, batch = args.probe_memory
        probe_memory(name, precision, phase, int(batch), args.channels_last)
        return 0
    if args.render:
        saved = json.loads(args.render.read_text())
        write_results(args.render.parent, torch.device(saved['environment']['device']), saved['environment'],
                      saved['results'])
        return 0
    device = torch.device(args.device)
    if device.type not in ('cpu', 'cuda'):
        raise SystemExit(f"--device={args.device!r} is not supported; choose 'cpu' or 'cuda'")
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA device is available')
    unknown = sorted(set(args.models) - set(timm_ran.MODEL_NAMES))
    if unknown:
        raise SystemExit(f"--models: unknown {unknown}; choose from {', '.join(timm_ran.MODEL_NAMES)}")
    allocator_tuned = tune_cpu_allocator() if args.tune_allocator else False
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True
    paired = {m: baseline_of(m) for m in args.models}
    baselines = {m: b for m, b in paired.items() if b != m}  # a baseline passed in --models has none itself
    names = dict.fromkeys(n for m in args.models for n in (m, baselines.get(m, m)))
    macs = {name: count_size(name).macs / 1e9 for name in names}
    env = environment(device, args, allocator_tuned)
    results: List[Dict] = []
    for precision in args.precision:
        for mode in args.mode:
            for phase in args.phase:
                config = Config(precision, mode, phase)
                print(f'{precision} {mode} {phase}', flush=True)
                measurements = measure_config(args, config, device, baselines, macs)
                results += [asdict(m) for m in measurements]
                write_results(args.output, device, env, results)
                for m in measurements:
                    ratio = '' if m.ratio_to_baseline is None else f'  ratio {m.ratio_to_baseline:.3f}'
                    print(f'  {m.model:24s} {m.img_per_s:9.1f} img/s {m.gmac_per_s:8.1f} GMAC/s{ratio}', flush=True)
                torch._dynamo.reset()
    print(f"wrote {args.output / f'throughput-{device.type}'}.json and .md")
    return 0


if __name__ == '__main__':
    sys.exit(main())
