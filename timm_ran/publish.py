"""Publish weights to the Hugging Face Hub in timm's format:
``python -m timm_ran.publish --model attention56 --repo-id ORG/attention56.cifar10 [--dry-run DIR]``.

Writes ``config.json`` (architecture and pretrained config), ``model.safetensors`` and a model card
``README.md`` with the measured results (``--results``: a JSON written by ``timm_ran.validate``) through
timm's ``save_for_hf`` / ``push_to_hf_hub``. ``--dry-run DIR`` writes the folder locally instead of
uploading; ``timm.create_model('local-dir:DIR')`` (after ``import timm_ran``) loads it back.
"""
import argparse
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
from timm.models import push_to_hf_hub, save_for_hf
from timm.models._hub import generate_readme

import timm

from .checkpoints import load_weights
from .cli import ToolParser, check_model_name, run_tool
from .errors import InputError
from .export_weights import read_validate_results
from .sizes import PAPER_SIZES, count_size

CITATION = """@inproceedings{wang2017residual,
  title={Residual Attention Network for Image Classification},
  author={Wang, Fei and Jiang, Mengqing and Qian, Chen and Yang, Shuo and Li, Cheng and Zhang, Honggang and
          Wang, Xiaogang and Tang, Xiaoou},
  booktitle={CVPR},
  year={2017}
}"""


def build_parser() -> argparse.ArgumentParser:
    parser = ToolParser(prog='python -m timm_ran.publish', description=__doc__.split('\n')[0])
    parser.add_argument('--model', required=True, help='registered model (with an optional .tag)')
    parser.add_argument('--repo-id', required=True, help='Hub repository, ORG/NAME')
    parser.add_argument('--checkpoint', default=None, help='publish these weights instead of the shipped ones')
    parser.add_argument('--use-ema', action='store_true', help="the checkpoint's EMA weights")
    parser.add_argument('--results', default=None, help='JSON from timm_ran.validate to put in the model card')
    parser.add_argument('--dry-run', metavar='DIR', default=None, help='write the folder here, do not upload')
    parser.add_argument('--private', action='store_true')
    parser.add_argument('--token', default=None, help='Hub token (default: the logged-in one)')
    return parser


def model_card(model: torch.nn.Module, model_name: str, results: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """timm's model card dict (see ``timm.models._hub.generate_readme``) with sizes and measured results."""
    architecture = model_name.split('.')[0]
    size = count_size(architecture)
    cfg = model.pretrained_cfg
    details = {
        'Model Type': 'Image classification / feature backbone',
        'Model Stats': {
            'Params (M)': f'{size.params / 1e6:.2f}',
            'MACs (G)': f'{size.macs / 1e9:.3f}',
            'Image size': 'x'.join(map(str, cfg['input_size'][1:])),
        },
        'Papers': {'Residual Attention Network for Image Classification': 'https://arxiv.org/abs/1704.06904'},
        'Original': 'https://github.com/fwang91/residual-attention-network',
    }
    if architecture in PAPER_SIZES:
        details['Paper network'] = PAPER_SIZES[architecture].network
    if cfg.get('tag') == 'cifar10':
        details['Dataset'] = 'cifar10'
    if results:
        data = results['data']
        details['Evaluation'] = {
            'Data': f"split {data['split']!r} of {os.path.basename(os.path.normpath(data['dir']))} "
                    f"({results['images']} images)",
            'Top-1 (%)': f"{results['top1']:.2f}",
            'Top-5 (%)': f"{results['top5']:.2f}",
            'Loss': f"{results['loss']:.4f}",
        }
    usage = (
        '```python\nimport timm\nimport timm_ran  # pip install timm-ran: registers the architecture\n\n'
        "model = timm.create_model('hf-hub:REPO_ID', pretrained=True).eval()\n```\n")
    return dict(
        description=f'A Residual Attention Network ({architecture}) trained with timm-ran.',
        details=details,
        usage=usage,
        citation=CITATION,
        license=cfg.get('license', 'apache-2.0'),
    )


def write_folder(model: torch.nn.Module, directory: str, card: Dict[str, Any], repo_id: str) -> None:
    """config.json, model.safetensors and README.md in ``directory``, created whole or not at all."""
    if os.path.exists(directory):
        raise InputError(f'--dry-run {directory!r} exists already: choose a new folder')
    parent = os.path.dirname(os.path.abspath(directory))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix='.publish-')
    try:
        save_for_hf(model, tmp, safe_serialization=True)
        card = dict(card, usage=card['usage'].replace('REPO_ID', repo_id))
        Path(tmp, 'README.md').write_text(generate_readme(card, repo_id.split('/')[-1]), encoding='utf-8')
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
    model = timm.create_model(args.model, pretrained=args.checkpoint is None)
    if args.checkpoint:
        load_weights(model, args.checkpoint, use_ema=args.use_ema, model_name=args.model)
    model.eval()
    card = model_card(model, args.model, results)
    if args.dry_run:
        write_folder(model, args.dry_run, card, args.repo_id)
        print(f'wrote {args.dry_run}: ' + ', '.join(sorted(os.listdir(args.dry_run))))
        return args.dry_run
    card = dict(card, usage=card['usage'].replace('REPO_ID', args.repo_id))
    url = push_to_hf_hub(model, args.repo_id, model_card=card, private=args.private, token=args.token,
                         safe_serialization=True)
    print(f'published {args.model} to {url}')
    return str(url)


if __name__ == '__main__':
    run_tool(main)
