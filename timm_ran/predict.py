"""Classify images: ``python -m timm_ran.predict --model attention56 --pretrained IMAGE...``.

Each image (any size or format PIL reads) is prepared with the model's own pretrained data config
(resize, crop, normalisation) and the top-k classes are printed with their probabilities.
"""
import json
from typing import Any, Dict, List, Optional, Tuple

import torch
from PIL import Image

from .cli import (
    ToolParser, add_model_arguments, class_names, eval_transform, int_at_least, load_image, load_model, run_tool)
from .training.files import atomic_write_text


@torch.no_grad()
def predict(model: torch.nn.Module, images: List[Tuple[str, Image.Image]], topk: int = 5) -> List[Dict[str, Any]]:
    """Top-k (class, probability) for each (name, image)."""
    transform, names = eval_transform(model), class_names(model)
    results = []
    for name, image in images:
        probs = model(transform(image).unsqueeze(0)).softmax(dim=1)[0]
        values, indices = probs.topk(min(topk, probs.numel()))
        results.append(dict(image=name, top=[
            dict(label=names[i], index=i, probability=v) for v, i in zip(values.tolist(), indices.tolist())]))
    return results


def main(argv: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    parser = ToolParser(prog='python -m timm_ran.predict', description=__doc__.split('\n\n')[0])
    add_model_arguments(parser)
    parser.add_argument('images', nargs='+', metavar='IMAGE')
    parser.add_argument('--topk', type=int_at_least(1), default=5)
    parser.add_argument('--output', default=None, help='also write the results as JSON here')
    args = parser.parse_args(argv)
    images = [(path, load_image(path)) for path in args.images]  # a bad file fails before any work
    results = predict(load_model(args), images, args.topk)
    for result in results:
        print(result['image'])
        for entry in result['top']:
            print(f"  {entry['label']:<16} {100 * entry['probability']:6.2f}%")
    if args.output:
        atomic_write_text(args.output, json.dumps(results, indent=1) + '\n')
    return results


if __name__ == '__main__':
    run_tool(main)
