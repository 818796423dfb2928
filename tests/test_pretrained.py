"""The shipped weights: found offline, checked by SHA-256, and as accurate as MODEL_CARD.md says."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from huggingface_hub import metadata_load
from safetensors.torch import load_file

import timm
import timm_ran.models.pretrained as pretrained
from timm_ran import publish, validate

ROOT = Path(__file__).resolve().parents[1]
CIFAR10 = ROOT.parent / 'shared' / 'data' / 'cifar10-jpeg'
SHIPPED = pretrained.bundled_names(ROOT / 'weights')


def _logits(model: torch.nn.Module) -> torch.Tensor:
    x = torch.randn(4, *model.pretrained_cfg['input_size'], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return model.eval()(x)


def test_the_shipped_weights_are_listed():
    """The parametrized tests below run on every weights file in SHA256SUMS: an unreadable list would
    leave them with nothing to check."""
    assert {'attention56.cifar10', 'attention92.cifar10', 'resnet164_cifar.cifar10'} <= set(SHIPPED)


@pytest.mark.parametrize('name', SHIPPED)
def test_shipped_weights_load_offline(name):
    model = timm.create_model(name.split('.')[0], pretrained=True)
    path = Path(model.pretrained_cfg['file'])
    assert path == pretrained.weights_dir() / f'{name}.safetensors' and path.is_file()
    assert model.pretrained_cfg['hf_hub_id'] == f'{pretrained.HF_HUB_ORG}/{name}'
    shipped = load_file(str(path))
    state = model.state_dict()
    assert shipped.keys() == state.keys() and all(torch.equal(shipped[k], state[k]) for k in state)


@pytest.mark.parametrize('name', SHIPPED)
def test_hub_load_gives_the_same_logits(name):
    hub_model = torch.hub.load(str(ROOT), name.split('.')[0], source='local', pretrained=True)
    assert torch.equal(_logits(hub_model), _logits(timm.create_model(name.split('.')[0], pretrained=True)))


@pytest.mark.parametrize('name', SHIPPED)
def test_hugging_face_dry_run_folder_gives_the_same_logits(name, tmp_path):
    """``publish --dry-run`` writes the folder that would be uploaded; timm loads it as ``local-dir:``, the
    same code path as ``hf-hub:`` after publishing."""
    folder = tmp_path / 'hub'
    test_json = ROOT / 'results' / 'runs' / name / 'test.json'
    publish.main(['--model', name, '--repo-id', f'someone/{name}', '--results', str(test_json),
                  '--dry-run', str(folder)])
    _check_the_model_index(folder / 'README.md', name, json.loads(test_json.read_text()))
    loaded = timm.create_model(f'local-dir:{folder}', pretrained=True)
    labels = timm.create_model(name, device='meta').pretrained_cfg['label_names']
    assert list(loaded.pretrained_cfg['label_names']) == list(labels)
    assert torch.equal(_logits(loaded), _logits(timm.create_model(name.split('.')[0], pretrained=True)))


def _check_the_model_index(readme: Path, name: str, measured: dict) -> None:
    """The Hub card's front matter parses, declares a timm model, and its model-index holds exactly the
    measured single-view and flip-TTA figures."""
    meta = metadata_load(readme)
    assert meta['library_name'] == 'timm' and meta['pipeline_tag'] == 'image-classification'
    assert meta['datasets'] == ['cifar10'] and 'transformers' not in meta['tags']
    [entry] = meta['model-index']
    assert entry['name'] == name
    [result] = entry['results']
    assert result['dataset']['split'] == 'test' and result['task']['type'] == 'image-classification'
    values = {metric['name']: metric['value'] for metric in result['metrics']}
    assert values == {'top-1 accuracy (single view)': measured['top1'], 'top-5 accuracy (single view)': measured['top5'],
                      'top-1 accuracy (flip TTA)': measured['flip_tta']['top1'],
                      'top-5 accuracy (flip TTA)': measured['flip_tta']['top5']}
    text = readme.read_text()
    for section in ('Model details', 'Intended use', 'How to use', 'Training data', 'Training procedure',
                    'Evaluation', 'Limitations', 'Citation'):
        assert f'\n## {section}\n' in text, section
    usage = text.split('\n## How to use\n')[1].split('\n## ')[0]
    assert usage.index('import timm_ran') < usage.index(f"create_model('hf-hub:someone/{name}'")
    release = json.loads((ROOT / 'weights' / f'{name}.json').read_text())
    details = text.split('\n## Model details\n')[1].split('\n## ')[0]
    assert f"| Weights released | {release['released']} |" in details
    for earlier in release.get('history', []):  # weights shipped earlier under this name, and their figures
        assert f"replaced {earlier['replaced']}" in details and f"top-1 {earlier['top1']:.2f}%" in details


SUBSET_ARGS = ['--subset', '1000', '--workers', '0', '--channels-last']


@pytest.mark.parametrize('name', SHIPPED)
def test_pretrained_accuracy_on_cifar10_test_subset(name):
    """A fixed random 1,000 of the CIFAR-10 test images (JPEG q75 copy) score what they scored when the
    weights shipped (``results/runs/<name>/test-subset1000.json``, written by the same command with
    ``--output``), within 2 images for CPU kernels that round differently: a 1-point regression fails."""
    assert CIFAR10.is_dir(), f'the CIFAR-10 JPEG copy is expected at {CIFAR10}'
    measured = json.loads((ROOT / 'results' / 'runs' / name / 'test-subset1000.json').read_text())
    results = validate.main(['--model', name.split('.')[0], '--pretrained', '--data-dir', str(CIFAR10), *SUBSET_ARGS])
    assert results['images'] == measured['images'] == 1000
    assert abs(results['top1'] - measured['top1']) <= 0.2


def _damaged_copy(tmp_path, monkeypatch, damage):
    name = 'attention56.cifar10.safetensors'
    folder = tmp_path / 'weights'
    folder.mkdir()
    shutil.copy(pretrained.weights_dir() / pretrained.CHECKSUMS, folder / pretrained.CHECKSUMS)
    shutil.copy(pretrained.weights_dir() / name, folder / name)
    damage(folder / name)
    monkeypatch.setattr(pretrained, 'weights_dir', lambda: folder)
    return str(folder / name)


def test_corrupt_weights_fail_clearly(tmp_path, monkeypatch):
    def flip_a_byte(path):
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    file = _damaged_copy(tmp_path, monkeypatch, flip_a_byte)
    with pytest.raises(RuntimeError, match='is corrupt or was altered: its SHA-256 is'):
        timm.create_model('attention56', pretrained=True, pretrained_cfg_overlay=dict(file=file))


def test_missing_weights_fail_clearly(tmp_path, monkeypatch):
    file = _damaged_copy(tmp_path, monkeypatch, lambda path: path.unlink())
    with pytest.raises(FileNotFoundError, match='is missing: reinstall timm-ran'):
        timm.create_model('attention56', pretrained=True, pretrained_cfg_overlay=dict(file=file))


def test_export_weights_round_trip(tmp_path):
    from timm_ran.export_weights import export_weights
    source = timm.create_model('attention56', zero_init_last=False)
    checkpoint = tmp_path / 'last.pth.tar'
    torch.save({'state_dict': source.state_dict(), 'epoch': 3}, checkpoint)
    path = export_weights(str(checkpoint), 'attention56.test', folder=tmp_path / 'out')
    sums = pretrained.read_checksums(tmp_path / 'out' / pretrained.CHECKSUMS)
    assert sums == {'attention56.test.safetensors': pretrained.sha256_of(str(path))}
    exported = load_file(str(path))
    assert all(torch.equal(exported[k], v) for k, v in source.state_dict().items())


def test_export_weights_records_accuracy_evidence_and_recipe(tmp_path):
    """With --results FOLDER/test.json of a run folder, <name>.json names the folder and the run's recipe."""
    from timm_ran.export_weights import export_weights
    checkpoint = tmp_path / 'last.pth.tar'
    torch.save({'state_dict': timm.create_model('attention56').state_dict(), 'epoch': 1}, checkpoint)
    run = tmp_path / 'run'
    run.mkdir()
    measured = dict(top1=91.5, top5=99.7, loss=0.3, images=10000, data=dict(dir='cifar10-jpeg', split='test'))
    (run / 'test.json').write_text(json.dumps(measured))
    (run / 'args.json').write_text(json.dumps(dict(epochs=2, opt='sgd', lr=0.2, sched='cosine', batch_size=128)))
    (run / 'summary.json').write_text(json.dumps([dict(epoch=0, epoch_time=600.), dict(epoch=1, epoch_time=660.)]))
    (run / 'segments.json').write_text(json.dumps([dict(first_epoch=0, last_epoch=1, hardware='AMD EPYC, 2 threads',
                                                        device_type='cpu', device_name='AMD EPYC')]))
    export_weights(str(checkpoint), 'attention56.test', folder=tmp_path / 'out', results=str(run / 'test.json'))
    recorded = json.loads((tmp_path / 'out' / 'attention56.test.json').read_text())
    assert recorded['top1'] == 91.5 and recorded['results'] == str(run) and recorded['ema'] is False
    assert recorded['recipe'] == '2 epochs, SGD lr 0.2 cosine, batch 128, fp32, 21.0 min on CPU'
    first_sha = pretrained.read_checksums(tmp_path / 'out' / pretrained.CHECKSUMS)['attention56.test.safetensors']
    assert re.fullmatch(r'\d{4}-\d{2}-\d{2}', recorded['released']) and 'history' not in recorded
    # the same weights again keep their record; other weights under the name move it into the history
    export_weights(str(checkpoint), 'attention56.test', folder=tmp_path / 'out', results=str(run / 'test.json'))
    assert json.loads((tmp_path / 'out' / 'attention56.test.json').read_text()) == recorded
    torch.manual_seed(1)
    torch.save({'state_dict': timm.create_model('attention56').state_dict(), 'epoch': 1}, checkpoint)
    export_weights(str(checkpoint), 'attention56.test', folder=tmp_path / 'out', results=str(run / 'test.json'))
    [earlier] = json.loads((tmp_path / 'out' / 'attention56.test.json').read_text())['history']
    assert earlier == dict(released=recorded['released'], replaced=recorded['released'], sha256=first_sha,
                           top1=91.5, top5=99.7, recipe=recorded['recipe'])


@pytest.mark.parametrize('name', SHIPPED)
def test_pretrained_cfg_names_its_measured_top1_and_recipe(name):
    measured = json.loads((ROOT / 'weights' / f'{name}.json').read_text())
    description = timm.create_model(name.split('.')[0], device='meta').pretrained_cfg['description']
    assert f"top-1 {measured['top1']:.2f}%" in description and f"trained {measured['recipe']}" in description


def test_creating_models_reads_the_checksums_once():
    code = ('import timm, timm_ran.models.pretrained as p; '
            '[timm.create_model(n, device="meta") for n in ("attention56", "attention92", "resnet164_cifar")]; '
            'info = p._parse_checksums.cache_info(); print(info.misses, info.hits)')
    out = subprocess.run([sys.executable, '-c', code], check=True, capture_output=True, text=True).stdout.split()
    assert out[0] == '1' and int(out[1]) >= 2  # one read, shared by every model created


def test_a_rewritten_checksums_file_is_read_again(tmp_path):
    sums = tmp_path / pretrained.CHECKSUMS
    sums.write_text(f"{'a' * 64}  one.safetensors\n")
    assert pretrained.read_checksums(sums) == {'one.safetensors': 'a' * 64}
    sums.write_text(f"{'b' * 64}  one.safetensors\n{'c' * 64}  two.safetensors\n")
    assert pretrained.read_checksums(sums) == {'one.safetensors': 'b' * 64, 'two.safetensors': 'c' * 64}


def test_a_file_that_cannot_be_loaded_is_named_and_described(tmp_path):
    """pretrained_cfg_overlay=dict(file=...) with a photo, a truncated checkpoint, a checkpoint of another
    network, a whole pickled model: our message (which file, what it looks like, what was expected)."""
    from PIL import Image
    Image.new('RGB', (8, 8)).save(tmp_path / 'photo.jpg')
    torch.save(timm.create_model('attention56').state_dict(), tmp_path / 'a56.pth')
    data = (tmp_path / 'a56.pth').read_bytes()
    (tmp_path / 'truncated.pth').write_bytes(data[:len(data) // 3])
    torch.save(timm.create_model('resnet18'), tmp_path / 'whole_model.pth')
    cases = [
        ('photo.jpg', dict(), r'photo.jpg cannot be loaded: it looks like a JPEG image of \d+ bytes; expected a '
                              r'state dict or training checkpoint'),
        ('truncated.pth', dict(), 'truncated.pth cannot be loaded: it looks like a damaged or truncated PyTorch'),
        ('whole_model.pth', dict(), r'a pickle of Python objects \(timm.models.resnet.ResNet\)'),
        # another number of classes: timm then loads without strict key checks, which would load nothing
        ('a56.pth', dict(num_classes=5), r'a56.pth is not a checkpoint of attention92: 522 of the 1161 tensors'),
    ]
    for name, kwargs, message in cases:
        model_name = 'attention92' if name == 'a56.pth' else 'attention56'
        with pytest.raises(ValueError, match=message):
            timm.create_model(model_name, pretrained=True, pretrained_cfg_overlay=dict(file=str(tmp_path / name)),
                              **kwargs)
    # the right architecture with a new head and one input channel still loads
    model = timm.create_model('attention56', pretrained=True, num_classes=3, in_chans=1,
                              pretrained_cfg_overlay=dict(file=str(tmp_path / 'a56.pth')))
    assert model.num_classes == 3 and model.stem.conv.in_channels == 1
