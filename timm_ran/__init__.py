"""Residual Attention Networks (Wang et al., CVPR 2017) as timm models.

Importing this package registers the models with timm, e.g. ``timm.create_model('attention56')``;
``MODEL_NAMES`` lists them. The package also registers a related design, the attention-refined ResNet
(``attnrefine_resnet8``, ``timm_ran.models.attnrefine``), listed in ``ATTNREFINE_MODEL_NAMES``.

The package has three parts: the model library (``timm_ran.models``, all that ``import timm_ran`` loads),
the training support the tools share (``timm_ran.training``), and the tools a user runs as
``python -m timm_ran.<tool>``: ``train``, ``validate``, ``predict``, ``visualize``, ``export_weights``,
``publish``, ``experiments``, ``sizes`` and ``timm_script``.
"""
from .models import ATTNREFINE_MODEL_NAMES, MODEL_NAMES, AttnRefineResNet, ResidualAttentionNet

__version__ = '0.2.0'
__all__ = ['MODEL_NAMES', 'ResidualAttentionNet', 'ATTNREFINE_MODEL_NAMES', 'AttnRefineResNet', '__version__']
