"""MODEL_CARD.md's section on each shipped weights file, generated from the evidence committed under
``results/``:

    python scripts/model_card.py            # rewrite the generated sections of MODEL_CARD.md in place
    python scripts/model_card.py --check    # exit 1 when MODEL_CARD.md differs from what the evidence says

For each weights file in ``weights/SHA256SUMS`` the section between ``<!-- begin generated: NAME -->`` and
``<!-- end generated: NAME -->`` holds the measured top-1/top-5 (single view, and flip TTA where
``test.json`` has it) and the command that measured it, the recipe, the file's SHA-256, every segment of
the training run (each process: exact command, epochs, start, wall time, time per epoch, hardware, from
``segments.json`` and ``summary.json``) and the curves. The prose around the sections (limitations, notes)
is written by hand. A section for a new weights file is added at the end of the per-weights part, above
``## Limitations``.
"""
import argparse
import re
import sys
from pathlib import Path

from timm_ran.files import atomic_write_text
from timm_ran.pretrained import CHECKSUMS, bundled_names, read_checksums
from timm_ran.run_report import (data_summary, load_weights_evidence, recipe_summary, segments_table,
                                 validate_command)
from timm_ran.sizes import count_size

ROOT = Path(__file__).resolve().parents[1]
CARD = 'MODEL_CARD.md'
NEW_SECTIONS_BEFORE = '## Limitations'


def _markers(name: str) -> tuple:
    return f'<!-- begin generated: {name} -->', f'<!-- end generated: {name} -->'


def section(name: str, root: Path = ROOT) -> str:
    """The generated Markdown of one shipped weights file (between its markers)."""
    recorded = load_weights_evidence(str(root), name)
    measured, results, run, folder = recorded['measured'], recorded['results'], recorded['run'], recorded['folder']
    size = count_size(name.split('.')[0])
    sha = read_checksums(root / 'weights' / CHECKSUMS)[f'{name}.safetensors']
    tta = results.get('flip_tta')
    rows = [
        ('architecture', f"`{size.name}`, {size.params / 1e6:.2f}M params, {size.macs / 1e9:.3f}G MACs at "
                         f"{size.input_size[1]}x{size.input_size[2]}"),
        ('top-1 / top-5, single view', f"**{results['top1']:.2f}%** / {results['top5']:.2f}% on "
                                       f"{data_summary(results)}, {results['images']:,} images, "
                                       f"loss {results['loss']:.4f}"),
        ('top-1 / top-5, flip TTA', f"{tta['top1']:.2f}% / {tta['top5']:.2f}% (2 views: logits averaged over the "
                                    f"image and its horizontal mirror)" if tta else 'not measured'),
        ('measured by', f"`{validate_command(name, results['data']['dir'], bool(tta))}` "
                        f"({'bf16' if results.get('amp') else 'fp32'}, {results['device']}; "
                        f"[{folder}/test.json]({folder}/test.json))"),
        ('recipe', f"{recipe_summary(run)}; the last segment's arguments in "
                   f"[{folder}/args.json]({folder}/args.json), every segment's command in the table below"),
        ('weights', f"final weights of the schedule ({'EMA' if measured.get('ema') else 'not the EMA'}); "
                    f"`weights/{name}.safetensors`, SHA-256 `{sha}`"),
    ]
    lines = ['| | |', '|---|---|', *(f'| {key} | {value} |' for key, value in rows), '']
    if run['segments']:
        lines += ['Every segment of the training run (one per process: the first start and each resume with '
                  '`--resume auto`), from `segments.json`:', '', segments_table(run['segments'], run['summary']), '']
    else:
        lines += ['This run predates `segments.json`: its segments (processes) were not recorded.', '']
    if (root / folder / 'curves.png').is_file():
        lines += [f'![training curves of {name}]({folder}/curves.png)', '']
    lines.append(f'Per-epoch log: [{folder}/summary.csv]({folder}/summary.csv).')
    begin, end = _markers(name)
    return '\n'.join([begin, *lines, end])


def render(card: str, root: Path = ROOT) -> str:
    """``card`` with every shipped weights file's generated section replaced (or added)."""
    for name in bundled_names(root / 'weights'):
        begin, end = _markers(name)
        generated = section(name, root)
        pattern = re.compile(re.escape(begin) + r'.*?' + re.escape(end), re.S)
        if pattern.search(card):
            card = pattern.sub(lambda _: generated, card)
        elif NEW_SECTIONS_BEFORE in card:
            card = card.replace(NEW_SECTIONS_BEFORE, f'## {name}\n\n{generated}\n\n{NEW_SECTIONS_BEFORE}', 1)
        else:
            raise SystemExit(f'error: {CARD} has neither the markers of {name} nor a {NEW_SECTIONS_BEFORE!r} heading')
    return card


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
