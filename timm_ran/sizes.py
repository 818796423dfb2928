"""Parameter and multiply-add counts of every registered model, next to the paper's figures.

    python -m timm_ran.sizes            # plain table
    python -m timm_ran.sizes --markdown # the table in README.md
    python -m timm_ran.sizes --check    # exit status 1 if a size is outside the tolerance below

Multiply-adds are those of the convolutions and the classifier (the paper's FLOPs), counted by
``torch.utils.flop_counter`` for one image at the model's default input size; models are built on the
meta device, so nothing is allocated.
"""
import sys
from dataclasses import dataclass
from typing import List, Optional, Tuple

import timm
import torch
from torch.utils.flop_counter import FlopCounterMode

from .cli import ToolParser
from .markdown import markdown_table
from .paper_results import PAPER_SIZES
from .models.ran import MODEL_NAMES

assert tuple(PAPER_SIZES) == MODEL_NAMES, 'every registered model needs its PAPER_SIZES entry, in order'


@dataclass(frozen=True)
class ModelSize:
    name: str
    input_size: Tuple[int, int, int]
    params: int
    macs: int


def count_size(model_name: str) -> ModelSize:
    """Params and multiply-adds of ``model_name`` (a registered model) at its default input size."""
    model = timm.create_model(model_name, device='meta').eval()
    input_size = tuple(model.pretrained_cfg['input_size'])
    with FlopCounterMode(display=False) as counter:
        model(torch.empty((1, *input_size), device='meta'))
    params = sum(p.numel() for p in model.parameters())
    return ModelSize(model_name, input_size, params, counter.get_total_flops() // 2)


def _deviation(ours: float, paper: Optional[float]) -> Optional[float]:
    return None if paper is None else ours / paper - 1.


def out_of_tolerance(size: ModelSize) -> List[str]:
    """What of ``size`` lies outside the tolerance held against the paper (empty if all is well)."""
    paper = PAPER_SIZES[size.name]
    problems = []
    for what, ours, published, tol in (
            ('params', size.params / 1e6, paper.params_m, paper.params_tol),
            ('MACs', size.macs / 1e9, paper.macs_g, paper.macs_tol)):
        dev = _deviation(ours, published)
        if tol is not None and abs(dev) > tol:
            problems.append(f'{size.name}: {what} {ours:.2f} is {dev:+.1%} off the paper\'s {published} '
                            f'(tolerance {tol:.0%})')
    return problems


def _fmt_paper(value: Optional[float], dev: Optional[float]) -> str:
    return '-' if value is None else f'{value} ({dev:+.1%})'


def table_rows(sizes: List[ModelSize]) -> List[List[str]]:
    rows = [['model', 'paper network', 'input', 'params (M)', 'MACs (G)', 'paper params (M)', 'paper MACs (G)']]
    for size in sizes:
        paper = PAPER_SIZES[size.name]
        params_m, macs_g = size.params / 1e6, size.macs / 1e9
        rows.append([
            size.name, paper.network, 'x'.join(map(str, size.input_size[1:])),
            f'{params_m:.2f}', f'{macs_g:.3f}',
            _fmt_paper(paper.params_m, _deviation(params_m, paper.params_m)),
            _fmt_paper(paper.macs_g, _deviation(macs_g, paper.macs_g)),
        ])
    return rows


def format_markdown(rows: List[List[str]]) -> str:
    return '\n'.join(markdown_table(rows[0], [[f'`{row[0]}`', *row[1:]] for row in rows[1:]]))


def format_plain(rows: List[List[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return '\n'.join('  '.join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def main(argv: Optional[List[str]] = None) -> int:
    parser = ToolParser(prog='python -m timm_ran.sizes', description=__doc__.split('\n\n')[0])
    parser.add_argument('--markdown', action='store_true', help='print a Markdown table')
    parser.add_argument('--check', action='store_true', help='exit 1 if a size is outside its tolerance')
    args = parser.parse_args(argv)

    sizes = [count_size(name) for name in PAPER_SIZES]
    rows = table_rows(sizes)
    print(format_markdown(rows) if args.markdown else format_plain(rows))
    problems = [p for size in sizes for p in out_of_tolerance(size)]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if args.check and problems else 0


if __name__ == '__main__':
    sys.exit(main())
