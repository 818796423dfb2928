"""Evaluate a model: ``python -m timm_ran.validate --model attention56 --pretrained --data-dir DIR``.

Prints and writes (``--output``, JSON) top-1 / top-5 accuracy, mean cross-entropy, images per second
and the confusion matrix (rows: true class, columns: predicted class) on one split of a data set.
"""
import argparse
import json
import os
from typing import Any, Dict, List, Optional

import torch
from timm.data import resolve_data_config
from torch.utils.data import DataLoader

from .cli import ToolParser, add_model_arguments, int_at_least, load_model, progress_bar, run_tool
from .training.data import EVAL_SPLITS, build_dataset, build_transform, class_names_of, find_split
from .errors import InputError, MissingPathError
from .training.evaluation import evaluation_sums, summarise
from .training.files import atomic_write_text
from .training.runtime import AMP_DTYPES, warn_if_bf16_is_emulated


def build_parser() -> argparse.ArgumentParser:
    parser = ToolParser(prog='python -m timm_ran.validate', description=__doc__.split('\n\n')[0])
    add_model_arguments(parser)
    parser.add_argument('--data-dir', required=True)
    parser.add_argument('--dataset', default='', help="'' (folder/tar), torch/cifar10, torch/cifar100")
    parser.add_argument('--split', default=None,
                        help=f'split to evaluate (default: the first of {", ".join(EVAL_SPLITS)} in --data-dir; '
                             f"'test' for torch/ data sets)")
    parser.add_argument('--subset', type=int_at_least(1), default=None, help='a seeded random subset of N images')
    parser.add_argument('--batch-size', '-b', type=int_at_least(1), default=256)
    parser.add_argument('--workers', '-j', type=int_at_least(0), default=2)
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision, as timm_ran.train: bf16 autocast (on CUDA --amp-dtype)')
    parser.add_argument('--amp-dtype', default='bfloat16', choices=AMP_DTYPES, help='autocast type on CUDA')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--device', default=None, help="'cpu' or 'cuda' (default: cuda if available)")
    parser.add_argument('--tta', action='store_true',
                        help='also report flip test-time augmentation (logits averaged over the image and its '
                             'horizontal mirror), next to the single-view figures')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar (there is none unless stderr is a terminal)')
    parser.add_argument('--output', default=None, help='write the results as JSON here')
    return parser


def eval_split(data_dir: str, dataset: str = '') -> str:
    """The split to evaluate when none is named: torchvision's 'test', else the first of ``EVAL_SPLITS`` that
    ``data_dir`` holds."""
    if dataset:
        return 'test'
    if not os.path.exists(data_dir):
        raise MissingPathError(f'--data-dir {data_dir!r} does not exist')
    split = find_split(data_dir)
    if split is None:
        raise InputError(f'--data-dir {data_dir!r} holds none of the splits {", ".join(EVAL_SPLITS)} (folder or '
                         f'.tar): name the one to evaluate with --split')
    return split


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = build_parser().parse_args(argv)
    device = torch.device(args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    warn_if_bf16_is_emulated(device, args.amp)
    model = load_model(args).to(device)
    if args.channels_last:
        model.to(memory_format=torch.channels_last)
    data_config = resolve_data_config(model=model)
    split = args.split or eval_split(args.data_dir, args.dataset)
    class_names = model.pretrained_cfg.get('label_names')
    if class_names and len(class_names) != model.num_classes:
        class_names = None  # a new head: the data set names the classes
    dataset = build_dataset(args.dataset, args.data_dir, split, build_transform(data_config, False),
                            subset=args.subset, class_names=class_names)
    class_names = list(class_names or class_names_of(dataset))
    if len(class_names) != model.num_classes:
        raise InputError(f'the {split!r} split has {len(class_names)} classes, {args.model} predicts '
                         f'{model.num_classes}')
    loader = DataLoader(dataset, batch_size=args.batch_size, num_workers=args.workers)
    results = dict(
        model=args.model,
        weights='pretrained' if args.pretrained else args.checkpoint,
        data=dict(dir=args.data_dir, dataset=args.dataset, split=split, subset=args.subset),
        device=str(device), amp=args.amp, input_size=list(data_config['input_size']), class_names=class_names,
    )
    batches = progress_bar(loader, f'{args.model} {split}', enabled=not args.no_progress)
    sums = evaluation_sums(model, batches, len(class_names), device, args.amp, args.channels_last, args.amp_dtype,
                           flip_tta=args.tta)
    if args.tta:
        sums, tta_sums = sums
        results['flip_tta'] = summarise(tta_sums)
    results.update(summarise(sums))
    print(f"{args.model} on {split} ({results['images']} images), single view: top-1 {results['top1']:.2f}%, "
          f"top-5 {results['top5']:.2f}%, loss {results['loss']:.4f}, {results['images_per_second']:.0f} images/s")
    if args.tta:
        tta = results['flip_tta']
        print(f"{args.model} on {split}, flip TTA (2 views): top-1 {tta['top1']:.2f}%, top-5 {tta['top5']:.2f}%, "
              f"loss {tta['loss']:.4f}")
    width = max(len(n) for n in class_names)
    print('confusion matrix (rows: true, columns: predicted)')
    for name, row in zip(class_names, results['confusion_matrix']):
        print(f'{name:>{width}} ' + ' '.join(f'{v:5d}' for v in row))
    if args.output:
        atomic_write_text(args.output, json.dumps(results, indent=1) + '\n')
    return results


if __name__ == '__main__':
    run_tool(main)
