import pytest
import torch

import timm_ran

CIFAR_MODELS = [n for n in timm_ran.MODEL_NAMES if not n.endswith('_imagenet')]
IMAGENET_MODELS = [n for n in timm_ran.MODEL_NAMES if n.endswith('_imagenet')]


def small_input_size(model_name: str):
    """A cheap input for a model: CIFAR models at their 32x32, ImageNet models at 64x64."""
    return (32, 32) if model_name in CIFAR_MODELS else (64, 64)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
