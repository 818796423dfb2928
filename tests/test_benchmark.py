"""benchmarks/throughput.py on a tiny configuration: what it writes, and that the ratios are consistent."""
import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / 'benchmarks' / 'throughput.py'


@pytest.fixture(scope='module')
def throughput():
    spec = importlib.util.spec_from_file_location('throughput', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_baselines(throughput):
    assert throughput.baseline_of('attention92') == 'resnet164_cifar'
    assert throughput.baseline_of('attentionnext56_imagenet') == 'resnet50'


def test_benchmark_writes_json_and_markdown(throughput, tmp_path):
    assert throughput.main([
        '--models', 'attention56', '--precision', 'fp32', '--mode', 'eager', '--phase', 'infer', 'train',
        '--batch-size-cifar', '4', '--warmup', '1', '--iters', '1', '--repeats', '2', '--output', str(tmp_path)]) == 0
    saved = json.loads((tmp_path / 'throughput-cpu.json').read_text())
    assert saved['environment']['cpu_allocator_tuned'] is True
    rows = {(r['model'], r['phase']): r for r in saved['results']}
    assert set(rows) == {(m, p) for m in ('attention56', 'resnet164_cifar') for p in ('infer', 'train')}
    for phase, factor in (('infer', 1), ('train', 3)):
        ran, base = rows[('attention56', phase)], rows[('resnet164_cifar', phase)]
        assert len(ran['img_per_s_runs']) == 2 and ran['img_per_s'] > 0
        assert ran['gmac_per_s'] == pytest.approx(ran['img_per_s'] * ran['gmacs_per_image'] * factor)
        assert ran['ratio_to_baseline'] == pytest.approx(ran['gmac_per_s'] / base['gmac_per_s'])
        assert base['baseline'] is None and base['ratio_to_baseline'] is None
        assert ran['peak_memory_mb'] > 0 and base['peak_memory_mb'] > 0
    markdown = (tmp_path / 'throughput-cpu.md').read_text()
    assert f"| attention56 (resnet164_cifar) | {rows[('attention56', 'infer')]['ratio_to_baseline']:.3f} |" in markdown


def test_benchmark_rejects_unknown_models(throughput, tmp_path):
    with pytest.raises(SystemExit, match='--models: unknown'):
        throughput.main(['--models', 'resnet18', '--output', str(tmp_path)])
