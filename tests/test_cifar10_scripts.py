"""The CIFAR-10 training scripts (scripts/train_cifar10*.sh) build the trainer's command they promise.

Each script runs in a copy of the repository's scripts/ with a ``python`` first on PATH that records the
arguments of ``python -m timm_ran.train`` instead of training and runs every other command with this
interpreter, so a test costs a second, not a run.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / 'scripts'


@pytest.fixture
def repo(tmp_path):
    """A repository copy with the scripts and a recording ``python``; returns (root, run)."""
    root = tmp_path / 'repo'
    shutil.copytree(SCRIPTS, root / 'scripts', ignore=shutil.ignore_patterns('*.py', '__pycache__'))
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    shim = bin_dir / 'python'
    shim.write_text('#!/bin/sh\n'
                    'if [ "$1" = "-m" ] && [ "$2" = "timm_ran.train" ]; then\n'
                    '    shift 2; printf "%s\\n" "$@" > "$TRAIN_ARGS"; exit 0\n'
                    'fi\n'
                    f'exec "{sys.executable}" "$@"\n')
    shim.chmod(0o755)
    recorded = tmp_path / 'train_args.txt'
    env = dict(os.environ, PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}', TRAIN_ARGS=str(recorded))

    def run(script, *args):
        proc = subprocess.run(['bash', f'scripts/{script}', *args], cwd=root, env=env, capture_output=True,
                              text=True, timeout=120)
        train_args = recorded.read_text().splitlines() if recorded.exists() else None
        return proc, train_args
    return root, run


def _option(args, name):
    return args[args.index(name) + 1]


def _choose(root: Path, epochs: int):
    (root / 'results' / 'schedule').mkdir(parents=True)
    (root / 'results' / 'schedule' / 'choice.json').write_text(json.dumps(dict(epochs=epochs)))


def test_the_cpu_recipe_trains_the_chosen_schedule_on_every_training_image(repo):
    root, run = repo
    _choose(root, 30)
    proc, args = run('train_cifar10_cpu.sh', 'attention92', 'runs/a92', 'data/cifar')
    assert proc.returncode == 0, proc.stderr
    assert _option(args, '--epochs') == '30'
    assert (_option(args, '--model'), _option(args, '--data-dir'), _option(args, '--output')) == (
        'attention92', 'data/cifar', 'runs/a92')
    assert _option(args, '--resume') == 'auto'
    assert '--holdout' not in args
    assert (_option(args, '--lr'), _option(args, '--batch-size'), _option(args, '--smoothing')) == ('0.2', '128', '0.1')


def test_the_cpu_recipe_and_a_schedule_candidate_differ_only_in_the_holdout(repo):
    root, run = repo
    _choose(root, 45)
    _, cpu = run('train_cifar10_cpu.sh', 'attention56', 'runs/x')
    _, candidate = run('train_cifar10_schedule.sh', 'attention56', '45', 'runs/x')
    at = candidate.index('--holdout')
    assert candidate[at + 1] == '5000'
    assert candidate[:at] + candidate[at + 2:] == cpu


def test_the_cpu_recipe_refuses_to_run_before_a_schedule_is_chosen(repo):
    _, run = repo
    proc, args = run('train_cifar10_cpu.sh', 'attention56', 'runs/a56')
    assert proc.returncode == 2 and args is None
    assert 'choice.json is missing' in proc.stderr


@pytest.mark.parametrize('script,args,message', [
    ('train_cifar10_cpu.sh', ['attention57', 'runs/x'], "MODEL must be one of attention56 attention92 "
                                                          "resnet164_cifar, got 'attention57'"),
    ('train_cifar10_cpu.sh', ['attention56'], 'usage:'),
    ('train_cifar10_schedule.sh', ['attention56', '3O', 'runs/x'], "EPOCHS must be a positive whole number, "
                                                                   "got '3O'"),
])
def test_bad_arguments_stop_with_a_clear_error(repo, script, args, message):
    root, run = repo
    _choose(root, 30)
    proc, recorded = run(script, *args)
    assert proc.returncode == 2 and recorded is None
    assert message in proc.stderr
