"""Export a training checkpoint as shipped weights:
``python -m timm_ran.export_weights --checkpoint RUN/last.pth.tar --name attention56.cifar10
--results RUN/test.json``.

Writes ``weights/<name>.safetensors`` atomically and records its SHA-256 in ``weights/SHA256SUMS``, which
``pretrained=True`` checks before loading (see ``timm_ran.models.pretrained``). ``--results`` (a JSON written by
``timm_ran.validate`` for these weights) stores the measured accuracy as ``weights/<name>.json``; the
model's pretrained config quotes it.
"""
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

from safetensors.torch import save_file

import timm

from .models.checkpoints import check_state_dict, read_weights, weights_metadata
from .cli import ToolParser, check_model_name, run_tool
from .errors import InputError, MissingPathError
from .training.files import atomic_write, atomic_write_text
from .models.pretrained import CHECKSUMS, read_checksums, sha256_of, weights_dir
from .training.run_log import load_run, recipe_summary


RESULT_KEYS = ('top1', 'top5', 'loss', 'images', 'data')


def read_validate_results(path: str) -> Dict[str, Any]:
    """A results JSON written by ``timm_ran.validate --output``, or an ``InputError`` saying what is wrong."""
    if not Path(path).is_file():
        raise MissingPathError(f'--results {path!r}: no such file')
    try:
        results = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f'--results {path!r} is not JSON ({error}); expected the --output of timm_ran.validate') \
            from None
    missing = [k for k in RESULT_KEYS if not isinstance(results, dict) or k not in results]
    if missing:
        raise InputError(f'--results {path!r} is not the --output of timm_ran.validate: it lacks {missing}')
    return results


def release_history(previous: Optional[Dict[str, Any]], previous_sha: Optional[str], sha: str) -> Dict[str, Any]:
    """The ``released`` date (UTC) of weights with SHA-256 ``sha`` and the ``history`` of the weights the name
    stood for before: exporting other weights under a name moves its ``previous`` record there (when it was
    released and replaced, its SHA-256, figures and recipe); exporting the same weights again keeps their date."""
    today = datetime.now(timezone.utc).strftime('%Y-%m-%d')
    if not previous:
        return dict(released=today)
    history = list(previous.get('history', []))
    if previous_sha == sha:
        return dict(released=previous.get('released', today), **(dict(history=history) if history else {}))
    history.append(dict(released=previous.get('released', 'not recorded'), replaced=today, sha256=previous_sha,
                        top1=previous['top1'], top5=previous['top5'],
                        recipe=previous.get('recipe', 'recipe not recorded')))
    return dict(released=today, history=history)


def _repo_relative(path: Path) -> str:
    """``path`` relative to the checkout holding the weights folder (as scripts/weights_table.py reads it)."""
    root = Path(__file__).resolve().parents[1]
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def export_weights(checkpoint: str, name: str, use_ema: bool = False, folder: Optional[Path] = None,
                   results: Optional[str] = None) -> Path:
    """Write a checkpoint's weights to ``<folder>/<name>.safetensors``, its checksum to SHA256SUMS and,
    given a ``timm_ran.validate`` JSON, the measured accuracy to ``<folder>/<name>.json``. The weights must
    be those of ``name``'s architecture with the file's own classifier (``CheckpointError`` otherwise); the
    class names and input size a ``timm_ran.train`` checkpoint records go into the file's metadata."""
    folder = Path(folder or weights_dir())
    measured = read_validate_results(results) if results else None  # checked before anything is written
    architecture = name.split('.')[0]
    state_dict, info = read_weights(checkpoint, use_ema, timm.models.get_pretrained_cfg_value(architecture, 'classifier'))
    state_dict = {k: v.contiguous() for k, v in state_dict.items()}
    model = timm.create_model(architecture, device='meta', **{k: v for k, v in info.items() if k == 'num_classes'})
    check_state_dict(model, state_dict, checkpoint, architecture)
    path = folder / f'{name}.safetensors'
    sums_path, record_path = folder / CHECKSUMS, folder / f'{name}.json'
    sums = read_checksums(sums_path)
    previous_sha = sums.get(path.name)
    previous = json.loads(record_path.read_text()) if record_path.is_file() else None
    metadata = {'format': 'pt', **weights_metadata(info)}  # the class names and input size a checkpoint records
    atomic_write(str(path), lambda tmp: save_file(state_dict, tmp, metadata=metadata))
    sums[path.name] = sha256_of(str(path))
    atomic_write_text(str(sums_path), ''.join(f'{sha}  {file}\n' for file, sha in sorted(sums.items())))
    if measured:
        summary = {k: measured[k] for k in RESULT_KEYS}
        summary.update(release_history(previous, previous_sha, sums[path.name]))
        summary['ema'] = use_ema  # MODEL_CARD.md says which weights of the run these are
        evidence = Path(results).resolve().parent
        summary['results'] = _repo_relative(evidence)  # the folder of the evidence (scripts/weights_table.py)
        if (evidence / 'args.json').is_file() and (evidence / 'summary.json').is_file():
            run = load_run(str(evidence))
            summary['recipe'] = recipe_summary(run)
        atomic_write_text(str(record_path), json.dumps(summary, indent=1) + '\n')
    return path


def main(argv: Optional[List[str]] = None) -> None:
    parser = ToolParser(prog='python -m timm_ran.export_weights',
                        description=__doc__.split('\n\n')[0])
    parser.add_argument('--checkpoint', required=True)
    parser.add_argument('--name', required=True, help="'<model>.<tag>', e.g. attention56.cifar10")
    parser.add_argument('--use-ema', action='store_true')
    parser.add_argument('--folder', default=None, help='default: the weights folder of this checkout')
    parser.add_argument('--results', default=None, help='timm_ran.validate JSON measured on these weights')
    args = parser.parse_args(argv)
    architecture, _, tag = args.name.partition('.')
    if not tag:
        raise InputError(f"--name must be '<model>.<tag>', e.g. attention56.cifar10; got {args.name!r}")
    check_model_name(architecture)
    path = export_weights(args.checkpoint, args.name, args.use_ema, args.folder, args.results)
    print(f'{path}: SHA-256 {sha256_of(str(path))}')


if __name__ == '__main__':
    run_tool(main)
