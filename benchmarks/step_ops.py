"""Operators dispatched per training step (torch profiler, CPU): ``timm_ran.train``'s whole step against the
model's own forward and backward.

    python benchmarks/step_ops.py [--model attention92] [--batch-size 128] [--output results/speed/step-ops]

The step is ``timm_ran.train.train_one_epoch`` over an in-memory CIFAR-sized batch loader (uint8 images,
the recipe's batch augmentation with random erasing 0.25), with the recipe's bookkeeping: label smoothing
0.1, SGD with momentum (timm's ``create_optimizer_v2``, fused as ``train`` asks for it), a cosine schedule stepped every update, bf16
autocast where the CPU has native kernels, channels_last. The reference is the same model's forward, loss
and backward on one prepared batch. Both are counted under ``torch.profiler`` as the ``aten::`` operator
events per step (nested ones included, the same way for both), after warm-up steps. What the step adds
to the reference is the data path, optimizer and bookkeeping. Writes ``OUTPUT.json`` and ``OUTPUT.md``.
"""
import argparse
import json
import os
import sys

import torch
from timm.loss import LabelSmoothingCrossEntropy
from timm.optim import create_optimizer_v2
from timm.scheduler import create_scheduler_v2
from torch.profiler import ProfilerActivity, profile

import timm
from timm_ran import train
from timm_ran.markdown import markdown_table
from timm_ran.training.batch_data import BatchAugment, ImageTensors, TensorBatchLoader
from timm_ran.training.files import atomic_write_text
from timm_ran.training.run_log import hardware_fields
from timm_ran.training.runtime import autocast_context, cpu_has_native_bf16


def aten_ops(prof) -> int:
    return sum(event.count for event in prof.key_averages() if event.key.startswith('aten::'))


def step_ops(model_name: str, batch_size: int, steps: int, amp: bool) -> int:
    """aten operators per step of train_one_epoch, averaged over ``steps`` profiled steps."""
    model = timm.create_model(model_name).to(memory_format=torch.channels_last)
    args = train.build_parser().parse_args(
        ['--data-dir', '', '--batch-size', str(batch_size), '--channels-last', '--sched-on-updates', '--no-progress']
        + (['--amp'] if amp else []))
    env = dict(device=torch.device('cpu'), rank=0, world_size=1)
    generator = torch.Generator().manual_seed(0)
    data = ImageTensors(torch.randint(0, 256, (batch_size * (steps + 2), 3, 32, 32), dtype=torch.uint8,
                                      generator=generator), torch.randint(0, 10, (batch_size * (steps + 2),)))
    cfg = model.pretrained_cfg
    loader = TensorBatchLoader(data, augment=BatchAugment(cfg['mean'], cfg['std'], reprob=0.25), shuffle=True,
                               batch_size=batch_size, seed=0)
    fused = getattr(train, 'fused_update', lambda opt: {})('sgd')  # as train builds it (not before it had it)
    optimizer = create_optimizer_v2(model, opt='sgd', lr=0.1, weight_decay=5e-4, momentum=0.9, **fused)
    scheduler, _ = create_scheduler_v2(optimizer, sched='cosine', num_epochs=3, step_on_epochs=False,
                                       updates_per_epoch=len(loader))
    loss_fn = LabelSmoothingCrossEntropy(smoothing=0.1)
    common = (model, loader, optimizer, loss_fn, args, env)
    train.train_one_epoch(*common, 0, scheduler, None, None, None, len(loader))  # warm-up
    warm = TensorBatchLoader(data, augment=loader.augment, shuffle=True, batch_size=batch_size, seed=1)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        train.train_one_epoch(model, warm, optimizer, loss_fn, args, env, 1, scheduler, None, None, None, len(warm))
    return round(aten_ops(prof) / len(warm))


def model_ops(model_name: str, batch_size: int, steps: int, amp: bool) -> int:
    """aten operators of the model's forward, loss and backward alone, per step."""
    model = timm.create_model(model_name).to(memory_format=torch.channels_last).train()
    images = torch.randn(batch_size, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    targets = torch.randint(0, 10, (batch_size,))

    def one():
        with autocast_context(torch.device('cpu'), amp):
            loss = torch.nn.functional.cross_entropy(model(images), targets)
        loss.backward()

    one()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            one()
    return round(aten_ops(prof) / steps)


def render(result: dict) -> str:
    """The measurement as a one-row Markdown table, with the machine, precision and command."""
    header = ['measurement', 'model', 'batch', 'aten ops: forward + backward', 'aten ops: whole training step', 'added']
    row = [result['label'] or '-', result['model'], result['batch_size'], result['model_forward_backward_ops'],
           result['train_step_ops'], result['added_ops']]
    return '\n'.join([*markdown_table(header, [row], '|---|---|---:|---:|---:|---:|'), '',
                      f"{result['hardware']}, torch {result['torch']}, {'bf16' if result['amp'] else 'fp32'}; "
                      f"`{result['command']}`", ''])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--model', default='attention92')
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--output', default='results/speed/step-ops')
    parser.add_argument('--label', default='', help='names this measurement in the output, e.g. a commit')
    args = parser.parse_args()
    amp = cpu_has_native_bf16()
    torch.manual_seed(0)
    reference = model_ops(args.model, args.batch_size, args.steps, amp)
    step = step_ops(args.model, args.batch_size, args.steps, amp)
    result = dict(label=args.label, model=args.model, batch_size=args.batch_size, amp=amp,
                  hardware=hardware_fields(torch.device('cpu'))['hardware'], torch=torch.__version__,
                  model_forward_backward_ops=reference, train_step_ops=step, added_ops=step - reference,
                  command=' '.join(['python', *sys.argv]))
    os.makedirs(os.path.dirname(args.output) or '.', exist_ok=True)
    atomic_write_text(f'{args.output}.json', json.dumps(result, indent=1) + '\n')
    atomic_write_text(f'{args.output}.md', render(result))
    print(json.dumps(result))


if __name__ == '__main__':
    main()
