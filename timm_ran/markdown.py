"""Markdown for the tables the tools generate into README.md, the model card and docs/."""
from typing import List, Optional, Sequence


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], rule: Optional[str] = None) -> List[str]:
    """A Markdown table's lines: ``header``, its ``rule`` (default: every column left-aligned), then ``rows``."""
    return ['| ' + ' | '.join(header) + ' |', rule or '|' + '---|' * len(header),
            *('| ' + ' | '.join(row) + ' |' for row in rows)]
