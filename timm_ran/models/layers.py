"""Layers of the RAN models that are not the paper's: ops shaped for ``torch.compile``, FX tracing and
in-place arithmetic on the CPU, and the shared pooling layer; and what the RAN and attention-refined
networks share: the weight init and the CIFAR-10 constants of their configs.

The paper's blocks (``timm_ran.models.ran``) call these; each one computes exactly what its plain PyTorch
counterpart does (``tests/test_fast_paths.py``).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import register_notrace_function

__all__ = ['upsample_like', 'add_into', 'max_pool_3x3_s2', 'init_weights', 'CIFAR10_MEAN', 'CIFAR10_STD', 'CIFAR10_CLASSES']

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR10_CLASSES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck')



def _like_input_format(x: torch.Tensor) -> torch.memory_format:
    """channels_last when ``x`` is (as ``F.interpolate`` keeps it), else contiguous."""
    channels_last = x.dim() == 4 and x.size(1) > 1 and x.stride(1) == 1
    return torch.channels_last if channels_last else torch.contiguous_format


@torch.library.custom_op('timm_ran::upsample_bilinear_ac', mutates_args=())
def _upsample_bilinear_op(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """ATen's bilinear up-sampling (align_corners=True) as one opaque op for ``torch.compile`` on CPU.

    Inductor otherwise decomposes it into gathers whose backward is a scatter-add, which made compiled
    CPU training of the RAN models 15-21% slower than eager (``benchmarks/throughput.py``); as an
    opaque op, forward and backward run ATen's vectorised kernels.
    """
    out = F.interpolate(x, size=(height, width), mode='bilinear', align_corners=True)
    return out.contiguous(memory_format=_like_input_format(x))


@_upsample_bilinear_op.register_fake
def _(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    return x.new_empty((x.size(0), x.size(1), height, width)).contiguous(memory_format=_like_input_format(x))


@torch.library.custom_op('timm_ran::upsample_bilinear_ac_backward', mutates_args=())
def _upsample_bilinear_backward_op(grad: torch.Tensor, in_height: int, in_width: int) -> torch.Tensor:
    n, c, height, width = grad.shape
    grad_in = torch.ops.aten.upsample_bilinear2d_backward(grad, [height, width], [n, c, in_height, in_width], True)
    return grad_in.contiguous(memory_format=_like_input_format(grad))


@_upsample_bilinear_backward_op.register_fake
def _(grad: torch.Tensor, in_height: int, in_width: int) -> torch.Tensor:
    shape = (grad.size(0), grad.size(1), in_height, in_width)
    return grad.new_empty(shape).contiguous(memory_format=_like_input_format(grad))


def _upsample_setup_context(ctx, inputs, output) -> None:
    ctx.in_size = inputs[0].shape[-2:]


def _upsample_backward(ctx, grad: torch.Tensor):
    return _upsample_bilinear_backward_op(grad, ctx.in_size[0], ctx.in_size[1]), None, None


_upsample_bilinear_op.register_autograd(_upsample_backward, setup_context=_upsample_setup_context)


@register_notrace_function  # a leaf for FX tracing: the output size is read from another tensor
def upsample_like(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Bilinear up-sampling of ``x`` to the exact spatial size of ``ref``.

    ``align_corners=True`` reproduces the ``Interp`` layer of the official Caffe models. Targeting the
    size of the matching down-path tensor, not a fixed factor of 2, lets any input size work. Under
    ``torch.compile`` on CPU (not under ``torch.export``) the same computation runs as one opaque op,
    ``_upsample_bilinear_op``.
    """
    if not torch.jit.is_scripting():
        if torch.compiler.is_compiling() and not torch.compiler.is_exporting() and x.device.type == 'cpu':
            return _upsample_bilinear_op(x, ref.shape[-2], ref.shape[-1])
    return F.interpolate(x, size=ref.shape[-2:], mode='bilinear', align_corners=True)


@register_notrace_function  # a leaf for FX tracing: it branches on the dtypes
def add_into(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``x + y``, written into ``x`` (a fresh intermediate) when that keeps the result's dtype.

    Spares a full-size allocation; under autocast a wider ``y`` still promotes the sum, as ``x + y`` does.
    """
    return x.add_(y) if torch.promote_types(x.dtype, y.dtype) == x.dtype else x + y


def max_pool_3x3_s2() -> nn.MaxPool2d:
    """The 3x3 / stride 2 max-pooling of the ImageNet stem and of the mask branch (paper Sec. 3.3).

    The Caffe models pool without padding and round the output size up; padding 1 with the output size
    rounded down gives the same sizes for even inputs and keeps every window inside the input for odd
    and tiny ones (a 1x1 map stays 1x1).
    """
    return nn.MaxPool2d(kernel_size=3, stride=2, padding=1)


def init_weights(module: nn.Module, name: str = '', zero_init_last: bool = False) -> None:
    """He (fan-out) init for convs, N(0, 0.01) for the classifier, unit scale for norms (``named_apply``)."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, mean=0.0, std=0.01)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Conv2d):
        nn.init.kaiming_normal_(module.weight, mode='fan_out', nonlinearity='relu')
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    elif zero_init_last and hasattr(module, 'zero_init_last'):
        module.zero_init_last()
