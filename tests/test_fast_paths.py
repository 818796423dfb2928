"""The speed-ups (in-place residual adds, fused mask merge) compute what the plain formulas compute.

The reference below walks the same modules with the textbook forward of each piece: timm's
``PreActBottleneck.forward`` (out-of-place add), ``upsample + skip`` and ``(1 + M) * T``.
"""
import pytest
import timm
import torch
import torch.nn as nn
from conftest import LAYOUT_IDS, LAYOUTS, small_input_size
from timm.models.resnetv2 import PreActBottleneck

from timm_ran.training import runtime
from timm_ran.models.layers import _upsample_bilinear_op, add_into, upsample_like
from timm_ran.models.ran import AttentionModule, MaskLevel, PreActUnit, SoftMaskBranch
from timm_ran.training.runtime import tune_cpu_allocator


def ref_unit(unit: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return PreActBottleneck.forward(unit, x) if isinstance(unit, PreActUnit) else unit(x)


def ref_stack(units: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    for unit in units:
        x = ref_unit(unit, x)
    return x


def ref_level(level: MaskLevel, x: torch.Tensor) -> torch.Tensor:
    x = ref_stack(level.down, level.pool(x))
    if level.inner is not None:
        x = upsample_like(ref_level(level.inner, x), x) + ref_unit(level.skip, x)
    return ref_unit(level.up, x)


def ref_mask(mask: SoftMaskBranch, x: torch.Tensor, trunk: torch.Tensor) -> torch.Tensor:
    if mask.resample:
        x = upsample_like(ref_level(mask.body, x), trunk)
    else:
        x = ref_stack(mask.body, x)
    return mask.act(mask.head(x))


def ref_module(module: AttentionModule, x: torch.Tensor) -> torch.Tensor:
    x = ref_stack(module.pre, x)
    trunk = ref_stack(module.trunk, x)
    mask = ref_mask(module.mask, x, trunk)
    x = (1 + mask) * trunk if module.attention_residual else mask * trunk
    return ref_stack(module.post, x)


def ref_forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = model.stem(x)
    for stage in model.stages:
        for block in stage.blocks:
            x = ref_module(block, x) if isinstance(block, AttentionModule) else ref_unit(block, x)
    return model.forward_head(model.norm(x))


def assert_same_gradients(model, out, reference, ref, max_relative_error: float) -> None:
    """Back-propagates the same loss through both and compares every parameter's gradient."""
    out.square().sum().backward()
    ref.square().sum().backward()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        error = ((p.grad - q.grad).norm() / q.grad.norm()).item()
        assert error < max_relative_error, f'{name}: gradient differs from the reference by {error:.1e} (relative)'


def _model_pair(model_name: str, **kwargs):
    """Two copies of one model whose every residual branch contributes (no zero-initialised last convs)
    and whose BatchNorm statistics are those of a random batch (so eval-mode activations stay in range)."""
    model = timm.create_model(model_name, zero_init_last=False, **kwargs)
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average: after one batch, the running stats are its stats
    with torch.no_grad():
        model.train()(torch.randn(8, 3, *small_input_size(model_name)))
    for norm in norms:
        norm.momentum = 0.1
    reference = timm.create_model(model_name, zero_init_last=False, **kwargs)
    reference.load_state_dict(model.state_dict())
    return model, reference


@pytest.mark.parametrize('model_name', ['attention56', 'attention452', 'resnet164_cifar', 'attention56_imagenet'])
def test_eval_outputs_equal_the_reference(model_name):
    model, reference = _model_pair(model_name, num_classes=7)
    x = torch.randn(3, 3, *small_input_size(model_name))
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), ref_forward(reference.eval(), x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('model_name', ['attention56', 'attention452', 'resnet164_cifar', 'attention56_imagenet'])
def test_training_outputs_and_gradients_equal_the_reference(model_name):
    """In float64, so that the comparison is tight: the only differences left are rounding."""
    model, reference = _model_pair(model_name, num_classes=7)
    model, reference = model.double().train(), reference.double().train()
    x = torch.randn(4, 3, *small_input_size(model_name), dtype=torch.float64)
    out = model(x)
    ref = ref_forward(reference, x)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-12)
    assert_same_gradients(model, out, reference, ref, max_relative_error=1e-9)


@pytest.mark.parametrize('kwargs', [
    dict(attention_residual=False), dict(mask_act='spatial'), dict(mask_act='channel'),
    dict(mask_pools=(0, 0, 0, 0)), dict(drop_path_rate=0.2)], ids=str)
def test_variants_equal_the_reference(kwargs):
    model, reference = _model_pair('attention56', **kwargs)
    model.train()
    reference.train()
    x = torch.randn(3, 3, 32, 32)
    torch.manual_seed(1)
    out = model(x)
    torch.manual_seed(1)
    torch.testing.assert_close(out, ref_forward(reference, x), rtol=1e-4, atol=1e-5)


def test_add_into_writes_in_place_only_when_the_dtype_is_kept():
    x, y = torch.randn(2, 3), torch.randn(2, 3)
    expected = x + y
    assert add_into(x, y) is x and torch.equal(x, expected)
    narrow = torch.randn(2, 3, dtype=torch.bfloat16)
    out = add_into(narrow, y)
    assert out.dtype == torch.float32 and torch.equal(out, narrow + y)


def test_bf16_channels_last_equals_the_reference():
    model, reference = _model_pair('attention56')
    model = model.eval().to(memory_format=torch.channels_last)
    x = torch.randn(4, 3, 32, 32).to(memory_format=torch.channels_last)
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        out = model(x)
        ref = ref_forward(reference.eval(), x)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), ref.float(), rtol=0.05, atol=0.05)


def test_mask_branch_stays_bf16_and_channels_last():
    """Under bf16 autocast with channels_last inputs, no tensor of the mask branch falls back to fp32 or
    to the contiguous (NCHW) layout, so no conversion copies are made between the ops."""
    model = timm.create_model('attention56').eval().to(memory_format=torch.channels_last)
    seen = []

    def check(module, inputs, output):
        seen.append((module.__class__.__name__, output.dtype, output.is_contiguous(memory_format=torch.channels_last)))

    for module in model.modules():
        if isinstance(module, (MaskLevel, SoftMaskBranch, AttentionModule)) or isinstance(module, nn.Conv2d):
            module.register_forward_hook(check)
    x = torch.randn(4, 3, 32, 32).to(memory_format=torch.channels_last)
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        model(x)
    assert {name for name, _, _ in seen} == {'MaskLevel', 'SoftMaskBranch', 'AttentionModule', 'Conv2d'}
    assert all(dtype == torch.bfloat16 and channels_last for _, dtype, channels_last in seen), seen


@pytest.mark.parametrize('model_name, kwargs', LAYOUTS, ids=LAYOUT_IDS)
def test_dynamo_captures_one_graph(model_name, kwargs):
    """fullgraph=True fails on any graph break; the eager backend keeps this to Dynamo's tracing. Training
    mode: the eval-mode code differs only in BatchNorm's flags (checked on attention56 below)."""
    torch._dynamo.reset()
    model = timm.create_model(model_name, **kwargs).train()
    torch.compile(model, fullgraph=True, backend='eager')(torch.randn(2, 3, *small_input_size(model_name)))


def test_dynamo_captures_one_graph_in_eval_and_for_the_masks():
    torch._dynamo.reset()
    model = timm.create_model('attention56').eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.compile(model, fullgraph=True, backend='eager')(x)
        masks = torch.compile(lambda t: model.forward_masks(t, masks_only=True), fullgraph=True, backend='eager')
        assert len(masks(x)) == 3


@pytest.mark.parametrize('channels_last', [False, True])
def test_compile_upsample_op_equals_interpolate(channels_last):
    """The op ``upsample_like`` uses under torch.compile on CPU: same values and gradients as
    F.interpolate, and a fake (meta) implementation with the real strides (``torch.library.opcheck``)."""
    x = torch.randn(2, 5, 7, 9, dtype=torch.float64)
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    x.requires_grad_(True)
    out = _upsample_bilinear_op(x, 13, 18)
    ref = nn.functional.interpolate(x, size=(13, 18), mode='bilinear', align_corners=True)
    torch.testing.assert_close(out, ref)
    assert out.stride() == ref.stride()
    grad = torch.randn_like(ref)
    torch.testing.assert_close(torch.autograd.grad(out, x, grad)[0], torch.autograd.grad(ref, x, grad)[0])
    torch.library.opcheck(_upsample_bilinear_op, (x.detach().float().requires_grad_(True), 13, 18))


# attention56's layout cut to two stages with one attention module each (masks with 2 and 1 poolings): every
# op of the network, in a graph that compiles in half the time
TWO_STAGES = dict(channels=(64, 128), unit_depths=(1, 1), module_depths=(1, 1), mask_pools=(2, 1), strides=(1, 2))


def test_compiled_training_step_equals_eager():
    """AOTAutograd (what inductor compiles) on the compiled path: outputs and gradients as in eager."""
    model, reference = _model_pair('attention56', **TWO_STAGES)
    x = torch.randn(4, 3, 32, 32)
    torch._dynamo.reset()
    out = torch.compile(model.train(), fullgraph=True, backend='aot_eager')(x)
    ref = reference.train()(x)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)
    assert_same_gradients(model, out, reference, ref, max_relative_error=1e-4)


def test_inductor_with_freezing_equals_eager():
    """The one inductor test (inductor compiles for a minute on 2 cores): one graph for the whole network,
    with freezing (eval-mode BatchNorm folded into the convolutions), gives the eager outputs."""
    from torch._inductor import config as inductor_config
    model = timm.create_model('attention56', **TWO_STAGES).eval()
    x = torch.randn(2, 3, 32, 32)
    torch._dynamo.reset()
    with torch.no_grad(), inductor_config.patch(freezing=True):
        out = torch.compile(model, fullgraph=True)(x)
    with torch.no_grad():
        torch.testing.assert_close(out, model(x), rtol=1e-4, atol=1e-4)


def test_tune_cpu_allocator_on_glibc():
    assert tune_cpu_allocator() is True


def test_bf16_autocast_on_a_cpu_without_bf16_kernels_warns(monkeypatch, caplog):
    cpu = torch.device('cpu')
    monkeypatch.setattr(runtime, 'cpu_has_native_bf16', lambda: False)
    with caplog.at_level('WARNING'):
        assert runtime.warn_if_bf16_is_emulated(cpu, amp=True) is True
    assert 'no native bf16' in caplog.text and 'leave out --amp' in caplog.text
    assert runtime.warn_if_bf16_is_emulated(cpu, amp=False) is False
    monkeypatch.setattr(runtime, 'cpu_has_native_bf16', lambda: True)
    assert runtime.warn_if_bf16_is_emulated(cpu, amp=True) is False
