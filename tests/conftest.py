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


@pytest.fixture(scope='session')
def image_folder(tmp_path_factory):
    """A small data set in the ImageNet layout: train/ and test/ with 3 classes of 32x32 JPEGs whose
    colour tells the class (so a model can learn it)."""
    from PIL import Image
    root = tmp_path_factory.mktemp('images')
    generator = torch.Generator().manual_seed(0)
    for split, count in (('train', 24), ('test', 8)):
        for label, name in enumerate(('red', 'green', 'blue')):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = torch.randint(0, 96, (32, 32, 3), generator=generator, dtype=torch.uint8)
                pixels[..., label] += 150
                Image.fromarray(pixels.numpy()).save(folder / f'{i}.jpg', quality=90)
    return root
