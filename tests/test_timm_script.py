"""python -m timm_ran.timm_script: timm's own scripts (validate.py, ...) run with our models registered.
The CI cannot fetch timm's repository, so a stand-in script written here plays timm's part."""
import subprocess
import sys
import textwrap

import pytest

from timm_ran import timm_script

STAND_IN = textwrap.dedent('''
    import argparse, sys
    import timm
    parser = argparse.ArgumentParser()
    parser.add_argument('--model', required=True)
    args = parser.parse_args()
    model = timm.create_model(args.model)
    print(f'{args.model}: {sum(p.numel() for p in model.parameters())} params, argv0={sys.argv[0]}')
    sys.exit(3)
''')


def _run(*args):
    return subprocess.run([sys.executable, '-m', 'timm_ran.timm_script', *args], capture_output=True, text=True,
                          timeout=120)


def test_runs_a_timm_script_as_main_with_our_models_registered(tmp_path):
    script = tmp_path / 'validate.py'
    script.write_text(STAND_IN)
    done = _run(str(script), '--model', 'attention56')
    assert done.returncode == 3, done.stderr  # the script's exit status, passed through
    assert 'attention56: 1148826 params' in done.stdout and f'argv0={script}' in done.stdout
    failed = _run(str(script))  # the script's own argument errors are its own
    assert failed.returncode == 2 and 'the following arguments are required: --model' in failed.stderr


def test_a_path_that_is_not_a_python_file_is_a_clear_error(tmp_path, capsys):
    done = _run(str(tmp_path / 'missing.py'))  # as a user runs it
    assert done.returncode == 2 and 'error: SCRIPT must be an existing Python file' in done.stderr
    assert 'Traceback' not in done.stderr
    (tmp_path / 'notes.txt').write_text('hello')
    for argv in ([str(tmp_path / 'notes.txt')], []):  # the same entry point, in process
        with pytest.raises(SystemExit) as exited:
            timm_script.main(argv)
        assert exited.value.code == 2
    assert 'error: SCRIPT must be an existing Python file' in capsys.readouterr().err
