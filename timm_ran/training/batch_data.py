"""Small-image data sets held in memory and augmented a whole batch at a time, in the training process.

On a CPU with few cores, data-loading worker processes take cores from the training threads: every
batch a worker decodes and augments stalls one of the threads the convolutions are split over, and the
others wait for it. For CIFAR-sized data there is no need for workers at all: the 50,000 training
images are 150 MB as uint8, decoded once at start, and the CIFAR augmentation (paper Sec. 4.1: 4-pixel
padding, random crop, horizontal flip; optionally random erasing) costs little on a whole batch of
tensors. On a GPU the decoded images are held on the device and batches are cut and augmented there.
``python -m timm_ran.train --in-memory`` uses this path; the augmentation draws from the same
distributions as the per-image one of ``timm_ran.training.data.small_image_train_transform`` (tested), and the
evaluation images are exactly those of the per-image evaluation transform (they are that transform's
output, computed once).
"""
import math
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from torchvision.transforms.functional import pil_to_tensor

from .data import Transformed, epoch_seed, shuffle_seed

__all__ = ['ImageTensors', 'decode_images', 'transform_images', 'BatchRandomErasing', 'BatchAugment',
           'TensorBatchLoader']


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


def _rgb_uint8(image) -> torch.Tensor:
    return pil_to_tensor(image.convert('RGB'))


def decode_images(dataset: Dataset) -> ImageTensors:
    """Decode every image of a ``build_dataset`` data set without a transform once, as uint8 (N, 3, H, W).

    The images must all have one size (CIFAR: 32x32); a data set of mixed sizes is an error.
    """
    try:
        return _stack(Transformed(dataset, _rgb_uint8))
    except RuntimeError as error:  # torch.stack of unequal sizes
        raise ValueError(f'in-memory data needs images of one size: {error}') from error


def transform_images(dataset: Dataset, transform: Callable) -> ImageTensors:
    """Apply ``transform`` (a deterministic evaluation transform) to every image of a ``build_dataset`` data
    set without a transform, once."""
    return _stack(Transformed(dataset, transform))


class BatchRandomErasing:
    """timm's ``RandomErasing`` in pixel mode (Zhong et al., 2017: one rectangle per image with probability
    ``probability``, of ``min_area``..``max_area`` of the image and an aspect ratio log-uniform in
    ``min_aspect``..1/``min_aspect``, drawn up to 10 times until it fits, filled with per-pixel standard normal
    noise) for a whole batch in a few batched operations, where timm's loops over the images in Python and
    launches several kernels for each erased one. The same distribution (tests/test_batch_data.py compares
    the two, seeded); the rectangles are drawn from ``generator`` (a CPU generator, like the crops), the noise
    from the device's global generator, like timm's."""

    ATTEMPTS = 10  # timm's

    def __init__(self, probability: float, min_area: float = 0.02, max_area: float = 1 / 3, min_aspect: float = 0.3):
        if not 0 <= probability <= 1:
            raise ValueError(f'probability must be in [0, 1], got {probability}')
        self.probability, self.min_area, self.max_area = probability, min_area, max_area
        self.log_aspect = (math.log(min_aspect), math.log(1 / min_aspect))

    def rectangles(self, batch: int, height: int, width: int, generator: torch.Generator) -> torch.Tensor:
        """(batch, 4) int64 top, left, h, w of each image's rectangle; h = w = 0 where nothing is erased."""
        shape = (batch, self.ATTEMPTS)
        area = height * width * (self.min_area + (self.max_area - self.min_area) * torch.rand(shape, generator=generator,
                                                                                              dtype=torch.float64))
        aspect = torch.exp(self.log_aspect[0] + (self.log_aspect[1] - self.log_aspect[0]) *
                           torch.rand(shape, generator=generator, dtype=torch.float64))
        h, w = torch.round(torch.sqrt(area * aspect)).long(), torch.round(torch.sqrt(area / aspect)).long()
        fits = (h < height) & (w < width)
        first = torch.where(fits.any(1), fits.long().argmax(1), -1)  # the first attempt that fits, as timm takes
        erased = (torch.rand(batch, generator=generator) < self.probability) & (first >= 0)
        pick = first.clamp(min=0).unsqueeze(1)
        h, w = h.gather(1, pick).squeeze(1) * erased, w.gather(1, pick).squeeze(1) * erased
        top = (torch.rand(batch, generator=generator, dtype=torch.float64) * (height - h + 1)).long()
        left = (torch.rand(batch, generator=generator, dtype=torch.float64) * (width - w + 1)).long()
        return torch.stack([top, left, h, w], 1)

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        batch, _, height, width = images.shape
        top, left, h, w = self.rectangles(batch, height, width, generator).to(images.device).unbind(1)
        rows = torch.arange(height, device=images.device).view(1, height, 1)
        cols = torch.arange(width, device=images.device).view(1, 1, width)
        inside = ((rows >= top.view(-1, 1, 1)) & (rows < (top + h).view(-1, 1, 1)) &
                  (cols >= left.view(-1, 1, 1)) & (cols < (left + w).view(-1, 1, 1))).unsqueeze(1)
        return torch.where(inside, torch.randn_like(images), images)


class BatchAugment:
    """CIFAR augmentation of a uint8 batch (B, C, H, W) to a normalised float batch, each image drawn
    independently: reflect-pad by ``padding`` and crop back to H x W at a random offset, flip
    horizontally with probability ``hflip``, scale to [0, 1] and normalise by ``mean``/``std``, then
    random erasing with probability ``reprob`` (timm's pixel mode, as the per-image path, batched:
    ``BatchRandomErasing``).
    With ``output_size`` set (progressive resizing), the normalised batch is down-sampled to that size
    (bilinear, anti-aliased) before the erasing.

    The crop offsets, flips and erased rectangles come from ``generator`` (a CPU generator, so a seed gives the
    same ones on every device); the erasing noise from torch's global generator (``timm_ran.train`` seeds it
    every epoch). ``device``: where the batches are (the augmentation runs there).
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
        self.random_erasing = BatchRandomErasing(reprob) if reprob > 0 else None
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
            out = self.random_erasing(out, generator)
        return out


class TensorBatchLoader:
    """Batches of an ``ImageTensors`` data set, an iterable like a ``DataLoader``.

    Training (``shuffle=True``): every epoch a permutation drawn from ``seed`` and the epoch
    (``set_epoch``), the same on every rank, of which rank r takes every world_size-th image, padded by
    repetition to a multiple of world_size as ``DistributedSampler`` does; incomplete batches are
    dropped and each batch goes through ``augment``. Evaluation (``shuffle=False``): every image exactly
    once across the ranks, in order, unchanged. ``device``: the images and labels are moved there once
    (a GPU holds CIFAR-10's 150 MB easily), and batches are cut and augmented there. ``low_res``: (SIZE,
    EPOCHS), the first EPOCHS epochs train at SIZE x SIZE (progressive resizing, ``BatchAugment.output_size``).
    """

    def __init__(self, data: ImageTensors, batch_size: int, augment: Optional[BatchAugment] = None,
                 shuffle: bool = False, rank: int = 0, world_size: int = 1, seed: int = 0,
                 device: Union[str, torch.device] = 'cpu', low_res: Optional[Tuple[int, int]] = None):
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        if shuffle and augment is None:
            raise ValueError('a training loader (shuffle=True) needs an augment')
        self.dataset = ImageTensors(data.images.to(device), data.labels.to(device))
        self.batch_size, self.augment, self.shuffle, self.low_res = batch_size, augment, shuffle, low_res
        self.rank, self.world_size, self.seed, self.epoch = rank, world_size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose order, augmentation and resolution the next pass draws."""
        self.epoch = epoch
        if self.augment is not None:
            low_res = self.low_res is not None and epoch < self.low_res[1]
            self.augment.output_size = (self.low_res[0],) * 2 if low_res else None

    def _indices(self) -> torch.Tensor:
        count = len(self.dataset)
        if not self.shuffle:
            return torch.arange(self.rank, count, self.world_size)
        order = torch.randperm(count, generator=torch.Generator().manual_seed(shuffle_seed(self.seed, self.epoch)))
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
