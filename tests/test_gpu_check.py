"""scripts/gpu_check.py: the one command that measures training speed in a lent GPU window. Without a GPU
it runs on the CPU with ``--device cpu``, at a tiny size, through the same code."""
import json

import pytest
import torch

import gpu_check  # scripts/gpu_check.py (tests/conftest.py puts scripts/ on the path)
from timm_ran import train


def test_dry_run_lists_the_plan_with_max_autotune_last(tmp_path, capsys):
    assert gpu_check.main([str(tmp_path / 'out'), '--dry-run', '--cuda-tests']) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == 'first: pytest -m cuda'
    configs = [line.split('. ', 1)[1] for line in lines[1:]]
    assert len(configs) == 3 * 2 * 4 and configs[0] == 'attention92, batch 512, eager'
    assert all(c.endswith('max-autotune') for c in configs[-6:]) and not any(
        c.endswith('max-autotune') for c in configs[:-6])
    assert not (tmp_path / 'out').exists()  # a dry run writes nothing


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the refusal on a machine without CUDA')
def test_without_cuda_it_says_so_and_fails(tmp_path, capsys):
    assert gpu_check.main([str(tmp_path / 'out')]) == 1
    assert 'no CUDA device' in capsys.readouterr().err and not (tmp_path / 'out').exists()


def test_measures_skips_what_the_budget_cannot_hold_and_then_trains(image_folder, tmp_path):
    """On the CPU at a tiny size: one configuration measured, the compiled one skipped for the budget, then
    the rest of the budget continues a training run (stopped after its first of two epochs) with its own command."""
    run = tmp_path / 'run'
    train.main(['--model', 'attention56', '--data-dir', str(image_folder), '--batch-size', '16', '--workers', '0',
                '--epochs', '2', '--output', str(run), '--no-progress', '--device', 'cpu', '--in-memory',
                '--eval-interval', '2'])
    (run / 'last.pth.tar').unlink()  # the run back after its first epoch, as a run stopped there leaves it
    (run / 'checkpoint-0.pth.tar').rename(run / 'last.pth.tar')
    summary = json.loads((run / 'summary.json').read_text())
    (run / 'summary.json').write_text(json.dumps(summary[:1]))
    out = tmp_path / 'out'
    assert gpu_check.main([str(out), '--device', 'cpu', '--models', 'attention56', '--batch-sizes', '4', '--modes',
                           'eager', 'max-autotune', '--steps', '2', '--warmup-steps', '1', '--matmul-size', '64',
                           '--budget-s', '200', '--then-train', str(run), '--data-dir', str(image_folder)]) == 0
    report = json.loads((out / 'gpu-check.json').read_text())
    eager, autotune = report['configs']
    assert eager['mode'] == 'eager' and eager['train_img_per_s'] > 0 and eager['step_ms'] > 0
    assert autotune['skipped'].startswith('not measured')  # 300 s expected, the budget is smaller
    assert report['matmul_tflops'] > 0
    then = report['then_train']
    assert then['epochs_before'] == 1 and then['epochs_after'] == 2 and then['returncode'] == 0
    assert '--device cpu' in then['command'] and f'--data-dir {image_folder}' in then['command']
    markdown = (out / 'gpu-check.md').read_text()
    assert '| attention56 | 4 | eager |' in markdown and 'epochs done 1 -> 2' in markdown
