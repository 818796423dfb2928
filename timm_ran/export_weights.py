"""Export a training checkpoint as shipped weights:
``python -m timm_ran.export_weights --checkpoint RUN/last.pth.tar --name attention56.cifar10
--results RUN/test.json``.

Writes ``weights/<name>.safetensors`` atomically and records its SHA-256 in ``weights/SHA256SUMS``, which
``pretrained=True`` checks before loading (see ``timm_ran.pretrained``). ``--results`` (a JSON written by
``timm_ran.validate`` for these weights) stores the measured accuracy as ``weights/<name>.json``; the
model's pretrained config quotes it.
"""
import argparse
import json
from pathlib import Path
from typing import List, Optional

import torch
from safetensors.torch import save_file
from timm.models import load_state_dict

from .files import atomic_write, atomic_write_text
from .pretrained import CHECKSUMS, read_checksums, sha256_of, weights_dir


def export_weights(checkpoint: str, name: str, use_ema: bool = False, folder: Optional[Path] = None,
                   results: Optional[str] = None) -> Path:
    """Write a checkpoint's weights to ``<folder>/<name>.safetensors``, its checksum to SHA256SUMS and,
    given a ``timm_ran.validate`` JSON, the measured accuracy to ``<folder>/<name>.json``."""
    folder = Path(folder or weights_dir())
    state_dict = {k: v.contiguous() for k, v in load_state_dict(checkpoint, use_ema=use_ema).items()}
    if not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ValueError(f'{checkpoint} is not a checkpoint of tensors')
    path = folder / f'{name}.safetensors'
    atomic_write(str(path), lambda tmp: save_file(state_dict, tmp, metadata={'format': 'pt'}))
    sums_path = folder / CHECKSUMS
    sums = read_checksums(sums_path)
    sums[path.name] = sha256_of(str(path))
    atomic_write_text(str(sums_path), ''.join(f'{sha}  {file}\n' for file, sha in sorted(sums.items())))
    if results:
        with open(results) as f:
            measured = json.load(f)
        summary = {k: measured[k] for k in ('top1', 'top5', 'loss', 'images', 'data')}
        atomic_write_text(str(folder / f'{name}.json'), json.dumps(summary, indent=1) + '\n')
    return path


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description='export a training checkpoint as shipped weights')
    parser.add_argument('--checkpoint', required=True)
    parser.add_argument('--name', required=True, help="'<model>.<tag>', e.g. attention56.cifar10")
    parser.add_argument('--use-ema', action='store_true')
    parser.add_argument('--folder', default=None, help='default: the weights folder of this checkout')
    parser.add_argument('--results', default=None, help='timm_ran.validate JSON measured on these weights')
    args = parser.parse_args(argv)
    path = export_weights(args.checkpoint, args.name, args.use_ema, args.folder, args.results)
    print(f'{path}: SHA-256 {sha256_of(str(path))}')


if __name__ == '__main__':
    main()
