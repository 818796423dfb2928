"""The README's table of shipped weights, generated from the evidence committed under ``results/``:

    python scripts/weights_table.py          # prints the Markdown table (tests/test_docs.py checks README has it)

For each weights file in ``weights/SHA256SUMS`` the folder named by its ``weights/<name>.json``
(``results``, recorded by ``timm_ran.export_weights --results FOLDER/test.json``) holds ``test.json`` (the
``timm_ran.validate --output`` of those weights; with ``--tta`` also the flip figure), ``args.json`` (the
training arguments) and ``summary.json`` (one row per epoch, with its time).
"""
import json
import sys
from pathlib import Path
from typing import Any, Dict, List

from timm_ran.run_report import load_run, recipe_summary

ROOT = Path(__file__).resolve().parents[1]
HEADER = ('| weights | data | top-1 / top-5 (%), single view | top-1 (%), flip TTA | training | details |\n'
          '|---|---|---|---|---|---|')


def _read(path: Path) -> Any:
    return json.loads(path.read_text())


def _data(results: Dict[str, Any]) -> str:
    folder = Path(results['data']['dir']).name
    return 'CIFAR-10 test (JPEG q75 copy)' if folder == 'cifar10-jpeg' else f"{folder} {results['data']['split']}"


def rows(root: Path = ROOT) -> List[str]:
    """One row per shipped weights file, in name order."""
    weights = root / 'weights'
    names = sorted(line.split()[1].removesuffix('.safetensors')
                   for line in (weights / 'SHA256SUMS').read_text().splitlines() if line.strip())
    lines = []
    for name in names:
        folder = root / _read(weights / f'{name}.json')['results']
        results, run = _read(folder / 'test.json'), load_run(str(folder))
        tta = f"{results['flip_tta']['top1']:.2f}" if 'flip_tta' in results else '-'
        evidence = folder.relative_to(root)
        lines.append(
            f"| `{name}` | {_data(results)} | {results['top1']:.2f} / {results['top5']:.2f} | {tta} | "
            f"{recipe_summary(run['args'], run['summary'])} | "
            f"[MODEL_CARD.md](MODEL_CARD.md#{name.replace('.', '')}), [{evidence}/]({evidence}/) |")
    return lines


def table(root: Path = ROOT) -> str:
    return '\n'.join([HEADER, *rows(root)])


if __name__ == '__main__':
    print(table(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT))
