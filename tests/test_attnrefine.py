"""attnrefine_resnet8: the ResNet-8 refined by a frozen ViT's [CLS] attention (Wang, Refining Residual
Mappings). All offline: the ViT is a small randomly initialised timm ViT unless a test saves weights."""
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from timm.models.resnet import BasicBlock

import timm
import timm_ran
from timm_ran.models.attnrefine import DEFAULT_VIT, AttnRefineResNet

# a 2-block ViT with 8x8 patches at 32x32 input: a 4x4 patch grid, 3 heads
SMALL_VIT = dict(vit_model='vit_tiny_patch16_224', img_size=32, vit_kwargs=dict(depth=2, patch_size=8))


def small_model(a=1.0, **kwargs):
    return timm.create_model('attnrefine_resnet8', a=a, **{**SMALL_VIT, **kwargs}).eval()


def _plain_resnet8(model, x):
    """The classification branch as a plain ResNet-8: timm's BasicBlock.forward on every block."""
    x = model.stem(x)
    for block in model.blocks:
        x = BasicBlock.forward(block, x)
    return model.forward_head(x)


def _masked_reference(model, x, attn_map):
    """Eqs. (3) and (4) written out: x = y + a * (shortcut * mask + y) after each block."""
    a = model.a
    masks = model.attn_stem(F.interpolate(attn_map, size=x.shape[-2:], mode='nearest'))
    x = model.stem(x)
    for block, attn_block in zip(model.blocks, model.attn_blocks):
        masks = attn_block(masks)
        shortcut = x if block.downsample is None else block.downsample(x)
        y = BasicBlock.forward(block, x)
        x = y + a * (shortcut * masks + y)
    return model.forward_head(x)


def test_registered_with_the_papers_layout():
    assert timm_ran.ATTNREFINE_MODEL_NAMES == ('attnrefine_resnet8',)
    assert 'attnrefine_resnet8' in timm.list_models('attnrefine*')
    model = timm.create_model('attnrefine_resnet8', a=0.0)  # default ViT, randomly initialised
    assert isinstance(model, AttnRefineResNet)
    assert model.pretrained_cfg['input_size'] == (3, 224, 224) and model.num_classes == 10
    assert model.attn_source.vit.pretrained_cfg['tag'] == DEFAULT_VIT.split('.')[1]
    shapes = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: shapes.append(tuple(out.shape[1:])))
             for m in (model.stem, *model.blocks)]
    model.eval()(torch.randn(1, 3, 224, 224))
    for hook in hooks:
        hook.remove()
    # 4x4 stride-4 stem, then ResNet-8's three basic blocks at strides 1, 2, 2 and widths 16, 32, 64
    assert shapes == [(16, 56, 56), (16, 56, 56), (32, 28, 28), (64, 14, 14)]
    branch = sum(p.numel() for n, p in model.named_parameters() if not n.startswith(('attn_', 'attn_source')))
    assert 75_000 < branch < 80_000  # ResNet-8 with projection shortcuts, 10 classes
    assert [info['reduction'] for info in model.feature_info] == [4, 4, 8, 16]


def test_a_zero_is_a_plain_resnet8_and_skips_the_vit():
    model = small_model(a=0.0)
    calls = []
    model.attn_source.register_forward_hook(lambda *args: calls.append(1))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x), _plain_resnet8(model, x), atol=1e-6)
    assert calls == []


@pytest.mark.parametrize('a', [0.5, 1.0])
def test_masked_residual_follows_eqs_3_and_4(a):
    model = small_model(a=a)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        attn_map = model.attention_map(x)
        expected = _masked_reference(model, x, attn_map)
        assert torch.allclose(model(x), expected, atol=1e-5)
        assert not torch.allclose(model(x), _plain_resnet8(model, x), atol=1e-3)


def test_precomputed_maps_give_the_same_logits_and_are_used():
    model = small_model(a=1.0)
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        attn_map = model.attention_map(x)
        assert attn_map.shape == (3, 1, 4, 4)
        logits = model(x)
        assert torch.equal(model(x, attn_map), logits)
        assert torch.equal(model(x, attn_map[:, 0]), logits)  # (B, h, w) too
        upsampled = F.interpolate(attn_map, scale_factor=8, mode='nearest')  # any map size: pixels work too
        assert torch.allclose(model(x, upsampled), logits, atol=1e-6)
        assert not torch.allclose(model(x, torch.zeros_like(attn_map)), model(x, torch.ones_like(attn_map)))


@pytest.mark.parametrize('bad_shape', [(3, 2, 4, 4), (2, 1, 4, 4), (3, 16)])
def test_a_wrong_attention_map_fails_clearly(bad_shape):
    model = small_model()
    with pytest.raises(ValueError, match='attn_map must have shape'):
        model(torch.randn(3, 3, 32, 32), torch.rand(bad_shape))


def test_attention_map_is_the_cls_attention_of_the_last_vit_block():
    """Checked against the softmax weights timm's own (unfused) Attention computes in the ViT's forward."""
    model = small_model()
    vit = model.attn_source.vit
    attn = vit.blocks[-1].attn
    attn.fused_attn = False
    captured = []
    attn.attn_drop.register_forward_hook(lambda mod, inp, out: captured.append(out))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        vit.forward_features(x * model.attn_source.scale + model.attn_source.shift)
        per_head = captured[0][:, :, 0, vit.num_prefix_tokens:]  # [CLS] query row, patches only
        assert torch.allclose(model.attn_source.head_maps(x).flatten(2), per_head, atol=1e-6)
        mean = per_head.mean(1)
        expected = (mean - mean.amin(1, keepdim=True)) / (mean.amax(1, keepdim=True) - mean.amin(1, keepdim=True))
        got = model.attention_map(x)
    assert torch.allclose(got.flatten(1), expected, atol=1e-5)
    assert got.amin() == 0 and got.amax() == 1


def test_input_is_renormalised_for_the_vit():
    """A model fed CIFAR-normalised images shows the ViT the image under the ViT's own normalisation."""
    mean, std = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)
    model = small_model(input_mean=mean, input_std=std)
    vit = model.attn_source.vit
    image = torch.rand(2, 3, 32, 32)
    as_cifar = (image - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
    as_vit = (image - torch.tensor(vit.pretrained_cfg['mean']).view(3, 1, 1)) / \
        torch.tensor(vit.pretrained_cfg['std']).view(3, 1, 1)
    with torch.no_grad():
        converted = model.attn_source.head_maps(as_cifar)
        model.attn_source.scale.fill_(1)  # the same ViT, with no conversion
        model.attn_source.shift.zero_()
        direct = model.attn_source.head_maps(as_vit)
    assert torch.allclose(converted, direct, atol=1e-5)


def test_the_vit_is_frozen_and_the_branches_train():
    model = small_model(a=1.0).train()
    assert not model.attn_source.vit.training  # stays in eval mode
    vit_before = {k: v.clone() for k, v in model.attn_source.vit.state_dict().items()}
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    losses = []
    for _ in range(5):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert all(p.grad is None and not p.requires_grad for p in model.attn_source.parameters())
    assert model.attn_stem.conv.weight.grad is not None and model.attn_blocks[0].conv1.conv.weight.grad is not None
    assert all(torch.equal(v, model.attn_source.vit.state_dict()[k]) for k, v in vit_before.items())


def test_pretrained_passes_through_to_the_vit(tmp_path):
    """pretrained=True loads the ViT's weights (here from a local file) and nothing else."""
    vit = timm.create_model('vit_tiny_patch16_224', num_classes=0, img_size=32, depth=2, patch_size=8)
    path = str(tmp_path / 'vit.safetensors')
    save_file(vit.state_dict(), path)
    kwargs = dict(SMALL_VIT, vit_kwargs=dict(SMALL_VIT['vit_kwargs'], pretrained_cfg_overlay=dict(file=path)))
    loaded = timm.create_model('attnrefine_resnet8', pretrained=True, **kwargs)
    saved = load_file(path)
    assert all(torch.equal(saved[k], v) for k, v in loaded.attn_source.vit.state_dict().items())
    not_loaded = timm.create_model('attnrefine_resnet8', pretrained=True, vit_pretrained=False, **kwargs)
    assert not torch.equal(not_loaded.attn_source.vit.pos_embed, saved['pos_embed'])


def test_state_dict_round_trip_keeps_logits(tmp_path):
    model = small_model(a=0.5)
    path = str(tmp_path / 'model.safetensors')
    save_file(model.state_dict(), path)
    other = small_model(a=0.5)
    other.load_state_dict(load_file(path))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), other(x))
    assert any(k.startswith('attn_source.vit.') for k in load_file(path))


def test_timm_api():
    model = small_model()
    model.reset_classifier(5)
    x = torch.randn(2, 3, 32, 32)
    assert model(x).shape == (2, 5) and model.get_classifier().out_features == 5
    assert model.forward_head(model.forward_features(x), pre_logits=True).shape == (2, model.num_features)
    assert timm.create_model('attnrefine_resnet8', num_classes=100, **SMALL_VIT).num_classes == 100
    assert set(model.group_matcher()) == {'stem', 'blocks'}
    assert model.pretrained_cfg['input_size'] == (3, 32, 32)  # built for img_size=32: data configs follow
    assert timm.data.resolve_data_config(model=model)['input_size'] == (3, 32, 32)


def test_bf16_channels_last_and_compile():
    model = small_model(a=0.5).to(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        expected = model(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            low = model(x)
        compiled = torch.compile(model, backend='eager', fullgraph=True)(x)
    assert low.dtype == torch.bfloat16 and torch.allclose(low.float(), expected, atol=0.1, rtol=0.1)
    assert torch.allclose(compiled, expected, atol=1e-6)


@pytest.mark.parametrize('kwargs, message', [
    (dict(a=1.5), 'a \\(mask strength\\) must be a number in \\[0, 1\\]'),
    (dict(a=-0.1), 'a \\(mask strength\\)'),
    (dict(a='1'), 'a \\(mask strength\\)'),
    (dict(vit_model='resnet18', img_size=None, vit_kwargs={}), 'VisionTransformer'),
    (dict(vit_kwargs=dict(pretrained=True)), "vit_kwargs may not set 'pretrained'"),
    (dict(features_only=True), 'features_only is not supported'),
    (dict(channels=(16, 32), strides=(1, 2, 2)), 'one entry per block'),
])
def test_bad_arguments_fail_clearly(kwargs, message):
    with pytest.raises(ValueError, match=message):
        timm.create_model('attnrefine_resnet8', **{**SMALL_VIT, **kwargs})


def test_a_can_be_changed_on_a_built_model():
    model = small_model(a=1.0)
    model.a = 0
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x), _plain_resnet8(model, x), atol=1e-6)
    with pytest.raises(ValueError, match='mask strength'):
        model.a = 2
