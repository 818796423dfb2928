"""Residual Attention Networks (Wang et al., CVPR 2017) as timm models.

Importing this package registers the models with timm, e.g. ``timm.create_model('attention56')``;
``MODEL_NAMES`` lists them. The package also registers a related design, the attention-refined ResNet
(``attnrefine_resnet8``, ``timm_ran.attnrefine``), listed in ``ATTNREFINE_MODEL_NAMES``.
"""
from .attnrefine import MODEL_NAMES as ATTNREFINE_MODEL_NAMES
from .attnrefine import AttnRefineResNet
from .ran import MODEL_NAMES, ResidualAttentionNet

__version__ = '0.1.0'
__all__ = ['MODEL_NAMES', 'ResidualAttentionNet', 'ATTNREFINE_MODEL_NAMES', 'AttnRefineResNet', '__version__']
