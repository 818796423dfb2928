"""The evaluation pass shared by ``timm_ran.validate`` and the periodic evaluations of ``timm_ran.train``:
sums of loss, top-5 hits and the confusion matrix over a loader, optionally with flip test-time
augmentation, and their summary as percentages.
"""
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Tuple, Union

import torch
import torch.nn.functional as F

from .runtime import autocast_context


@dataclass
class EvaluationSums:
    """What an evaluation pass adds up; sums rather than means, so that data-parallel ranks can add theirs."""
    loss_sum: float
    top5_hits: int
    confusion: torch.Tensor  # (num_classes, num_classes) counts; rows: true class, columns: predicted
    compute_time: float  # seconds in the model's forward, data loading excluded

    @property
    def count(self) -> int:
        return int(self.confusion.sum())

    @property
    def top1_hits(self) -> int:
        return int(self.confusion.diag().sum())

    def add(self, logits: torch.Tensor, targets: torch.Tensor) -> None:
        num_classes = self.confusion.shape[0]
        self.loss_sum += F.cross_entropy(logits, targets, reduction='sum').item()
        top5 = logits.topk(min(5, num_classes), dim=1).indices
        self.top5_hits += (top5 == targets[:, None]).any(dim=1).sum().item()
        self.confusion += torch.bincount(targets.cpu() * num_classes + logits.argmax(1).cpu(),
                                         minlength=num_classes ** 2).reshape(num_classes, num_classes)


def forward_logits(model: torch.nn.Module, images: torch.Tensor, device: torch.device, amp: bool,
             cuda_dtype: str) -> torch.Tensor:
    """fp32 logits of one batch; on CUDA waits for the GPU, so the time measured around it is the compute."""
    with autocast_context(device, amp, cuda_dtype):
        logits = model(images).float()
    if device.type == 'cuda':
        torch.cuda.synchronize()
    return logits


def _empty_sums(num_classes: int) -> EvaluationSums:
    return EvaluationSums(0., 0, torch.zeros(num_classes, num_classes, dtype=torch.long), 0.)


@torch.no_grad()
def evaluation_sums(model: torch.nn.Module, loader: Iterable, num_classes: int, device: torch.device,
                    amp: bool = False, channels_last: bool = False, cuda_dtype: str = 'bfloat16',
                    flip_tta: bool = False) -> Union[EvaluationSums, Tuple[EvaluationSums, EvaluationSums]]:
    """Runs ``model`` in eval mode over ``loader`` and adds up loss, top-5 hits and the confusion matrix.

    ``flip_tta``: also the test-time-augmented figures of the same pass, the logits averaged over the
    image and its horizontal mirror; returns ``(single_view, flip_tta)`` sums then.
    """
    model.eval()
    single, averaged = _empty_sums(num_classes), _empty_sums(num_classes)
    for images, targets in loader:
        images, targets = images.to(device), targets.to(device)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        started = time.perf_counter()
        logits = forward_logits(model, images, device, amp, cuda_dtype)
        single.compute_time += time.perf_counter() - started
        single.add(logits, targets)
        if flip_tta:
            mirrored = forward_logits(model, images.flip(-1), device, amp, cuda_dtype)
            averaged.compute_time += time.perf_counter() - started  # both views
            averaged.add((logits + mirrored) / 2, targets)
    return (single, averaged) if flip_tta else single


def summarise(sums: EvaluationSums) -> Dict[str, Any]:
    """Top-1 / top-5 (%), mean loss, images/s and confusion matrix of one evaluation."""
    return dict(
        top1=100. * sums.top1_hits / sums.count,
        top5=100. * sums.top5_hits / sums.count,
        loss=sums.loss_sum / sums.count,
        images=sums.count,
        images_per_second=sums.count / sums.compute_time,
        confusion_matrix=sums.confusion.tolist(),
    )
