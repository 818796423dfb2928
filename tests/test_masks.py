"""Attention masks, prediction and mask pictures (timm_ran.predict, timm_ran.visualize)."""
import pytest
import torch
from PIL import Image

import timm
from timm_ran import predict, visualize
from timm_ran.models.ran import CIFAR10_CLASSES

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


@pytest.mark.parametrize('model_name, shapes', [
    ('attention56', [(0, 0, 64, 32), (1, 0, 128, 16), (2, 0, 256, 8)]),
    ('attention92', [(0, 0, 64, 32), (0, 1, 64, 32), (1, 0, 128, 16), (1, 1, 128, 16), (2, 0, 256, 8),
                     (2, 1, 256, 8)]),
    ('attention56_imagenet', [(0, 0, 256, 56), (1, 0, 512, 28), (2, 0, 1024, 14)]),
])
def test_forward_masks_shapes_and_range(model_name, shapes):
    model = timm.create_model(model_name).eval()
    size = model.pretrained_cfg['input_size'][-1]
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        logits, masks = model.forward_masks(x, masks_only=False)
        torch.testing.assert_close(logits, model(x))
    assert [(m.stage, m.index, m.mask.shape[1], m.mask.shape[-1]) for m in masks] == shapes
    for m in masks:
        assert m.mask.shape[0] == 2 and m.mask.shape[-2] == m.mask.shape[-1]
        assert m.mask.min() >= 0 and m.mask.max() <= 1  # mixed attention: a sigmoid


def test_forward_masks_are_the_masks_the_modules_apply():
    model = timm.create_model('attention56', zero_init_last=False).eval()
    captured = []
    for stage in model.stages:
        for block in stage.blocks:
            if hasattr(block, 'mask'):
                block.mask.act.register_forward_hook(lambda module, args, out: captured.append(out))
    x = torch.randn(2, 3, 33, 47)
    with torch.no_grad():
        masks = model.forward_masks(x)
    assert len(captured) == len(masks) == 3
    for m, c in zip(masks, captured):
        assert torch.equal(m.mask, c)


def test_forward_masks_under_bf16_autocast_and_no_grad():
    model = timm.create_model('attention56').eval()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        masks = model.forward_masks(torch.randn(1, 3, 32, 32))
    assert all(m.mask.dtype == torch.bfloat16 and not m.mask.requires_grad for m in masks)


@pytest.mark.parametrize('mask_act', ['channel', 'spatial'])
def test_forward_masks_other_activations(mask_act):
    model = timm.create_model('attention56', mask_act=mask_act).eval()
    with torch.no_grad():
        masks = model.forward_masks(torch.randn(1, 3, 32, 32))
    assert len(masks) == 3
    if mask_act == 'channel':
        torch.testing.assert_close(masks[0].mask.norm(dim=1), torch.ones(1, 32, 32))


@pytest.fixture
def photo(tmp_path):
    """A 50x70 picture (not CIFAR-sized) of a green square on red."""
    pixels = torch.zeros(50, 70, 3, dtype=torch.uint8)
    pixels[..., 0] = 200
    pixels[10:40, 20:50] = torch.tensor([20, 220, 30], dtype=torch.uint8)
    path = tmp_path / 'photo.png'
    Image.fromarray(pixels.numpy()).save(path)
    return path


def test_predict_end_to_end(photo, tmp_path, capsys):
    out = tmp_path / 'predictions.json'
    results = predict.main(['--model', 'attention56', '--pretrained', str(photo), str(photo), '--topk', '3',
                            '--output', str(out)])
    assert [r['image'] for r in results] == [str(photo)] * 2 and results[0] == results[1]
    top = results[0]['top']
    assert len(top) == 3 and all(entry['label'] in CIFAR10_CLASSES for entry in top)
    probabilities = [entry['probability'] for entry in top]
    assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1 + 1e-6
    assert top[0]['label'] in capsys.readouterr().out
    assert out.is_file()


def test_predict_rejects_a_file_that_is_not_an_image(tmp_path):
    text = tmp_path / 'notes.jpg'
    text.write_text('not a picture')
    with pytest.raises(ValueError, match='notes.jpg is not an image PIL can read'):
        predict.main(['--model', 'attention56', '--pretrained', str(text)])
    with pytest.raises(FileNotFoundError, match='missing.png: no such file'):
        predict.main(['--model', 'attention56', '--pretrained', str(tmp_path / 'missing.png')])


def test_visualize_end_to_end_writes_a_png_per_image(photo, tmp_path):
    second = tmp_path / 'second.jpg'
    Image.open(photo).convert('RGB').resize((20, 90)).save(second)
    paths = visualize.main(['--model', 'attention56', '--pretrained', str(photo), str(second),
                            '-o', str(tmp_path / 'masks.png'), '--channels', '2'])
    assert [p.name for p in paths] == ['masks-photo.png', 'masks-second.png']
    for path in paths:
        assert path.read_bytes()[:8] == PNG_MAGIC
        with Image.open(path) as picture:
            width, height = picture.size
        assert width > 300 and height > 3 * 100  # three rows of modules, four columns


def test_visualize_one_image_goes_to_the_named_file(photo, tmp_path):
    paths = visualize.main(['--model', 'attention56', '--pretrained', str(photo), '-o', str(tmp_path / 'm.png')])
    assert paths == [tmp_path / 'm.png'] and paths[0].read_bytes()[:8] == PNG_MAGIC
