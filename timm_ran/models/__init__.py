"""The model library: the networks (``ran``: the paper's Residual Attention Networks and their ResNet-164
baseline; ``attnrefine``: the attention-refined ResNet), the layers they share (``layers``), the shipped
weights (``pretrained``) and the reading of weight files (``checkpoints``). Importing it registers every
model with timm; it imports nothing from the training support or the tools."""
from .attnrefine import MODEL_NAMES as ATTNREFINE_MODEL_NAMES
from .attnrefine import AttnRefineResNet
from .ran import MODEL_NAMES, ResidualAttentionNet

__all__ = ['MODEL_NAMES', 'ResidualAttentionNet', 'ATTNREFINE_MODEL_NAMES', 'AttnRefineResNet']
