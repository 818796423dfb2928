"""Residual Attention Network (RAN) for timm.

Paper: `Residual Attention Network for Image Classification` - Wang et al., CVPR 2017
(https://arxiv.org/abs/1704.06904). The ImageNet layouts follow the official Caffe release
(``fwang91/residual-attention-network``: ``Attention-56-deploy.prototxt``,
``Attention-92-deploy.prototxt``, ``AttentionNeXt-56-deploy.prototxt``); the CIFAR layouts follow
the paper's Sec. 4.1 with the widths of ResNet-164.

A network is a stem, stages and a classifier. Every stage opens with plain residual units (the first
one strides and projects) followed by attention modules (paper Sec. 3, Fig. 2). An attention module
has ``p`` residual units before the split, a trunk of ``t`` units, a soft mask branch whose
encoder-decoder has ``r`` units between poolings, and ``p`` units after the merge::

    x = pre(x)                      # p units
    T = trunk(x)                    # t units
    M = mask(x)                     # max-pool/units ... bilinear up-sampling/units, two 1x1 convs, activation
    H = (1 + M) * T                 # attention residual learning (ARL, Sec. 3.2); naive: H = M * T
    out = post(H)                   # p units

Three basic units are available (paper Sec. 4.2): the pre-activation bottleneck (He et al., Identity
Mappings, 2016; the default), the post-activation ResNeXt bottleneck of the official AttentionNeXt-56
prototxt, and a pre-activation Inception-ResNet unit.
"""
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import (
    BatchNormAct2d,
    ClassifierHead,
    DropPath,
    calculate_drop_path_rates,
    create_conv2d,
    get_act_layer,
    get_device_dtype,
    get_norm_act_layer,
    make_divisible,
)
from timm.models import (
    build_model_with_cfg,
    checkpoint_seq,
    generate_default_cfgs,
    named_apply,
    register_model,
    resolve_pretrained_cfg,
)
from timm.models._features import feature_take_indices
from timm.models.resnetv2 import Bottleneck, DownsampleConv, PreActBottleneck

from .checkpoints import fit_pretrained_file, local_weights_file
from ..errors import NoWeightsError
from .layers import CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD, add_into, init_weights, max_pool_3x3_s2, upsample_like
from .pretrained import HF_HUB_ORG, cfg_has_weights, is_bundled, shipped_cfg_overlay, verify_weights

__all__ = [
    'ResidualAttentionNet', 'AttentionModuleCfg', 'AttentionModule', 'AttentionMask', 'SoftMaskBranch', 'MaskLevel',
    'PreActInceptionResUnit', 'PreActUnit',
    'BLOCK_TYPES', 'MASK_ACTS', 'STEM_TYPES', 'MODEL_NAMES',
]

BLOCK_TYPES = ('preact', 'resnext', 'inception')
MASK_ACTS = ('mixed', 'channel', 'spatial')
STEM_TYPES = ('imagenet', 'cifar')


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not supported; choose one of {', '.join(map(repr, choices))}")


class PreActInceptionResUnit(nn.Module):
    """Pre-activation Inception-ResNet unit, the basic unit of AttentionInception-56 (paper Sec. 4.2).

    The paper gives no layout for it and no prototxt was released. This unit keeps the interface of the
    pre-activation bottleneck it replaces: a shared BN-ReLU feeds three branches of
    ``out_chs * bottle_ratio`` channels (1x1 | 1x1-3x3 | 1x1-3x3-3x3, the branches of
    Inception-ResNet-A, Szegedy et al., AAAI 2017); their concatenation goes through BN-ReLU and a 1x1
    conv back to ``out_chs`` and is added to the shortcut (identity, or a 1x1 projection of the
    pre-activation when the shape changes). A stride is taken by the last conv of each branch.
    """

    def __init__(
            self,
            in_chs: int,
            out_chs: int,
            bottle_ratio: float = 0.125,
            stride: int = 1,
            groups: int = 1,
            conv_layer: Callable = create_conv2d,
            norm_layer: Callable = BatchNormAct2d,
            proj_layer: Optional[Callable] = None,
            drop_path_rate: float = 0.,
            device=None,
            dtype=None,
    ):
        dd = {'device': device, 'dtype': dtype}
        super().__init__()
        chs = make_divisible(out_chs * bottle_ratio)
        self.downsample = None if proj_layer is None else proj_layer(
            in_chs, out_chs, stride=stride, preact=True, conv_layer=conv_layer, norm_layer=norm_layer, **dd)
        self.norm1 = norm_layer(in_chs, **dd)
        self.branch1x1 = conv_layer(in_chs, chs, 1, stride=stride, **dd)
        self.branch3x3 = nn.Sequential(
            conv_layer(in_chs, chs, 1, **dd),
            norm_layer(chs, **dd),
            conv_layer(chs, chs, 3, stride=stride, groups=groups, **dd),
        )
        self.branch3x3dbl = nn.Sequential(
            conv_layer(in_chs, chs, 1, **dd),
            norm_layer(chs, **dd),
            conv_layer(chs, chs, 3, groups=groups, **dd),
            norm_layer(chs, **dd),
            conv_layer(chs, chs, 3, stride=stride, groups=groups, **dd),
        )
        self.norm2 = norm_layer(3 * chs, **dd)
        self.conv_out = conv_layer(3 * chs, out_chs, 1, **dd)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def zero_init_last(self) -> None:
        nn.init.zeros_(self.conv_out.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_preact = self.norm1(x)
        shortcut = x if self.downsample is None else self.downsample(x_preact)
        x = torch.cat([self.branch1x1(x_preact), self.branch3x3(x_preact), self.branch3x3dbl(x_preact)], dim=1)
        x = self.conv_out(self.norm2(x))
        return add_into(self.drop_path(x), shortcut)


class PreActUnit(PreActBottleneck):
    """timm's pre-activation bottleneck (He et al., Identity Mappings, 2016), the paper's default unit.

    The same layers and weights as ``timm.models.resnetv2.PreActBottleneck``; the residual is added to the
    shortcut in place, which spares one full-size allocation per unit (on the CPU a fresh large tensor
    costs page faults; timm's post-activation ``Bottleneck`` adds in place too).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_preact = self.norm1(x)
        shortcut = x if self.downsample is None else self.downsample(x_preact)
        x = self.conv3(self.norm3(self.conv2(self.norm2(self.conv1(x_preact)))))
        return add_into(self.drop_path(x), shortcut)


class UnitFactory:
    """Builds the network's basic residual unit (paper Sec. 4.2: the trunk can use any residual unit).

    ``preact`` tells whether a unit's output is a raw sum that the next consumer normalises first
    (pre-activation units) or an already activated map (the post-activation ResNeXt unit). The stem, the
    mask head and the final norm follow it, as the official Attention-56 and AttentionNeXt-56 prototxts do.
    """

    def __init__(
            self,
            block_type: str,
            bottle_ratio: float,
            groups: int,
            act_layer: Callable,
            norm_layer: Callable,
            device=None,
            dtype=None,
    ):
        _check_choice('block_type', block_type, BLOCK_TYPES)
        self.preact = block_type != 'resnext'
        block_fn = {'preact': PreActUnit, 'resnext': Bottleneck, 'inception': PreActInceptionResUnit}
        extra = dict(act_layer=act_layer) if block_type == 'resnext' else {}
        self.block_fn = partial(
            block_fn[block_type],
            bottle_ratio=bottle_ratio,
            groups=groups,
            conv_layer=create_conv2d,
            norm_layer=norm_layer,
            device=device,
            dtype=dtype,
            **extra,
        )

    def __call__(self, in_chs: int, out_chs: int, stride: int = 1, drop_path_rate: float = 0.) -> nn.Module:
        """One unit; a 1x1 projection shortcut is added when the stride or the width changes."""
        proj_layer = DownsampleConv if stride != 1 or in_chs != out_chs else None
        return self.block_fn(in_chs, out_chs, stride=stride, proj_layer=proj_layer, drop_path_rate=drop_path_rate)

    def stack(self, chs: int, depth: int, drop_path_rates: Optional[Sequence[float]] = None) -> nn.Sequential:
        """``depth`` units of constant width (an empty stack is the identity)."""
        rates = [0.] * depth if drop_path_rates is None else list(drop_path_rates)
        assert len(rates) == depth, f'{len(rates)} drop-path rates for {depth} units'
        return nn.Sequential(*[self(chs, chs, drop_path_rate=rate) for rate in rates])


class SpatialAttention(nn.Module):
    """Spatial attention f3 (paper Sec. 3.3): each channel's map is standardised over its positions,
    then squashed by a sigmoid, so the mask carries spatial information only."""

    def __init__(self, eps: float = 1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
        return torch.sigmoid((x - mean) * torch.rsqrt(var + self.eps))


class ChannelAttention(nn.Module):
    """Channel attention f2 (paper Sec. 3.3): L2 normalisation across the channels at each position,
    which removes the spatial information."""

    def __init__(self, eps: float = 1e-12):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, p=2.0, dim=1, eps=self.eps)


def create_mask_act(mask_act: str) -> nn.Module:
    """The mask activation of paper Sec. 3.3: ``'mixed'`` (sigmoid per channel and position, the
    default), ``'channel'`` or ``'spatial'``."""
    _check_choice('mask_act', mask_act, MASK_ACTS)
    if mask_act == 'channel':
        return ChannelAttention()
    if mask_act == 'spatial':
        return SpatialAttention()
    return nn.Sigmoid()


class MaskLevel(nn.Module):
    """One level of the soft mask's encoder-decoder (paper Sec. 3.3, Fig. 3).

    Max-pooling and ``r`` units (the paper's ``r``: residual units between adjacent pooling layers). The
    innermost level then has one more unit at the lowest resolution; an outer level up-samples the
    output of the level below to its own size, adds a skip unit fed by its down path, and ends with one
    unit. With r = 1 and 3 levels this is the official stage-1 mask: pool, unit, [skip], pool, unit,
    [skip], pool, 2 units, up + skip, unit, up + skip, unit.

    The paper leaves the top-down path's depth for r > 1 open. One unit per up-sampling, as in the
    official r = 1 models, gives CIFAR Attention-452 (p, t, r = 2, 4, 3) 8.9M params against the
    published 8.6M; ``r`` units per up-sampling would give 10.3M.
    """

    def __init__(self, chs: int, num_levels: int, r: int, units: UnitFactory):
        super().__init__()
        self.pool = max_pool_3x3_s2()
        self.down = units.stack(chs, r)
        if num_levels > 1:
            self.skip = units(chs, chs)
            self.inner = MaskLevel(chs, num_levels - 1, r, units)
        else:
            self.skip = None
            self.inner = None
        self.up = units(chs, chs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down(self.pool(x))
        if self.inner is not None and self.skip is not None:
            x = add_into(upsample_like(self.inner(x), x), self.skip(x))
        return self.up(x)


class SoftMaskBranch(nn.Module):
    """Soft mask branch M(x) of an attention module (paper Sec. 3.3).

    ``num_pools`` encoder-decoder levels (bottom-up max-pooling, top-down bilinear up-sampling with skip
    connections), up-sampled to the trunk's size, then BN-ReLU-1x1 conv-BN-ReLU-1x1 conv (the first
    BN-ReLU only for pre-activation units, whose outputs are not yet activated; no BN before the
    activation, as in the official prototxts) and the mask activation. ``num_pools=0`` gives the
    local-convolution mask of the paper's mask-structure ablation: the ``r + 1`` units of a one-level
    mask, without pooling.
    """

    def __init__(
            self,
            chs: int,
            num_pools: int,
            r: int,
            mask_act: str,
            units: UnitFactory,
            norm_layer: Callable,
            device=None,
            dtype=None,
    ):
        dd = {'device': device, 'dtype': dtype}
        super().__init__()
        self.resample = num_pools > 0
        self.body = MaskLevel(chs, num_pools, r, units) if self.resample else units.stack(chs, r + 1)
        head = [norm_layer(chs, **dd)] if units.preact else []
        head += [create_conv2d(chs, chs, 1, **dd), norm_layer(chs, **dd), create_conv2d(chs, chs, 1, **dd)]
        self.head = nn.Sequential(*head)
        self.act = create_mask_act(mask_act)

    def forward(self, x: torch.Tensor, trunk: torch.Tensor) -> torch.Tensor:
        x = self.body(x)
        if self.resample:
            x = upsample_like(x, trunk)
        return self.act(self.head(x))


@dataclass(frozen=True)
class AttentionModuleCfg:
    """The settings shared by every attention module of a network (paper Sec. 3 and 4.1).

    Args:
        p: residual units before the trunk/mask split and again after the merge.
        t: residual units of the trunk branch.
        r: residual units between adjacent max-pooling layers of the soft mask branch.
        attention_residual: ``H = (1 + M) * T`` (attention residual learning, Sec. 3.2) if True,
            ``H = M * T`` (naive attention learning) if False.
        mask_act: the mask activation of Sec. 3.3, one of ``MASK_ACTS``.
    """
    p: int = 1
    t: int = 2
    r: int = 1
    attention_residual: bool = True
    mask_act: str = 'mixed'

    def __post_init__(self):
        for name in ('p', 't', 'r'):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f'{name} must be an integer >= 0; got {value!r}')
        _check_choice('mask_act', self.mask_act, MASK_ACTS)

    @property
    def depth(self) -> int:
        """Residual units on a module's trunk path: ``p`` before, ``t`` in the trunk, ``p`` after."""
        return 2 * self.p + self.t


class AttentionModule(nn.Module):
    """Attention module (paper Sec. 3, Fig. 2): ``p`` units, split into a trunk of ``t`` units and a
    soft mask branch, merge ``H = (1 + M) * T`` (ARL) or ``H = M * T`` (NAL), ``p`` units.

    The mask branch starts from the output of the ``p`` shared units, as in the official prototxts;
    there is no further addition of the trunk or of a down-path feature to the output.
    """

    def __init__(
            self,
            chs: int,
            units: UnitFactory,
            mask_pools: int,
            cfg: AttentionModuleCfg = AttentionModuleCfg(),
            norm_layer: Callable = BatchNormAct2d,
            drop_path_rates: Optional[Sequence[float]] = None,
            device=None,
            dtype=None,
    ):
        super().__init__()
        p, t = cfg.p, cfg.t
        rates = [0.] * cfg.depth if drop_path_rates is None else list(drop_path_rates)
        self.attention_residual = cfg.attention_residual
        self.pre = units.stack(chs, p, rates[:p])
        self.trunk = units.stack(chs, t, rates[p:p + t])
        self.mask = SoftMaskBranch(chs, mask_pools, cfg.r, cfg.mask_act, units, norm_layer, device=device, dtype=dtype)
        self.post = units.stack(chs, p, rates[p + t:])

    def forward_with_mask(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The module's output and its soft mask M (after the mask activation)."""
        x = self.pre(x)
        trunk = self.trunk(x)
        mask = self.mask(x, trunk)
        # (1 + M) * T as T + M * T: one fused multiply-add instead of an add and a product
        x = torch.addcmul(trunk, mask, trunk) if self.attention_residual else mask * trunk
        return self.post(x), mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_mask(x)[0]


class AttentionMask(NamedTuple):
    """One attention module's soft mask, as returned by ``ResidualAttentionNet.forward_masks``."""
    stage: int
    index: int
    mask: torch.Tensor


class RanStage(nn.Module):
    """A stage: ``num_units`` residual units (the first strides and projects), then ``num_modules``
    attention modules at the stage's resolution."""

    def __init__(
            self,
            in_chs: int,
            out_chs: int,
            stride: int,
            num_units: int,
            num_modules: int,
            mask_pools: int,
            units: UnitFactory,
            module_cfg: AttentionModuleCfg,
            norm_layer: Callable,
            drop_path_rates: Sequence[float],
            device=None,
            dtype=None,
    ):
        super().__init__()
        self.grad_checkpointing = False
        blocks: List[nn.Module] = [
            units(in_chs if i == 0 else out_chs, out_chs, stride if i == 0 else 1, drop_path_rates[i])
            for i in range(num_units)
        ]
        for i in range(num_modules):
            start = num_units + i * module_cfg.depth
            blocks.append(AttentionModule(
                out_chs, units, mask_pools, module_cfg, norm_layer,
                drop_path_rates=drop_path_rates[start:start + module_cfg.depth], device=device, dtype=dtype))
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.grad_checkpointing and not torch.jit.is_scripting():
            return checkpoint_seq(self.blocks, x)
        return self.blocks(x)


def create_stem(
        stem_type: str,
        in_chans: int,
        stem_chs: int,
        preact: bool,
        norm_layer: Callable,
        device=None,
        dtype=None,
) -> Tuple[nn.Sequential, str, int]:
    """The stem, the name of its feature tap and that tap's reduction.

    ``'imagenet'``: 7x7/2 conv, BN-ReLU, 3x3/2 max-pool (paper Table 2); the tap is the BN-ReLU output.
    ``'cifar'``: one 3x3 conv (paper Sec. 4.1, as ResNet-164), followed by BN-ReLU only for
    post-activation units (pre-activation units normalise their own input).
    """
    _check_choice('stem_type', stem_type, STEM_TYPES)
    dd = {'device': device, 'dtype': dtype}
    stem = nn.Sequential()
    if stem_type == 'imagenet':
        stem.add_module('conv', create_conv2d(in_chans, stem_chs, 7, stride=2, **dd))
        stem.add_module('norm', norm_layer(stem_chs, **dd))
        stem.add_module('pool', max_pool_3x3_s2())
        return stem, 'norm', 2
    stem.add_module('conv', create_conv2d(in_chans, stem_chs, 3, **dd))
    if not preact:
        stem.add_module('norm', norm_layer(stem_chs, **dd))
    return stem, list(stem.named_children())[-1][0], 1


def _check_layout(**per_stage: Sequence[int]) -> int:
    lengths = {name: len(values) for name, values in per_stage.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f'{", ".join(lengths)} need one entry per stage; got lengths {lengths}')
    for name, values in per_stage.items():
        if any(v < 0 for v in values):
            raise ValueError(f'{name} entries must be >= 0; got {tuple(values)}')
    for name in ('unit_depths', 'strides'):
        if any(v < 1 for v in per_stage[name]):
            raise ValueError(f'{name} entries must be >= 1; got {tuple(per_stage[name])}')
    return next(iter(lengths.values()))


class ResidualAttentionNet(nn.Module):
    """Residual Attention Network (Wang et al., CVPR 2017).

    Stage ``i`` has ``unit_depths[i]`` residual units (the first one takes the stride ``strides[i]`` and
    projects to ``channels[i]`` when the shape changes), then ``module_depths[i]`` attention modules whose
    masks use ``mask_pools[i]`` max-pool levels. The defaults build Attention-56 for ImageNet (paper
    Table 2).
    """

    def __init__(
            self,
            channels: Sequence[int] = (256, 512, 1024, 2048),
            unit_depths: Sequence[int] = (1, 1, 1, 3),
            module_depths: Sequence[int] = (1, 1, 1, 0),
            mask_pools: Sequence[int] = (3, 2, 1, 0),
            strides: Optional[Sequence[int]] = None,
            p: int = 1,
            t: int = 2,
            r: int = 1,
            attention_residual: bool = True,
            mask_act: str = 'mixed',
            block_type: str = 'preact',
            bottle_ratio: float = 0.25,
            groups: int = 1,
            stem_type: str = 'imagenet',
            stem_chs: int = 64,
            num_classes: int = 1000,
            in_chans: int = 3,
            global_pool: str = 'avg',
            drop_rate: float = 0.,
            drop_path_rate: float = 0.,
            act_layer: Union[str, Callable] = nn.ReLU,
            norm_layer: Union[str, Callable] = BatchNormAct2d,
            zero_init_last: bool = True,
            device=None,
            dtype=None,
    ):
        """
        Args:
            channels: output width of each stage.
            unit_depths: residual units opening each stage (>= 1).
            module_depths: attention modules of each stage (0 for a plain residual stage).
            mask_pools: max-pool levels of each stage's soft masks (0: local convolutions, no pooling).
            strides: stride of each stage's first unit (default: 1 for the first stage, 2 for the others).
            p: residual units before the trunk/mask split and after the merge (paper Sec. 3).
            t: residual units of the trunk branch.
            r: residual units between adjacent poolings of the mask branch.
            attention_residual: ``H = (1 + M) * T`` (ARL) if True, ``H = M * T`` (NAL) if False (Sec. 3.2).
            mask_act: mask activation, one of 'mixed', 'channel', 'spatial' (Sec. 3.3).
            block_type: basic unit, one of 'preact' (pre-activation bottleneck), 'resnext' (ResNeXt
                bottleneck), 'inception' (pre-activation Inception-ResNet unit) (Sec. 4.2).
            bottle_ratio: bottleneck (or Inception branch) width relative to the unit's output width.
            groups: groups of the 3x3 convs (the ResNeXt cardinality).
            stem_type: 'imagenet' (7x7/2 conv + max-pool) or 'cifar' (3x3 conv).
            stem_chs: stem width.
            num_classes: classifier outputs (0 for no classifier).
            in_chans: input channels.
            global_pool: global pooling type ('avg', 'max', 'avgmax', 'catavgmax', '' for none).
            drop_rate: dropout before the classifier.
            drop_path_rate: stochastic depth, rising linearly to this rate over the trunk's units.
            act_layer: activation.
            norm_layer: normalisation (combined with ``act_layer``).
            zero_init_last: zero-init the last conv (or BN) of each unit's residual branch, so that every
                unit starts as the identity (as timm's ResNets; the paper does not describe its init).
        """
        super().__init__()
        dd = {'device': device, 'dtype': dtype}
        strides = tuple(strides) if strides is not None else (1,) + (2,) * (len(channels) - 1)
        num_stages = _check_layout(
            channels=channels, unit_depths=unit_depths, module_depths=module_depths, mask_pools=mask_pools,
            strides=strides)
        module_cfg = AttentionModuleCfg(p, t, r, attention_residual, mask_act)
        self.num_classes = num_classes
        self.in_chans = in_chans
        self.drop_rate = drop_rate

        act_layer = get_act_layer(act_layer)
        norm_layer = get_norm_act_layer(norm_layer, act_layer=act_layer)
        units = UnitFactory(block_type, bottle_ratio, groups, act_layer, norm_layer, **dd)

        self.stem, stem_feat, stem_reduction = create_stem(
            stem_type, in_chans, stem_chs, units.preact, norm_layer, **dd)
        self.stem_feat_idx = [n for n, _ in self.stem.named_children()].index(stem_feat)
        self.feature_info = [dict(num_chs=stem_chs, reduction=stem_reduction, module=f'stem.{stem_feat}')]

        trunk_depths = [u + m * module_cfg.depth for u, m in zip(unit_depths, module_depths)]
        dprs = calculate_drop_path_rates(drop_path_rate, sum(trunk_depths))
        curr_stride = 4 if stem_type == 'imagenet' else 1
        prev_chs = stem_chs
        self.stages = nn.Sequential()
        for i in range(num_stages):
            curr_stride *= strides[i]
            self.stages.add_module(str(i), RanStage(
                prev_chs, channels[i], strides[i], unit_depths[i], module_depths[i], mask_pools[i], units,
                module_cfg, norm_layer, dprs[sum(trunk_depths[:i]):sum(trunk_depths[:i + 1])], **dd))
            prev_chs = channels[i]
            self.feature_info.append(dict(num_chs=prev_chs, reduction=curr_stride, module=f'stages.{i}'))

        self.num_features = prev_chs
        self.norm = norm_layer(prev_chs, **dd) if units.preact else nn.Identity()
        self.head = ClassifierHead(prev_chs, num_classes, pool_type=global_pool, drop_rate=drop_rate, **dd)
        self.head_hidden_size = self.head.num_features
        named_apply(partial(init_weights, zero_init_last=zero_init_last), self)

    @torch.jit.ignore
    def group_matcher(self, coarse: bool = False) -> Dict[str, Any]:
        return dict(
            stem=r'^stem',
            blocks=r'^stages\.(\d+)' if coarse else [
                (r'^stages\.(\d+)\.blocks\.(\d+)', None),
                (r'^norm', (99999,)),
            ],
        )

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True) -> None:
        for stage in self.stages:
            stage.grad_checkpointing = enable

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.head.fc

    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None) -> None:
        dd = get_device_dtype(self)
        self.num_classes = num_classes
        self.head.reset(num_classes, global_pool, in_features=self.num_features, **dd)
        self.head_hidden_size = self.head.num_features

    def forward_intermediates(
            self,
            x: torch.Tensor,
            indices: Optional[Union[int, List[int]]] = None,
            norm: bool = False,
            stop_early: bool = False,
            output_fmt: str = 'NCHW',
            intermediates_only: bool = False,
    ) -> Union[List[torch.Tensor], Tuple[torch.Tensor, List[torch.Tensor]]]:
        """Forward that also returns the stem feature (index 0) and each stage's output (1..).

        Args:
            x: input images.
            indices: take the last n features if an int, all if None, else the listed indices.
            norm: apply the final norm to the last stage's feature.
            stop_early: stop after the last requested feature.
            output_fmt: only 'NCHW'.
            intermediates_only: return only the features.
        """
        if output_fmt != 'NCHW':
            raise ValueError(f"output_fmt={output_fmt!r} is not supported; choose 'NCHW'")
        intermediates = []
        take_indices, max_index = feature_take_indices(len(self.stages) + 1, indices)

        x_stem = x
        for i, layer in enumerate(self.stem):
            x = layer(x)
            if i == self.stem_feat_idx:
                x_stem = x
        if 0 in take_indices:
            intermediates.append(x_stem)

        last_idx = len(self.stages)
        if torch.jit.is_scripting() or not stop_early:
            stages = self.stages
        else:
            stages = self.stages[:max_index]
        feat_idx = 0
        for feat_idx, stage in enumerate(stages, start=1):
            x = stage(x)
            if feat_idx in take_indices:
                intermediates.append(self.norm(x) if norm and feat_idx == last_idx else x)

        if intermediates_only:
            return intermediates
        if feat_idx == last_idx:
            x = self.norm(x)
        return x, intermediates

    def prune_intermediate_layers(
            self,
            indices: Union[int, List[int]] = 1,
            prune_norm: bool = False,
            prune_head: bool = True,
    ) -> List[int]:
        """Drop the layers after the last of ``indices`` (and the final norm / head when asked)."""
        take_indices, max_index = feature_take_indices(len(self.stages) + 1, indices)
        prune_end = max_index < len(self.stages)
        if prune_norm or prune_end:
            self.norm = nn.Identity()
        self.stages = self.stages[:max_index]
        if max_index == 0:
            self.stem = self.stem[:self.stem_feat_idx + 1]
        if prune_end:
            self.num_features = self.head_hidden_size = self.feature_info[max_index]['num_chs']
        if prune_head or prune_end:
            self.reset_classifier(0, '')
        return take_indices

    @torch.jit.ignore
    def forward_masks(
            self,
            x: torch.Tensor,
            masks_only: bool = True,
    ) -> Union[List[AttentionMask], Tuple[torch.Tensor, List[AttentionMask]]]:
        """The soft mask of every attention module (paper Sec. 3.3), in network order.

        Each ``AttentionMask`` holds the 0-based ``stage`` and the module's ``index`` within the stage, and
        the ``mask`` tensor as the module applies it: (batch, channels, height, width) at the stage's
        resolution, in [0, 1] for mixed attention. ``forward`` is unchanged; this runs the same layers and
        works under ``torch.no_grad`` and autocast. With ``masks_only=False`` the logits come first.
        """
        masks: List[AttentionMask] = []
        x = self.stem(x)
        for stage_idx, stage in enumerate(self.stages):
            index = 0
            for block in stage.blocks:
                if isinstance(block, AttentionModule):
                    x, mask = block.forward_with_mask(x)
                    masks.append(AttentionMask(stage_idx, index, mask))
                    index += 1
                else:
                    x = block(x)
        if masks_only:
            return masks
        return self.forward_head(self.norm(x)), masks

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = self.stages(x)
        return self.norm(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return self.head(x, pre_logits=True) if pre_logits else self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def _check_pretrained_weights(variant: str, kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """The keyword arguments that load the weights ``pretrained=True`` asks for: a user's file
    (``pretrained_cfg_overlay=dict(file=...)``) loads with its own classifier (``fit_pretrained_file``).
    Fails clearly when the weights do not exist (rather than letting a randomly initialised model through),
    when a shipped weights file is damaged, or when a user's file is not a checkpoint of this architecture."""
    cfg = resolve_pretrained_cfg(variant, kwargs.get('pretrained_cfg'), kwargs.get('pretrained_cfg_overlay'))
    file = local_weights_file(cfg)
    if file and is_bundled(file):
        verify_weights(file)
    elif file:
        kwargs = fit_pretrained_file(file, ResidualAttentionNet, variant, cfg, kwargs)
    if cfg_has_weights(cfg):
        return kwargs
    name = f'{variant}.{cfg.tag}' if cfg.tag else variant
    raise NoWeightsError(
        f"No trained weights exist yet for '{name}': timm_ran ships none for it. Create the model with "
        f"pretrained=False, or load your own checkpoint with pretrained_cfg_overlay=dict(file='PATH').")


def _with_shipped_weights(variant: str, kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """``kwargs`` with the overlay of the weights shipped for the registered config's tag
    (``shipped_cfg_overlay``), read when a model is created rather than at import. A config the caller
    brings (``local-dir:``, ``hf-hub:``, a dict) keeps its own weights, and the caller's overlay wins."""
    if not isinstance(kwargs.get('pretrained_cfg'), (str, type(None))):
        return kwargs
    cfg = resolve_pretrained_cfg(variant, kwargs.get('pretrained_cfg'))
    shipped = shipped_cfg_overlay(f'{variant}.{cfg.tag}') if cfg.hf_hub_id else {}
    if not shipped:
        return kwargs
    return dict(kwargs, pretrained_cfg_overlay={**shipped, **(kwargs.get('pretrained_cfg_overlay') or {})})


def _create_ran(variant: str, pretrained: bool = False, **kwargs: Any) -> ResidualAttentionNet:
    kwargs = _with_shipped_weights(variant, kwargs)
    if pretrained:
        kwargs = _check_pretrained_weights(variant, kwargs)
    num_stages = len(kwargs.get('channels', _IMAGENET['channels']))
    return build_model_with_cfg(
        ResidualAttentionNet, variant, pretrained,
        feature_cfg=dict(flatten_sequential=True, out_indices=tuple(range(num_stages + 1))),  # stem + stages
        **kwargs,
    )


def _cfg(**kwargs: Any) -> Dict[str, Any]:
    return {
        'url': '',
        'num_classes': 1000, 'input_size': (3, 224, 224), 'pool_size': (7, 7),
        'crop_pct': 0.875, 'interpolation': 'bilinear',
        'mean': IMAGENET_DEFAULT_MEAN, 'std': IMAGENET_DEFAULT_STD,
        'first_conv': 'stem.conv', 'classifier': 'head.fc',
        'license': 'apache-2.0',
        'paper_ids': 'arXiv:1704.06904',
        'paper_name': 'Residual Attention Network for Image Classification',
        **kwargs,
    }


def _cifar10_cfg(name: str, shipped: bool = False) -> Dict[str, Any]:
    """CIFAR-10 config of ``'<model>.cifar10'``; ``shipped``: weights ship for it, published to the Hub as
    ``hf_hub_id`` (the file itself is added when a model is created: ``_with_shipped_weights``)."""
    return _cfg(
        num_classes=10, input_size=(3, 32, 32), pool_size=(8, 8), crop_pct=1.0,
        mean=CIFAR10_MEAN, std=CIFAR10_STD, label_names=CIFAR10_CLASSES,
        **(dict(hf_hub_id=f'{HF_HUB_ORG}/{name}') if shipped else {}))


default_cfgs = generate_default_cfgs({
    'attention56.cifar10': _cifar10_cfg('attention56.cifar10', shipped=True),
    'attention92.cifar10': _cifar10_cfg('attention92.cifar10', shipped=True),
    'attention128.cifar10': _cifar10_cfg('attention128.cifar10'),
    'attention164.cifar10': _cifar10_cfg('attention164.cifar10'),
    'attention236.cifar10': _cifar10_cfg('attention236.cifar10'),
    'attention452.cifar10': _cifar10_cfg('attention452.cifar10'),
    'resnet164_cifar.cifar10': _cifar10_cfg('resnet164_cifar.cifar10', shipped=True),
    'attention56_imagenet': _cfg(),
    'attention92_imagenet': _cfg(),
    'attentionnext56_imagenet': _cfg(),
    'attentioninception56_imagenet': _cfg(),
})
MODEL_NAMES = tuple(default_cfgs)  # the registered architectures

# CIFAR networks (paper Sec. 4.1): after a 16-channel 3x3 conv, three attention stages at 32x32, 16x16 and
# 8x8 with ResNet-164's widths (outputs 64 / 128 / 256, bottlenecks 16 / 32 / 64), the same number m of
# attention modules in each (masks with 3 / 2 / 1 max-pool levels), then three residual units at 8x8 as
# the last ImageNet stage. Attention-N has N = 36m + 20 layers for p, t = 1, 2: the 20 are the conv, the
# six plain units and the classifier. This reproduces the published 1.9M (Attention-92), 5.1M
# (Attention-236) and 8.6M (Attention-452) params within 3.1%.
_CIFAR = dict(
    channels=(64, 128, 256, 256), unit_depths=(1, 1, 1, 3), mask_pools=(3, 2, 1, 0), strides=(1, 2, 2, 1),
    stem_type='cifar', stem_chs=16)  # 10 classes: the .cifar10 config's num_classes
# ImageNet networks (paper Table 2, official prototxts): 7x7 stem, four stages of widths 256 ... 2048,
# the last one three plain units.
_IMAGENET = dict(channels=(256, 512, 1024, 2048), unit_depths=(1, 1, 1, 3), mask_pools=(3, 2, 1, 0))


def _cifar_args(modules_per_stage: int, **kwargs: Any) -> Dict[str, Any]:
    return dict(_CIFAR, module_depths=(modules_per_stage,) * 3 + (0,), **kwargs)


@register_model
def attention56(pretrained: bool = False, **kwargs: Any) -> ResidualAttentionNet:
    """Attention-56 for CIFAR (32x32): one attention module per stage (paper Sec. 4.1)."""
    return _create_ran('attention56', pretrained, **dict(_cifar_args(1), **kwargs))


@register_model
def attention92(pretrained: bool = False, **kwargs: Any) -> ResidualAttentionNet:
    """Attention-92 for CIFAR: two attention modules per stage, 1.9M params (paper Table 6)."""
    return _create_ran('attention92', pretrained, **dict(_cifar_args(2), **kwargs))


@register_model
def attention128(pretrained: bool = False, **kwargs: Any) -> ResidualAttentionNet:
    """Attention-128 for CIFAR: three attention modules per stage (paper Table 3)."""
    return _create_ran('attention128', pretrained, **dict(_cifar_args(3), **kwargs))


@register_model
def attention164(pretrained: bool = False, **kwargs: Any) -> ResidualAttentionNet:
    """Attention-164 for CIFAR: four attention modules per stage (paper Table 3)."""
    return _create_ran('attention164', pretrained, **dict(_cifar_args(4), **kwargs))


@register_model
def attention236(pretrained: bool = False, **kwargs: Any) -> ResidualAttentionNet:
    """Attention-236 for CIFAR: six attention modules per stage, 5.1M params (paper Table 6)."""
    return _create_ran('attention236', pretrained, **dict(_cifar_args(6), **kwargs))


@register_model
def attention452(pretrained: bool = False, **kwargs: Any) -> ResidualAttentionNet:
    """Attention-452 for CIFAR: p, t, r = 2, 4, 3 (paper Table 6, 8.6M params).

    The paper gives only the hyper-parameters and the size; with 24 layers per module,
    452 = 20 + 3 x 6 x 24 gives six modules per stage. The least certain of the CIFAR layouts.
    """
    return _create_ran('attention452', pretrained, **dict(_cifar_args(6, p=2, t=4, r=3), **kwargs))


@register_model
def resnet164_cifar(pretrained: bool = False, **kwargs: Any) -> ResidualAttentionNet:
    """Pre-activation ResNet-164 for CIFAR (He et al., Identity Mappings, 2016), 1.7M params: the paper's
    CIFAR baseline (Tables 4 and 6), built from the same stem and units as the attention networks.

    Three stages of 18 bottleneck units (outputs 64 / 128 / 256) and no attention module.
    """
    model_args = dict(
        _CIFAR, channels=(64, 128, 256), unit_depths=(18, 18, 18), module_depths=(0, 0, 0), mask_pools=(0, 0, 0),
        strides=(1, 2, 2))
    return _create_ran('resnet164_cifar', pretrained, **dict(model_args, **kwargs))


@register_model
def attention56_imagenet(pretrained: bool = False, **kwargs: Any) -> ResidualAttentionNet:
    """Attention-56 for ImageNet (paper Table 2, ``Attention-56-deploy.prototxt``): 31.9M params, 6.3G MACs."""
    return _create_ran('attention56_imagenet', pretrained, **dict(_IMAGENET, module_depths=(1, 1, 1, 0), **kwargs))


@register_model
def attention92_imagenet(pretrained: bool = False, **kwargs: Any) -> ResidualAttentionNet:
    """Attention-92 for ImageNet (paper Table 2): 1, 2, 3 attention modules in stages 1-3.

    The paper reports 51.3M params and 10.4G MACs; its own prototxt (``Attention-92-deploy.prototxt``),
    which this follows, builds about 52.5M params and 10.5G MACs, 1.2M more than published.
    """
    return _create_ran('attention92_imagenet', pretrained, **dict(_IMAGENET, module_depths=(1, 2, 3, 0), **kwargs))


@register_model
def attentionnext56_imagenet(pretrained: bool = False, **kwargs: Any) -> ResidualAttentionNet:
    """AttentionNeXt-56 for ImageNet (paper Sec. 4.2, ``AttentionNeXt-56-deploy.prototxt``).

    Post-activation ResNeXt units with 32 groups and bottlenecks half the output width; the paper
    reports 31.9M params / 6.3G MACs, its prototxt builds about 31.3M / 6.4G.
    """
    model_args = dict(_IMAGENET, module_depths=(1, 1, 1, 0), block_type='resnext', bottle_ratio=0.5, groups=32)
    return _create_ran('attentionnext56_imagenet', pretrained, **dict(model_args, **kwargs))


@register_model
def attentioninception56_imagenet(pretrained: bool = False, **kwargs: Any) -> ResidualAttentionNet:
    """AttentionInception-56 for ImageNet (paper Sec. 4.2): Attention-56 with Inception-ResNet units.

    The paper reports 31.9M params / 6.3G MACs but released no layout (see ``PreActInceptionResUnit``);
    branches of 0.115 x the unit's width (32 / 56 / 120 / 232 channels in stages 1-4) land at 31.1M params
    and 6.4G MACs.
    """
    model_args = dict(_IMAGENET, module_depths=(1, 1, 1, 0), block_type='inception', bottle_ratio=0.115)
    return _create_ran('attentioninception56_imagenet', pretrained, **dict(model_args, **kwargs))
