"""Publish weights to the Hugging Face Hub in timm's format:
``python -m timm_ran.publish --model attention56 --repo-id ORG/attention56.cifar10 [--dry-run DIR]``.

Writes ``config.json`` (architecture, pretrained config and class names), ``model.safetensors`` (timm's
``save_for_hf``) and a model card ``README.md`` by the Hub's convention (``timm_ran.hub_card``: front matter
with a ``model-index`` of the measured results, ``--results``: a JSON written by ``timm_ran.validate``), then
uploads that folder. ``--dry-run DIR`` writes the same folder locally instead of uploading;
``timm.create_model('local-dir:DIR', pretrained=True)`` (after ``import timm_ran``) loads it back.
"""
import argparse
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
from huggingface_hub import create_repo, upload_folder
from timm.models import save_for_hf

from .models.checkpoints import training_args
from .cli import ToolParser, build_model, check_model_name, run_tool
from .errors import InputError
from .export_weights import read_validate_results
from .hub_card import render_card
from .models.pretrained import bundled_results


def build_parser() -> argparse.ArgumentParser:
    parser = ToolParser(prog='python -m timm_ran.publish', description=__doc__.split('\n\n')[0])
    parser.add_argument('--model', required=True, help='registered model (with an optional .tag)')
    parser.add_argument('--repo-id', required=True, help='Hub repository, ORG/NAME')
    parser.add_argument('--checkpoint', default=None,
                        help='publish these weights instead of the shipped ones, with their own classifier and class '
                             'names (a timm_ran.train checkpoint, e.g. of a fine-tuning run)')
    parser.add_argument('--use-ema', action='store_true', help="the checkpoint's EMA weights")
    parser.add_argument('--results', default=None, help='JSON from timm_ran.validate to put in the model card')
    parser.add_argument('--dry-run', metavar='DIR', default=None, help='write the folder here, do not upload')
    parser.add_argument('--private', action='store_true')
    parser.add_argument('--token', default=None, help='Hub token (default: the logged-in one)')
    return parser


def _shipped_name(model_name: str) -> str:
    """``'<model>.<tag>'`` of the shipped weights ``--model`` names (the default tag: cifar10)."""
    return model_name if '.' in model_name else f'{model_name}.cifar10'


def training_procedure(model_name: str, checkpoint: Optional[str]) -> Optional[str]:
    """The model card's training procedure: the recipe recorded with the shipped weights, or the arguments a
    ``timm_ran.train`` checkpoint carries."""
    if not checkpoint:
        measured = bundled_results(_shipped_name(model_name))
        if measured and 'recipe' in measured:
            return (f"Trained from scratch with `timm_ran.train`: {measured['recipe']}. These are the final "
                    f"weights of the schedule, not a checkpoint chosen by a test figure.")
        return None
    args = training_args(checkpoint)
    if args is None:
        return None
    start = f"from `{args.model}`'s pretrained weights" if args.pretrained else 'from scratch'
    return (f'Trained {start} with `timm_ran.train`: {args.epochs} epochs, {args.opt} lr {args.lr:g} '
            f'({args.sched}), batch {args.batch_size}, weight decay {args.weight_decay:g}, input '
            f"{'x'.join(map(str, args.input_size[1:]))}, seed {args.seed}.")


def hub_config(model: torch.nn.Module) -> Dict[str, Any]:
    """What config.json records beyond the architecture: the class names (timm's top-level ``label_names``,
    which ``create_model('hf-hub:...')`` and ``'local-dir:...'`` put back into the pretrained config)."""
    names = model.pretrained_cfg.get('label_names')
    return dict(label_names=list(names)) if names and len(names) == model.num_classes else {}


def write_folder(model: torch.nn.Module, directory: str, card: str) -> None:
    """config.json, model.safetensors and README.md in ``directory``, created whole or not at all."""
    if os.path.exists(directory):
        raise InputError(f'--dry-run {directory!r} exists already: choose a new folder')
    parent = os.path.dirname(os.path.abspath(directory))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix='.publish-')
    try:
        save_for_hf(model, tmp, model_config=hub_config(model), safe_serialization=True)
        Path(tmp, 'README.md').write_text(card, encoding='utf-8')
        os.replace(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def main(argv: Optional[List[str]] = None) -> Optional[str]:
    args = build_parser().parse_args(argv)
    check_model_name(args.model)
    if '/' not in args.repo_id:
        raise InputError(f"--repo-id must be 'ORG/NAME' (a Hugging Face Hub repository); got {args.repo_id!r}")
    results = read_validate_results(args.results) if args.results else None
    model = build_model(args.model, pretrained=args.checkpoint is None, checkpoint=args.checkpoint,
                        use_ema=args.use_ema)
    release = None if args.checkpoint else bundled_results(_shipped_name(args.model))
    card = render_card(args.repo_id.split('/')[-1], args.model.split('.')[0], model.num_classes, model.pretrained_cfg,
                       args.repo_id, results, training_procedure(args.model, args.checkpoint), release)
    if args.dry_run:
        write_folder(model, args.dry_run, card)
        print(f'wrote {args.dry_run}: ' + ', '.join(sorted(os.listdir(args.dry_run))))
        return args.dry_run
    with tempfile.TemporaryDirectory() as tmp:  # the folder a dry run writes, uploaded
        folder = os.path.join(tmp, 'upload')
        write_folder(model, folder, card)
        create_repo(args.repo_id, private=args.private, token=args.token, exist_ok=True)
        commit = upload_folder(repo_id=args.repo_id, folder_path=folder, token=args.token,
                               commit_message=f'timm_ran.publish {args.model}')
    print(f'published {args.model} to {commit.repo_url}')
    return str(commit.repo_url)


if __name__ == '__main__':
    run_tool(main)
