"""Run one of timm's own scripts with our models registered:
``python -m timm_ran.timm_script PATH/TO/validate.py --model attention56 --pretrained --data-dir DIR``.

timm's ``train.py``, ``validate.py``, ``inference.py`` and ``benchmark.py`` live in timm's repository, not
in the wheel, and only ``train.py`` can be told to import a plugin (``--device-modules timm_ran``). This
imports ``timm_ran`` (which registers the models), then runs the script as ``__main__`` with the
remaining arguments, as ``python SCRIPT ARGS...`` would: its output and exit status are its own.
"""
import os
import runpy
import sys
from typing import List, Optional

import timm_ran  # noqa: F401  (registers the models with timm)

USAGE = 'usage: python -m timm_ran.timm_script PATH/TO/SCRIPT.py [ARGS...]'


def main(argv: Optional[List[str]] = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ('-h', '--help'):
        print(USAGE + '\n\n' + __doc__.split('\n\n', 1)[1], file=sys.stderr if not argv else sys.stdout)
        raise SystemExit(2 if not argv else 0)
    script, args = argv[0], argv[1:]
    if not script.endswith('.py') or not os.path.isfile(script):
        print(f'error: SCRIPT must be an existing Python file (.py), got {script!r} ({USAGE})', file=sys.stderr)
        raise SystemExit(2)
    script = os.path.abspath(script)
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(script))  # as `python SCRIPT` puts the script's folder first
    runpy.run_path(script, run_name='__main__')


if __name__ == '__main__':
    main()
