"""MODEL_CARD.md's generated parts, from the evidence committed under ``results/``:

    python scripts/model_card.py            # rewrite the generated parts of MODEL_CARD.md in place
    python scripts/model_card.py --check    # exit 1 when MODEL_CARD.md differs from what the evidence says

Each shipped weights file (``weights/SHA256SUMS``) has a part ``## NAME`` with the sections of a Hugging Face
model card, as ``timm_ran.hub_card`` writes them for the Hub: between ``<!-- begin generated: NAME -->`` and
``<!-- end generated: NAME -->`` model details (with the weights file, its SHA-256, release date and the
weights shipped earlier under the name), intended use, how to use, training data and the training procedure
(the recipe, every segment of the training run from ``segments.json`` and ``summary.json``, the curves);
between the markers ``NAME evaluation`` the measured top-1/top-5 (single view, and flip TTA where ``test.json``
has it) with the command that measured it. Prose written by hand follows the training procedure (how the run
was made) and the evaluation (``### Limitations``). The citation closes the card (markers ``citation``). A new
weights file gets its part above ``## Limitations of all the weights``.
"""
import argparse
import re
import sys
from pathlib import Path
from typing import List

import timm

import timm_ran  # noqa: F401  (registers the models)
from timm_ran.hub_card import CITATION, SECTIONS, card_sections
from timm_ran.markdown import key_value_table
from timm_ran.training.files import atomic_write_text
from timm_ran.models.pretrained import CHECKSUMS, bundled_names, read_checksums
from timm_ran.training.run_log import recipe_summary
from run_report import data_summary, load_weights_evidence, segments_table, validate_command

ROOT = Path(__file__).resolve().parents[1]
CARD = 'MODEL_CARD.md'
NEW_SECTIONS_BEFORE = '## Limitations of all the weights'


def _markers(name: str) -> tuple:
    return f'<!-- begin generated: {name} -->', f'<!-- end generated: {name} -->'


def sections(name: str, root: Path = ROOT) -> List[str]:
    """The two generated blocks of one shipped weights file (each with its markers): model details to training
    procedure, and the evaluation."""
    recorded = load_weights_evidence(str(root), name)
    measured, results, run, folder = recorded['measured'], recorded['results'], recorded['run'], recorded['folder']
    architecture = name.split('.')[0]
    cfg = timm.create_model(architecture, device='meta').pretrained_cfg
    sha = read_checksums(root / 'weights' / CHECKSUMS)[f'{name}.safetensors']
    weights_file = ('Weights file', f"`weights/{name}.safetensors`, SHA-256 `{sha}`: the final weights of the "
                                    f"schedule ({'EMA' if measured.get('ema') else 'not the EMA'})")
    recipe = (f"{recipe_summary(run)}; the last segment's arguments in [{folder}/args.json]({folder}/args.json), "
              "every segment's command below")
    training = key_value_table([('recipe', recipe)]) + ['']
    if run['segments']:
        training += ['Every segment of the training run (one per process: the first start and each resume with '
                     '`--resume auto`), from `segments.json`:', '', segments_table(run['segments'], run['summary']), '']
    else:
        training += ['This run predates `segments.json`: its segments (processes) were not recorded.', '']
    if (root / folder / 'curves.png').is_file():
        training += [f'![training curves of {name}]({folder}/curves.png)', '']
    training.append(f'Per-epoch log: [{folder}/summary.csv]({folder}/summary.csv).')
    card = card_sections(name, architecture, cfg['num_classes'], cfg, architecture, results, '\n'.join(training),
                         release=measured, more_details=[weights_file])
    first = [f'### {title}\n\n{card[title]}\n' for title in SECTIONS[:SECTIONS.index('Evaluation')]]
    tta = results.get('flip_tta')
    evaluation = key_value_table([
        ('top-1 / top-5, single view', f"**{results['top1']:.2f}%** / {results['top5']:.2f}% on "
                                       f"{data_summary(results)}, {results['images']:,} images, "
                                       f"loss {results['loss']:.4f}"),
        ('top-1 / top-5, flip TTA', f"{tta['top1']:.2f}% / {tta['top5']:.2f}% (2 views: logits averaged over the "
                                    f"image and its horizontal mirror)" if tta else 'not measured'),
        ('measured by', f"`{validate_command(name, results['data']['dir'], bool(tta))}` "
                        f"({'bf16' if results.get('amp') else 'fp32'}, {results['device']}; "
                        f"[{folder}/test.json]({folder}/test.json))")])
    blocks = [('\n'.join(first).rstrip('\n'), name), ('### Evaluation\n\n' + '\n'.join(evaluation), f'{name} evaluation')]
    return ['\n'.join([_markers(marker)[0], body, _markers(marker)[1]]) for body, marker in blocks]


def _replace(card: str, marker: str, generated: str) -> str:
    begin, end = _markers(marker)
    return re.compile(re.escape(begin) + r'.*?' + re.escape(end), re.S).sub(lambda _: generated, card)


def render(card: str, root: Path = ROOT) -> str:
    """``card`` with every shipped weights file's generated blocks and the citation replaced (or added)."""
    for name in bundled_names(root / 'weights'):
        details, evaluation = sections(name, root)
        if _markers(name)[0] in card:
            card = _replace(_replace(card, name, details), f'{name} evaluation', evaluation)
        elif NEW_SECTIONS_BEFORE in card:
            part = f'## {name}\n\n{details}\n\n{evaluation}\n\n### Limitations\n\nThose of all the weights, below.\n\n'
            card = card.replace(NEW_SECTIONS_BEFORE, part + NEW_SECTIONS_BEFORE, 1)
        else:
            raise SystemExit(f'error: {CARD} has neither the markers of {name} nor a {NEW_SECTIONS_BEFORE!r} heading')
    return _replace(card, 'citation', '\n'.join([_markers('citation')[0], f'```bibtex\n{CITATION}\n```',
                                                   _markers('citation')[1]]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--check', action='store_true', help='only compare; exit 1 when MODEL_CARD.md is stale')
    args = parser.parse_args()
    path = ROOT / CARD
    current = path.read_text()
    wanted = render(current)
    if args.check:
        if wanted != current:
            print(f'{CARD} is stale: run python scripts/model_card.py', file=sys.stderr)
            return 1
        return 0
    atomic_write_text(str(path), wanted)
    return 0


if __name__ == '__main__':
    sys.exit(main())
