"""Data sets and transforms for training and evaluation, on timm's readers and transforms.

A data set is named as in timm's train.py: ``--dataset ''`` (the default) reads ``--data-dir`` as an
image folder or a tar of class folders, one per split (``train/`` or ``train.tar``, ``val/`` or
``test.tar``, ...);
``torch/cifar10`` and ``torch/cifar100`` read torchvision's CIFAR files from ``--data-dir``.
"""
import math
import os
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import torch
from timm.data import create_dataset, create_transform, rand_augment_transform
from timm.data.transforms import RandomResizedCropAndInterpolation
from timm.data.random_erasing import RandomErasing
from torch.utils.data import Dataset, Subset
from torchvision import transforms

from ..errors import InputError, MissingPathError

__all__ = ['TRAIN_CROPS', 'EVAL_SPLITS', 'find_split', 'resolve_split', 'build_dataset', 'Transformed', 'class_names_of',
           'small_image_train_transform', 'build_transform', 'holdout_split', 'epoch_seed', 'shuffle_seed',
           'NoisyLabels']

SMALL_IMAGE_MAX = 64  # inputs up to this size train with pad-and-crop (CIFAR style), larger with random resized crops


def resolve_split(root: str, split: str) -> str:
    """The folder or tar holding ``split`` under ``root``: ``root/split``, ``root/split.tar``, or
    ``root`` itself when it is already a split (a class-folder tree or a tar)."""
    if not os.path.exists(root):
        raise MissingPathError(f'--data-dir {root!r} does not exist')
    found = _split_path(root, split)
    if found:
        return found
    if os.path.isfile(root) and root.endswith('.tar'):
        return root
    entries = sorted(os.listdir(root)) if os.path.isdir(root) else []
    raise MissingPathError(
        f'no split {split!r} in --data-dir {root!r}: expected {split}/ or {split}.tar; found {entries[:10]}')


TRAIN_CROPS = ('pad', 'rrc')
EVAL_SPLITS = ('val', 'validation', 'test')  # looked for in this order when no evaluation split is named


def find_split(root: str, candidates: Sequence[str] = EVAL_SPLITS) -> Optional[str]:
    """The first of ``candidates`` that ``root`` holds as a folder or tar, or None."""
    return next((split for split in candidates if _split_path(root, split)), None)


def _split_path(root: str, split: str) -> Optional[str]:
    """``root/split`` or ``root/split.tar``, whichever exists first, else None."""
    return next((path for path in (os.path.join(root, split), os.path.join(root, f'{split}.tar'))
                 if os.path.exists(path)), None)


def _resize_shorter(data_config: Dict[str, Any], size: Tuple[int, int]) -> transforms.Resize:
    """Resize the shorter side as timm's evaluation transform does (``size / crop_pct``), so a training crop
    shows the object at the scale the evaluation crop shows it. A no-op on an image of that size already."""
    interpolation = transforms.InterpolationMode(data_config.get('interpolation', 'bilinear'))
    return transforms.Resize(math.floor(min(size) / data_config.get('crop_pct', 1.)), interpolation=interpolation)


def small_image_train_transform(data_config: Dict[str, Any], auto_augment: Optional[str] = None,
                                reprob: float = 0., hflip: float = 0.5, upscale_from: Optional[int] = None,
                                crop: str = 'pad', scale: Tuple[float, float] = (0.35, 1.)) -> transforms.Compose:
    """Training augmentation for small inputs, on images of any size and shape:

    * ``crop='pad'``: the evaluation view (``timm.data.create_transform``: the shorter side resized to
      ``size / crop_pct``, a centre crop of the input size), then the paper's CIFAR augmentation (Sec. 4.1):
      reflect padding of 1/8 of the input size (4 pixels at 32x32), a random crop, a horizontal flip. On
      CIFAR's 32x32 images the resize and centre crop are no-ops, so this is exactly the paper's recipe; on a
      photo it shows the object at the evaluation's scale and place, shifted by at most 1/8 of the side;
    * ``crop='rrc'``: timm's random-resized crop of ``scale`` of the whole image's area (aspect 3/4-4/3), flip;

    optionally timm's RandAugment (``auto_augment='rand-m9-mstd0.5'``) and random erasing.

    ``upscale_from=S``: augment at S x S, then resize bicubically to the model's input size (CIFAR at
    224x224 for ``attnrefine_resnet8``, Wang, Refining Residual Mappings, Sec. 4).
    """
    if crop not in TRAIN_CROPS:
        raise InputError(f'--train-crop must be one of {", ".join(TRAIN_CROPS)}; got {crop!r}')
    model_size = tuple(data_config['input_size'][-2:])
    size = (upscale_from, upscale_from) if upscale_from else model_size
    if crop == 'pad':
        # the evaluation view (upscale_from: the images are that view), then the paper's pad-and-crop
        ops = [] if upscale_from else [_resize_shorter(data_config, size), transforms.CenterCrop(size)]
        ops.append(transforms.RandomCrop(size, padding=size[0] // 8, padding_mode='reflect'))
    else:
        ops = [RandomResizedCropAndInterpolation(size, scale=scale, interpolation=data_config.get('interpolation',
                                                                                                   'bilinear'))]
    ops.append(transforms.RandomHorizontalFlip(hflip))
    if auto_augment:
        mean_pixel = tuple(round(255 * m) for m in data_config['mean'])
        ops.append(rand_augment_transform(auto_augment, dict(translate_const=int(size[0] * 0.45), img_mean=mean_pixel)))
    ops += [transforms.ToTensor(), transforms.Normalize(data_config['mean'], data_config['std'])]
    if reprob > 0:
        ops.append(RandomErasing(reprob, mode='pixel', device='cpu'))
    if size != model_size:
        ops.append(_upscale(model_size))
    return transforms.Compose(ops)


def _upscale(size) -> transforms.Resize:
    return transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC, antialias=True)


def build_transform(data_config: Dict[str, Any], is_training: bool, auto_augment: Optional[str] = None,
                    reprob: float = 0., hflip: float = 0.5, upscale_from: Optional[int] = None,
                    crop: str = 'pad', scale: Tuple[float, float] = (0.35, 1.)):
    """Training or evaluation transform for the model's data config (``timm.data.resolve_data_config``).

    Inputs up to ``SMALL_IMAGE_MAX`` pixels train with ``small_image_train_transform`` (``crop``, ``scale``),
    larger ones with timm's ImageNet transforms; evaluation is timm's: the shorter side resized to
    ``size / crop_pct``, then a centre crop.

    ``upscale_from=S``: the images are S x S and up-sampled to the model's input size, after the CIFAR
    augmentation when training, as the only step (bicubic) when evaluating.
    """
    if upscale_from is not None:
        if not 0 < upscale_from <= SMALL_IMAGE_MAX:
            raise ValueError(f'upscale_from must be an image size in 1..{SMALL_IMAGE_MAX}, got {upscale_from}')
        if not is_training:
            return transforms.Compose([
                transforms.CenterCrop(upscale_from), transforms.ToTensor(),
                transforms.Normalize(data_config['mean'], data_config['std']),
                _upscale(tuple(data_config['input_size'][-2:]))])
    if is_training and (upscale_from or max(data_config['input_size'][-2:]) <= SMALL_IMAGE_MAX):
        return small_image_train_transform(data_config, auto_augment, reprob, hflip, upscale_from, crop, scale)
    return create_transform(
        **data_config, is_training=is_training, auto_augment=auto_augment, re_prob=reprob, hflip=hflip)


def build_dataset(
        name: str,
        root: str,
        split: str,
        transform=None,
        subset: Optional[int] = None,
        seed: int = 0,
        class_names: Optional[Sequence[str]] = None,
) -> Dataset:
    """A timm data set (``create_dataset``) for ``split`` with its ``transform`` (None: PIL images, to be
    shared by views that transform them differently, ``Transformed``), optionally a seeded random subset.

    ``class_names`` pins the label order (the training set's classes) for an evaluation split.
    """
    if name.startswith('torch/'):
        dataset = create_dataset(name, root=root, split=split, is_training=split == 'train', download=False,
                                 transform=transform)
    else:
        class_map = {c: i for i, c in enumerate(class_names)} if class_names else ''
        folder = resolve_split(root, split)
        try:
            dataset = create_dataset(name, root=folder, split=split, search_split=False, class_map=class_map,
                                     transform=transform)
        except RuntimeError as error:  # timm's folder reader: 'Found 0 images in subfolders of ...'
            if 'Found 0 images' not in str(error):
                raise
            raise MissingPathError(f'no images in the class folders of {folder!r} (split {split!r} of --data-dir '
                                   f'{root!r}): expected <class>/<image> files') from None
    if subset is not None and subset < len(dataset):
        indices = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:subset]
        return Subset(dataset, indices.sort().values.tolist())
    return dataset


def _unwrap(dataset: Dataset) -> Dataset:
    while isinstance(dataset, (Subset, Transformed)):
        dataset = dataset.dataset
    return dataset


class Transformed(Dataset):
    """The images of ``dataset`` (a ``build_dataset`` data set without a transform, or a ``Subset`` of one)
    through ``transform``, with their labels; the training and held-out views of one split share its data set."""

    def __init__(self, dataset: Dataset, transform: Callable):
        self.dataset, self.transform = dataset, transform

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        image, target = self.dataset[index]
        return self.transform(image), target


def holdout_split(dataset: Dataset, count: int, seed: int = 0) -> Tuple[Subset, Subset]:
    """Hold ``count`` images out of a training split for evaluation (recipe selection without the test set):
    a seeded random ``count`` of its images for evaluation, the rest for training, disjoint."""
    if not 0 < count < len(dataset):
        raise InputError(f'--holdout must be in 1..{len(dataset) - 1} (the training split has {len(dataset)} '
                         f'images), got {count}')
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))
    held, rest = order[:count].sort().values.tolist(), order[count:].sort().values.tolist()
    return Subset(dataset, rest), Subset(dataset, held)


def epoch_seed(seed: int, epoch: int, rank: int) -> int:
    """The seed of one epoch of one process, from the run's ``--seed``: what ``timm_ran.train`` seeds the
    process's generators with and ``TensorBatchLoader`` its batch augmentation, so a resumed epoch repeats
    the uninterrupted one."""
    return seed + 1_000_003 * (epoch + 1) + 7919 * rank


def shuffle_seed(seed: int, epoch: int) -> int:
    """The seed of one epoch's order of the training images, the same on every rank (each takes its share):
    ``DistributedSampler``'s own formula, which the in-memory loader uses too."""
    return seed + epoch


def class_names_of(dataset: Dataset) -> Sequence[str]:
    """Class names in label order, for a data set made by ``build_dataset``."""
    base = _unwrap(dataset)
    reader = getattr(base, 'reader', None)
    mapping = getattr(reader, 'class_to_idx', None) or getattr(reader, 'class_name_to_idx', None)
    if mapping:
        return [name for name, _ in sorted(mapping.items(), key=lambda item: item[1])]
    if getattr(base, 'classes', None):  # torchvision data sets
        return list(base.classes)
    raise ValueError(f'cannot read the class names of {type(base).__name__}')


class NoisyLabels(Dataset):
    """A data set whose labels are corrupted: ``round(fraction * len)`` images, drawn at random, get a
    label drawn uniformly from the other classes (paper Sec. 4.1, noisy labels: the confusion matrix
    Q_ii = r = 1 - fraction, Q_ij = (1 - r) / (C - 1), realised with exactly that fraction flipped).

    The corruption is fixed by ``seed`` (the same images and wrong labels every epoch and every run) and
    needs no pass over the data: the wrong label is the true one plus a random offset in 1..C-1, mod C.
    """

    def __init__(self, dataset: Dataset, fraction: float, num_classes: int, seed: int = 0):
        if not 0 <= fraction < 1:
            raise ValueError(f'label noise fraction must be in [0, 1), got {fraction}')
        if num_classes < 2:
            raise ValueError(f'label noise needs at least 2 classes, got num_classes={num_classes}')
        self.dataset, self.num_classes = dataset, num_classes
        generator = torch.Generator().manual_seed(seed)
        self.num_flipped = round(fraction * len(dataset))
        flipped = torch.randperm(len(dataset), generator=generator)[:self.num_flipped]
        self.offsets = torch.zeros(len(dataset), dtype=torch.long)
        self.offsets[flipped] = torch.randint(1, num_classes, (self.num_flipped,), generator=generator)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        image, target = self.dataset[index]
        return image, (int(target) + int(self.offsets[index])) % self.num_classes
