"""torch.hub entry points: one per registered timm_ran architecture (the RAN family and attnrefine_resnet8),
with the same name.

    model = torch.hub.load('<owner>/timm-ran', 'attention56', pretrained=False)
    model = torch.hub.load('.', 'attention92', source='local', num_classes=100)

Each entry forwards ``pretrained`` and any keyword argument to ``timm.create_model``.
"""
import timm

import timm_ran

dependencies = ['torch', 'torchvision', 'timm', 'huggingface_hub', 'safetensors']


def _entrypoint(model_name: str):
    def entrypoint(pretrained: bool = False, **kwargs):
        return timm.create_model(model_name, pretrained=pretrained, **kwargs)

    entrypoint.__name__ = entrypoint.__qualname__ = model_name
    entrypoint.__doc__ = (
        f'{timm.models.model_entrypoint(model_name).__doc__}\n\n'
        f'Same as ``timm.create_model({model_name!r}, pretrained=pretrained, **kwargs)``.'
    )
    return entrypoint


for _name in timm_ran.MODEL_NAMES + timm_ran.ATTNREFINE_MODEL_NAMES:
    globals()[_name] = _entrypoint(_name)
