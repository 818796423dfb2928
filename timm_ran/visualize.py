"""Draw what the network attends to:
``python -m timm_ran.visualize --model attention56 --pretrained IMAGE... -o masks.png``.

One picture per image: a row per attention module (labelled by stage and module), showing the input
as the model saw it, then its soft mask averaged over channels and the ``--channels`` mask channels of
highest spatial variance, each up-sampled to the input and overlaid as a heat map (paper Fig. 1 shows
such masks). The title carries the prediction. Each heat map is scaled to its own range, printed above it.
Needs matplotlib (``pip install "timm-ran[plot]"``).
"""
from pathlib import Path
from typing import List, Optional

import torch
import torch.nn.functional as F
from PIL import Image

from .cli import (
    ToolParser, add_model_arguments, class_names, eval_transform, int_at_least, load_image, load_model, run_tool)
from .errors import InputError
from .training.files import atomic_write
from .models.ran import AttentionModule


def _pyplot():
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError('timm_ran.visualize draws with matplotlib: pip install "timm-ran[plot]"') from None
    return plt


def output_paths(output: str, images: List[str]) -> List[Path]:
    """``output`` for one image; ``<output stem>-<image stem>.png`` beside it for several (numbered when
    two images share a name)."""
    output = Path(output)
    if len(images) == 1:
        return [output]
    stems = [Path(image).stem for image in images]
    if len(set(stems)) < len(stems):
        stems = [f'{i}-{stem}' for i, stem in enumerate(stems)]
    return [output.with_name(f'{output.stem}-{stem}{output.suffix or ".png"}') for stem in stems]


def _heat(mask_map: torch.Tensor, size) -> torch.Tensor:
    """A (H, W) map up-sampled to ``size`` and scaled to [0, 1]."""
    heat = F.interpolate(mask_map[None, None].float(), size=size, mode='bilinear', align_corners=False)[0, 0]
    return (heat - heat.min()) / (heat.max() - heat.min()).clamp_min(1e-8)


@torch.no_grad()
def draw(model: torch.nn.Module, image: Image.Image, path: Path, channels: int = 3, display: int = 160) -> None:
    """Write the mask picture of one image to ``path`` (PNG, atomically)."""
    plt = _pyplot()
    transform = eval_transform(model)
    x = transform(image).unsqueeze(0)
    logits, masks = model.forward_masks(x, masks_only=False)
    probs = logits.softmax(dim=1)[0]
    label = class_names(model)[probs.argmax().item()]

    cfg = model.pretrained_cfg
    mean, std = torch.tensor(cfg['mean'])[:, None, None], torch.tensor(cfg['std'])[:, None, None]
    shown = (x[0] * std + mean).clamp(0, 1)
    size = (display, round(display * shown.shape[2] / shown.shape[1]))
    shown = F.interpolate(shown[None], size=size, mode='bilinear', align_corners=False)[0].permute(1, 2, 0).numpy()

    columns = 2 + channels
    fig, axes = plt.subplots(len(masks), columns, figsize=(2.2 * columns, 2.3 * len(masks)), squeeze=False)
    for row, entry in zip(axes, masks):
        mask = entry.mask[0].float()
        spatial_var = mask.flatten(1).var(dim=1)
        picks = spatial_var.topk(min(channels, mask.shape[0])).indices.tolist()
        maps = [('mean over channels', mask.mean(dim=0))] + [(f'channel {c}', mask[c]) for c in picks]
        row[0].imshow(shown)
        row[0].set_title(f'stage {entry.stage + 1}, module {entry.index + 1}', fontsize=9)
        for ax, (name, mask_map) in zip(row[1:], maps):
            ax.imshow(shown)
            ax.imshow(_heat(mask_map, size).numpy(), cmap='jet', alpha=0.5)
            ax.set_title(f'{name}\n[{mask_map.min():.2f}, {mask_map.max():.2f}]', fontsize=8)
        for ax in row:
            ax.axis('off')
    fig.suptitle(f'{cfg.get("architecture", "model")}: {label} ({100 * probs.max():.1f}%)', fontsize=11)
    fig.tight_layout()
    atomic_write(str(path), lambda tmp: fig.savefig(tmp, dpi=90, format='png'))
    plt.close(fig)


def main(argv: Optional[List[str]] = None) -> List[Path]:
    parser = ToolParser(prog='python -m timm_ran.visualize', description=__doc__.split('\n\n')[0])
    add_model_arguments(parser)
    parser.add_argument('images', nargs='+', metavar='IMAGE')
    parser.add_argument('-o', '--output', required=True, help='PNG to write (several images: one file each)')
    parser.add_argument('--channels', type=int_at_least(1), default=3, help='mask channels of highest variance to show')
    parser.add_argument('--display-size', type=int_at_least(16), default=160,
                        help='height of the drawn input, in pixels')
    args = parser.parse_args(argv)
    images = [load_image(path) for path in args.images]  # a bad file fails before any work
    _pyplot()
    model = load_model(args)
    if not any(isinstance(m, AttentionModule) for m in model.modules()):
        raise InputError(f'{args.model} has no attention masks to draw (not a Residual Attention Network, or one '
                         f'without attention modules such as resnet164_cifar)')
    paths = output_paths(args.output, args.images)
    for name, image, path in zip(args.images, images, paths):
        draw(model, image, path, args.channels, args.display_size)
        print(f'{name} -> {path}')
    return paths


if __name__ == '__main__':
    run_tool(main)
