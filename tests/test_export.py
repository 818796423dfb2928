"""TorchScript, torch.compile, FX and ONNX export."""
import pytest
import timm
import torch
from conftest import LAYOUT_IDS, LAYOUTS, small_input_size
from timm.models._features_fx import FeatureGraphNet



@pytest.mark.parametrize('model_name, kwargs', LAYOUTS, ids=LAYOUT_IDS)
def test_torchscript(model_name, kwargs):
    model = timm.create_model(model_name, **kwargs).eval()
    scripted = torch.jit.script(model)
    x = torch.randn(2, 3, 33, 47)
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), model(x))


@pytest.mark.parametrize('model_name', ['attention56', 'attention56_imagenet'])
def test_fx_feature_extraction(model_name):
    model = timm.create_model(model_name).eval()
    fx_model = FeatureGraphNet(model, out_indices=(0, 1, 2, 3, 4))
    x = torch.randn(2, 3, *small_input_size(model_name))
    with torch.no_grad():
        torch.testing.assert_close(list(fx_model(x)), model.forward_intermediates(x, intermediates_only=True))


def test_onnx_export_runs_in_onnxruntime_at_other_sizes(tmp_path):
    import onnxruntime as ort  # the test extra installs it: a missing one fails, never skips
    model = timm.create_model('attention56').eval()
    height, width = torch.export.Dim('height', min=8, max=512), torch.export.Dim('width', min=8, max=512)
    path = tmp_path / 'attention56.onnx'
    torch.onnx.export(
        model, (torch.randn(2, 3, 32, 32),), str(path), dynamo=True,
        input_names=['images'], dynamic_shapes={'x': {2: height, 3: width}})
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    for size in [(32, 32), (33, 47)]:
        x = torch.randn(2, 3, *size)
        (logits,) = session.run(None, {'images': x.numpy()})
        with torch.no_grad():
            torch.testing.assert_close(torch.from_numpy(logits), model(x), rtol=1e-4, atol=1e-5)
