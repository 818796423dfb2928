"""Data sets and transforms for training and evaluation, on timm's readers and transforms.

A data set is named as in timm's train.py: ``--dataset ''`` (the default) reads ``--data-dir`` as an
image folder or a tar of class folders, one per split (``train/`` or ``train.tar``, ``val/`` or
``test.tar``, ...; the CIFAR-10 JPEG copy in ``../shared/data/cifar10-jpeg`` is of this kind);
``torch/cifar10`` and ``torch/cifar100`` read torchvision's CIFAR files from ``--data-dir``.
"""
import os
from typing import Any, Dict, Optional, Sequence

import torch
from timm.data import create_dataset, create_transform, rand_augment_transform
from timm.data.random_erasing import RandomErasing
from torch.utils.data import Dataset, Subset
from torchvision import transforms

__all__ = ['resolve_split', 'build_dataset', 'set_transform', 'class_names_of', 'small_image_train_transform',
           'build_transform']

SMALL_IMAGE_MAX = 64  # inputs up to this size train with pad-and-crop (CIFAR style), larger with random resized crops


def resolve_split(root: str, split: str) -> str:
    """The folder or tar holding ``split`` under ``root``: ``root/split``, ``root/split.tar``, or
    ``root`` itself when it is already a split (a class-folder tree or a tar)."""
    if not os.path.exists(root):
        raise FileNotFoundError(f'--data-dir {root!r} does not exist')
    for candidate in (os.path.join(root, split), os.path.join(root, f'{split}.tar')):
        if os.path.exists(candidate):
            return candidate
    if os.path.isfile(root) and root.endswith('.tar'):
        return root
    entries = sorted(os.listdir(root)) if os.path.isdir(root) else []
    raise FileNotFoundError(
        f'no split {split!r} in --data-dir {root!r}: expected {split}/ or {split}.tar; found {entries[:10]}')


def small_image_train_transform(data_config: Dict[str, Any], auto_augment: Optional[str] = None,
                                reprob: float = 0., hflip: float = 0.5) -> transforms.Compose:
    """CIFAR augmentation (paper Sec. 4.1): 4-pixel padding, random crop, horizontal flip; optionally
    timm's RandAugment (``auto_augment='rand-m9-mstd0.5'``) and random erasing."""
    size = data_config['input_size'][-2:]
    ops = [transforms.RandomCrop(size, padding=4, padding_mode='reflect'), transforms.RandomHorizontalFlip(hflip)]
    if auto_augment:
        mean_pixel = tuple(round(255 * m) for m in data_config['mean'])
        ops.append(rand_augment_transform(auto_augment, dict(translate_const=int(size[0] * 0.45), img_mean=mean_pixel)))
    ops += [transforms.ToTensor(), transforms.Normalize(data_config['mean'], data_config['std'])]
    if reprob > 0:
        ops.append(RandomErasing(reprob, mode='pixel', device='cpu'))
    return transforms.Compose(ops)


def build_transform(data_config: Dict[str, Any], is_training: bool, auto_augment: Optional[str] = None,
                    reprob: float = 0., hflip: float = 0.5):
    """Training or evaluation transform for the model's data config (``timm.data.resolve_data_config``)."""
    if is_training and max(data_config['input_size'][-2:]) <= SMALL_IMAGE_MAX:
        return small_image_train_transform(data_config, auto_augment, reprob, hflip)
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
    """A timm data set (``create_dataset``) for ``split``, optionally a seeded random subset of it.

    ``class_names`` pins the label order (the training set's classes) for an evaluation split.
    """
    if name.startswith('torch/'):
        dataset = create_dataset(name, root=root, split=split, is_training=split == 'train', download=False)
    else:
        class_map = {c: i for i, c in enumerate(class_names)} if class_names else ''
        dataset = create_dataset(name, root=resolve_split(root, split), split=split, search_split=False,
                                 class_map=class_map)
    set_transform(dataset, transform)
    if subset is not None and subset < len(dataset):
        indices = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:subset]
        return Subset(dataset, indices.sort().values.tolist())
    return dataset


def _unwrap(dataset: Dataset) -> Dataset:
    return dataset.dataset if isinstance(dataset, Subset) else dataset


def set_transform(dataset: Dataset, transform) -> None:
    """Set the transform of a data set made by ``build_dataset`` (also through a ``Subset``)."""
    _unwrap(dataset).transform = transform


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
