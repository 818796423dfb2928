"""The timm model API, on one network of each layout (``LAYOUTS`` in conftest.py: the deeper networks repeat
the same modules); ``.ci/run`` also runs timm's own model tests on every registered model."""
import math

import pytest
import timm
import torch
import torch.nn as nn
from conftest import CIFAR_MODELS, LAYOUT_IDS, LAYOUTS, small_input_size
from timm.layers import DropPath
from timm.models import group_parameters

import timm_ran

@pytest.mark.parametrize('model_name, kwargs', LAYOUTS, ids=LAYOUT_IDS)
def test_forward_at_default_size(model_name, kwargs):
    model = timm.create_model(model_name, **kwargs).eval()
    x = torch.randn(2, *model.pretrained_cfg['input_size'])
    with torch.no_grad():
        features = model.forward_features(x)
        logits = model.forward_head(features)
    assert features.shape[1:] == (model.num_features, *model.pretrained_cfg['pool_size'])
    assert logits.shape == (2, model.num_classes)
    assert torch.isfinite(logits).all()
    torch.testing.assert_close(model(x), logits)


@pytest.mark.parametrize('model_name, kwargs', LAYOUTS, ids=LAYOUT_IDS)
def test_backward_reaches_every_parameter(model_name, kwargs):
    model = timm.create_model(model_name, **kwargs, num_classes=5).train()
    logits = model(torch.randn(2, 3, *small_input_size(model_name)))
    assert logits.shape == (2, 5)
    logits.logsumexp(1).mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert missing == []


@pytest.mark.parametrize('model_name, kwargs', LAYOUTS, ids=LAYOUT_IDS)
def test_odd_input_sizes(model_name, kwargs):
    model = timm.create_model(model_name, **kwargs).eval()
    sizes = [(33, 47), (17, 9)] if model_name in CIFAR_MODELS else [(33, 47), (224, 300)]
    for size in sizes:
        with torch.no_grad():
            features = model.forward_features(torch.randn(1, 3, *size))
            logits = model.forward_head(features)
        reduction = model.feature_info[-1]['reduction']
        assert features.shape[-2:] == tuple(math.ceil(s / reduction) for s in size)
        assert logits.shape == (1, model.num_classes) and torch.isfinite(logits).all()


@pytest.mark.parametrize('model_name, kwargs', LAYOUTS, ids=LAYOUT_IDS)
def test_in_chans(model_name, kwargs):
    model = timm.create_model(model_name, **kwargs, in_chans=1).eval()
    assert model.stem.conv.in_channels == 1 and model.in_chans == 1
    with torch.no_grad():
        assert model(torch.randn(2, 1, *small_input_size(model_name))).shape == (2, model.num_classes)


@pytest.mark.parametrize('model_name, kwargs', LAYOUTS, ids=LAYOUT_IDS)
def test_features_only_one_map_per_stage(model_name, kwargs):
    model = timm.create_model(model_name, **kwargs, features_only=True).eval()
    full = timm.create_model(model_name, **kwargs).eval()
    assert len(model.feature_info) == len(full.stages) + 1  # the stem, then every stage
    height, width = small_input_size(model_name)
    x = torch.randn(2, 3, height, width)
    with torch.no_grad():
        features = model(x)
    assert [f.shape[1] for f in features] == model.feature_info.channels()
    for feature, reduction in zip(features, model.feature_info.reduction()):
        assert feature.shape[-2:] == (height // reduction, width // reduction)

    subset = timm.create_model(model_name, **kwargs, features_only=True, out_indices=(1, -1)).eval()
    subset.load_state_dict(model.state_dict())
    with torch.no_grad():
        picked = subset(x)
    torch.testing.assert_close(picked, [features[1], features[-1]])


@pytest.mark.parametrize('model_name, kwargs', LAYOUTS, ids=LAYOUT_IDS)
def test_forward_intermediates(model_name, kwargs):
    model = timm.create_model(model_name, **kwargs).eval()
    x = torch.randn(2, 3, *small_input_size(model_name))
    with torch.no_grad():
        final, intermediates = model.forward_intermediates(x)
        torch.testing.assert_close(final, model.forward_features(x))
        assert [f.shape[1] for f in intermediates] == [info['num_chs'] for info in model.feature_info]
        last = model.forward_intermediates(x, indices=1, norm=True, intermediates_only=True)
        torch.testing.assert_close(last[0], final)
        early = model.forward_intermediates(x, indices=[1], stop_early=True, intermediates_only=True)
        torch.testing.assert_close(early[0], intermediates[1])


@pytest.mark.parametrize('model_name', ['attention56', 'attention92_imagenet'])
def test_prune_intermediate_layers(model_name):
    model = timm.create_model(model_name).eval()
    x = torch.randn(2, 3, *small_input_size(model_name))
    with torch.no_grad():
        taps = model.forward_intermediates(x, intermediates_only=True)
        model.prune_intermediate_layers([2])
        assert len(model.stages) == 2 and model.num_classes == 0
        torch.testing.assert_close(model.forward_features(x), taps[2])


@pytest.mark.parametrize('model_name, kwargs', LAYOUTS, ids=LAYOUT_IDS)
def test_classifier_api(model_name, kwargs):
    model = timm.create_model(model_name, **kwargs).eval()
    x = torch.randn(2, 3, *small_input_size(model_name))
    assert model.get_classifier() is model.head.fc
    assert model.get_classifier().in_features == model.num_features == model.head_hidden_size
    with torch.no_grad():
        pre_logits = model.forward_head(model.forward_features(x), pre_logits=True)
        assert pre_logits.shape == (2, model.num_features)
        model.reset_classifier(4)
        assert model(x).shape == (2, 4) and model.num_classes == 4
        model.reset_classifier(0)
        torch.testing.assert_close(model(x), pre_logits)
        model.reset_classifier(0, '')
        assert model(x).ndim == 4


@pytest.mark.parametrize('global_pool, mult', [('avg', 1), ('max', 1), ('avgmax', 1), ('catavgmax', 2)])
def test_global_pool(global_pool, mult):
    model = timm.create_model('attention56', global_pool=global_pool, num_classes=0).eval()
    with torch.no_grad():
        pooled = model(torch.randn(2, 3, 32, 32))
    assert pooled.shape == (2, mult * model.num_features) and model.head_hidden_size == mult * model.num_features


@pytest.mark.parametrize('model_name', ['attention56', 'attention56_imagenet', 'attentionnext56_imagenet'])
def test_grad_checkpointing_changes_nothing(model_name):
    model = timm.create_model(model_name).train()
    x = torch.randn(2, 3, *small_input_size(model_name))
    grads = []
    for enable in (False, True):
        model.set_grad_checkpointing(enable)
        model.zero_grad()
        torch.manual_seed(1)
        out = model(x)
        out.square().mean().backward()
        grads.append((out.detach(), [p.grad.clone() for p in model.parameters()]))
    torch.testing.assert_close(grads[0][0], grads[1][0])
    torch.testing.assert_close(grads[0][1], grads[1][1])


# attnrefine_resnet8 with a 2-block ViT at 32x32 input (the default DINO ViT-S/8 takes 224x224)
SMALL_ATTNREFINE = dict(vit_model='vit_tiny_patch16_224', img_size=32, vit_kwargs=dict(depth=2, patch_size=8))


def _create(model_name: str, **kwargs) -> nn.Module:
    extra = SMALL_ATTNREFINE if model_name in timm_ran.ATTNREFINE_MODEL_NAMES else {}
    return timm.create_model(model_name, **extra, **kwargs)


@pytest.mark.parametrize('model_name', ['attention56', 'attention92_imagenet', 'attnrefine_resnet8'])
def test_group_matcher_covers_all_parameters(model_name):
    model = _create(model_name, device='meta')
    for coarse in (False, True):
        groups = group_parameters(model, model.group_matcher(coarse=coarse))
        grouped = [n for names in groups.values() for n in names]
        assert sorted(grouped) == sorted(n for n, _ in model.named_parameters())
        assert len(groups) > 1


def _assert_stochastic_in_training_only(model: nn.Module, x: torch.Tensor) -> None:
    with torch.no_grad():
        model.train()
        assert not torch.allclose(model(x), model(x))
        model.eval()
        torch.testing.assert_close(model(x), model(x))


def test_drop_rate_is_stochastic_in_training_only():
    model = timm.create_model('attention56', drop_rate=0.5)
    assert model.head.drop.p == 0.5
    _assert_stochastic_in_training_only(model, torch.randn(4, 3, 32, 32))


def test_drop_path_rate_rises_over_the_trunk():
    # with zero-initialised residual branches, dropping them would change nothing at init
    model = timm.create_model('attention92', drop_path_rate=0.2, zero_init_last=False)
    rates = [m.drop_prob for m in model.modules() if isinstance(m, DropPath)]
    assert rates == sorted(rates) and max(rates) == pytest.approx(0.2)
    # stochastic depth acts on the trunk only: the mask branches keep every unit
    for module in model.modules():
        if hasattr(module, 'mask'):
            assert not any(isinstance(m, DropPath) for m in module.mask.modules())
    _assert_stochastic_in_training_only(model, torch.randn(2, 3, 32, 32))


@pytest.mark.parametrize('model_name', ['attention56', 'attention56_imagenet', 'attnrefine_resnet8'])
def test_device_and_dtype_arguments(model_name):
    """Built on the meta device (no memory, no init cost) in bf16; a new classifier keeps both."""
    model = timm.create_model(model_name, device='meta', dtype=torch.bfloat16)
    tensors = list(model.parameters()) + list(model.buffers())
    assert all(t.device.type == 'meta' for t in tensors)
    assert all(t.dtype == torch.bfloat16 for t in model.parameters())
    model.reset_classifier(7)
    fc = model.get_classifier()
    assert fc.out_features == 7 and fc.weight.device.type == 'meta' and fc.weight.dtype == torch.bfloat16


def test_bfloat16_channels_last_forward_matches_fp32():
    model = timm.create_model('attention56').eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        reference = model(x)
        model = model.to(memory_format=torch.channels_last)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            fast = model(x.to(memory_format=torch.channels_last))
    assert fast.dtype == torch.bfloat16
    torch.testing.assert_close(fast.float(), reference, rtol=0.1, atol=0.1 * reference.abs().max().item())
