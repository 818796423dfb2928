"""Reading weight files, and saying plainly why one cannot be used.

Through timm's loaders, a file that is not a checkpoint surfaces as an unpickling error from torch
("weights_only=True blocked loading ...", "invalid load key") and a checkpoint of another network as a
``load_state_dict`` error that lists hundreds of keys. Here each case names the file, what it looks like
and what was expected (``CheckpointError``).
"""
import argparse
import inspect
import json
import os
import re
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn as nn
from safetensors import SafetensorError
from safetensors import safe_open
from timm.models import clean_state_dict

from ..errors import CheckpointError, MissingPathError

__all__ = ['describe_file', 'load_checkpoint_file', 'read_state_dict', 'check_state_dict', 'fit_pretrained_file',
           'read_weights', 'training_args', 'file_cfg_overlay', 'weights_metadata', 'WEIGHTS_METADATA', 'local_weights_file']

WEIGHTS_METADATA = ('label_names', 'input_size')  # safetensors metadata keys written by export_weights
EXPECTED = 'a state dict or training checkpoint saved by torch.save (.pth, .pth.tar) or a .safetensors file'
_SIGNATURES = (
    (b'\xff\xd8\xff', 'a JPEG image'), (b'\x89PNG', 'a PNG image'), (b'GIF8', 'a GIF image'),
    (b'%PDF', 'a PDF document'), (b'\x1f\x8b', 'a gzip file'), (b'PK\x03\x04', 'a zip archive'),
)


def describe_file(path: str) -> str:
    """What a file looks like from its size and first bytes, for error messages."""
    size = os.path.getsize(path)
    if size == 0:
        return 'an empty file'
    with open(path, 'rb') as f:
        head = f.read(64)
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            return f'{what} of {size} bytes'
    try:
        text = head.decode('utf-8')
    except UnicodeDecodeError:
        return f'{size} bytes of binary data starting {head[:8].hex(" ")}'
    return f'a text file of {size} bytes starting {text[:24]!r}'


def _is_safetensors(path: str) -> bool:
    """safetensors files open with an 8-byte header length and a JSON header."""
    with open(path, 'rb') as f:
        head = f.read(9)
    return path.endswith('.safetensors') or (len(head) == 9 and head[8:9] == b'{')


def load_checkpoint_file(path: str) -> Any:
    """``torch.load`` of a checkpoint with tensors and plain Python data only (``weights_only``); a file that
    cannot be read so raises ``CheckpointError`` saying what it looks like."""
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):  # timm_ran.train stores its arguments
            return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:  # any failure to read someone else's file is about the file
        message = str(error)
        with open(path, 'rb') as f:
            head = f.read(4)
        if head == b'PK\x03\x04' and 'zip' in message.lower():
            looks = 'a damaged or truncated PyTorch checkpoint (its zip archive cannot be read)'
        elif 'Unsupported global' in message:  # a pickle of whole Python objects, e.g. torch.save(model)
            found = re.search(r'GLOBAL ([\w.]+)', message)
            looks = (f"a pickle of Python objects ({found.group(1) if found else 'not only tensors'}), which "
                     f"is not loaded for safety; save model.state_dict() instead")
        else:
            looks = describe_file(path)
        raise CheckpointError(f'{path} cannot be loaded: it looks like {looks}; expected {EXPECTED}') from error


def read_state_dict(path: str, use_ema: bool = False) -> Dict[str, torch.Tensor]:
    """The weights in ``path``: a safetensors file, a state dict, or a training checkpoint (its
    ``state_dict``, or ``state_dict_ema`` with ``use_ema``); ``module.`` prefixes of DDP are removed."""
    return _read(path, use_ema)[0]


def read_weights(path: str, use_ema: bool = False, classifier: str = 'head.fc') \
        -> Tuple[Dict[str, torch.Tensor], Dict[str, Any]]:
    """``read_state_dict`` and what the file says of the model it holds, from one read, as pretrained-config
    keys: ``num_classes`` (the rows of its ``classifier``), and where the file records them, ``label_names``
    (one per class) and ``input_size``. ``timm_ran.train`` checkpoints record both in their arguments
    (``args.class_names``, ``args.input_size``); ``timm_ran.export_weights`` writes them into the safetensors
    metadata."""
    state_dict, recorded = _read(path, use_ema)
    info: Dict[str, Any] = {}
    weight = state_dict.get(f'{classifier}.weight')
    if weight is not None and weight.ndim >= 1:
        info['num_classes'] = int(weight.shape[0])
    names = recorded.get('label_names')
    if names and len(names) == info.get('num_classes'):
        info['label_names'] = [str(name) for name in names]
    if recorded.get('input_size'):
        info['input_size'] = tuple(int(v) for v in recorded['input_size'])
    return state_dict, info


def training_args(path: str) -> Optional[argparse.Namespace]:
    """The arguments a ``timm_ran.train`` checkpoint was trained with (None for other weights files)."""
    return None if _is_safetensors(path) else _args_of(load_checkpoint_file(path))


def _args_of(checkpoint: Any) -> Optional[argparse.Namespace]:
    args = checkpoint.get('args') if isinstance(checkpoint, dict) else None
    return args if isinstance(args, argparse.Namespace) else None


def _read(path: str, use_ema: bool) -> Tuple[Dict[str, torch.Tensor], Dict[str, Any]]:
    """The state dict in ``path`` and the ``WEIGHTS_METADATA`` the file records (safetensors metadata, or a
    training checkpoint's arguments), from one read of the file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MissingPathError(f'{path}: no such file')
    if _is_safetensors(path):
        try:
            with safe_open(path, framework='pt') as f:
                metadata = f.metadata() or {}
                state_dict = {key: f.get_tensor(key) for key in f.keys()}
        except (SafetensorError, OSError, ValueError) as error:
            raise CheckpointError(f'{path} cannot be loaded: it looks like {describe_file(path)}, not a complete '
                                  f'safetensors file ({error}); expected {EXPECTED}') from error
        return state_dict, {k: json.loads(metadata[k]) for k in WEIGHTS_METADATA if k in metadata}
    checkpoint = load_checkpoint_file(path)
    args = _args_of(checkpoint)
    recorded = dict(label_names=getattr(args, 'class_names', None), input_size=getattr(args, 'input_size', None))
    if isinstance(checkpoint, dict):
        for key in (('state_dict_ema', 'model_ema') if use_ema else ()) + ('state_dict', 'model'):
            if isinstance(checkpoint.get(key), dict):
                checkpoint = checkpoint[key]
                break
    if not isinstance(checkpoint, dict) or not checkpoint or \
            not all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        what = type(checkpoint).__name__ if not isinstance(checkpoint, dict) else f'a dict of {sorted(checkpoint)[:5]}'
        raise CheckpointError(f'{path} holds {what}, not a state dict of tensors; expected {EXPECTED}')
    return clean_state_dict(checkpoint), recorded


def _examples(keys) -> str:
    keys = sorted(keys)
    return ', '.join(keys[:3]) + (f' and {len(keys) - 3} more' if len(keys) > 3 else '')


def check_state_dict(model: nn.Module, state_dict: Dict[str, torch.Tensor], path: str,
                     model_name: Optional[str] = None, ignore: Tuple[str, ...] = ()) -> None:
    """Raise ``CheckpointError`` unless ``state_dict`` has exactly ``model``'s tensors and shapes (keys
    starting with one of ``ignore``, e.g. a classifier that is being replaced, are not compared)."""
    name = model_name or type(model).__name__
    expected = {k: v.shape for k, v in model.state_dict().items() if not k.startswith(ignore)}
    given = {k: v.shape for k, v in state_dict.items() if not k.startswith(ignore)}
    missing, unexpected = expected.keys() - given.keys(), given.keys() - expected.keys()
    reshaped = {k for k in expected.keys() & given.keys() if expected[k] != given[k]}
    if not (missing or unexpected or reshaped):
        return
    if len(missing) == len(expected):
        problem = (f'none of its {len(given)} tensors belongs to {name} (it has e.g. {_examples(unexpected)}): '
                   f'a checkpoint of another architecture')
    else:
        parts = []
        if missing:
            parts.append(f'{len(missing)} of the {len(expected)} tensors of {name} are missing ({_examples(missing)})')
        if unexpected:
            parts.append(f'{len(unexpected)} are not part of {name} ({_examples(unexpected)})')
        if reshaped:
            key = sorted(reshaped)[0]
            parts.append(f'{len(reshaped)} have other shapes (e.g. {key}: {tuple(given[key])} in the file, '
                         f'{tuple(expected[key])} in the model)')
        problem = '; '.join(parts)
    raise CheckpointError(f'{path} is not a checkpoint of {name}: {problem}')


def local_weights_file(cfg: Any) -> Optional[str]:
    """The local file a timm pretrained config loads, if it loads one: its ``file``, or the weights inside a
    ``local-dir:`` folder (``model.safetensors`` or ``pytorch_model.bin``, as timm looks for them)."""
    if getattr(cfg, 'state_dict', None) or getattr(cfg, 'source', '') == 'hf-hub' or not getattr(cfg, 'file', None):
        return None
    if getattr(cfg, 'source', '') != 'local-dir':
        return cfg.file
    for name in ('model.safetensors', 'pytorch_model.bin'):
        if os.path.isfile(os.path.join(cfg.file, name)):
            return os.path.join(cfg.file, name)
    return None


def fit_pretrained_file(path: str, model_cls: type, model_name: str, cfg: Any, kwargs: Dict[str, Any],
                        exclude: Tuple[str, ...] = ()) -> Dict[str, Any]:
    """The ``create_model`` keyword arguments that load a user's weights file (``pretrained_cfg_overlay=
    dict(file=path)``) with its own classifier; ``CheckpointError`` unless ``path`` holds the weights of
    ``model_cls`` built from the architecture arguments in ``kwargs`` (those its constructor takes, less
    ``exclude``), built here on the meta device.

    The file's class count (its classifier's rows), class names and input size (``read_weights``) go into
    the pretrained config, and the count into ``num_classes`` unless the caller gives one: timm then loads
    the file's classifier instead of the model default's, which would replace it with a random one when the
    counts differ. A ``num_classes`` other than the file's asks for a new classifier (fine-tuning), as with
    timm's own weights. Checked before timm loads the file, because timm loads without strict key checks
    when it replaces the classifier, so a file of another network would load nothing, silently. The
    classifier and, for ``in_chans`` other than 3, the first conv (which timm adapts) are not compared."""
    state_dict, info = read_weights(path, classifier=cfg.classifier)
    kwargs = dict(kwargs)
    if 'num_classes' in info:
        kwargs.setdefault('num_classes', info['num_classes'])
        kwargs['pretrained_cfg_overlay'] = dict(
            kwargs.get('pretrained_cfg_overlay') or {}, num_classes=info['num_classes'],
            **file_cfg_overlay(info, kwargs['num_classes'], cfg.num_classes))
    params = inspect.signature(model_cls.__init__).parameters
    skip = {'self', 'device', 'dtype', 'in_chans', *exclude}
    reference = model_cls(**{k: v for k, v in kwargs.items() if k in params and k not in skip}, device='meta')
    ignore = (cfg.classifier,) + ((cfg.first_conv,) if kwargs.get('in_chans', 3) != 3 else ())
    check_state_dict(reference, state_dict, path, model_name, ignore)
    return kwargs


def file_cfg_overlay(info: Dict[str, Any], num_classes: Optional[int], default_num_classes: int) -> Dict[str, Any]:
    """The pretrained-config overlay of a model built with ``num_classes`` on the weights of a file
    (``read_weights``'s ``info``) instead of its default weights: not the default's measured figures
    (``description``), nor its class names for another count; the file's names and input size where the
    model keeps the file's classifier."""
    overlay: Dict[str, Any] = dict(description=None)
    if num_classes != default_num_classes:
        overlay['label_names'] = None
    if num_classes == info.get('num_classes'):
        overlay.update({k: info[k] for k in ('label_names', 'input_size') if k in info})
    return overlay


def weights_metadata(info: Dict[str, Any]) -> Dict[str, str]:
    """``read_weights``'s class names and input size as safetensors metadata (JSON strings)."""
    return {k: json.dumps(list(info[k])) for k in WEIGHTS_METADATA if info.get(k)}
