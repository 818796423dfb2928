"""The timm internals this package relies on, outside timm's public API. pyproject.toml bounds timm to the
1.0 series; if a timm release moves or changes one of these, this file fails and names it."""
import torch

import timm


def test_feature_take_indices_picks_the_requested_stages():
    from timm.models._features import feature_take_indices  # ran.py: forward_intermediates
    assert feature_take_indices(5, 2) == ([3, 4], 4)  # an int: the last n
    assert feature_take_indices(5, [0, 2]) == ([0, 2], 2)
    assert feature_take_indices(5, None) == ([0, 1, 2, 3, 4], 4)


def test_vision_transformer_pos_embed_adds_the_class_token():
    """attnrefine.py runs the ViT's front end itself: patch_embed, _pos_embed, patch_drop, norm_pre."""
    vit = timm.create_model('vit_tiny_patch16_224', img_size=32, patch_size=8, depth=1).eval()
    for name in ('patch_embed', '_pos_embed', 'patch_drop', 'norm_pre', 'blocks'):
        assert hasattr(vit, name), f'VisionTransformer.{name} is gone'
    tokens = vit._pos_embed(vit.patch_embed(torch.randn(2, 3, 32, 32)))
    assert tokens.shape == (2, 1 + 16, vit.embed_dim)  # [CLS] + a 4x4 patch grid
    attn = vit.blocks[0].attn
    for name in ('qkv', 'num_heads', 'head_dim', 'q_norm', 'k_norm', 'scale'):
        assert hasattr(attn, name), f'timm Attention.{name} is gone'


def test_init_distributed_device_so_describes_a_single_process(monkeypatch):
    from timm.utils.distributed import init_distributed_device_so  # train.py: process group and device
    monkeypatch.delenv('WORLD_SIZE', raising=False)
    monkeypatch.delenv('SLURM_NTASKS', raising=False)
    info = init_distributed_device_so(device='cpu')
    assert info == dict(device='cpu', global_rank=0, local_rank=0, world_size=1, distributed=False)
