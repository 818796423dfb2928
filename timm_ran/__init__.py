"""Residual Attention Networks (Wang et al., CVPR 2017) as timm models.

Importing this package registers the models with timm, e.g. ``timm.create_model('attention56')``;
``MODEL_NAMES`` lists them.
"""
from .ran import MODEL_NAMES, ResidualAttentionNet

__version__ = '0.1.0'
__all__ = ['MODEL_NAMES', 'ResidualAttentionNet', '__version__']
