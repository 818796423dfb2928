"""Registration with timm, pretrained configs, and the torch.hub entry points."""
import subprocess
import sys
from pathlib import Path

import pytest
import timm
import torch
from conftest import CIFAR_MODELS, IMAGENET_MODELS

import timm_ran
from timm_ran.models.ran import CIFAR10_MEAN, CIFAR10_STD

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = {
    'attention56', 'attention92', 'attention128', 'attention164', 'attention236', 'attention452',
    'attention56_imagenet', 'attention92_imagenet', 'attentionnext56_imagenet', 'attentioninception56_imagenet',
    'resnet164_cifar',
}
ALL_REGISTERED = EXPECTED | {'attnrefine_resnet8'}


def test_importing_registers_all_models():
    code = 'import timm; names = ["att*", "resnet164_cifar"]; before = timm.list_models(names); ' \
           'import timm_ran; print(sorted(before)); print(sorted(timm.list_models(names)))'
    out = subprocess.run([sys.executable, '-c', code], check=True, capture_output=True, text=True).stdout
    before, after = out.strip().splitlines()
    assert before == '[]'
    assert set(eval(after)) == ALL_REGISTERED
    assert set(timm_ran.MODEL_NAMES) == EXPECTED and set(timm_ran.ATTNREFINE_MODEL_NAMES) == {'attnrefine_resnet8'}


@pytest.mark.parametrize('model_name', CIFAR_MODELS)
def test_cifar_default_cfg(model_name):
    model = timm.create_model(model_name)
    cfg = model.pretrained_cfg
    assert cfg['tag'] == 'cifar10'
    assert cfg['num_classes'] == model.num_classes == 10
    assert cfg['input_size'] == (3, 32, 32) and cfg['pool_size'] == (8, 8) and cfg['crop_pct'] == 1.0
    assert cfg['mean'] == CIFAR10_MEAN and cfg['std'] == CIFAR10_STD


@pytest.mark.parametrize('model_name', IMAGENET_MODELS)
def test_imagenet_default_cfg(model_name):
    model = timm.create_model(model_name)
    cfg = model.pretrained_cfg
    assert cfg['num_classes'] == model.num_classes == 1000
    assert cfg['input_size'] == (3, 224, 224) and cfg['pool_size'] == (7, 7) and cfg['crop_pct'] == 0.875


@pytest.mark.parametrize('model_name', sorted(EXPECTED))
def test_cfg_names_real_layers(model_name):
    model = timm.create_model(model_name)
    cfg = model.pretrained_cfg
    state = model.state_dict()
    assert cfg['first_conv'] + '.weight' in state and state[cfg['first_conv'] + '.weight'].shape[1] == 3
    assert state[cfg['classifier'] + '.weight'].shape[0] == cfg['num_classes']
    assert cfg['license'] == 'apache-2.0'
    assert cfg['paper_ids'] == 'arXiv:1704.06904'
    assert cfg['paper_name'] == 'Residual Attention Network for Image Classification'


@pytest.mark.parametrize('model_name', ['attention128', 'attention92_imagenet'])
def test_pretrained_without_weights_fails_clearly(model_name):
    with pytest.raises(RuntimeError, match=f"No trained weights exist yet for '{model_name}"):
        timm.create_model(model_name, pretrained=True)


def test_pretrained_loads_a_given_file(tmp_path):
    source = timm.create_model('attention56')
    path = tmp_path / 'weights.pth'
    torch.save(source.state_dict(), path)
    loaded = timm.create_model('attention56', pretrained=True, pretrained_cfg_overlay=dict(file=str(path)))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded.eval()(x), source.eval()(x), rtol=0, atol=0)


def test_unknown_kwarg_is_an_error():
    with pytest.raises(TypeError):
        timm.create_model('attention56', not_a_model_arg=1)


def _load_hubconf():
    sys.path.insert(0, str(ROOT))
    try:
        import hubconf
    finally:
        sys.path.remove(str(ROOT))
    return hubconf


def test_hubconf_has_one_documented_entry_per_model():
    hubconf = _load_hubconf()
    entries = {n for n in dir(hubconf) if not n.startswith('_') and callable(getattr(hubconf, n))}
    assert entries == ALL_REGISTERED
    for name in entries:
        assert 'timm.create_model' in getattr(hubconf, name).__doc__
    assert set(hubconf.dependencies) == {'torch', 'torchvision', 'timm', 'huggingface_hub', 'safetensors'}


@pytest.mark.parametrize('model_name', sorted(ALL_REGISTERED))
def test_hub_load_matches_timm(model_name):
    torch.manual_seed(0)
    hub_model = torch.hub.load(str(ROOT), model_name, source='local', num_classes=7)
    torch.manual_seed(0)
    timm_model = timm.create_model(model_name, num_classes=7)
    assert str(hub_model) == str(timm_model)
    hub_state, timm_state = hub_model.state_dict(), timm_model.state_dict()
    assert hub_state.keys() == timm_state.keys()
    assert all(torch.equal(hub_state[k], timm_state[k]) for k in hub_state)


def test_hub_load_forwards_pretrained():
    with pytest.raises(RuntimeError, match="No trained weights exist yet for 'attention128.cifar10'"):
        torch.hub.load(str(ROOT), 'attention128', source='local', pretrained=True)
