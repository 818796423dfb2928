"""Train a timm_ran (or any timm) model: ``python -m timm_ran.train --model attention56 --data-dir DIR``.

Built on timm's components (data sets and transforms, Mixup/CutMix, ``create_optimizer_v2``,
``create_scheduler_v2``, ``ModelEmaV3``, ``CheckpointSaver``), with
timm's train.py argument names where they overlap. Runs on CPU (bf16 autocast, channels_last) and CUDA
(bf16 / fp16 AMP), and data-parallel under ``torchrun --nproc_per_node N`` (NCCL on CUDA, gloo on CPU).

Reproducible and resumable: every epoch draws its data order, augmentation and dropout from seeds
derived from ``--seed`` and the epoch, checkpoints are written atomically at the end of each epoch, and
``--resume`` continues from the last one to the same weights as an uninterrupted run. The per-epoch
log (``summary.csv`` / ``summary.json``) is rewritten whole at each epoch end, so it never repeats or
skips an epoch, ``curves.png`` plots it after every evaluation, and ``segments.json`` records every
process that trained the run (command, epochs, wall time, hardware): ``timm_ran.training.run_log``.

``--in-memory`` (small images) decodes the data once and augments whole batches in the training process
(``timm_ran.training.batch_data``); ``--holdout N`` evaluates on N held-out training images instead of the test
split, for choosing a recipe; ``--low-res SIZE EPOCHS`` trains the first epochs at a lower resolution.
"""
import argparse
import inspect
import logging
import math
import os
import random
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
from timm.data import Mixup, resolve_data_config
from timm.loss import LabelSmoothingCrossEntropy, SoftTargetCrossEntropy
from timm.models import clean_state_dict
from timm.optim import create_optimizer_v2, get_optimizer_class
from timm.scheduler import create_scheduler_v2
from timm.utils import CheckpointSaver, ModelEmaV3, NativeScaler, ParseKwargs, reduce_tensor, unwrap_model
from timm.utils.distributed import init_distributed_device_so
from torch.nn.parallel import DistributedDataParallel

import timm

from .cli import ToolParser, check_model_name, float_in, int_at_least, progress_bar, run_tool
from .training.data import EVAL_SPLITS, TRAIN_CROPS, build_dataset, class_names_of, epoch_seed, find_split
from .training.loaders import HOLDOUT_FRACTION, build_loaders
from .training.files import atomic_write
from .models.checkpoints import check_state_dict, load_checkpoint_file
from .errors import CheckpointError, InputError, MissingPathError
from .training.evaluation import evaluation_sums
from .training.run_log import RunSegments, read_history, write_args, write_history
from .training.runtime import AMP_DTYPES, autocast_context, tune_cpu_allocator, warn_if_bf16_is_emulated

_logger = logging.getLogger('timm_ran.train')
COMPILE_MODES = ('default', 'reduce-overhead', 'max-autotune')


def build_parser() -> argparse.ArgumentParser:
    parser = ToolParser(prog='python -m timm_ran.train', description=__doc__.split('\n\n')[0],
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    group = parser.add_argument_group('data')
    group.add_argument('--data-dir', required=True,
                       help='data root: a class-folder tree or tar per split (train/ and val/, validation/ or '
                            'test/), or one class-folder tree of training images')
    group.add_argument('--dataset', default='', help="'' (folder/tar), torch/cifar10, torch/cifar100")
    group.add_argument('--train-split', default='train',
                       help="training split ('.': --data-dir itself, as when it holds no train/ folder)")
    group.add_argument('--val-split', default=None,
                       help=f'evaluation split (default: the first of {", ".join(EVAL_SPLITS)} in --data-dir; with '
                            f'none, a seeded {HOLDOUT_FRACTION:.0%}% of the training images is held out instead)')
    group.add_argument('--train-subset', type=int_at_least(1), default=None, help='train on a seeded random subset of N images')
    group.add_argument('--val-subset', type=int_at_least(1), default=None, help='evaluate on a seeded random subset of N images')
    group.add_argument('--holdout', type=int_at_least(1), default=None, metavar='N',
                       help='evaluate on a seeded N images held out of the training split and train on the rest '
                            '(recipe selection without the test set), instead of on --val-split')
    group.add_argument('--workers', '-j', type=int_at_least(0), default=2, help='data loading processes per rank')
    group.add_argument('--in-memory', action='store_true',
                       help='decode the data once into memory (on the GPU when training there) and augment whole batches '
                            'in the training process, no workers (small images: pad-crop, flip, random erasing; '
                            'see timm_ran.training.batch_data)')
    group.add_argument('--low-res', type=int, nargs=2, default=None, metavar=('SIZE', 'EPOCHS'),
                       help='progressive resizing: train the first EPOCHS epochs on SIZE x SIZE batches '
                            '(down-sampled after augmentation; needs --in-memory)')
    group.add_argument('--upscale-from', type=int, default=None, metavar='SIZE',
                       help="images are SIZE x SIZE: augment them at that size, then up-sample bicubically to the "
                            "model's input size (e.g. 32 for CIFAR with attnrefine_resnet8)")
    group.add_argument('--input-size', type=int_at_least(8), default=None, metavar='SIZE',
                       help="train and evaluate at SIZE x SIZE instead of the model's input size (the networks "
                            "take any size); images of any size are resized to it (see --train-crop)")
    group.add_argument('--train-crop', default='pad', choices=TRAIN_CROPS,
                       help='training crop for inputs up to 64 pixels, after the shorter side is resized as for '
                            'evaluation: pad (reflect padding of 1/8, random crop: the paper\'s CIFAR augmentation) '
                            'or rrc (random-resized crop of --scale of the area); see docs/training.md')
    group.add_argument('--scale', type=float_in(0.01, 1), nargs=2, default=(0.35, 1.), metavar=('LOW', 'HIGH'),
                       help='area range of --train-crop rrc')
    group.add_argument('--label-noise', type=float_in(0, 1), default=0., metavar='FRACTION',
                       help='give this fraction of the training images a wrong label, drawn uniformly from the '
                            'other classes (fixed by --seed; paper Sec. 4.1)')
    group = parser.add_argument_group('model')
    group.add_argument('--model', default='attention56')
    group.add_argument('--pretrained', action='store_true', help="start from the model's pretrained weights")
    group.add_argument('--model-kwargs', nargs='*', default={}, action=ParseKwargs, metavar='KEY=VALUE',
                       help='more model arguments, e.g. attention_residual=False mask_act=spatial')
    group.add_argument('--num-classes', type=int_at_least(1), default=None,
                       help='classifier outputs (default: the number of classes of the training data, which a '
                            'given count must equal)')
    group.add_argument('--drop', type=float_in(0, 1), default=0., help='dropout before the classifier')
    group.add_argument('--drop-path', type=float_in(0, 1), default=0., help='stochastic depth rate')
    group.add_argument('--channels-last', action='store_true', help='channels_last memory format')
    group.add_argument('--torchcompile', nargs='?', const='inductor', default=None,
                       help='torch.compile the model with this backend (inductor if none is named)')
    group.add_argument('--torchcompile-mode', '--compile-mode', choices=COMPILE_MODES, default=None,
                       help="torch.compile's mode, with --torchcompile: reduce-overhead replays CUDA graphs (fewer "
                            "kernel launches), max-autotune also tunes the kernels (compiles for minutes); the "
                            "training batches have one shape (the last partial batch is dropped), so the graph "
                            "compiles once")
    group = parser.add_argument_group('optimisation')
    group.add_argument('--epochs', type=int_at_least(1), default=200)
    group.add_argument('--batch-size', '-b', type=int_at_least(1), default=128, help='per rank')
    group.add_argument('--opt', default='sgd')
    group.add_argument('--lr', type=float_in(0), default=0.1)
    group.add_argument('--momentum', type=float, default=0.9)
    group.add_argument('--weight-decay', type=float_in(0), default=5e-4)
    group.add_argument('--clip-grad', type=float, default=None)
    group.add_argument('--sched', default='cosine')
    group.add_argument('--sched-on-updates', action='store_true', help='step the schedule every update')
    group.add_argument('--decay-milestones', type=int, nargs='+', default=[100, 150], help='for --sched multistep')
    group.add_argument('--decay-rate', type=float, default=0.1)
    group.add_argument('--warmup-epochs', type=int_at_least(0), default=0)
    group.add_argument('--warmup-lr', type=float, default=1e-4)
    group.add_argument('--min-lr', type=float, default=0.)
    group = parser.add_argument_group('regularisation and augmentation')
    group.add_argument('--smoothing', type=float_in(0, 1), default=0.)
    group.add_argument('--mixup', type=float, default=0.)
    group.add_argument('--cutmix', type=float, default=0.)
    group.add_argument('--mixup-prob', type=float_in(0, 1), default=1.)
    group.add_argument('--aa', default=None, help="timm auto-augment spec, e.g. 'rand-m9-mstd0.5'")
    group.add_argument('--reprob', type=float_in(0, 1), default=0., help='random erasing probability')
    group.add_argument('--hflip', type=float_in(0, 1), default=0.5)
    group.add_argument('--model-ema', action='store_true')
    group.add_argument('--model-ema-decay', type=float_in(0, 1), default=0.9999)
    group.add_argument('--model-ema-warmup', action='store_true',
                       help='EMA decay warm-up: min(decay, 1 - (1 + step) ** -3/4), so a short run averages '
                            'recent weights early instead of its random start (timm ModelEmaV3)')
    group = parser.add_argument_group('run')
    group.add_argument('--amp', action='store_true', help='mixed precision: bf16 autocast on CPU, --amp-dtype on CUDA')
    group.add_argument('--amp-dtype', default='bfloat16', choices=AMP_DTYPES, help='autocast type on CUDA')
    group.add_argument('--device', default=None, help="'cpu' or 'cuda' (default: cuda if available)")
    group.add_argument('--seed', type=int, default=42)
    group.add_argument('--output', default='output/train', help='folder of the run (checkpoints, logs, curves)')
    group.add_argument('--resume', default='',
                       help="checkpoint to continue from ('auto': --output's last.pth.tar if there is one); "
                            "without it, an --output that holds a run already is refused")
    group.add_argument('--eval-interval', type=int_at_least(1), default=1, metavar='N',
                       help='evaluate every N epochs and after the last one (the other rows of the log hold nan)')
    group.add_argument('--checkpoint-hist', type=int_at_least(1), default=3, help='best checkpoints kept')
    group.add_argument('--no-progress', action='store_true',
                       help='no progress bar (there is none unless stderr is a terminal)')
    group.add_argument('--no-allocator-tuning', dest='tune_allocator', action='store_false',
                       help='on CPU, keep the C library allocator as it is (see timm_ran.training.runtime)')
    return parser


def seed_epoch(seed: int, epoch: int, rank: int) -> None:
    """Seed every RNG the main process draws from for one epoch (augmentation with 0 workers,
    dropout, stochastic depth, mixup), so a resumed epoch repeats the uninterrupted one."""
    value = epoch_seed(seed, epoch, rank)
    random.seed(value)
    np.random.seed(value % 2 ** 32)
    torch.manual_seed(value)


def setup_distributed(device_arg: Optional[str]) -> Dict[str, Any]:
    """Process group from torchrun's (or SLURM's) environment, NCCL on CUDA and gloo on CPU, or a single
    process: timm's ``init_distributed_device_so``, which also gives each rank its own GPU."""
    device = device_arg or ('cuda' if torch.cuda.is_available() else 'cpu')
    info = init_distributed_device_so(device=device)
    return dict(world_size=info['world_size'], rank=info['global_rank'], device=torch.device(info['device']))


def fused_update(opt: str) -> Dict[str, bool]:
    """``fused=True`` where the optimizer has a fused update (one kernel for all parameter tensors: for
    attention92's SGD step 2 operators instead of about 4,900, results/speed/step-ops.md), else nothing. The
    same arithmetic: SGD's weights are bit-identical either way (tests/test_train.py)."""
    return dict(fused=True) if 'fused' in inspect.signature(get_optimizer_class(opt, bind_defaults=False)).parameters \
        else {}


def _listed(names: List[str], limit: int = 6) -> str:
    return ', '.join(names[:limit]) + (f' and {len(names) - limit} more' if len(names) > limit else '')


def refuse_finished_output(output: str) -> None:
    """A new run (no ``--resume``) must not overwrite the run an ``--output`` already holds."""
    found = [name for name in ('last.pth.tar', 'summary.json') if os.path.exists(os.path.join(output, name))]
    if found:
        raise InputError(f'--output {output!r} holds a run already ({", ".join(found)}): continue it with --resume auto, '
                         f'or choose a new folder')


def load_resume_checkpoint(path: str, model: nn.Module, optimizer, loss_scaler, model_ema) -> Tuple[int, Dict]:
    """Restores model, optimizer, loss scaler and EMA from a checkpoint of this script, read once; returns the
    epoch to start from and the state of the checkpoint saver (its history of kept files)."""
    if not os.path.isfile(path):
        raise MissingPathError(f'--resume {path!r}: no such file')
    checkpoint = load_checkpoint_file(path)
    if not isinstance(checkpoint, dict) or not {'state_dict', 'optimizer', 'epoch'} <= set(checkpoint):
        found = sorted(checkpoint) if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise CheckpointError(f"--resume {path!r} is not a checkpoint written by timm_ran.train: it needs "
                              f"'state_dict', 'optimizer' and 'epoch'; found {found}")
    state_dict = clean_state_dict(checkpoint['state_dict'])
    check_state_dict(model, state_dict, path, getattr(model, 'pretrained_cfg', {}).get('architecture'))
    model.load_state_dict(state_dict)
    optimizer.load_state_dict(checkpoint['optimizer'])
    if loss_scaler is not None and loss_scaler.state_dict_key in checkpoint:
        loss_scaler.load_state_dict(checkpoint[loss_scaler.state_dict_key])
    if model_ema is not None:  # a run that kept no EMA yet starts it from the weights
        model_ema.module.load_state_dict(clean_state_dict(checkpoint.get('state_dict_ema') or checkpoint['state_dict']))
    # timm's checkpoints since version 2 store the epoch just finished
    start_epoch = checkpoint['epoch'] + 1 if checkpoint.get('version', 1) > 1 else checkpoint['epoch']
    return start_epoch, checkpoint.get('saver', {})


def resolve_splits(args) -> None:
    """Complete ``--train-split`` and ``--val-split`` from what ``--data-dir`` holds: a folder without a
    ``train`` split is itself the training split (one class-folder tree), and the evaluation split is the
    first of ``EVAL_SPLITS`` it holds; with none (and no ``--holdout``), ``--val-split`` stays None and
    ``main`` holds out ``HOLDOUT_FRACTION`` of the training images. torchvision data sets evaluate on 'test'."""
    if args.dataset:
        if args.val_split is None:
            args.val_split = 'test'
        return
    root = args.data_dir
    if not os.path.exists(root):
        raise MissingPathError(f'--data-dir {root!r} does not exist')
    class_folders = os.path.isdir(root) and any(entry.is_dir() for entry in os.scandir(root))
    if args.train_split == 'train' and class_folders and find_split(root, ('train',) + EVAL_SPLITS) is None:
        args.train_split = '.'
        _logger.info(f'{root} has no train/ folder: its class folders are the training images')
    if args.val_split is None and args.holdout is None:
        args.val_split = find_split(root)


def train_one_epoch(model, loader, optimizer, loss_fn, args, env, epoch, scheduler, mixup, loss_scaler,
                    model_ema, updates_per_epoch) -> Dict[str, float]:
    """One epoch of training steps. The steps never wait for the device: the loss is summed on it (float64)
    and read once, after the epoch; only a progress bar on a terminal reads it every step."""
    device = env['device']
    model.train()
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    steps = 0
    started, images_seen = time.time(), 0
    progress = progress_bar(loader, f'train {epoch}', enabled=not args.no_progress and env['rank'] == 0)
    for step, (images, targets) in enumerate(progress):
        images, targets = images.to(device, non_blocking=True), targets.to(device, non_blocking=True)
        if args.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        if mixup is not None:
            images, targets = mixup(images, targets)
        with autocast_context(device, args.amp, args.amp_dtype):
            loss = loss_fn(model(images), targets)
        optimizer.zero_grad(set_to_none=True)
        if loss_scaler is not None:
            loss_scaler(loss, optimizer, clip_grad=args.clip_grad, parameters=model.parameters())
        else:
            loss.backward()
            if args.clip_grad is not None:
                nn.utils.clip_grad_norm_(model.parameters(), args.clip_grad)
            optimizer.step()
        if model_ema is not None:
            model_ema.update(unwrap_model(model), step=epoch * updates_per_epoch + step)
        if args.sched_on_updates:
            scheduler.step_update(num_updates=epoch * updates_per_epoch + step + 1)
        loss_sum += loss.detach().double() * images.size(0)
        steps += 1
        images_seen += images.size(0)
        if not progress.disable:  # a bar on a terminal: its loss figure waits for the device
            progress.set_postfix(loss=f'{loss_sum.item() / images_seen:.4f}',
                                 lr=f"{optimizer.param_groups[0]['lr']:.4g}")
    if steps == 0:  # build_loaders shrinks the batch to the data, preventing it; a run that trains nothing must never look like one that did
        raise RuntimeError(f'epoch {epoch} made no optimiser step: the training loader gave no batch')
    mean_loss = loss_sum.item() / images_seen  # waits for the device's last step, so the time below includes it
    train_time = time.time() - started  # includes data loading: the rate a run actually trains at
    return dict(train_loss=_mean_across_ranks(mean_loss, env), train_time=train_time,
                train_img_per_s=images_seen * env['world_size'] / train_time)


EVAL_KEYS = ('loss', 'top1', 'top5')


def evaluate(model, loader, args, env) -> Dict[str, float]:
    """Loss, top-1 and top-5 accuracy (%) over the whole evaluation set (the sums of all ranks)."""
    device = env['device']
    sums = evaluation_sums(model, loader, model.num_classes, device, args.amp, args.channels_last, args.amp_dtype)
    totals = torch.tensor([sums.loss_sum, sums.top1_hits, sums.top5_hits, sums.count], dtype=torch.float64,
                          device=device)
    if env['world_size'] > 1:
        dist.all_reduce(totals)  # sums, not means: every image counts once whatever its rank's share
    loss_sum, hits1, hits5, count = totals.tolist()
    return dict(loss=loss_sum / count, top1=100 * hits1 / count, top5=100 * hits5 / count)


def _mean_across_ranks(value: float, env) -> float:
    if env['world_size'] == 1:
        return value
    return reduce_tensor(torch.tensor([value], dtype=torch.float64, device=env['device']), env['world_size']).item()


def plot_history(output: str, history: List[Dict[str, Any]]) -> Optional[str]:
    """Loss and accuracy curves as curves.png (needs matplotlib: ``pip install timm-ran[plot]``)."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        _logger.warning('curves.png not drawn: matplotlib is missing (pip install "timm-ran[plot]")')
        return None
    evaluated = [row for row in history if not math.isnan(row['eval_top1'])]  # --eval-interval skips some

    def series(rows, key):
        return [row['epoch'] for row in rows], [row[key] for row in rows]

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(*series(history, 'train_loss'), label='train')
    ax_loss.plot(*series(evaluated, 'eval_loss'), label='eval')
    ax_loss.set(xlabel='epoch', ylabel='cross-entropy', title='loss')
    ax_acc.plot(*series(evaluated, 'eval_top1'), label='top-1')
    ax_acc.plot(*series(evaluated, 'eval_top5'), label='top-5')
    if 'ema_top1' in history[0]:
        ax_acc.plot(*series(evaluated, 'ema_top1'), label='EMA top-1')
    ax_acc.set(xlabel='epoch', ylabel='accuracy (%)', title='evaluation accuracy')
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    path = os.path.join(output, 'curves.png')
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format='png'))
    plt.close(fig)
    return path


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    check_model_name(args.model)
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    logging.getLogger('timm.utils.checkpoint_saver').setLevel(logging.WARNING)  # its 'Current checkpoints' lists
    env = setup_distributed(args.device)
    device = env['device']
    is_main = env['rank'] == 0
    if device.type == 'cpu' and args.tune_allocator:
        tune_cpu_allocator()
    if is_main:
        warn_if_bf16_is_emulated(device, args.amp)

    if args.low_res is not None and (not args.in_memory or args.low_res[0] < 1 or args.low_res[1] < 0):
        raise InputError(f'--low-res SIZE EPOCHS needs --in-memory, SIZE >= 1 and EPOCHS >= 0, got {args.low_res}')
    if args.torchcompile_mode and not args.torchcompile:
        raise InputError(f'--torchcompile-mode {args.torchcompile_mode} needs --torchcompile')
    if not args.resume:
        refuse_finished_output(args.output)
    seed_epoch(args.seed, -1, env['rank'])
    resolve_splits(args)
    train_set = build_dataset(args.dataset, args.data_dir, args.train_split, subset=args.train_subset, seed=args.seed)
    class_names = list(class_names_of(train_set))
    num_classes = len(class_names)
    if args.num_classes is not None and args.num_classes != num_classes:
        raise InputError(f'--num-classes {args.num_classes} disagrees with the {num_classes} classes of the training '
                         f'data ({_listed(class_names)}): leave it out to take the count from the data')
    model = timm.create_model(
        args.model, pretrained=args.pretrained, num_classes=num_classes, drop_rate=args.drop,
        drop_path_rate=args.drop_path or None, **args.model_kwargs)  # None: not passed (timm)
    model.to(device)
    if args.channels_last:
        model.to(memory_format=torch.channels_last)
    data_config = resolve_data_config(model=model)
    if args.input_size:
        data_config['input_size'] = (data_config['input_size'][0], args.input_size, args.input_size)
    # what the checkpoint's arguments carry for the tools that read it (predict, publish, create_model)
    args.num_classes, args.class_names, args.input_size = num_classes, class_names, list(data_config['input_size'])
    model.pretrained_cfg = model.default_cfg = dict(model.pretrained_cfg, num_classes=num_classes, label_names=class_names,
                                input_size=tuple(data_config['input_size']))
    train_loader, eval_loader = build_loaders(args, env, train_set, class_names, data_config)

    optimizer = create_optimizer_v2(model, opt=args.opt, lr=args.lr, weight_decay=args.weight_decay,
                                    momentum=args.momentum, **fused_update(args.opt))
    loss_scaler = NativeScaler(device='cuda') if args.amp and device.type == 'cuda' and args.amp_dtype == 'float16' \
        else None
    model_ema = None
    if args.model_ema:
        model_ema = ModelEmaV3(model, decay=args.model_ema_decay, use_warmup=args.model_ema_warmup, warmup_power=3 / 4)

    os.makedirs(args.output, exist_ok=True)
    resume = args.resume
    if resume == 'auto':  # continue the run in --output if it has a checkpoint, else start it
        last = os.path.join(args.output, 'last.pth.tar')
        resume = last if os.path.exists(last) else ''
    start_epoch, saver_state = 0, {}
    if resume:
        start_epoch, saver_state = load_resume_checkpoint(resume, model, optimizer, loss_scaler, model_ema)
    history = read_history(args.output, start_epoch)

    updates_per_epoch = len(train_loader)
    scheduler, num_epochs = create_scheduler_v2(
        optimizer, sched=args.sched, num_epochs=args.epochs, decay_milestones=args.decay_milestones,
        decay_rate=args.decay_rate, min_lr=args.min_lr, warmup_lr=args.warmup_lr, warmup_epochs=args.warmup_epochs,
        step_on_epochs=not args.sched_on_updates, updates_per_epoch=updates_per_epoch)
    if start_epoch > 0:
        if args.sched_on_updates:
            scheduler.step_update(start_epoch * updates_per_epoch)
        else:
            scheduler.step(start_epoch)

    mixup = None
    if args.mixup > 0 or args.cutmix > 0:
        mixup = Mixup(mixup_alpha=args.mixup, cutmix_alpha=args.cutmix, prob=args.mixup_prob,
                      label_smoothing=args.smoothing, num_classes=num_classes)
        train_loss_fn = SoftTargetCrossEntropy()
    elif args.smoothing > 0:
        train_loss_fn = LabelSmoothingCrossEntropy(smoothing=args.smoothing)
    else:
        train_loss_fn = nn.CrossEntropyLoss()

    train_model = model
    if env['world_size'] > 1:
        train_model = DistributedDataParallel(model, device_ids=[device.index] if device.type == 'cuda' else None)
    if args.torchcompile:  # after DDP, as timm's train.py; evaluation and checkpoints use the plain model
        train_model = torch.compile(train_model, backend=args.torchcompile, mode=args.torchcompile_mode)
    saver = None
    if is_main:
        saver = CheckpointSaver(model, optimizer, args=args, model_ema=model_ema, amp_scaler=loss_scaler,
                                checkpoint_dir=args.output, recovery_dir=args.output, max_history=args.checkpoint_hist)
        if resume and os.path.dirname(os.path.abspath(resume)) == os.path.abspath(args.output):
            saver.load_state_dict(saver_state)
        write_args(args.output, vars(args))
        segments = RunSegments(args.output, argv, start_epoch, device, env['world_size'])
        _logger.info(f'{args.model}: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M params, '
                     f'{len(train_loader.dataset)} train / {len(eval_loader.dataset)} eval images, {num_epochs} epochs on {device} '
                     f'x{env["world_size"]}, from epoch {start_epoch}')

    for epoch in range(start_epoch, num_epochs):
        seed_epoch(args.seed, epoch, env['rank'])
        train_loader.set_epoch(epoch)
        started = time.time()
        row: Dict[str, Any] = dict(epoch=epoch, lr=optimizer.param_groups[0]['lr'])
        row.update(train_one_epoch(train_model, train_loader, optimizer, train_loss_fn, args, env, epoch, scheduler,
                                   mixup, loss_scaler, model_ema, updates_per_epoch))
        evaluated = (epoch + 1) % args.eval_interval == 0 or epoch + 1 == num_epochs
        for prefix, net in (('eval', model), ('ema', model_ema.module if model_ema is not None else None)):
            if net is not None:
                metrics = evaluate(net, eval_loader, args, env) if evaluated else dict.fromkeys(EVAL_KEYS, math.nan)
                row.update({f'{prefix}_{k}': v for k, v in metrics.items()})
        row['epoch_time'] = time.time() - started
        metric = row['eval_top1'] if evaluated else None
        if not args.sched_on_updates:
            scheduler.step(epoch + 1, metric)
        history.append(row)
        if is_main:
            write_history(args.output, history)
            saver.save_checkpoint(epoch, metric=metric)
            segments.epoch_done(epoch)
            if evaluated:  # curves.png follows the run, so an interrupted run has its curves too
                plot_history(args.output, history)
            scores = (f"eval loss {row['eval_loss']:.4f}, top-1 {row['eval_top1']:.2f}%, top-5 {row['eval_top5']:.2f}%"
                      if evaluated else 'not evaluated')
            _logger.info(f"epoch {epoch}: train loss {row['train_loss']:.4f}, {scores}, {row['epoch_time']:.0f}s "
                         f"({row['train_img_per_s']:.0f} train img/s)")

    if env['world_size'] > 1:
        dist.destroy_process_group()
    return dict(history=history, model=model)


if __name__ == '__main__':
    run_tool(main)
