"""scripts/gpu_check.py: the one command that checks and measures the CUDA path."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / 'scripts' / 'gpu_check.py'


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def test_dry_run_lists_every_step(tmp_path):
    done = _run(str(tmp_path / 'out'), '--dry-run')
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split('.')[0] for line in lines if not line.startswith(' ')] == ['1', '2', '3', '4']
    assert '-m pytest -m cuda' in done.stdout
    assert 'benchmarks/throughput.py --device cuda' in done.stdout
    assert done.stdout.count('-m timm_ran.train --model attention92') == 2 and '--torchcompile' in done.stdout
    assert not (tmp_path / 'out').exists()  # a dry run writes nothing


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the refusal on a machine without CUDA')
def test_without_cuda_it_says_so_and_fails(tmp_path):
    done = _run(str(tmp_path / 'out'))
    assert done.returncode == 1
    assert 'no CUDA device' in done.stderr and 'Traceback' not in done.stderr
