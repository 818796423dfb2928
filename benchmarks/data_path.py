"""Training speed with per-image data loading (worker processes) against ``--in-memory`` batches, in one process.

    python benchmarks/data_path.py --data-dir ../shared/data/cifar10-jpeg --output results/speed/data-path

Both paths feed the same model the same way as ``timm_ran.train`` does (a forward, cross-entropy,
backward and SGD step per batch, channels_last; ``--amp`` for bf16 autocast): ``DataLoader`` over the
per-image CIFAR transform with ``--workers`` processes, and ``TensorBatchLoader`` over the decoded
images with the batch augmentation (``timm_ran.training.batch_data``). They run in alternating rounds of
``--steps`` training steps, so a slow phase of a noisy machine hits both alike, and the median images/s
of each path over ``--repeats`` rounds is kept, data loading included. Results: ``<output>.json`` and
``<output>.md``.
"""
import argparse
import json
import platform
import statistics
import time
from typing import Dict, List

import timm
import torch
import torch.nn.functional as F
from timm.data import resolve_data_config
from torch.utils.data import DataLoader

import timm_ran  # noqa: F401  (registers the models)
from timm_ran.markdown import markdown_table
from timm_ran.training.batch_data import BatchAugment, TensorBatchLoader, decode_images
from timm_ran.training.data import build_dataset, build_transform
from timm_ran.training.files import atomic_write_text
from timm_ran.training.runtime import tune_cpu_allocator
from timm_ran.training.runtime import autocast_context


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data-dir', required=True)
    parser.add_argument('--model', default='attention56')
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--workers', type=int, default=2, help='DataLoader processes of the per-image path')
    parser.add_argument('--images', type=int, default=12800, help='a seeded subset of the training split')
    parser.add_argument('--steps', type=int, default=10, help='training steps per timed round')
    parser.add_argument('--repeats', type=int, default=5, help='timed rounds per path (the median is kept)')
    parser.add_argument('--reprob', type=float, default=0.25, help='random erasing probability (both paths)')
    parser.add_argument('--amp', action='store_true', help='bf16 autocast')
    parser.add_argument('--output', required=True, help='results path without extension')
    return parser


def main(argv=None) -> Dict:
    args = build_parser().parse_args(argv)
    tune_cpu_allocator()
    torch.manual_seed(0)
    model = timm.create_model(args.model, num_classes=10).to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    config = resolve_data_config(model=model)
    dataset = build_dataset('', args.data_dir, 'train', subset=args.images, seed=0)
    memory = TensorBatchLoader(decode_images(dataset), args.batch_size, shuffle=True,
                               augment=BatchAugment(config['mean'], config['std'], reprob=args.reprob))
    # a data set of its own: the workers must not inherit the tar file handle the decoding above used
    per_image = build_dataset('', args.data_dir, 'train', build_transform(config, True, reprob=args.reprob),
                              subset=args.images, seed=0)
    workers = DataLoader(per_image, batch_size=args.batch_size, shuffle=True, num_workers=args.workers,
                         drop_last=True, persistent_workers=args.workers > 0)
    streams = {'workers': _endless(workers), 'in-memory': _endless(memory)}
    device = torch.device('cpu')

    def run(stream, steps: int) -> float:
        started = time.perf_counter()
        for _ in range(steps):
            images, targets = next(stream)
            images = images.contiguous(memory_format=torch.channels_last)
            with autocast_context(device, args.amp):
                loss = F.cross_entropy(model(images), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return steps * args.batch_size / (time.perf_counter() - started)

    for stream in streams.values():
        run(stream, 2)  # warm-up: allocator, worker start
    rates: Dict[str, List[float]] = {name: [] for name in streams}
    for _ in range(args.repeats):
        for name, stream in streams.items():
            rates[name].append(run(stream, args.steps))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    result = dict(model=args.model, batch_size=args.batch_size, workers=args.workers, amp=args.amp,
                  reprob=args.reprob, steps=args.steps, repeats=args.repeats, rates=rates, median=medians,
                  ratio=medians['in-memory'] / medians['workers'], torch=torch.__version__,
                  cpu=torch.backends.cpu.get_cpu_capability(), threads=torch.get_num_threads(),
                  machine=platform.machine())
    atomic_write_text(args.output + '.json', json.dumps(result, indent=1) + '\n')
    atomic_write_text(args.output + '.md', _markdown(result, argv))
    print(_markdown(result, argv))
    return result


def _endless(loader):
    while True:
        yield from loader


def _markdown(result: Dict, argv) -> str:
    lines = [f"{result['model']} training, batch {result['batch_size']}, {'bf16' if result['amp'] else 'fp32'}, "
             f"channels_last, {result['threads']} threads ({result['cpu']} CPU, torch {result['torch']}); "
             f"median of {result['repeats']} alternating rounds of {result['steps']} steps, data loading included.",
             '']
    rows = [[f"DataLoader, {result['workers']} workers" if name == 'workers' else 'in-memory batches',
             f"{result['median'][name]:.1f}", ', '.join(f'{v:.1f}' for v in result['rates'][name])]
            for name in ('workers', 'in-memory')]
    lines += markdown_table(['data path', 'images/s (median)', 'rounds'], rows, '|---|---:|---|')
    lines += ['', f"In-memory / workers: **{result['ratio']:.3f}**", '']
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
