"""scripts/geometry_comparison.py's report: the committed page is what its JSON renders, and gaps show as '-'."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / 'results' / 'finetune-geometry'


@pytest.fixture(scope='module')
def geometry():
    spec = importlib.util.spec_from_file_location('geometry_comparison', ROOT / 'scripts' / 'geometry_comparison.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_page_is_rendered_from_its_json(geometry):
    report = json.loads((RESULTS / 'comparison.json').read_text())
    assert geometry.render(report) == (RESULTS / 'comparison.md').read_text(), \
        'results/finetune-geometry/comparison.md is stale: rerun scripts/geometry_comparison.py'


def test_unfinished_seed_renders_dashes(geometry):
    report = dict(command='CMD', run_command='RUN', hardware='HW', seeds=[1, 2],
                  top1={'1': {'pad': 80.0, 'rrc': 78.5}, '2': {'pad': 81.25}})
    lines = geometry.render(report).splitlines()
    table = lines[lines.index('| seed | pad | rrc | pad - rrc |'):]
    assert table[1:4] == ['|---|---:|---:|---:|', '| 1 | 80.00 | 78.50 | +1.50 |', '| 2 | 81.25 | - | - |']
    assert not any(line.startswith('Mean over seeds') for line in lines), 'no summary without a complete seed'
