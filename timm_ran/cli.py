"""What the command-line tools share: the model options (``--model``, ``--pretrained`` or
``--checkpoint``), loading the model they name, and reading the user's images.
"""
import argparse
from pathlib import Path
from typing import List

import torch
from PIL import Image, UnidentifiedImageError
from timm.data import create_transform, resolve_data_config
from timm.models import load_checkpoint

import timm


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--model, and --pretrained or --checkpoint (``predict``, ``validate``, ``visualize``)."""
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
