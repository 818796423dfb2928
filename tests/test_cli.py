"""The command-line tools as a user meets them.

Every tool turns a user's mistake into one ``error:`` line on stderr and exit status 2 (argparse's
convention), never a traceback. Each tool runs once in a subprocess, as a user runs it; its other bad
inputs go through the same entry point (``run_tool``) in process, which is much faster. Progress bars
appear on a terminal only.
"""
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import timm
from timm_ran.cli import progress_bar, run_tool

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """Bad inputs: a JPEG photo, a text file, a truncated checkpoint, checkpoints of other networks."""
    root = tmp_path_factory.mktemp('bad-inputs')
    from PIL import Image
    Image.new('RGB', (40, 30), (200, 30, 30)).save(root / 'photo.jpg')
    (root / 'notes.txt').write_text('not an image, not a checkpoint')
    torch.save(timm.create_model('resnet18', num_classes=10).state_dict(), root / 'resnet18.pth')
    torch.save(timm.create_model('attention92').state_dict(), root / 'attention92.pth')
    data = (root / 'attention92.pth').read_bytes()
    (root / 'truncated.pth').write_bytes(data[:len(data) // 2])
    return root


def _assert_one_error_line(stderr: str, message: str) -> None:
    assert 'Traceback' not in stderr, stderr[-3000:]
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), stderr
    assert message in lines[0], lines[0]


def _fails_with(tool: str, args, message: str, cwd=None) -> None:
    """``python -m timm_ran.TOOL ARGS`` (or ``python scripts/TOOL ARGS`` for a repository script ``*.py``) in a
    subprocess."""
    command = [sys.executable, str(ROOT / 'scripts' / tool)] if tool.endswith('.py') else \
        [sys.executable, '-m', f'timm_ran.{tool}']
    done = subprocess.run([*command, *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    _assert_one_error_line(done.stderr, message)


def _fails_in_process(capsys, tool: str, args, message: str) -> None:
    """The tool's entry point, ``run_tool(main)``, in this process."""
    main = importlib.import_module(f'timm_ran.{tool}').main
    with pytest.raises(SystemExit) as exited:
        run_tool(main, list(map(str, args)))
    assert exited.value.code == 2
    _assert_one_error_line(capsys.readouterr().err, message)


def test_validate(files, capsys):
    _fails_with('validate', ['--model', 'attention56', '--pretrained', '--data-dir', '/nonexistent'],
                "error: --data-dir '/nonexistent' does not exist")
    for args, message in [
        (['--model', 'attention65', '--pretrained'], "--model 'attention65' is not a registered model; did you mean "
                                                     "attention56"),
        (['--model', 'attention56', '--pretrained', '--batch-size', '0'],
         'argument --batch-size/-b: must be an integer >= 1; got 0'),
        (['--model', 'attention128', '--pretrained'], "No trained weights exist yet for 'attention128.cifar10'"),
        (['--model', 'attention56', '--checkpoint', files / 'photo.jpg'],
         'photo.jpg cannot be loaded: it looks like a JPEG image of'),
        (['--model', 'attention92', '--checkpoint', files / 'truncated.pth'],
         'truncated.pth cannot be loaded: it looks like a damaged or truncated PyTorch checkpoint'),
        (['--model', 'attention56', '--checkpoint', files / 'resnet18.pth'],
         'resnet18.pth is not a checkpoint of attention56: none of its 122 tensors belongs to attention56 (it has '
         'e.g. bn1.bias'),
    ]:
        _fails_in_process(capsys, 'validate', [*args, '--data-dir', files], message)


def test_predict(files, capsys, monkeypatch):
    _fails_with('predict', ['--model', 'attention56', '--pretrained', 'notes.txt'],
                'notes.txt is not an image PIL can read', cwd=files)
    monkeypatch.chdir(files)
    for args, message in [
        (['--pretrained', 'missing.png'], 'missing.png: no such file'),
        (['--pretrained', 'photo.jpg', '--topk', '0'], 'argument --topk: must be an integer >= 1; got 0'),
        (['--checkpoint', 'attention92.pth', 'photo.jpg'], 'attention92.pth is not a checkpoint of attention56: '
                                                           '522 are not part of attention56 (stages.0.blocks.2.'),
    ]:
        _fails_in_process(capsys, 'predict', ['--model', 'attention56', *args], message)


def test_visualize(files, capsys):
    _fails_with('visualize', ['--model', 'attention56', '--pretrained', files / 'photo.jpg', '-o', files / 'x.png',
                              '--channels', '0'], 'argument --channels: must be an integer >= 1; got 0')
    torch.save(timm.create_model('resnet164_cifar').state_dict(), files / 'resnet164.pth')
    _fails_in_process(capsys, 'visualize', ['--model', 'resnet164_cifar', '--checkpoint', files / 'resnet164.pth',
                                            files / 'photo.jpg', '-o', files / 'x.png'],
                      'resnet164_cifar has no attention masks to draw')


def test_train(files, image_folder, tmp_path, capsys):
    _fails_with('train', ['--model', 'attention56', '--data-dir', files, '--epochs', '0'],
                'argument --epochs: must be an integer >= 1; got 0')
    for args, message in [
        (['--data-dir', files / 'nowhere'], 'does not exist'),
        (['--data-dir', files, '--smoothing', '1.5'], 'argument --smoothing: must be a number in [0, 1]; got 1.5'),
        (['--data-dir', image_folder, '--epochs', '1', '--output', tmp_path, '--resume', files / 'notes.txt'],
         'notes.txt cannot be loaded: it looks like a text file'),
        (['--data-dir', image_folder, '--epochs', '1', '--output', tmp_path, '--resume', files / 'resnet18.pth'],
         "is not a checkpoint written by timm_ran.train: it needs 'state_dict', 'optimizer' and 'epoch'"),
    ]:
        _fails_in_process(capsys, 'train', ['--model', 'attention56', '--no-progress', *args], message)


def test_publish_and_export_weights(files, capsys):
    _fails_with('publish', ['--model', 'attention56', '--repo-id', 'noslash', '--dry-run', files / 'hub'],
                "--repo-id must be 'ORG/NAME'")
    _fails_in_process(capsys, 'publish', ['--model', 'attention56', '--repo-id', 'me/x', '--results',
                                          files / 'notes.txt', '--dry-run', files / 'hub'], "notes.txt' is not JSON")
    _fails_with('export_weights', ['--checkpoint', files / 'attention92.pth', '--name', 'attention56'],
                "--name must be '<model>.<tag>'")
    _fails_in_process(capsys, 'export_weights', ['--checkpoint', files / 'attention92.pth', '--name',
                                                 'attention56.cifar10', '--folder', files / 'out'],
                      'attention92.pth is not a checkpoint of attention56: ')
    assert not (files / 'out').exists()  # nothing written


def test_experiments_sizes_and_run_report(files, capsys):
    _fails_with('experiments', ['ablation', '--what', 'nope'], "argument --what: invalid choice: 'nope'")
    _fails_in_process(capsys, 'experiments', ['ablation', '--what', 'mask-type', '--models', 'resnet18'],
                      '--models for mask-type must be among')
    _fails_with('sizes', ['--bogus'], 'unrecognized arguments: --bogus')
    _fails_with('run_report.py', [files / 'no-run'], 'is not a timm_ran.train run: it has no args.json')


def test_progress_bar_only_on_a_terminal_and_not_with_no_progress(monkeypatch):
    monkeypatch.setattr(sys.stderr, 'isatty', lambda: False)
    assert progress_bar(range(3), 'log', enabled=True).disable  # a log file: plain lines only
    monkeypatch.setattr(sys.stderr, 'isatty', lambda: True)
    assert not progress_bar(range(3), 'terminal', enabled=True).disable
    bar = progress_bar(range(3), 'terminal', enabled=False)  # --no-progress
    assert bar.disable and list(bar) == [0, 1, 2]
    bar.set_postfix(loss='1.0')  # what train.py calls on it, a no-op when disabled


@pytest.mark.parametrize('module', [f'timm_ran.{tool}' for tool in (
    'train', 'validate', 'predict', 'visualize', 'publish', 'export_weights', 'experiments', 'sizes')] + ['run_report'])
def test_help_describes_the_tool_in_whole_sentences(module, capsys):
    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as exited:
        main(['--help'])
    assert exited.value.code == 0
    description = capsys.readouterr().out.split('\n\n')[1]
    assert description.rstrip().endswith('.'), description
