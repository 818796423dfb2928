"""Evaluate a model: ``python -m timm_ran.validate --model attention56 --pretrained --data-dir DIR``.

Prints and writes (``--output``, JSON) top-1 / top-5 accuracy, mean cross-entropy, images per second
and the confusion matrix (rows: true class, columns: predicted class) on one split of a data set.
"""
import argparse
import json
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from timm.data import resolve_data_config
from torch.utils.data import DataLoader

from .data import build_dataset, build_transform, class_names_of
from .files import atomic_write_text
from .predict import add_model_arguments, load_model
from .runtime import warn_if_bf16_is_emulated


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_model_arguments(parser)
    parser.add_argument('--data-dir', required=True)
    parser.add_argument('--dataset', default='', help="'' (folder/tar), torch/cifar10, torch/cifar100")
    parser.add_argument('--split', default='test')
    parser.add_argument('--subset', type=int, default=None, help='a seeded random subset of N images')
    parser.add_argument('--batch-size', '-b', type=int, default=256)
    parser.add_argument('--workers', '-j', type=int, default=2)
    parser.add_argument('--amp', action='store_true', help='bf16 autocast on CPU, fp16 on CUDA')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--device', default=None, help="'cpu' or 'cuda' (default: cuda if available)")
    parser.add_argument('--tta', action='store_true',
                        help='also report flip test-time augmentation (logits averaged over the image and its '
                             'horizontal mirror), next to the single-view figures')
    parser.add_argument('--output', default=None, help='write the results as JSON here')
    return parser


def autocast_context(device: torch.device, amp: bool, cuda_dtype: str = 'float16'):
    """Mixed precision when ``amp``: bf16 autocast on CPU (AMX), ``cuda_dtype`` (float16 / bfloat16) on CUDA."""
    if not amp:
        return nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if device.type == 'cpu' else getattr(torch, cuda_dtype))


@dataclass
class EvaluationSums:
    """What an evaluation pass adds up; sums rather than means, so that data-parallel ranks can add theirs."""
    loss_sum: float
    top5_hits: int
    confusion: torch.Tensor  # (num_classes, num_classes) counts; rows: true class, columns: predicted
    compute_time: float  # seconds in the model's forward, data loading excluded

    @property
    def count(self) -> int:
        return int(self.confusion.sum())

    @property
    def top1_hits(self) -> int:
        return int(self.confusion.diag().sum())

    def add(self, logits: torch.Tensor, targets: torch.Tensor) -> None:
        num_classes = self.confusion.shape[0]
        self.loss_sum += F.cross_entropy(logits, targets, reduction='sum').item()
        top5 = logits.topk(min(5, num_classes), dim=1).indices
        self.top5_hits += (top5 == targets[:, None]).any(dim=1).sum().item()
        self.confusion += torch.bincount(targets.cpu() * num_classes + logits.argmax(1).cpu(),
                                         minlength=num_classes ** 2).reshape(num_classes, num_classes)


def _forward(model: torch.nn.Module, images: torch.Tensor, device: torch.device, amp: bool,
             cuda_dtype: str) -> torch.Tensor:
    """fp32 logits of one batch; on CUDA waits for the GPU, so the time measured around it is the compute."""
    with autocast_context(device, amp, cuda_dtype):
        logits = model(images).float()
    if device.type == 'cuda':
        torch.cuda.synchronize()
    return logits


def _empty_sums(num_classes: int) -> EvaluationSums:
    return EvaluationSums(0., 0, torch.zeros(num_classes, num_classes, dtype=torch.long), 0.)


@torch.no_grad()
def evaluation_sums(model: torch.nn.Module, loader: Iterable, num_classes: int, device: torch.device,
                    amp: bool = False, channels_last: bool = False, cuda_dtype: str = 'float16',
                    flip_tta: bool = False) -> Union[EvaluationSums, Tuple[EvaluationSums, EvaluationSums]]:
    """Runs ``model`` in eval mode over ``loader`` and adds up loss, top-5 hits and the confusion matrix.

    ``flip_tta``: also the test-time-augmented figures of the same pass, the logits averaged over the
    image and its horizontal mirror; returns ``(single_view, flip_tta)`` sums then.
    """
    model.eval()
    single, averaged = _empty_sums(num_classes), _empty_sums(num_classes)
    for images, targets in loader:
        images, targets = images.to(device), targets.to(device)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        started = time.perf_counter()
        logits = _forward(model, images, device, amp, cuda_dtype)
        single.compute_time += time.perf_counter() - started
        single.add(logits, targets)
        if flip_tta:
            mirrored = _forward(model, images.flip(-1), device, amp, cuda_dtype)
            averaged.compute_time += time.perf_counter() - started  # both views
            averaged.add((logits + mirrored) / 2, targets)
    return (single, averaged) if flip_tta else single


def summarise(sums: EvaluationSums) -> Dict[str, Any]:
    """Top-1 / top-5 (%), mean loss, images/s and confusion matrix of one evaluation."""
    return dict(
        top1=100. * sums.top1_hits / sums.count,
        top5=100. * sums.top5_hits / sums.count,
        loss=sums.loss_sum / sums.count,
        images=sums.count,
        images_per_second=sums.count / sums.compute_time,
        confusion_matrix=sums.confusion.tolist(),
    )


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = build_parser().parse_args(argv)
    device = torch.device(args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    warn_if_bf16_is_emulated(device, args.amp)
    model = load_model(args).to(device)
    if args.channels_last:
        model.to(memory_format=torch.channels_last)
    data_config = resolve_data_config(model=model)
    class_names = model.pretrained_cfg.get('label_names')
    if class_names and len(class_names) != model.num_classes:
        class_names = None  # a new head: the data set names the classes
    dataset = build_dataset(args.dataset, args.data_dir, args.split, build_transform(data_config, False),
                            subset=args.subset, class_names=class_names)
    class_names = list(class_names or class_names_of(dataset))
    if len(class_names) != model.num_classes:
        raise ValueError(f'the {args.split!r} split has {len(class_names)} classes, {args.model} predicts '
                         f'{model.num_classes}')
    loader = DataLoader(dataset, batch_size=args.batch_size, num_workers=args.workers)
    results = dict(
        model=args.model,
        weights='pretrained' if args.pretrained else args.checkpoint,
        data=dict(dir=args.data_dir, dataset=args.dataset, split=args.split, subset=args.subset),
        device=str(device), amp=args.amp, input_size=list(data_config['input_size']), class_names=class_names,
    )
    sums = evaluation_sums(model, loader, len(class_names), device, args.amp, args.channels_last, flip_tta=args.tta)
    if args.tta:
        sums, tta_sums = sums
        results['flip_tta'] = summarise(tta_sums)
    results.update(summarise(sums))
    print(f"{args.model} on {args.split} ({results['images']} images), single view: top-1 {results['top1']:.2f}%, "
          f"top-5 {results['top5']:.2f}%, loss {results['loss']:.4f}, {results['images_per_second']:.0f} images/s")
    if args.tta:
        tta = results['flip_tta']
        print(f"{args.model} on {args.split}, flip TTA (2 views): top-1 {tta['top1']:.2f}%, top-5 {tta['top5']:.2f}%, "
              f"loss {tta['loss']:.4f}")
    width = max(len(n) for n in class_names)
    print('confusion matrix (rows: true, columns: predicted)')
    for name, row in zip(class_names, results['confusion_matrix']):
        print(f'{name:>{width}} ' + ' '.join(f'{v:5d}' for v in row))
    if args.output:
        atomic_write_text(args.output, json.dumps(results, indent=1) + '\n')
    return results


if __name__ == '__main__':
    main()
