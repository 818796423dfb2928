"""What the command-line tools share: their argument parser and entry point, which turn a user's mistake
into one ``error:`` line with exit status 2 (argparse's convention); progress bars on a terminal; the model
options (``--model``, ``--pretrained`` or ``--checkpoint``) and loading the model they name; reading the
user's images.
"""
import argparse
import difflib
import fnmatch
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, List, NoReturn, Optional

import torch
from PIL import Image, UnidentifiedImageError
from timm.data import create_transform, resolve_data_config
from tqdm import tqdm

import timm

from .models.checkpoints import check_state_dict, file_cfg_overlay, read_weights
from .errors import InputError, MissingPathError

__all__ = ['ToolParser', 'run_tool', 'progress_bar', 'int_at_least', 'float_in', 'check_model_name',
           'add_model_arguments', 'load_model', 'build_model', 'load_image', 'eval_transform', 'class_names']


class ToolParser(argparse.ArgumentParser):
    """argparse, with its errors as one line (``error: ...``, exit status 2) like every other user error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f'error: {message} (see {self.prog} --help)\n')


def run_tool(main: Callable[[Optional[List[str]]], Any], argv: Optional[List[str]] = None) -> None:
    """A tool's entry point: runs ``main``; a user's mistake (``InputError``) ends as ``error: MESSAGE`` on
    stderr with exit status 2, while any other exception, a bug, keeps its traceback."""
    try:
        main(argv)
    except InputError as error:
        print(f'error: {error}', file=sys.stderr)
        raise SystemExit(2) from None


def progress_bar(iterable: Iterable, desc: str, enabled: bool = True, **kwargs: Any) -> tqdm:
    """A tqdm bar over ``iterable`` when ``enabled`` and stderr is a terminal; otherwise a silent pass-through
    (a log gets the tools' own per-epoch or per-configuration lines, not bar redraws). Either way the result
    takes ``set_postfix``."""
    return tqdm(iterable, desc=desc, disable=not enabled or not sys.stderr.isatty(), leave=False, **kwargs)


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer >= ``low``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'must be an integer >= {low}; got {text!r}') from None
        if value < low:
            raise argparse.ArgumentTypeError(f'must be an integer >= {low}; got {value}')
        return value
    parse.__name__ = f'integer >= {low}'
    return parse


def float_in(low: float, high: float = float('inf')) -> Callable[[str], float]:
    """An argparse ``type``: a number in [``low``, ``high``]."""
    bounds = f'in [{low}, {high}]' if high != float('inf') else f'>= {low}'

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'must be a number {bounds}; got {text!r}') from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f'must be a number {bounds}; got {value}')
        return value
    parse.__name__ = f'number {bounds}'
    return parse


def check_model_name(name: str) -> None:
    """Raise ``InputError`` for a model timm does not know, suggesting the closest registered names."""
    if name.startswith(('hf-hub:', 'hf_hub:', 'local-dir:')) or timm.is_model(name.split('.')[0]):
        return
    known = timm.list_models()
    close = difflib.get_close_matches(name.split('.')[0], known, n=5, cutoff=0.6)
    close += [n for n in fnmatch.filter(known, f'*{name.split(".")[0]}*') if n not in close][:5 - len(close)]
    hint = f"; did you mean {', '.join(close)}?" if close else "; timm.list_models('attention*') lists ours"
    raise InputError(f'--model {name!r} is not a registered model{hint}')


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--model, and --pretrained or --checkpoint (``predict``, ``validate``, ``visualize``)."""
    parser.add_argument('--model', required=True, help='registered model, e.g. attention56')
    weights = parser.add_mutually_exclusive_group(required=True)
    weights.add_argument('--pretrained', action='store_true', help="the model's shipped weights")
    weights.add_argument('--checkpoint', help='a training checkpoint or state dict (.pth.tar, .pth, .safetensors)')
    parser.add_argument('--use-ema', action='store_true', help="the checkpoint's EMA weights")
    parser.add_argument('--num-classes', type=int_at_least(1), default=None,
                        help="classifier outputs; --checkpoint's own count is read from the file, and a given "
                             "count must equal it")


def load_model(args: argparse.Namespace) -> torch.nn.Module:
    """The model ``args`` name (``add_model_arguments``), in eval mode (``build_model``)."""
    return build_model(args.model, args.pretrained, args.checkpoint, args.use_ema, args.num_classes)


def build_model(name: str, pretrained: bool = False, checkpoint: Optional[str] = None, use_ema: bool = False,
                num_classes: Optional[int] = None) -> torch.nn.Module:
    """Model ``name`` in eval mode: with its shipped weights (``pretrained``), or the weights of a
    ``checkpoint`` and its own classifier: its class count, and the class names and input size that a
    ``timm_ran.train`` checkpoint or a ``timm_ran.export_weights`` file records (``read_weights``), go into
    the model's pretrained config. A given ``num_classes`` must equal the checkpoint's."""
    check_model_name(name)
    if not checkpoint:
        kwargs = {} if num_classes is None else dict(num_classes=num_classes)
        return timm.create_model(name, pretrained=pretrained, **kwargs).eval()
    state_dict, info = read_weights(checkpoint, use_ema, timm.models.get_pretrained_cfg_value(name, 'classifier'))
    if num_classes is not None and info.get('num_classes', num_classes) != num_classes:
        raise InputError(f'--num-classes {num_classes} disagrees with --checkpoint {checkpoint}, whose classifier '
                         f'has {info["num_classes"]} outputs: leave --num-classes out')
    num_classes = info.get('num_classes', num_classes)
    overlay = file_cfg_overlay(info, num_classes, timm.models.get_pretrained_cfg_value(name, 'num_classes'))
    kwargs = {} if num_classes is None else dict(num_classes=num_classes)
    model = timm.create_model(name, pretrained_cfg_overlay=overlay, **kwargs)
    check_state_dict(model, state_dict, checkpoint, name)
    model.load_state_dict(state_dict)
    return model.eval()


def load_image(path: str) -> Image.Image:
    """An RGB image, or a clear error naming the file that is missing or not an image."""
    if not Path(path).is_file():
        raise MissingPathError(f'{path}: no such file')
    try:
        with Image.open(path) as image:
            return image.convert('RGB')
    except (UnidentifiedImageError, OSError) as error:
        raise InputError(f'{path} is not an image PIL can read ({error})') from None


def eval_transform(model: torch.nn.Module):
    """The evaluation transform of the model's pretrained data config."""
    return create_transform(**resolve_data_config(model=model), is_training=False)


def class_names(model: torch.nn.Module) -> List[str]:
    names = model.pretrained_cfg.get('label_names')
    if names and len(names) == model.num_classes:
        return list(names)
    return [str(i) for i in range(model.num_classes)]
