"""A ResNet whose residuals are refined by attention maps from a frozen self-supervised ViT.

Paper: `Refining Residual Mappings Using Regions of High Attention` - C. Wang, Stanford (the
"attention-refined ResNet"; docs/attnrefine.md in the repository). A
related design to the Residual Attention Network: the soft masks are not learnt from the image by an
encoder-decoder but from an external attention map, the [CLS] self-attention of a self-supervised ViT.

Two branches run side by side (Sec. 3, Figs. 1-3)::

    x_a = cls_attention(ViT, image)             # frozen ViT, heads aggregated to one map (Sec. 5.2)
    x   = stem(image)                           # 4x4 conv, stride 4 (Sec. 3.3)
    m   = attn_stem(upsample(x_a))              # 4x4 conv, stride 4
    for block i:                                # ResNet-8: three basic blocks, strides 1, 2, 2 (Sec. 3.4)
        m   = attention_block_i(m)              # two convs, sigmoid: a map shaped like block i's features
        y   = basic_block_i(x)                  # a plain ResNet basic block, its shortcut s = S_i(x)
        x   = y + a * (s * m + y)               # masked residual, Eqs. (3) and (4)
    logits = fc(avgpool(x))

With ``a = 0`` the classification branch is a plain ResNet-8 and the attention branch is skipped.
"""
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import ClassifierHead, ConvNormAct, get_device_dtype
from timm.layers.attention import Attention
from timm.models import (
    build_model_with_cfg,
    create_model,
    generate_default_cfgs,
    named_apply,
    register_model,
    resolve_pretrained_cfg,
)
from timm.models.resnet import BasicBlock, downsample_conv
from timm.models.vision_transformer import Block, VisionTransformer

from .checkpoints import fit_pretrained_file, local_weights_file
from .pretrained import cfg_has_weights
from .layers import CIFAR10_CLASSES, init_weights

__all__ = ['AttnRefineResNet', 'ViTClsAttention', 'MaskedResidualBlock', 'AttentionBlock', 'MODEL_NAMES',
           'DEFAULT_VIT']

DEFAULT_VIT = 'vit_small_patch8_224.dino'


class ViTClsAttention(nn.Module):
    """The [CLS] token's self-attention over the patches in the last block of a frozen timm ViT (Sec. 5.2).

    The query is the [CLS] token of the last attention layer; its softmax weights over the patch tokens
    (prefix and register tokens left out) form one map per head. The heads are averaged into one map
    (the paper aggregates its 12 heads without saying how; DINO ViT-S/8, the default, has 6 heads and
    DINO ViT-B/8, ``vit_base_patch8_224.dino``, has 12), and each map is scaled to [0, 1] by its own
    minimum and maximum, so the attention stem sees the same range whatever the number of patches.

    The ViT stays frozen: no gradients, always in eval mode. Images arrive normalised for the classifier
    (``input_mean`` / ``input_std``) and are re-normalised to the ViT's own mean and std.
    """

    def __init__(self, vit: VisionTransformer, input_mean: Sequence[float], input_std: Sequence[float],
                 device=None):
        super().__init__()
        if not isinstance(vit, VisionTransformer) or vit.cls_token is None:
            raise ValueError(
                f'vit_model must name a timm VisionTransformer with a [CLS] token (vit_*, deit_*), '
                f'got {type(vit).__name__}')
        last = vit.blocks[-1]
        if type(last) is not Block or type(last.attn) is not Attention:
            raise ValueError(
                f"vit_model's last block must be a pre-norm timm Block with a standard Attention "
                f'(as in vit_* models), got {type(last).__name__} with {type(last.attn).__name__}')
        self.vit = vit.requires_grad_(False).eval()
        vit_mean = torch.tensor(vit.pretrained_cfg.get('mean', IMAGENET_DEFAULT_MEAN))
        vit_std = torch.tensor(vit.pretrained_cfg.get('std', IMAGENET_DEFAULT_STD))
        in_mean, in_std = torch.tensor(input_mean), torch.tensor(input_std)
        # vit_input = (x * in_std + in_mean - vit_mean) / vit_std = x * scale + shift
        self.register_buffer('scale', (in_std / vit_std).view(1, -1, 1, 1).to(device), persistent=False)
        self.register_buffer('shift', ((in_mean - vit_mean) / vit_std).view(1, -1, 1, 1).to(device), persistent=False)

    def train(self, mode: bool = True) -> 'ViTClsAttention':
        super().train(mode)
        self.vit.eval()  # frozen: dropout and drop-path stay off while the classifier trains
        return self

    def grid_size(self, img_size: Tuple[int, int]) -> Tuple[int, int]:
        return self.vit.patch_embed.dynamic_feat_size(img_size)

    def head_maps(self, x: torch.Tensor) -> torch.Tensor:
        """Per-head [CLS] attention over the patches, ``(B, heads, grid_h, grid_w)``, each summing to at most 1."""
        vit = self.vit
        grid = self.grid_size(x.shape[-2:])
        with torch.no_grad():
            tokens = vit.norm_pre(vit.patch_drop(vit._pos_embed(vit.patch_embed(x * self.scale + self.shift))))
            tokens = vit.blocks[:-1](tokens)
            last = vit.blocks[-1]
            attn = last.attn
            qkv = attn.qkv(last.norm1(tokens))
            batch, num_tokens, _ = qkv.shape
            q, k, _ = qkv.reshape(batch, num_tokens, 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4)
            q, k = attn.q_norm(q), attn.k_norm(k)
            scores = (q[:, :, :1] * attn.scale) @ k.transpose(-2, -1)  # [CLS] as the query: (B, heads, 1, N)
            weights = scores.float().softmax(dim=-1)[:, :, 0, vit.num_prefix_tokens:]
        return weights.reshape(batch, attn.num_heads, *grid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The aggregated map ``(B, 1, grid_h, grid_w)`` in [0, 1]."""
        heads = self.head_maps(x).mean(dim=1, keepdim=True)
        low = heads.amin(dim=(2, 3), keepdim=True)
        high = heads.amax(dim=(2, 3), keepdim=True)
        return (heads - low) / (high - low).clamp_min(1e-12)


def patchify_stem(in_chs: int, out_chs: int, device=None, dtype=None) -> ConvNormAct:
    """4x4 convolution with stride 4, BN, ReLU: a ViT-like patch stem that down-samples by 4 (Sec. 3.3, Fig. 1)."""
    return ConvNormAct(in_chs, out_chs, kernel_size=4, stride=4, padding=0, device=device, dtype=dtype)


class AttentionBlock(nn.Module):
    """One block of the attention branch (Sec. 3.4, Fig. 2): two 3x3 convolutions and a sigmoid, giving a
    soft mask in (0, 1) shaped like the matching classification block's output.

    It mirrors the classification block (conv-BN-ReLU, conv-BN, the first conv carrying the block's stride)
    with a sigmoid where the classification block has its final ReLU.
    """

    def __init__(self, in_chs: int, out_chs: int, stride: int = 1, device=None, dtype=None):
        dd = {'device': device, 'dtype': dtype}
        super().__init__()
        self.conv1 = ConvNormAct(in_chs, out_chs, kernel_size=3, stride=stride, **dd)
        self.conv2 = ConvNormAct(out_chs, out_chs, kernel_size=3, apply_act=False, **dd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv2(self.conv1(x)))


class MaskedResidualBlock(BasicBlock):
    """A ResNet basic block (timm's ``BasicBlock``: same layers and state-dict keys) whose residual is
    refined by an attention mask of strength ``a`` (Eqs. 3 and 4 of the paper)::

        y = relu(bn2(conv2(relu(bn1(conv1(x))))) + s),   s = shortcut(x)
        F = a * (s * mask) + a * y                       # masked residual, Eq. (3)
        out = F + y                                      # Eq. (4)

    Eq. (3) writes the masked term as x^(i-1) * x_a^(i-1); a block that strides or widens brings x^(i-1)
    to its output's shape by its own projection shortcut, so the term is taken on the shortcut ``s``,
    masked by the map shaped like this block's features ("the residuals added after each block are first
    modified by the corresponding soft attention map", Sec. 3.4). ``a = 0`` gives the plain block.
    """

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None, a: float = 0.) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        y = self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x)))))
        y = self.act2(y + shortcut)
        if mask is None or a == 0:
            return y
        return torch.addcmul(y * (1 + a), shortcut, mask, value=a)


class AttnRefineResNet(nn.Module):
    """Attention-refined ResNet: a ResNet classification branch whose block residuals are masked by an
    attention branch driven by a frozen ViT's [CLS] attention map (Wang, Secs. 3.3-3.5).

    ``forward(x, attn_map=None)``: ``x`` is the normalised image (224x224 in the paper: CIFAR images are
    up-sampled bicubically, Sec. 4); ``attn_map`` is an optional precomputed aggregated map
    (``model.attention_map(x)``, shape ``(B, 1, h, w)`` or ``(B, h, w)``, any ``h, w``), so a training
    pipeline can cache the maps instead of running the ViT every step.
    """

    def __init__(
            self,
            channels: Sequence[int] = (16, 32, 64),
            strides: Sequence[int] = (1, 2, 2),
            stem_chs: int = 16,
            a: float = 1.0,
            vit_model: str = DEFAULT_VIT,
            vit_pretrained: bool = False,
            vit_kwargs: Optional[Dict[str, Any]] = None,
            input_mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
            input_std: Sequence[float] = IMAGENET_DEFAULT_STD,
            num_classes: int = 10,
            in_chans: int = 3,
            img_size: Optional[int] = None,
            global_pool: str = 'avg',
            drop_rate: float = 0.,
            device=None,
            dtype=None,
    ):
        """
        Args:
            channels: output width of each classification / attention block (ResNet-8: 16, 32, 64).
            strides: stride of each block (ResNet-8: 1, 2, 2).
            stem_chs: width of both 4x4 stems.
            a: mask strength in [0, 1] (Sec. 3.5); 0 is a plain ResNet.
            vit_model: timm name of the frozen ViT giving the attention maps.
            vit_pretrained: load the ViT's pretrained weights (timm's hub, or ``vit_kwargs``'
                ``pretrained_cfg_overlay=dict(file=PATH)`` for a local file).
            vit_kwargs: more keyword arguments for ``timm.create_model(vit_model, ...)``.
            input_mean, input_std: the normalisation of ``x``, converted to the ViT's own.
            img_size: input size the ViT is built for (its position embeddings resampled from the
                pretrained grid when it differs); default the ViT's own (224).
            device, dtype: where and in which dtype the parameters are created (``'meta'``: no memory).
        """
        dd = {'device': device, 'dtype': dtype}
        super().__init__()
        if len(channels) != len(strides):
            raise ValueError(f'channels and strides need one entry per block, got {channels} and {strides}')
        self.a = a
        self.num_classes = num_classes
        self.drop_rate = drop_rate
        vit_kwargs = dict(vit_kwargs or {})
        for reserved in ('pretrained', 'num_classes'):
            if reserved in vit_kwargs:
                raise ValueError(f'vit_kwargs may not set {reserved!r} (use vit_pretrained; the ViT has no head)')
        if img_size is not None:
            vit_kwargs.setdefault('img_size', img_size)
        try:
            vit = create_model(vit_model, pretrained=vit_pretrained, num_classes=0, **dd, **vit_kwargs)
        except TypeError as error:  # e.g. a CNN given img_size
            raise ValueError(f'vit_model {vit_model!r} could not be built with {sorted(vit_kwargs)} ({error}); it must '
                             f'name a timm VisionTransformer (vit_*, deit_*)') from error
        self.attn_source = ViTClsAttention(vit, input_mean, input_std, device=device)

        self.stem = patchify_stem(in_chans, stem_chs, **dd)
        self.attn_stem = patchify_stem(1, stem_chs, **dd)
        blocks, attn_blocks, self.feature_info = [], [], [dict(num_chs=stem_chs, reduction=4, module='stem')]
        in_chs, reduction = stem_chs, 4
        for i, (chs, stride) in enumerate(zip(channels, strides)):
            downsample = None
            if stride != 1 or chs != in_chs:
                downsample = downsample_conv(in_chs, chs, kernel_size=1, stride=stride, **dd)
            blocks.append(MaskedResidualBlock(in_chs, chs, stride=stride, downsample=downsample, **dd))
            attn_blocks.append(AttentionBlock(in_chs, chs, stride=stride, **dd))
            in_chs, reduction = chs, reduction * stride
            self.feature_info.append(dict(num_chs=chs, reduction=reduction, module=f'blocks.{i}'))
        self.blocks = nn.ModuleList(blocks)
        self.attn_blocks = nn.ModuleList(attn_blocks)
        self.num_features = self.head_hidden_size = in_chs
        self.head = ClassifierHead(in_chs, num_classes, pool_type=global_pool, drop_rate=drop_rate, **dd)
        # He (Kaiming) normal convolutions (Sec. 5.1) in both trained branches; the ViT keeps its own weights
        for name in ('stem', 'attn_stem', 'blocks', 'attn_blocks', 'head'):
            named_apply(init_weights, getattr(self, name), name)

    @property
    def a(self) -> float:
        return self._a

    @a.setter
    def a(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(f'a (mask strength) must be a number in [0, 1], got {value!r}')
        self._a = float(value)

    @torch.jit.ignore
    def group_matcher(self, coarse: bool = False) -> Dict[str, Any]:
        """Block ``i`` of both branches forms one group (they compute one masked residual together); the
        fine matcher splits each block into its first and second conv layers and the shortcut. The frozen
        ViT matches no pattern, so it falls into the last group with the classifier, as timm places
        unmatched layers; it takes no part in training."""
        if coarse:
            return dict(stem=r'^(?:attn_)?stem', blocks=r'^(?:attn_)?blocks\.(\d+)')
        return dict(stem=r'^(?:attn_)?stem', blocks=[
            (r'^(?:attn_)?blocks\.(\d+)\.(?:conv1|bn1)', (0,)),
            (r'^(?:attn_)?blocks\.(\d+)\.(?:conv2|bn2)', (1,)),
            (r'^blocks\.(\d+)\.downsample', (2,)),
        ])

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.head.fc

    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None) -> None:
        self.num_classes = num_classes
        self.head.reset(num_classes, global_pool, **get_device_dtype(self.head))

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """The ViT's aggregated [CLS] attention map for ``x``: ``(B, 1, h, w)`` in [0, 1] on the patch grid."""
        return self.attn_source(x)

    def _check_attn_map(self, x: torch.Tensor, attn_map: torch.Tensor) -> torch.Tensor:
        if attn_map.dim() == 3:
            attn_map = attn_map.unsqueeze(1)
        if attn_map.dim() != 4 or attn_map.shape[1] != 1 or attn_map.shape[0] != x.shape[0]:
            raise ValueError(
                f'attn_map must have shape (B, 1, h, w) or (B, h, w) with B = {x.shape[0]} (the batch of x), '
                f'got {tuple(attn_map.shape)}')
        return attn_map

    def forward_features(self, x: torch.Tensor, attn_map: Optional[torch.Tensor] = None) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f'x must be a batch of images (B, C, H, W), got shape {tuple(x.shape)}')
        masks = None
        if self.a > 0:
            attn_map = self.attention_map(x) if attn_map is None else self._check_attn_map(x, attn_map)
            # patch grid -> pixels, each patch's weight repeated over its pixels (as DINO draws its maps)
            masks = self.attn_stem(F.interpolate(attn_map.to(x.dtype), size=x.shape[-2:], mode='nearest'))
        x = self.stem(x)
        for block, attn_block in zip(self.blocks, self.attn_blocks):
            if masks is not None:
                masks = attn_block(masks)
            x = block(x, masks, self.a)
        return x

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return self.head(x, pre_logits=pre_logits)

    def forward(self, x: torch.Tensor, attn_map: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.forward_head(self.forward_features(x, attn_map))


def _create_attnrefine(variant: str, pretrained: bool = False, **kwargs: Any) -> AttnRefineResNet:
    """``pretrained`` passes through to the ViT (``vit_pretrained`` overrides it); the two trained
    branches load weights only when the config names a file (``pretrained_cfg_overlay=dict(file=...)``):
    none are published."""
    if kwargs.get('features_only'):
        raise ValueError(f'{variant} takes an image and an attention map: features_only is not supported; '
                         f'use forward_features')
    cfg = resolve_pretrained_cfg(variant, kwargs.get('pretrained_cfg'), kwargs.get('pretrained_cfg_overlay'))
    kwargs.setdefault('vit_pretrained', pretrained)
    kwargs.setdefault('input_mean', cfg.mean)
    kwargs.setdefault('input_std', cfg.std)
    file = local_weights_file(cfg) if pretrained else None
    if file:  # a user's file: does it hold this architecture?
        kwargs = fit_pretrained_file(file, AttnRefineResNet, variant, cfg, kwargs, exclude=('vit_pretrained',))
    model = build_model_with_cfg(AttnRefineResNet, variant, pretrained and cfg_has_weights(cfg), **kwargs)
    vit_size = model.attn_source.vit.patch_embed.img_size  # None for a ViT taking any size
    input_size = (kwargs.get('in_chans', 3), *vit_size) if vit_size else model.pretrained_cfg['input_size']
    if input_size != tuple(model.pretrained_cfg['input_size']):  # built for another size (img_size=...)
        model.pretrained_cfg = model.default_cfg = dict(model.pretrained_cfg, input_size=input_size)
    return model


default_cfgs = generate_default_cfgs({
    'attnrefine_resnet8.cifar10': {
        'url': '', 'num_classes': 10, 'input_size': (3, 224, 224), 'pool_size': (14, 14),
        'crop_pct': 1.0, 'interpolation': 'bicubic', 'fixed_input_size': True,
        'mean': IMAGENET_DEFAULT_MEAN, 'std': IMAGENET_DEFAULT_STD, 'label_names': CIFAR10_CLASSES,
        'first_conv': 'stem.conv', 'classifier': 'head.fc', 'license': 'apache-2.0',
        'paper_name': 'Refining Residual Mappings Using Regions of High Attention',
    },
})
MODEL_NAMES = tuple(default_cfgs)


@register_model
def attnrefine_resnet8(pretrained: bool = False, **kwargs: Any) -> AttnRefineResNet:
    """ResNet-8 (widths 16 / 32 / 64, strides 1 / 2 / 2, 4x4 patch stems) refined by DINO ViT-S/8 [CLS]
    attention maps with strength ``a`` (default 1); 224x224 input. ``pretrained=True`` loads the ViT's
    self-supervised weights (the network's own trained weights were never released)."""
    return _create_attnrefine('attnrefine_resnet8', pretrained, **kwargs)
