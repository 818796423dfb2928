"""Classify images: ``python -m timm_ran.predict --model attention56 --pretrained IMAGE...``.

Each image (any size or format PIL reads) is prepared with the model's own pretrained data config
(resize, crop, normalisation) and the top-k classes are printed with their probabilities.
"""
import argparse
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import torch
from PIL import Image, UnidentifiedImageError
from timm.data import create_transform, resolve_data_config
from timm.models import load_checkpoint

import timm

from .files import atomic_write_text


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--model, and --pretrained or --checkpoint (shared with ``timm_ran.visualize`` and ``validate``)."""
    parser.add_argument('--model', required=True, help='registered model, e.g. attention56')
    weights = parser.add_mutually_exclusive_group(required=True)
    weights.add_argument('--pretrained', action='store_true', help="the model's shipped weights")
    weights.add_argument('--checkpoint', help='a training checkpoint or state dict (.pth.tar, .pth, .safetensors)')
    parser.add_argument('--use-ema', action='store_true', help="the checkpoint's EMA weights")
    parser.add_argument('--num-classes', type=int, default=None, help="classifier outputs of --checkpoint")


def load_model(args: argparse.Namespace) -> torch.nn.Module:
    kwargs = {} if args.num_classes is None else dict(num_classes=args.num_classes)
    model = timm.create_model(args.model, pretrained=args.pretrained, **kwargs)
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, use_ema=args.use_ema)
    return model.eval()


def load_image(path: str) -> Image.Image:
    """An RGB image, or a clear error naming the file that is missing or not an image."""
    if not Path(path).is_file():
        raise FileNotFoundError(f'{path}: no such file')
    try:
        with Image.open(path) as image:
            return image.convert('RGB')
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f'{path} is not an image PIL can read ({error})') from None


def eval_transform(model: torch.nn.Module):
    """The evaluation transform of the model's pretrained data config."""
    return create_transform(**resolve_data_config(model=model), is_training=False)


def class_names(model: torch.nn.Module) -> List[str]:
    names = model.pretrained_cfg.get('label_names')
    if names and len(names) == model.num_classes:
        return list(names)
    return [str(i) for i in range(model.num_classes)]


@torch.no_grad()
def predict(model: torch.nn.Module, images: List[Tuple[str, Image.Image]], topk: int = 5) -> List[Dict[str, Any]]:
    """Top-k (class, probability) for each (name, image)."""
    transform, names = eval_transform(model), class_names(model)
    results = []
    for name, image in images:
        probs = model(transform(image).unsqueeze(0)).softmax(dim=1)[0]
        values, indices = probs.topk(min(topk, probs.numel()))
        results.append(dict(image=name, top=[
            dict(label=names[i], index=i, probability=v) for v, i in zip(values.tolist(), indices.tolist())]))
    return results


def main(argv: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_model_arguments(parser)
    parser.add_argument('images', nargs='+', metavar='IMAGE')
    parser.add_argument('--topk', type=int, default=5)
    parser.add_argument('--output', default=None, help='also write the results as JSON here')
    args = parser.parse_args(argv)
    if args.topk < 1:
        parser.error(f'--topk must be >= 1; got {args.topk}')
    images = [(path, load_image(path)) for path in args.images]  # a bad file fails before any work
    results = predict(load_model(args), images, args.topk)
    for result in results:
        print(result['image'])
        for entry in result['top']:
            print(f"  {entry['label']:<16} {100 * entry['probability']:6.2f}%")
    if args.output:
        atomic_write_text(args.output, json.dumps(results, indent=1) + '\n')
    return results


if __name__ == '__main__':
    main()
