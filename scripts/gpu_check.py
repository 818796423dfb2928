"""Measure ``timm_ran.train``'s training speed on a lent GPU, in one command that fits the window (issue 53):

    python scripts/gpu_check.py OUT_DIR                       # at most --budget-s seconds (default 480)
    python scripts/gpu_check.py OUT_DIR --then-train RUN_DIR --data-dir DATA   # then continue a run
    python scripts/gpu_check.py OUT_DIR --dry-run             # print the plan, run nothing

0. With ``--cuda-tests``: the suite's CUDA tests (``pytest -m cuda``, tests/test_cuda.py), in the budget.
1. The GPU's own bf16 matrix-multiply rate (TFLOP/s), for scale.
2. Training images/s of ``timm_ran.train``'s own step (``train.train_one_epoch``: batches cut and augmented on
   the device by ``TensorBatchLoader`` with the recipe's crop, flip and random erasing, bf16 autocast,
   channels_last, label smoothing, the fused SGD step) for each model, batch size and compile mode: eager,
   ``torch.compile`` with mode ``default``, ``reduce-overhead`` (CUDA graphs) and ``max-autotune``. Images are
   random CIFAR-sized uint8 tensors held on the device (the data path of ``--in-memory``), so no data set is
   needed. Each configuration trains ``--warmup-steps`` steps (compilation, autotuning) and then
   ``--steps`` timed steps. They run in the order of the plan; one whose expected cost no longer fits the
   budget is skipped and reported as such (max-autotune comes last: it compiles for minutes).
3. With ``--then-train RUN_DIR``: the rest of the budget continues that ``timm_ran.train`` run with its last
   segment's command (on this device, with ``--data-dir DATA``, and the fastest compile mode measured for its
   model and batch), stopped when the budget ends; each finished epoch is checkpointed atomically, so the
   run resumes on any machine with ``--resume auto``.

Writes ``OUT_DIR/gpu-check.md`` and ``gpu-check.json`` after every step, ready to commit under ``results/gpu/``.
Without CUDA (and without ``--device cpu``, which the tests use) it says so and exits with status 1.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from timm_ran.markdown import markdown_table  # noqa: E402
from timm_ran.training.files import atomic_write_text  # noqa: E402

MODES = ('eager', 'default', 'reduce-overhead', 'max-autotune')
# seconds a configuration is expected to take before its timed steps (compilation), until one is measured
SETUP_GUESS_S = {'eager': 15., 'default': 90., 'reduce-overhead': 100., 'max-autotune': 300.}
GOAL_MODEL, GOAL_IMG_PER_S = 'attention92', 15_000  # issue 53: attention92 on an H100 or H200, bf16


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('output', help='folder for the results (created)')
    parser.add_argument('--budget-s', type=float, default=480., help='seconds for the whole command')
    parser.add_argument('--models', nargs='+', default=['attention92', 'resnet164_cifar', 'attention56'])
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[512, 128])
    parser.add_argument('--modes', nargs='+', choices=MODES, default=list(MODES))
    parser.add_argument('--steps', type=int, default=40, help='timed training steps per configuration')
    parser.add_argument('--warmup-steps', type=int, default=10, help='steps before the timed ones (compilation)')
    parser.add_argument('--matmul-size', type=int, default=8192, help='n of the n x n x n bf16 matrix multiply')
    parser.add_argument('--device', default='cuda', help="'cuda', or 'cpu' to try the script without a GPU")
    parser.add_argument('--then-train', metavar='RUN_DIR', default=None,
                        help='continue this timm_ran.train run for the rest of the budget')
    parser.add_argument('--data-dir', default=None, help="the run's data on this machine (with --then-train)")
    parser.add_argument('--cuda-tests', action='store_true', help="first run the suite's CUDA tests (pytest -m cuda)")
    parser.add_argument('--dry-run', action='store_true', help='print the plan and exit')
    return parser


def cuda_tests(output: str) -> Dict[str, Any]:
    command = [sys.executable, '-m', 'pytest', '-m', 'cuda', '-q', '-rs', '-p', 'no:cacheprovider',
               '--junitxml', os.path.join(output, 'cuda-tests.xml'), os.path.join(ROOT, 'tests')]
    started = time.time()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    atomic_write_text(os.path.join(output, 'cuda-tests.log'), done.stdout + done.stderr)
    last = (done.stdout.strip().splitlines() or [''])[-1]
    return dict(command=shlex.join(command), returncode=done.returncode, wall_s=time.time() - started, summary=last)


def plan(args) -> List[Dict[str, Any]]:
    """The configurations in the order they run: every model and batch size eager, then compiled with each
    mode but max-autotune, then max-autotune (the longest to compile)."""
    quick = [m for m in args.modes if m != 'max-autotune']
    slow = [m for m in args.modes if m == 'max-autotune']
    return [dict(model=model, batch_size=batch, mode=mode)
            for modes in (quick, slow) for model in args.models for batch in args.batch_sizes for mode in modes]


def matmul_tflops(device, size: int) -> float:
    import torch
    a = torch.randn(size, size, device=device, dtype=torch.bfloat16)
    b = torch.randn(size, size, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    _sync(device)
    repeats, started = 20, time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return 2 * size ** 3 * repeats / (time.perf_counter() - started) / 1e12


def _sync(device) -> None:
    import torch
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def measure(config: Dict[str, Any], device, steps: int, warmup_steps: int) -> Dict[str, Any]:
    """Training images/s of ``timm_ran.train``'s step for one configuration (warm-up steps, then timed ones)."""
    import torch
    import timm
    from timm.loss import LabelSmoothingCrossEntropy
    from timm.optim import create_optimizer_v2
    from timm_ran import train
    from timm_ran.training.batch_data import BatchAugment, ImageTensors, TensorBatchLoader

    batch, mode = config['batch_size'], config['mode']
    args = train.build_parser().parse_args([
        '--data-dir', '-', '--model', config['model'], '--batch-size', str(batch), '--amp', '--channels-last',
        '--no-progress', '--smoothing', '0.1', '--reprob', '0.25'])
    env = dict(device=device, world_size=1, rank=0)
    model = timm.create_model(config['model'], num_classes=10).to(device).to(memory_format=torch.channels_last)
    optimizer = create_optimizer_v2(model, opt='sgd', lr=0.2 * batch / 128, weight_decay=5e-4, momentum=0.9,
                                    **train.fused_update('sgd'))
    train_model = model if mode == 'eager' else torch.compile(model, mode=mode)
    cfg = model.pretrained_cfg
    augment = BatchAugment(cfg['mean'], cfg['std'], reprob=args.reprob, device=device)

    def epoch(number: int, batches: int) -> Dict[str, float]:
        generator = torch.Generator().manual_seed(number)
        data = ImageTensors(torch.randint(0, 256, (batches * batch, 3, 32, 32), dtype=torch.uint8, generator=generator),
                            torch.randint(0, 10, (batches * batch,), generator=generator))
        loader = TensorBatchLoader(data, batch, augment=augment, shuffle=True, seed=number, device=device)
        loader.set_epoch(number)
        return train.train_one_epoch(train_model, loader, optimizer, LabelSmoothingCrossEntropy(0.1), args, env,
                                     number, None, None, None, None, len(loader))

    setup = epoch(0, warmup_steps)
    timed = epoch(1, steps)
    return dict(config, train_img_per_s=timed['train_img_per_s'], step_ms=1000 * timed['train_time'] / steps,
                setup_s=setup['train_time'], steps=steps)


def _release(device) -> None:
    import gc
    import torch
    torch._dynamo.reset()
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.empty_cache()


def continue_run(run_dir: str, data_dir: str, device: str, seconds: float, results: List[Dict[str, Any]],
                 output: str) -> Dict[str, Any]:
    """Run the last segment's command of ``run_dir`` on this device for ``seconds`` (then stop it)."""
    from timm_ran.training.run_log import epochs_done, load_run
    run = load_run(run_dir)
    before = epochs_done(run)
    tokens = shlex.split(run['segments'][-1]['command'])
    tokens = tokens[tokens.index('timm_ran.train') + 1:]
    command = _with_options(tokens, {'--data-dir': data_dir, '--output': run_dir, '--resume': 'auto',
                                     '--device': device})
    measured = [r for r in results if r.get('model') == run['args']['model'] and
                r.get('batch_size') == run['args']['batch_size'] and 'train_img_per_s' in r]
    best = max(measured, key=lambda r: r['train_img_per_s'], default=None)
    if best and best['mode'] in ('reduce-overhead', 'max-autotune') and '--torchcompile' in command:
        command = _with_options(command, {'--torchcompile-mode': best['mode']})
    command = [sys.executable, '-m', 'timm_ran.train', *command]
    started = time.time()
    with open(os.path.join(output, 'then-train.log'), 'w') as log:
        try:
            returncode = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                        timeout=seconds).returncode
        except subprocess.TimeoutExpired:
            returncode = 'stopped at the end of the budget'
    return dict(step='then-train', run_dir=run_dir, command=shlex.join(command), returncode=returncode,
                wall_s=time.time() - started, epochs_before=before, epochs_after=epochs_done(load_run(run_dir)))


def _with_options(tokens: List[str], values: Dict[str, str]) -> List[str]:
    """``tokens`` (a command's arguments) with each option of ``values`` set to its value, added if absent."""
    tokens = list(tokens)
    for option, value in values.items():
        if option in tokens:
            tokens[tokens.index(option) + 1] = value
        else:
            tokens += [option, value]
    return tokens


def render(report: Dict[str, Any]) -> str:
    lines = ['# GPU check: training speed of timm_ran.train', '',
             f"Device: {report['device']}; torch {report['torch']}. bf16 matrix multiply "
             f"({report['matmul_size']}^3): {report['matmul_tflops']:.0f} TFLOP/s. Made by "
             f"`python scripts/gpu_check.py OUT_DIR` in {report['wall_s']:.0f} s.", '',
             'Training images/s of `timm_ran.train`\'s step (bf16 autocast, channels_last, batches augmented on '
             'the device with crop, flip and random erasing 0.25, fused SGD), after the warm-up steps:', '']
    rows = [[r['model'], r['batch_size'], r['mode'],
             *([f"{r['train_img_per_s']:,.0f}", f"{r['step_ms']:.1f}", f"{r['setup_s']:.0f}"]
               if 'train_img_per_s' in r else [r['skipped'], '', ''])] for r in report['configs']]
    lines += markdown_table(['model', 'batch', 'mode', 'train img/s', 'ms per step', 'warm-up (s, with compilation)'],
                            rows, '|---|---:|---|---:|---:|---:|')
    goal = [r for r in report['configs'] if r['model'] == GOAL_MODEL and 'train_img_per_s' in r]
    if goal:
        best = max(goal, key=lambda r: r['train_img_per_s'])
        lines += ['', f"{GOAL_MODEL}: best {best['train_img_per_s']:,.0f} img/s (batch {best['batch_size']}, "
                      f"{best['mode']}); goal {GOAL_IMG_PER_S:,} img/s "
                      f"{'met' if best['train_img_per_s'] >= GOAL_IMG_PER_S else 'not met'}."]
    if report.get('cuda_tests'):
        t = report['cuda_tests']
        lines += ['', f"CUDA tests (`{t['command']}`): exit {t['returncode']} in {t['wall_s']:.0f} s: {t['summary']} "
                      f"(`cuda-tests.log`)."]
    if report.get('then_train'):
        t = report['then_train']
        lines += ['', f"Then trained `{t['run_dir']}` for {t['wall_s']:.0f} s: epochs done {t['epochs_before']} -> "
                      f"{t['epochs_after']} ({t['returncode']}); command `{t['command']}`, log `then-train.log`."]
    return '\n'.join(lines) + '\n'


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    configs = plan(args)
    if args.dry_run:
        if args.cuda_tests:
            print('first: pytest -m cuda')
        for number, config in enumerate(configs, 1):
            print(f"{number}. {config['model']}, batch {config['batch_size']}, {config['mode']}")
        if args.then_train:
            print(f'then: continue {args.then_train} with its last command until the budget ends')
        return 0
    if args.then_train and not args.data_dir:
        print('error: --then-train needs --data-dir (where the run\'s data is on this machine)', file=sys.stderr)
        return 2
    import torch
    if args.device == 'cuda' and not torch.cuda.is_available():
        print('error: no CUDA device here (torch.cuda.is_available() is False); run this on a machine with '
              'a GPU, or see the plan with --dry-run', file=sys.stderr)
        return 1
    started = time.time()
    device = torch.device(args.device)
    os.makedirs(args.output, exist_ok=True)
    report = dict(device=torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU',
                  torch=torch.__version__, matmul_size=args.matmul_size,
                  matmul_tflops=matmul_tflops(device, args.matmul_size), configs=[], wall_s=0.)
    if args.cuda_tests:
        report['cuda_tests'] = cuda_tests(args.output)
        _write(args.output, report)
    setup_estimate = dict(SETUP_GUESS_S)
    reserve = 120. if args.then_train else 0.  # the least worth leaving for the training run
    for config in configs:
        left = args.budget_s - reserve - (time.time() - started)
        if left < setup_estimate[config['mode']] * 1.2 + 10:
            report['configs'].append(dict(config, skipped=f'not measured: {left:.0f} s of the budget left'))
        else:
            try:
                result = measure(config, device, args.steps, args.warmup_steps)
                setup_estimate[config['mode']] = max(result['setup_s'], 1.)
            except Exception as error:  # one configuration failing (e.g. out of memory) must not lose the rest
                result = dict(config, skipped=f'failed: {type(error).__name__}: {str(error)[:200]}')
            _release(device)
            report['configs'].append(result)
            print(json.dumps(result), flush=True)
        report['wall_s'] = time.time() - started
        _write(args.output, report)
    if args.then_train:
        seconds = args.budget_s - (time.time() - started)
        report['then_train'] = continue_run(args.then_train, args.data_dir, args.device, seconds,
                                            report['configs'], args.output)
        report['wall_s'] = time.time() - started
        _write(args.output, report)
    return 0


def _write(output: str, report: Dict[str, Any]) -> None:
    atomic_write_text(os.path.join(output, 'gpu-check.json'), json.dumps(report, indent=1) + '\n')
    atomic_write_text(os.path.join(output, 'gpu-check.md'), render(report))


if __name__ == '__main__':
    sys.exit(main())
