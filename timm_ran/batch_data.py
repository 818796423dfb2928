"""Small-image data sets held in memory and augmented a whole batch at a time, in the training process.

On a CPU with few cores, data-loading worker processes take cores from the training threads: every
batch a worker decodes and augments stalls one of the threads the convolutions are split over, and the
others wait for it. For CIFAR-sized data there is no need for workers at all: the 50,000 training
images are 150 MB as uint8, decoded once at start, and the CIFAR augmentation (paper Sec. 4.1: 4-pixel
padding, random crop, horizontal flip; optionally random erasing) costs little on a whole batch of
tensors. On a GPU the decoded images are held on the device and batches are cut and augmented there.
``python -m timm_ran.train --in-memory`` uses this path; the augmentation draws from the same
distributions as the per-image one of ``timm_ran.data.small_image_train_transform`` (tested), and the
evaluation images are exactly those of the per-image evaluation transform (they are that transform's
output, computed once).
"""
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from timm.data.random_erasing import RandomErasing
from torch.utils.data import Dataset

from .data import epoch_seed, set_transform

__all__ = ['ImageTensors', 'decode_images', 'transform_images', 'BatchAugment', 'TensorBatchLoader']


@dataclass
class ImageTensors:
    """A data set as two tensors: ``images`` (N, C, H, W) and ``labels`` (N,) int64."""
    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


def _stack(dataset: Dataset) -> ImageTensors:
    images, labels = [], []
    for index in range(len(dataset)):
        image, label = dataset[index]
        images.append(image)
        labels.append(int(label))
    return ImageTensors(torch.stack(images), torch.tensor(labels, dtype=torch.long))


def decode_images(dataset: Dataset) -> ImageTensors:
    """Decode every image of a ``build_dataset`` data set once, as uint8 (N, 3, H, W).

    The images must all have one size (CIFAR: 32x32); a data set of mixed sizes is an error.
    """
    from torchvision.transforms.functional import pil_to_tensor
    set_transform(dataset, lambda image: pil_to_tensor(image.convert('RGB')))
    try:
        return _stack(dataset)
    except RuntimeError as error:  # torch.stack of unequal sizes
        raise ValueError(f'in-memory data needs images of one size: {error}') from error
    finally:
        set_transform(dataset, None)


def transform_images(dataset: Dataset, transform: Callable) -> ImageTensors:
    """Apply ``transform`` (a deterministic evaluation transform) to every image once."""
    set_transform(dataset, transform)
    try:
        return _stack(dataset)
    finally:
        set_transform(dataset, None)


class BatchAugment:
    """CIFAR augmentation of a uint8 batch (B, C, H, W) to a normalised float batch, each image drawn
    independently: reflect-pad by ``padding`` and crop back to H x W at a random offset, flip
    horizontally with probability ``hflip``, scale to [0, 1] and normalise by ``mean``/``std``, then
    timm's per-image random erasing with probability ``reprob`` (pixel mode, as the per-image path).
    With ``output_size`` set (progressive resizing), the normalised batch is down-sampled to that size
    (bilinear, anti-aliased) before the erasing.

    The crop offsets and flips come from ``generator`` (a CPU generator, so a seed gives the same crops on
    every device); random erasing draws from Python's and torch's global generators, as timm's
    ``RandomErasing`` does (``timm_ran.train`` seeds both every epoch). ``device``: where the batches are
    (the augmentation runs there).
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], padding: int = 4, hflip: float = 0.5,
                 reprob: float = 0., device: Union[str, torch.device] = 'cpu'):
        if padding < 0:
            raise ValueError(f'padding must be >= 0, got {padding}')
        if not 0 <= hflip <= 1 or not 0 <= reprob <= 1:
            raise ValueError(f'hflip and reprob are probabilities in [0, 1], got hflip={hflip}, reprob={reprob}')
        self.padding, self.hflip = padding, hflip
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.random_erasing = RandomErasing(reprob, mode='pixel', device=str(device)) if reprob > 0 else None
        self.output_size: Optional[Tuple[int, int]] = None

    def crop_and_flip(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Random reflect-padded crops, flipped at random: float (B, C, H, W), values still 0..255."""
        batch, _, height, width = images.shape
        pad = self.padding
        padded = F.pad(images.float(), (pad, pad, pad, pad), mode='reflect') if pad else images.float()
        device = images.device
        top = torch.randint(0, 2 * pad + 1, (batch, 1, 1), generator=generator).to(device)
        left = torch.randint(0, 2 * pad + 1, (batch, 1, 1), generator=generator).to(device)
        flip = (torch.rand(batch, generator=generator) < self.hflip).to(device)
        cols = torch.arange(width, device=device).view(1, 1, width)
        cols = torch.where(flip.view(batch, 1, 1), width - 1 - cols, cols)  # a flip reads the columns backwards
        rows = top + torch.arange(height, device=device).view(1, height, 1)  # (B, H, 1)
        cols = left + cols  # (B, 1, W)
        index = torch.arange(batch, device=device).view(batch, 1, 1)
        return padded.permute(0, 2, 3, 1)[index, rows, cols].permute(0, 3, 1, 2)  # gathered as (B, H, W, C)

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(f'images must be a uint8 (B, C, H, W) batch, got {images.dtype} {tuple(images.shape)}')
        out = self.crop_and_flip(images, generator).div_(255).sub_(self.mean).div_(self.std).contiguous()
        if self.output_size is not None and tuple(self.output_size) != tuple(out.shape[-2:]):
            out = F.interpolate(out, size=self.output_size, mode='bilinear', antialias=True, align_corners=False)
        if self.random_erasing is not None:
            out = self.random_erasing(out)
        return out


class TensorBatchLoader:
    """Batches of an ``ImageTensors`` data set, an iterable like a ``DataLoader``.

    Training (``shuffle=True``): every epoch a permutation drawn from ``seed`` and the epoch
    (``set_epoch``), the same on every rank, of which rank r takes every world_size-th image, padded by
    repetition to a multiple of world_size as ``DistributedSampler`` does; incomplete batches are
    dropped and each batch goes through ``augment``. Evaluation (``shuffle=False``): every image exactly
    once across the ranks, in order, unchanged. ``device``: the images and labels are moved there once
    (a GPU holds CIFAR-10's 150 MB easily), and batches are cut and augmented there.
    """

    def __init__(self, data: ImageTensors, batch_size: int, augment: Optional[BatchAugment] = None,
                 shuffle: bool = False, rank: int = 0, world_size: int = 1, seed: int = 0,
                 device: Union[str, torch.device] = 'cpu'):
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        if shuffle and augment is None:
            raise ValueError('a training loader (shuffle=True) needs an augment')
        self.dataset = ImageTensors(data.images.to(device), data.labels.to(device))
        self.batch_size, self.augment, self.shuffle = batch_size, augment, shuffle
        self.rank, self.world_size, self.seed, self.epoch = rank, world_size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _indices(self) -> torch.Tensor:
        count = len(self.dataset)
        if not self.shuffle:
            return torch.arange(self.rank, count, self.world_size)
        order = torch.randperm(count, generator=torch.Generator().manual_seed(self.seed + self.epoch))
        total = -(-count // self.world_size) * self.world_size
        order = torch.cat([order, order[:total - count]])
        return order[self.rank:total:self.world_size]

    def __len__(self) -> int:
        if self.shuffle:
            return -(-len(self.dataset) // self.world_size) // self.batch_size
        return -(-len(self._indices()) // self.batch_size)

    def __iter__(self) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
        indices = self._indices()
        generator = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch, self.rank))
        stop = len(self) * self.batch_size
        for start in range(0, stop, self.batch_size):
            batch = indices[start:start + self.batch_size].to(self.dataset.labels.device)
            images, labels = self.dataset.images[batch], self.dataset.labels[batch]
            yield (self.augment(images, generator) if self.augment is not None else images), labels
