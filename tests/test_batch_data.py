"""In-memory data and batch augmentation (timm_ran.training.batch_data, ``train --in-memory``)."""
from collections import Counter

import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms import RandomCrop
from torchvision.transforms import functional as TF

from timm_ran.training.batch_data import BatchAugment, ImageTensors, TensorBatchLoader, decode_images, transform_images
from timm_ran.training.data import build_dataset, build_transform, holdout_split, small_image_train_transform

CIFAR = dict(input_size=(3, 32, 32), mean=(0.49, 0.48, 0.45), std=(0.25, 0.24, 0.26), interpolation='bilinear',
             crop_pct=1.0, crop_mode='center')


def _normalise(images: torch.Tensor) -> torch.Tensor:
    mean, std = torch.tensor(CIFAR['mean']).view(-1, 1, 1), torch.tensor(CIFAR['std']).view(-1, 1, 1)
    return (images.float() / 255 - mean) / std


def _candidates(image: torch.Tensor, padding: int = 4) -> torch.Tensor:
    """Every outcome of the per-image pad-crop-flip of ``image`` (uint8 C, H, W), normalised."""
    height, width = image.shape[-2:]
    padded = F.pad(image[None].float(), (padding,) * 4, mode='reflect')[0]
    crops = [padded[:, top:top + height, left:left + width]
             for top in range(2 * padding + 1) for left in range(2 * padding + 1)]
    crops += [crop.flip(-1) for crop in crops]
    return _normalise(torch.stack(crops))


def test_decoded_images_are_the_per_image_pipeline_inputs(image_folder):
    dataset = build_dataset('', str(image_folder), 'train')
    data = decode_images(dataset)
    assert data.images.dtype == torch.uint8 and data.images.shape == (72, 3, 32, 32)
    assert data.labels.tolist() == [int(dataset[i][1]) for i in range(72)]
    # no augmentation: the batch path gives what ToTensor + Normalize give for the same image
    augment = BatchAugment(CIFAR['mean'], CIFAR['std'], padding=0, hflip=0.)
    per_image = small_image_train_transform(CIFAR, hflip=0.)
    next(t for t in per_image.transforms if isinstance(t, RandomCrop)).padding = 0
    expected = torch.stack([per_image(dataset[i][0]) for i in range(8)])
    assert torch.allclose(augment(data.images[:8], torch.Generator()), expected, atol=1e-6)
    assert dataset.transform is None  # the data set is left as it was found
    evaluated = transform_images(dataset, build_transform(CIFAR, False))
    assert torch.allclose(evaluated.images, _normalise(data.images), atol=1e-6)


def test_batch_augment_draws_the_per_image_crops_and_flips():
    """Each augmented image is one of the 81 reflect-padded crops of the per-image path, or its mirror,
    and over many draws every offset and both flips occur, about equally often."""
    images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    augment = BatchAugment(CIFAR['mean'], CIFAR['std'])
    generator = torch.Generator().manual_seed(0)
    seen = Counter()
    candidates = [_candidates(image) for image in images]
    for _ in range(300):
        out = augment(images, generator)
        assert out.shape == (4, 3, 32, 32) and out.dtype == torch.float32
        for image, options in zip(out, candidates):
            distance = (options - image).abs().flatten(1).amax(1)
            assert distance.min() < 1e-5
            seen[int(distance.argmin())] += 1
    assert len(seen) == 162  # every outcome occurs; each of top offset, left offset and flip is uniform
    for outcome_of, values in ((lambda i: i % 81 // 9, 9), (lambda i: i % 9, 9), (lambda i: i // 81, 2)):
        counts = Counter()
        for index, count in seen.items():
            counts[outcome_of(index)] += count
        expected = 1200 / values
        assert all(0.7 * expected < counts[v] < 1.3 * expected for v in range(values)), counts


def test_batch_augment_random_erasing_and_resize():
    images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    plain = BatchAugment(CIFAR['mean'], CIFAR['std'], padding=0, hflip=0.)
    erased = BatchAugment(CIFAR['mean'], CIFAR['std'], padding=0, hflip=0., reprob=1.)
    clean, noisy = plain(images, torch.Generator()), erased(images, torch.Generator())
    changed = (clean != noisy).flatten(1).any(1)
    assert changed.all()  # probability 1: every image has an erased box
    plain.output_size = (24, 24)
    assert plain(images, torch.Generator()).shape == (64, 3, 24, 24)
    with pytest.raises(ValueError, match='uint8'):
        plain(images.float(), torch.Generator())
    with pytest.raises(ValueError, match='reprob'):
        BatchAugment(CIFAR['mean'], CIFAR['std'], reprob=1.5)


def _erased_rectangles(images: torch.Tensor) -> torch.Tensor:
    """(N, 4) top, left, h, w of the rectangle erased in each of a batch of zero images (the per-pixel normal
    noise is never exactly 0), for the images where one was erased."""
    nonzero = images.ne(0).any(1)
    rows, cols = nonzero.any(2), nonzero.any(1)
    erased = rows.any(1)
    rows, cols = rows[erased], cols[erased]
    return torch.stack([rows.long().argmax(1), cols.long().argmax(1), rows.sum(1), cols.sum(1)], 1)


def _ks_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """The two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs."""
    values = torch.cat([a, b]).unique().double()
    cdf = lambda x: torch.searchsorted(x.double().sort().values, values, right=True) / len(x)  # noqa: E731
    return (cdf(a) - cdf(b)).abs().max().item()


def test_batched_random_erasing_draws_timms_distribution():
    """BatchRandomErasing against timm's RandomErasing (pixel mode, probability 0.5) on 10,000 zero images
    each, seeded: the share erased agrees within 4 standard errors, and the rectangles' top, left, height,
    width and area pass two-sample Kolmogorov-Smirnov tests at the 0.1% level; the fill is standard normal."""
    import random
    from timm.data.random_erasing import RandomErasing
    from timm_ran.training.batch_data import BatchRandomErasing
    count = 10_000
    random.seed(0)
    torch.manual_seed(0)
    theirs = RandomErasing(0.5, mode='pixel', device='cpu')(torch.zeros(count, 3, 32, 32))
    ours = BatchRandomErasing(0.5)(torch.zeros(count, 3, 32, 32), torch.Generator().manual_seed(0))
    a, b = _erased_rectangles(theirs), _erased_rectangles(ours)
    assert abs(len(a) - len(b)) / count < 4 * (2 * 0.25 / count) ** 0.5
    critical = 1.95 * ((len(a) + len(b)) / (len(a) * len(b))) ** 0.5  # KS at alpha = 0.001
    for column, name in enumerate(('top', 'left', 'height', 'width')):
        assert _ks_distance(a[:, column], b[:, column]) < critical, name
    assert _ks_distance(a[:, 2] * a[:, 3], b[:, 2] * b[:, 3]) < critical, 'area'
    assert (b[:, 0] + b[:, 2] <= 32).all() and (b[:, 1] + b[:, 3] <= 32).all()
    fill = ours[ours != 0]
    assert abs(fill.mean().item()) < 0.01 and abs(fill.std().item() - 1) < 0.01


def test_tensor_loader_shards_shuffles_and_evaluates_every_image_once():
    data = ImageTensors(torch.arange(50, dtype=torch.uint8).view(50, 1, 1, 1).expand(50, 3, 2, 2).contiguous(),
                        torch.arange(50))
    augment = BatchAugment((0.,) * 3, (1 / 255,) * 3, padding=0, hflip=0.)  # returns the pixel values

    def epoch_labels(rank, epoch, world_size=2):
        loader = TensorBatchLoader(data, 4, augment, shuffle=True, rank=rank, world_size=world_size, seed=1)
        loader.set_epoch(epoch)
        batches = list(loader)
        assert len(batches) == len(loader)
        for images, labels in batches:
            assert torch.equal(images[:, 0, 0, 0].round().long(), labels)  # images travel with their labels
        return torch.cat([labels for _, labels in batches]).tolist()

    rank0, rank1 = epoch_labels(0, 0), epoch_labels(1, 0)
    assert len(rank0) == len(rank1) == 24  # 25 images a rank, incomplete batches dropped
    assert not set(rank0) & set(rank1)
    assert epoch_labels(0, 0) == rank0 and epoch_labels(0, 1) != rank0
    evaluation = TensorBatchLoader(data, 8, rank=1, world_size=3)
    assert len(evaluation) == 3
    assert torch.cat([labels for _, labels in evaluation]).tolist() == list(range(1, 50, 3))
    with pytest.raises(ValueError, match='augment'):
        TensorBatchLoader(data, 4, shuffle=True)


def test_holdout_split_is_disjoint_and_seeded(image_folder):
    train = build_dataset('', str(image_folder), 'train')
    rest, held = holdout_split(train, 10, seed=4)
    assert len(rest) == 62 and len(held) == 10 and not set(rest.indices) & set(held.indices)
    assert holdout_split(train, 10, seed=4)[1].indices == held.indices
    assert holdout_split(train, 10, seed=5)[1].indices != held.indices
    with pytest.raises(ValueError, match='--holdout'):
        holdout_split(train, 72)


@pytest.mark.parametrize('in_memory', [False, True], ids=['workers', 'in-memory'])
def test_build_loaders_leaves_the_split_untransformed_and_set_epoch_fixes_the_order(image_folder, in_memory):
    """One call gives both loaders, from one copy of the split (72 images, 8 held out); the split itself
    keeps no transform, and the training loader's order is a function of the epoch alone."""
    from timm_ran import train
    from timm_ran.training.data import class_names_of
    from timm_ran.training.loaders import build_loaders
    args = train.build_parser().parse_args(['--data-dir', str(image_folder), '--batch-size', '16', '--holdout', '8',
                                            '--reprob', '0'] + (['--in-memory'] if in_memory else []))
    split = build_dataset('', str(image_folder), 'train')
    env = dict(world_size=1, rank=0, device=torch.device('cpu'))
    train_loader, eval_loader = build_loaders(args, env, split, class_names_of(split), CIFAR)
    assert split.transform is None
    assert sum(len(labels) for _, labels in eval_loader) == 8

    def order(epoch):
        train_loader.set_epoch(epoch)
        batches = list(train_loader)
        assert [tuple(images.shape) for images, _ in batches] == [(16, 3, 32, 32)] * 4  # 64 of 64: none dropped
        return torch.cat([labels for _, labels in batches]).tolist()
    assert order(3) == order(3) != order(4)


def test_reflect_padding_matches_torchvision():
    """The per-image path pads PIL images with torchvision's reflect mode; the batch path with torch's."""
    image = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    pil = TF.to_pil_image(image)
    padded = TF.pil_to_tensor(TF.pad(pil, 4, padding_mode='reflect'))
    assert torch.equal(padded.float(), F.pad(image[None].float(), (4,) * 4, mode='reflect')[0])
