"""Data helpers: label noise for the noisy-label ablation, up-sampled CIFAR inputs."""
from collections import Counter

import pytest
import torch
from PIL import Image
from torch.utils.data import TensorDataset

from timm_ran.training.data import NoisyLabels, build_transform

CIFAR_AT_224 = dict(input_size=(3, 224, 224), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), interpolation='bicubic',
                    crop_pct=1.0, crop_mode='center')


def _labels(dataset):
    return [int(dataset[i][1]) for i in range(len(dataset))]


def test_noisy_labels_flip_the_asked_fraction_to_other_classes():
    targets = torch.arange(1000) % 10
    clean = TensorDataset(torch.zeros(1000, 1), targets)
    noisy = NoisyLabels(clean, 0.3, num_classes=10, seed=5)
    labels = _labels(noisy)
    flipped = [i for i in range(1000) if labels[i] != targets[i]]
    assert len(flipped) == noisy.num_flipped == 300
    assert all(0 <= label < 10 for label in labels)
    # a flipped label is drawn uniformly from the 9 other classes: every offset 1..9 occurs
    offsets = Counter((labels[i] - int(targets[i])) % 10 for i in flipped)
    assert set(offsets) == set(range(1, 10)) and max(offsets.values()) < 3 * min(offsets.values())
    assert _labels(NoisyLabels(clean, 0.3, num_classes=10, seed=5)) == labels  # fixed by the seed
    assert _labels(NoisyLabels(clean, 0.3, num_classes=10, seed=6)) != labels
    assert _labels(NoisyLabels(clean, 0., num_classes=10)) == targets.tolist()


@pytest.mark.parametrize('fraction, classes', [(1.0, 10), (-0.1, 10), (0.5, 1)])
def test_noisy_labels_reject_bad_settings(fraction, classes):
    with pytest.raises(ValueError, match='label noise'):
        NoisyLabels(TensorDataset(torch.zeros(4, 1), torch.zeros(4)), fraction, classes)


def test_upscaled_cifar_transforms():
    """--upscale-from 32: augment at 32x32, then up-sample to the model's 224x224 (bicubic)."""
    image = Image.fromarray((torch.rand(32, 32, 3) * 255).to(torch.uint8).numpy())
    train = build_transform(CIFAR_AT_224, True, reprob=0.2, upscale_from=32)
    names = [type(op).__name__ for op in train.transforms]
    assert names[:2] == ['RandomCrop', 'RandomHorizontalFlip'] and names[-2:] == ['RandomErasing', 'Resize']
    assert train.transforms[0].size == (32, 32)
    assert train(image).shape == (3, 224, 224)
    evaluate = build_transform(CIFAR_AT_224, False, upscale_from=32)
    out = evaluate(image)
    assert out.shape == (3, 224, 224)
    small = build_transform(dict(CIFAR_AT_224, input_size=(3, 32, 32)), False, upscale_from=32)(image)
    expected = torch.nn.functional.interpolate(small[None], size=(224, 224), mode='bicubic', antialias=True)[0]
    assert torch.allclose(out, expected, atol=1e-5)
    with pytest.raises(ValueError, match='upscale_from'):
        build_transform(CIFAR_AT_224, True, upscale_from=500)
