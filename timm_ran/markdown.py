"""Markdown for the tables the tools generate into README.md, the model card and docs/."""
from typing import Any, List, Optional, Sequence, Tuple


def _row(cells: Sequence[Any]) -> str:
    return '| ' + ' | '.join(map(str, cells)) + ' |'


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]], rule: Optional[str] = None) -> List[str]:
    """A Markdown table's lines: ``header``, its ``rule`` (default: every column left-aligned), then ``rows``
    (each cell as ``str`` gives it)."""
    return [_row(header), rule or '|' + '---|' * len(header), *map(_row, rows)]


def key_value_table(rows: Sequence[Tuple[Any, Any]]) -> List[str]:
    """A two-column table of ``(key, value)`` rows under an empty header (the model cards' details)."""
    return ['| | |', '|---|---|', *map(_row, rows)]
