"""The network against the paper (arXiv 1704.06904) and the official Caffe prototxts."""
import functools
from pathlib import Path

import pytest
import timm
import torch
import torch.nn as nn
from timm.models.resnetv2 import Bottleneck, PreActBottleneck

from timm_ran.models.ran import (
    AttentionModule,
    AttentionModuleCfg,
    ChannelAttention,
    PreActInceptionResUnit,
    ResidualAttentionNet,
    SpatialAttention,
)
from timm_ran.paper_results import PAPER_SIZES
from timm_ran.sizes import count_size, format_markdown, out_of_tolerance, table_rows

count_size = functools.lru_cache(count_size)  # each network is measured once for the three size tests

ROOT = Path(__file__).resolve().parents[1]
UNIT_TYPES = (PreActBottleneck, Bottleneck, PreActInceptionResUnit)


def _units(module: nn.Module) -> int:
    return sum(isinstance(m, UNIT_TYPES) for m in module.modules())


def _tiny(**kwargs) -> ResidualAttentionNet:
    """A small CIFAR-style network for behaviour tests."""
    args = dict(channels=(32, 64), unit_depths=(1, 1), module_depths=(1, 1), mask_pools=(2, 1),
                stem_type='cifar', stem_chs=16, num_classes=10)
    return ResidualAttentionNet(**dict(args, **kwargs))


@pytest.mark.parametrize('model_name', [n for n, s in PAPER_SIZES.items() if s.params_tol or s.macs_tol])
def test_size_within_paper_tolerance(model_name):
    assert out_of_tolerance(count_size(model_name)) == []


@pytest.mark.parametrize('model_name, params_m, macs_g', [
    # the official prototxts rebuilt layer by layer (../shared/papers/README.md)
    ('attention56_imagenet', 31.81, 6.27),
    ('attention92_imagenet', 52.47, 10.53),
    ('attentionnext56_imagenet', 31.32, 6.42),
])
def test_size_matches_official_prototxt(model_name, params_m, macs_g):
    size = count_size(model_name)
    assert round(size.params / 1e6, 2) == params_m
    assert round(size.macs / 1e9, 2) == macs_g


def test_readme_table_is_generated():
    table = format_markdown(table_rows([count_size(name) for name in PAPER_SIZES]))
    assert table in (ROOT / 'README.md').read_text()


@pytest.mark.parametrize('model_name, modules, mask_units', [
    # units per soft mask in each stage: the official stage masks have 8, 5 and 2 units (3, 2, 1 pools)
    ('attention56_imagenet', (1, 1, 1, 0), (8, 5, 2)),
    ('attention92_imagenet', (1, 2, 3, 0), (8, 5, 2)),
    ('attention56', (1, 1, 1, 0), (8, 5, 2)),
    ('attention236', (6, 6, 6, 0), (8, 5, 2)),
    # r = 3: three units after each pooling, one per up-sampling level, one skip unit per outer level
    ('attention452', (6, 6, 6, 0), (14, 9, 4)),
])
def test_layout(model_name, modules, mask_units):
    model = timm.create_model(model_name, device='meta')
    for stage, num_modules, stage_mask_units in zip(model.stages, modules, mask_units):
        attention = [m for m in stage.blocks if isinstance(m, AttentionModule)]
        assert len(attention) == num_modules
        for module in attention:
            assert _units(module.mask) == stage_mask_units
            p = 2 if model_name == 'attention452' else 1
            t = 4 if model_name == 'attention452' else 2
            assert (len(module.pre), len(module.trunk), len(module.post)) == (p, t, p)
            # BN-ReLU, 1x1 conv, BN-ReLU, 1x1 conv: no BN right before the sigmoid
            assert isinstance(module.mask.head[-1], nn.Conv2d) and isinstance(module.mask.act, nn.Sigmoid)


@pytest.mark.parametrize('model_name, depth', [
    ('attention56', 56), ('attention92', 92), ('attention128', 128), ('attention164', 164), ('attention236', 236),
    ('attention452', 452), ('attention56_imagenet', 56), ('attention92_imagenet', 92),
    ('attentionnext56_imagenet', 56),
])
def test_depth_is_the_name(model_name, depth):
    """Paper Sec. 4.1: the depth counts the trunk's weighted layers (3 per unit) plus stem conv and fc."""
    model = timm.create_model(model_name, device='meta')
    trunk_units = sum(_units(m) - _units(m.mask) if isinstance(m, AttentionModule) else _units(m)
                      for stage in model.stages for m in stage.blocks)
    assert 3 * trunk_units + 2 == depth


@pytest.mark.parametrize('height, width', [(32, 32), (33, 47), (7, 5), (2, 3), (1, 1)])
def test_mask_upsamples_to_the_exact_trunk_size(height, width):
    module = _tiny(mask_pools=(3, 2)).stages[0].blocks[1].eval()
    x = torch.randn(1, 32, height, width)
    with torch.no_grad():
        mask = module.mask(x, module.trunk(x))
    assert mask.shape == x.shape


def test_attention_residual_learning_formula():
    """Sec. 3.2: H = (1 + M) * T with ARL, H = M * T with NAL, M from the output of the p shared units."""
    for arl in (True, False):
        module = _tiny(attention_residual=arl).stages[0].blocks[1].eval()
        x = torch.randn(2, 32, 16, 16)
        with torch.no_grad():
            shared = module.pre(x)
            trunk = module.trunk(shared)
            mask = module.mask(shared, trunk)
            expected = module.post((1 + mask) * trunk if arl else mask * trunk)
            # equal up to fp32 rounding: the module computes T + M * T as one fused multiply-add
            torch.testing.assert_close(module(x), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('model_name', ['attention56', 'attention56_imagenet'])
def test_arl_and_nal_differ_with_the_same_weights(model_name):
    arl = timm.create_model(model_name).eval()
    nal = timm.create_model(model_name, attention_residual=False).eval()
    nal.load_state_dict(arl.state_dict())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(arl(x), nal(x), atol=1e-3)


def test_mask_types_differ_with_the_same_weights():
    models = {act: _tiny(mask_act=act).eval() for act in ('mixed', 'channel', 'spatial')}
    state = models['mixed'].state_dict()
    x = torch.randn(2, 3, 32, 32)
    outputs = {}
    with torch.no_grad():
        for act, model in models.items():
            model.load_state_dict(state)
            outputs[act] = model(x)
    assert not torch.allclose(outputs['mixed'], outputs['channel'], atol=1e-3)
    assert not torch.allclose(outputs['mixed'], outputs['spatial'], atol=1e-3)
    assert not torch.allclose(outputs['channel'], outputs['spatial'], atol=1e-3)


def test_mask_activations_follow_section_3_3():
    logits = torch.randn(2, 8, 5, 7) * 3 + 1
    channel = ChannelAttention()(logits)
    torch.testing.assert_close(channel.norm(dim=1), torch.ones(2, 5, 7))
    torch.testing.assert_close(channel * logits.norm(dim=1, keepdim=True), logits)
    spatial = SpatialAttention()(logits)
    standardised = torch.logit(spatial.double())
    torch.testing.assert_close(standardised.mean((2, 3)), torch.zeros(2, 8, dtype=torch.double), atol=1e-5, rtol=0)
    torch.testing.assert_close(standardised.var((2, 3), correction=0), torch.ones(2, 8, dtype=torch.double),
                               atol=1e-3, rtol=0)


def test_spatial_attention_on_a_single_position_is_finite():
    assert torch.isfinite(SpatialAttention()(torch.randn(2, 4, 1, 1))).all()


def test_mixed_mask_lies_in_unit_interval():
    module = _tiny().stages[0].blocks[1]
    x = torch.randn(2, 32, 16, 16) * 10
    with torch.no_grad():
        mask = module.mask(x, x)
    assert mask.min() >= 0 and mask.max() <= 1


def test_local_convolution_mask_has_no_pooling():
    """mask_pools=0: the mask-structure ablation's local convolutions, the r + 1 units without pooling."""
    module = _tiny(mask_pools=(0, 0)).stages[0].blocks[1]
    assert not any(isinstance(m, nn.MaxPool2d) for m in module.mask.modules())
    assert _units(module.mask) == 2
    x = torch.randn(1, 32, 9, 11)
    assert module(x).shape == x.shape


@pytest.mark.parametrize('block_type, unit_type', [
    ('preact', PreActBottleneck), ('resnext', Bottleneck), ('inception', PreActInceptionResUnit)])
def test_basic_unit_choice(block_type, unit_type):
    model = _tiny(block_type=block_type, groups=4 if block_type == 'resnext' else 1,
                  bottle_ratio=0.5 if block_type == 'resnext' else 0.25)
    units = [m for m in model.modules() if isinstance(m, UNIT_TYPES)]
    assert units and all(isinstance(u, unit_type) for u in units)
    # pre-activation units need a final BN-ReLU and a BN-ReLU before the mask head; post-activation not
    mask_head = model.stages[0].blocks[1].mask.head
    assert isinstance(mask_head[0], nn.BatchNorm2d) == (block_type != 'resnext')
    assert isinstance(model.norm, nn.BatchNorm2d) == (block_type != 'resnext')
    x = torch.randn(2, 3, 20, 28)
    model(x).sum().backward()


def test_resnext_units_are_grouped():
    model = timm.create_model('attentionnext56_imagenet', device='meta')
    unit = model.stages[0].blocks[0]
    assert unit.conv2.groups == 32 and unit.conv2.out_channels == 128  # 32 x 4d, as the prototxt


def test_wide_and_reduced_cifar_variants_from_arguments():
    """The reduced (v1) and wide (v2) Attention-56 of the Dwarakanath & Adari replication, built from
    arguments alone: 3x3 stem of 32, stages of (16,16,64) ... (64,64,256) then three (128,128,512)
    units at 8x8 (v1), each width doubled in v2."""
    for widths in ((64, 128, 256, 512), (128, 256, 512, 1024)):
        model = timm.create_model(
            'attention56', channels=widths, stem_chs=32, unit_depths=(1, 1, 1, 3), strides=(1, 2, 2, 1))
        features = model.forward_intermediates(torch.randn(1, 3, 32, 32), intermediates_only=True)
        assert [f.shape[1:] for f in features] == [
            (32, 32, 32), (widths[0], 32, 32), (widths[1], 16, 16), (widths[2], 8, 8), (widths[3], 8, 8)]
        assert model.num_features == widths[3]


@pytest.mark.parametrize('kwargs, message', [
    (dict(block_type='vgg'), "block_type='vgg' is not supported; choose one of 'preact', 'resnext', 'inception'"),
    (dict(mask_act='softmax'), "mask_act='softmax' is not supported; choose one of 'mixed', 'channel', 'spatial'"),
    (dict(stem_type='deep'), "stem_type='deep' is not supported; choose one of 'imagenet', 'cifar'"),
    (dict(channels=(32, 64, 128)), 'need one entry per stage'),
    (dict(mask_pools=(2, -1)), r'mask_pools entries must be >= 0; got \(2, -1\)'),
    (dict(unit_depths=(1, 0)), r'unit_depths entries must be >= 1; got \(1, 0\)'),
    (dict(strides=(1, 0)), r'strides entries must be >= 1; got \(1, 0\)'),
    (dict(r=-1), 'r must be an integer >= 0; got -1'),
    (dict(p=1.5), 'p must be an integer >= 0; got 1.5'),
    (dict(t=True), 't must be an integer >= 0; got True'),
])
def test_bad_arguments_fail_clearly(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _tiny(**kwargs)


@pytest.mark.parametrize('p, t', [(1, 2), (2, 4), (0, 1)])
def test_module_depth_counts_the_units_of_the_trunk_path(p, t):
    """AttentionModuleCfg.depth is the p + t + p units a module adds to the network's depth (Sec. 4.1)."""
    module = _tiny(p=p, t=t).stages[0].blocks[1]
    assert len(module.pre) + len(module.trunk) + len(module.post) == AttentionModuleCfg(p=p, t=t).depth


def test_bad_output_fmt_fails_clearly():
    with pytest.raises(ValueError, match="output_fmt='NHWC' is not supported"):
        _tiny().forward_intermediates(torch.randn(1, 3, 32, 32), output_fmt='NHWC')
