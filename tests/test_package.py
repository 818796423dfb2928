"""What the package is made of: ``import timm_ran`` loads the model library alone and reads no file, the
tags that ship weights are those of ``weights/SHA256SUMS``, and the wheel carries the library, the training
support, the tools and the weights, and none of the repository's own scripts or tests."""
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import timm

import timm_ran
from timm_ran.models import pretrained

ROOT = Path(__file__).resolve().parents[1]

_IMPORT_PROBE = '''
import json, sys
from pathlib import Path
package, weights = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
opened = []

def audit(event, args):
    if event == 'open' and isinstance(args[0], (str, Path)):
        path = Path(args[0]).resolve()
        if path.suffix not in ('.py', '.pyc') and (path.is_relative_to(package) or path.is_relative_to(weights)):
            opened.append(str(path))

sys.addaudithook(audit)
import timm_ran
print(json.dumps(dict(modules=sorted(m for m in sys.modules if m.startswith('timm_ran')), opened=opened)))
'''


def test_importing_the_package_loads_the_model_library_alone_and_reads_no_file():
    package = Path(timm_ran.__file__).parent  # the installed package (CI installs it; a checkout's own folder here)
    done = subprocess.run([sys.executable, '-c', _IMPORT_PROBE, str(package), str(pretrained.weights_dir())],
                          check=True, capture_output=True, text=True)
    probe = json.loads(done.stdout)
    assert [m for m in probe['modules'] if not m.startswith('timm_ran.models')] == ['timm_ran', 'timm_ran.errors']
    assert probe['opened'] == []


def test_the_tags_with_an_hf_hub_id_are_the_shipped_weights():
    tagged = sorted(name for name in timm.list_pretrained('attention*') + timm.list_pretrained('resnet164_cifar*')
                    if timm.models.get_pretrained_cfg(name).hf_hub_id)
    assert tagged == pretrained.bundled_names()


def test_the_wheel_holds_the_package_and_the_weights_only(tmp_path):
    source = tmp_path / 'source'  # a copy of what the build reads, so no build/ folder lands in the checkout
    source.mkdir()
    for name in ('pyproject.toml', 'README.md', 'LICENSE', 'timm_ran', 'weights'):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, source / name, **({'ignore': shutil.ignore_patterns('__pycache__')}
                                             if (ROOT / name).is_dir() else {}))
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', str(source), '--no-deps', '--no-build-isolation', '-q',
                    '-w', str(tmp_path)], check=True, capture_output=True)
    wheel, = tmp_path.glob('timm_ran-*.whl')
    names = [n for n in zipfile.ZipFile(wheel).namelist() if '.dist-info/' not in n]
    expected = {f'timm_ran/{p.relative_to(ROOT / "timm_ran").as_posix()}' for p in (ROOT / 'timm_ran').rglob('*.py')}
    expected |= {f'timm_ran/weights/{name}' for name in ('SHA256SUMS', *(
        f'{n}.{ext}' for n in pretrained.bundled_names(ROOT / 'weights') for ext in ('safetensors', 'json')))}
    assert sorted(names) == sorted(expected)
