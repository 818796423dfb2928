import sys
from pathlib import Path

import pytest
import torch

import timm_ran

# the repository's own scripts (run reports, generated docs) import one another as ``python scripts/X.py`` runs
# them, with scripts/ first on the path; the tests import them the same way
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'scripts'))

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


def draw_photo(width: int, height: int, colour, generator: torch.Generator):
    """A photo-like RGB image of any size: a noisy background and, centred, a disc of ``colour`` whose
    diameter is 60% of the shorter side (the object, at the same scale in every photo)."""
    from PIL import Image, ImageDraw
    pixels = torch.randint(40, 110, (height, width, 3), generator=generator, dtype=torch.uint8)
    image = Image.fromarray(pixels.numpy())
    radius = 0.3 * min(width, height)
    cx, cy = width / 2, height / 2
    ImageDraw.Draw(image).ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=colour)
    return image


PHOTO_CLASSES = {'apple': (210, 40, 40), 'leaf': (40, 190, 60), 'sky': (50, 90, 220)}


@pytest.fixture(scope='session')
def photo_folder(tmp_path_factory):
    """A user's own data set: train/ and val/ with 3 classes of JPEG photos of varied sizes (40-140 px a
    side) and shapes (never square), an object of the class's colour in each."""
    root = tmp_path_factory.mktemp('photos')
    generator = torch.Generator().manual_seed(1)
    for split, count in (('train', 12), ('val', 4)):
        for name, colour in PHOTO_CLASSES.items():
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                width, height = torch.randint(40, 141, (2,), generator=generator).tolist()
                height += height == width
                draw_photo(width, height, colour, generator).save(folder / f'{i}.jpg', quality=90)
    return root
