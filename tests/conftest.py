import pytest
import torch

import timm_ran

CIFAR_MODELS = [n for n in timm_ran.MODEL_NAMES if not n.endswith('_imagenet')]
IMAGENET_MODELS = [n for n in timm_ran.MODEL_NAMES if n.endswith('_imagenet')]


# One network of each distinct layout: the deeper CIFAR networks (attention92 ... attention236) repeat
# attention56's modules, attention92_imagenet repeats attention56_imagenet's; attention452's p, t, r = 2, 4, 3
# is built at one module per stage. Whole-network checks that trace or script every op (Dynamo, TorchScript)
# run on these, minutes faster than on every registered model.
LAYOUTS = [
    ('attention56', {}), ('attention56', dict(p=2, t=4, r=3)), ('resnet164_cifar', {}),
    ('attention56_imagenet', {}), ('attentionnext56_imagenet', {}), ('attentioninception56_imagenet', {}),
]
LAYOUT_IDS = [name + ''.join(f'-{k}{v}' for k, v in kwargs.items()) for name, kwargs in LAYOUTS]


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
