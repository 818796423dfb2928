"""The README's table of shipped weights, generated from the evidence committed under ``results/``:

    python scripts/weights_table.py          # prints the Markdown table (tests/test_docs.py checks README has it)
    python scripts/weights_table.py --write  # replaces the table in README.md with it

For each weights file in ``weights/SHA256SUMS`` the folder named by its ``weights/<name>.json``
(``results``, recorded by ``timm_ran.export_weights --results FOLDER/test.json``) holds ``test.json`` (the
``timm_ran.validate --output`` of those weights; with ``--tta`` also the flip figure), ``args.json`` (the
training arguments) and ``summary.json`` (one row per epoch, with its time).
"""
import sys
from pathlib import Path
from typing import List

from timm_ran.files import atomic_write_text
from timm_ran.pretrained import bundled_names
from timm_ran.run_report import data_summary, load_weights_evidence, recipe_summary

ROOT = Path(__file__).resolve().parents[1]
HEADER = ('| weights | data | top-1 / top-5 (%), single view | top-1 (%), flip TTA | training | details |\n'
          '|---|---|---|---|---|---|')


def rows(root: Path = ROOT) -> List[str]:
    """One row per shipped weights file, in name order."""
    lines = []
    for name in bundled_names(root / 'weights'):
        recorded = load_weights_evidence(str(root), name)
        results, run, evidence = recorded['results'], recorded['run'], recorded['folder']
        tta = f"{results['flip_tta']['top1']:.2f}" if 'flip_tta' in results else '-'
        lines.append(
            f"| `{name}` | {data_summary(results)} | {results['top1']:.2f} / {results['top5']:.2f} | {tta} | "
            f"{recipe_summary(run['args'], run['summary'])} | "
            f"[MODEL_CARD.md](MODEL_CARD.md#{name.replace('.', '')}), [{evidence}/]({evidence}/) |")
    return lines


def table(root: Path = ROOT) -> str:
    return '\n'.join([HEADER, *rows(root)])


def replace_table(readme: str, new_table: str) -> str:
    """``readme`` with the Markdown table that starts with HEADER replaced by ``new_table``."""
    lines = readme.split('\n')
    header = HEADER.split('\n')[0]
    if header not in lines:
        raise SystemExit(f'error: README.md has no weights table (a line {header!r})')
    start = lines.index(header)
    end = start
    while end < len(lines) and lines[end].startswith('|'):
        end += 1
    return '\n'.join(lines[:start] + new_table.split('\n') + lines[end:])


if __name__ == '__main__':
    if sys.argv[1:] == ['--write']:
        readme = ROOT / 'README.md'
        atomic_write_text(str(readme), replace_table(readme.read_text(), table()))
    elif sys.argv[1:]:
        raise SystemExit('usage: python scripts/weights_table.py [--write]')
    else:
        print(table())
