"""The training and evaluation loaders of a ``timm_ran.train`` run, from one call: ``build_loaders``.

Two paths give the same batches in distribution: ``DataLoader`` s over per-image transforms (any image
size, worker processes), and with ``--in-memory`` ``TensorBatchLoader`` s over the images decoded once
(``timm_ran.training.batch_data``). Either training loader has one ``set_epoch(epoch)``, which fixes that
epoch's order and augmentation from the run's seed, so a resumed epoch repeats the uninterrupted one.
"""
import logging
from typing import Any, Dict, Sequence, Tuple, Union

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ..errors import InputError
from .batch_data import BatchAugment, TensorBatchLoader, decode_images, transform_images
from .data import EVAL_SPLITS, NoisyLabels, Transformed, build_dataset, build_transform, holdout_split, shuffle_seed

__all__ = ['HOLDOUT_FRACTION', 'EpochDataLoader', 'build_loaders']

_logger = logging.getLogger('timm_ran.train')
HOLDOUT_FRACTION = 0.1  # of the training images, evaluated on when --data-dir has no evaluation split


class EpochDataLoader(DataLoader):
    """A ``DataLoader`` whose ``set_epoch`` reshuffles its ``DistributedSampler`` and reseeds its workers'
    base seed for that epoch (what ``TensorBatchLoader.set_epoch`` does in memory)."""

    def __init__(self, dataset: Dataset, seed: int, **kwargs: Any):
        super().__init__(dataset, generator=torch.Generator().manual_seed(seed), **kwargs)
        self.seed = seed

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)
        self.generator.manual_seed(shuffle_seed(self.seed, epoch))


def _fit_batch_size(args, env, train_size: int) -> None:
    """Reduce ``--batch-size`` to the training images of one rank when they are fewer (a full batch is the
    unit of a step, and the last partial batch is dropped), with a warning; none at all is an error."""
    per_rank = train_size // env['world_size']
    if per_rank == 0:
        raise InputError(f'the training split of --data-dir {args.data_dir!r} has {train_size} images, fewer than '
                         f'the {env["world_size"]} processes training: nothing to train on')
    if per_rank < args.batch_size:
        if env['rank'] == 0:
            _logger.warning(f'--batch-size {args.batch_size} is more than the {per_rank} training images of each '
                            f'process: training with batches of {per_rank}')
        args.batch_size = per_rank


def _data_loader(dataset: Dataset, args, env, training: bool) -> DataLoader:
    """Training: a shuffled shard per rank, the last partial batch dropped. Evaluation: every image exactly
    once across the ranks (no padding), so the metrics are those of the whole split."""
    common = dict(batch_size=args.batch_size, num_workers=args.workers, pin_memory=env['device'].type == 'cuda',
                  persistent_workers=False, seed=args.seed)
    if training:
        sampler = DistributedSampler(dataset, num_replicas=env['world_size'], rank=env['rank'], shuffle=True,
                                     seed=args.seed, drop_last=True)
        return EpochDataLoader(dataset, sampler=sampler, drop_last=True, **common)
    return EpochDataLoader(dataset, sampler=range(env['rank'], len(dataset), env['world_size']), **common)


def build_loaders(args, env: Dict[str, Any], train_split: Dataset, class_names: Sequence[str],
                  data_config: Dict[str, Any]) -> Tuple[Union[DataLoader, TensorBatchLoader], ...]:
    """The training and evaluation loaders of a run: ``train_split`` is its training split without a
    transform (``build_dataset``); the evaluation images are ``--val-split``, or with ``--holdout N`` (or when
    ``--data-dir`` has no evaluation split, ``HOLDOUT_FRACTION`` of them) held out of ``train_split``.
    ``args`` are ``timm_ran.train``'s; ``--batch-size`` shrinks to the training images when they are fewer."""
    eval_transform = build_transform(data_config, False, upscale_from=args.upscale_from)
    if args.holdout is None and args.val_split is None:
        args.holdout = max(1, round(HOLDOUT_FRACTION * len(train_split)))
        if env['rank'] == 0:
            _logger.info(f'{args.data_dir} has no {", ".join(EVAL_SPLITS)} split: evaluating on a seeded '
                         f'{args.holdout} of its {len(train_split)} training images, held out of training (--seed)')
    if args.holdout is not None:
        train_images, eval_images = holdout_split(train_split, args.holdout, seed=args.seed)
    else:
        train_images = train_split
        eval_images = build_dataset(args.dataset, args.data_dir, args.val_split, subset=args.val_subset,
                                    seed=args.seed, class_names=class_names)
    _fit_batch_size(args, env, len(train_images))
    if args.label_noise > 0:
        train_images = NoisyLabels(train_images, args.label_noise, len(class_names), seed=args.seed)
        if env['rank'] == 0:
            _logger.info(f'label noise: {train_images.num_flipped} of {len(train_images)} training labels flipped')
    if not args.in_memory:
        train_transform = build_transform(data_config, True, args.aa, args.reprob, args.hflip, args.upscale_from,
                                          args.train_crop, tuple(args.scale))
        return (_data_loader(Transformed(train_images, train_transform), args, env, training=True),
                _data_loader(Transformed(eval_images, eval_transform), args, env, training=False))

    model_size = tuple(data_config['input_size'][-2:])
    if args.aa or args.upscale_from:
        raise InputError('--in-memory augments with pad-crop, flip and random erasing only; '
                         'it cannot be combined with --aa or --upscale-from')
    train_data = decode_images(train_images)
    if tuple(train_data.images.shape[-2:]) != model_size:
        raise InputError(f'--in-memory needs training images of the model\'s input size {model_size}, '
                         f'got {tuple(train_data.images.shape[-2:])}')
    device = env['device']
    augment = BatchAugment(data_config['mean'], data_config['std'], hflip=args.hflip, reprob=args.reprob,
                           device=device)
    common = dict(batch_size=args.batch_size, rank=env['rank'], world_size=env['world_size'], seed=args.seed,
                  device=device)
    return (TensorBatchLoader(train_data, augment=augment, shuffle=True, low_res=args.low_res, **common),
            TensorBatchLoader(transform_images(eval_images, eval_transform), **common))
