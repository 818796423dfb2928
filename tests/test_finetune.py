"""Fine-tuning on one's own photos, end to end: train, predict, export, publish, load back.

The photos (``conftest.photo_folder``) have varied sizes and shapes, as a user's folder has, never the
32x32 of CIFAR.
"""
import json
import logging

import pytest
import torch
from huggingface_hub import metadata_load
from safetensors import safe_open

import timm
from timm_ran import export_weights, predict, publish, train, validate
from timm_ran.cli import build_model, eval_transform
from timm_ran.training.data import build_transform

from conftest import PHOTO_CLASSES, draw_photo
from test_cli import _fails_in_process

NAMES = sorted(PHOTO_CLASSES)


def _fine_tune(data_dir, output, *extra):
    return train.main(['--model', 'attention56', '--pretrained', '--data-dir', str(data_dir), '--epochs', '1',
                       '--lr', '0.02', '--workers', '0', '--output', str(output), '--no-progress', '--device', 'cpu',
                       *extra])


@pytest.fixture(scope='module')
def fine_tuned(photo_folder, tmp_path_factory):
    """attention56.cifar10 fine-tuned for 2 epochs on the photos, with the default batch of 128 (more than
    the 36 training photos), the class count and the evaluation split (val/) taken from the folder."""
    run = tmp_path_factory.mktemp('runs') / 'ft'
    result = _fine_tune(photo_folder, run, '--epochs', '2')
    return run, result


def test_fine_tuning_takes_classes_and_val_split_from_the_folder(fine_tuned, caplog):
    run, result = fine_tuned
    args = json.loads((run / 'args.json').read_text())
    assert args['val_split'] == 'val' and args['class_names'] == NAMES and args['num_classes'] == 3
    assert args['batch_size'] == 36  # reduced to the training photos
    history = result['history']
    assert [row['epoch'] for row in history] == [0, 1]
    assert all(row['train_loss'] > 0 and row['train_img_per_s'] * row['train_time'] == pytest.approx(36)
               for row in history)
    assert result['model'].num_classes == 3


def test_a_batch_larger_than_the_data_is_reduced_with_a_warning(photo_folder, tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        result = _fine_tune(photo_folder, tmp_path, '--lr', '0', '--warmup-lr', '0', '--batch-size', '500')
    assert '--batch-size 500 is more than the 36 training images of each process: training with batches of 36' \
        in caplog.text
    assert 'epoch 0: train loss' in caplog.text and 'Current checkpoints' not in caplog.text  # timm's saver is quiet
    assert result['history'][0]['train_img_per_s'] * result['history'][0]['train_time'] == pytest.approx(36)


def test_predict_names_the_classes_of_the_checkpoint(fine_tuned, photo_folder, capsys):
    run, _ = fine_tuned
    photo = photo_folder / 'val' / 'leaf' / '0.jpg'
    results = predict.main(['--model', 'attention56', '--checkpoint', str(run / 'last.pth.tar'), str(photo)])
    labels = [entry['label'] for entry in results[0]['top']]
    assert sorted(labels) == NAMES
    printed = capsys.readouterr().out
    assert all(name in printed for name in NAMES)


def test_validate_reads_classes_and_split_from_the_checkpoint_and_folder(fine_tuned, photo_folder):
    run, result = fine_tuned
    results = validate.main(['--model', 'attention56', '--checkpoint', str(run / 'last.pth.tar'),
                             '--data-dir', str(photo_folder), '--workers', '0'])
    assert results['data']['split'] == 'val' and results['class_names'] == NAMES and results['images'] == 12
    assert results['top1'] == pytest.approx(result['history'][-1]['eval_top1'])


def test_publish_export_and_create_model_keep_the_head_and_names(fine_tuned, tmp_path):
    run, _ = fine_tuned
    checkpoint = str(run / 'last.pth.tar')
    reference = build_model('attention56', checkpoint=checkpoint)
    assert reference.pretrained_cfg['label_names'] == NAMES
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = reference(x)

    folder = tmp_path / 'hub'
    publish.main(['--model', 'attention56', '--repo-id', 'me/attention56.photos', '--checkpoint', checkpoint,
                  '--dry-run', str(folder)])
    config = json.loads((folder / 'config.json').read_text())
    assert config['num_classes'] == 3 and config['label_names'] == NAMES
    assert 'description' not in config['pretrained_cfg']  # the shipped weights' figures are not these
    card = (folder / 'README.md').read_text()
    assert '| Classes | 3: apple, leaf, sky |' in card and 'CIFAR-10' not in card
    assert 'datasets' not in metadata_load(folder / 'README.md')  # not CIFAR-10's card
    assert 'Trained from `attention56`\'s pretrained weights with `timm_ran.train`: 2 epochs' in card

    exported = export_weights.export_weights(checkpoint, 'attention56.photos', folder=tmp_path / 'weights')
    with safe_open(str(exported), framework='pt') as f:
        assert json.loads(f.metadata()['label_names']) == NAMES

    for model in (timm.create_model(f'local-dir:{folder}', pretrained=True),
                  timm.create_model('attention56', pretrained=True, pretrained_cfg_overlay=dict(file=checkpoint)),
                  timm.create_model('attention56', pretrained=True, pretrained_cfg_overlay=dict(file=str(exported)))):
        assert model.num_classes == 3 and list(model.pretrained_cfg['label_names']) == NAMES
        with torch.no_grad():
            assert torch.equal(model.eval()(x), expected)
    # a count other than the file's asks for a new head, as with timm's own weights
    new_head = timm.create_model('attention56', pretrained=True, num_classes=5,
                                 pretrained_cfg_overlay=dict(file=checkpoint))
    assert new_head.num_classes == 5 and not new_head.pretrained_cfg.get('label_names')
    assert torch.equal(new_head.stem.conv.weight, reference.stem.conv.weight)


def test_one_folder_without_splits_trains_on_a_held_out_split(photo_folder, tmp_path):
    result = _fine_tune(photo_folder / 'train', tmp_path, '--lr', '0', '--warmup-lr', '0')
    args = json.loads((tmp_path / 'args.json').read_text())
    assert args['train_split'] == '.' and args['val_split'] is None and args['holdout'] == 4  # 10% of 36
    row = result['history'][0]
    assert row['train_img_per_s'] * row['train_time'] == pytest.approx(32) and not torch.isnan(
        torch.tensor(row['eval_top1']))


def _disc_fraction(image: torch.Tensor) -> float:
    """Share of the pixels of a normalised (3, H, W) image that are the red disc."""
    return ((image[0] > 1.0) & (image[1] < 0.)).float().mean().item()


@pytest.mark.parametrize('size', [(140, 60), (48, 120), (32, 32)])
def test_training_and_evaluation_see_the_object_at_the_same_scale(size):
    """A training crop of a photo must show the object as large as the evaluation crop does (not a random
    32-pixel patch of the full-size photo, which shows a part of it many times larger)."""
    model = timm.create_model('attention56')
    photo = draw_photo(*size, PHOTO_CLASSES['apple'], torch.Generator().manual_seed(0))
    config = dict(model.pretrained_cfg)
    evaluated = _disc_fraction(eval_transform(model)(photo))
    train_transform = build_transform(config, True, hflip=0.)
    torch.manual_seed(0)
    fractions = [_disc_fraction(train_transform(photo)) for _ in range(20)]
    assert 0.2 < evaluated < 0.35  # a disc of 60% of the shorter side, whole in the centre crop
    # a random crop moves the disc by up to 1/8 of the side, so a part of it may leave the crop
    assert all(abs(f - evaluated) < 0.25 * evaluated for f in fractions), (evaluated, fractions)


def test_bad_fine_tuning_inputs_are_one_error_line(fine_tuned, photo_folder, tmp_path, capsys):
    run, _ = fine_tuned
    common = ['--model', 'attention56', '--data-dir', photo_folder, '--epochs', '1', '--workers', '0']
    _fails_in_process(capsys, 'train', common + ['--num-classes', '2', '--output', tmp_path / 'a'],
                      '--num-classes 2 disagrees with the 3 classes of the training data (apple, leaf, sky): leave '
                      'it out to take the count from the data')
    _fails_in_process(capsys, 'train', common + ['--output', run],
                      f"--output '{run}' holds a run already (last.pth.tar, summary.json): continue it with --resume "
                      f"auto, or choose a new folder")
    _fails_in_process(capsys, 'predict', ['--model', 'attention56', '--checkpoint', run / 'last.pth.tar',
                                          '--num-classes', '10', photo_folder / 'val' / 'sky' / '0.jpg'],
                      'whose classifier has 3 outputs: leave --num-classes out')
    _fails_in_process(capsys, 'validate', ['--model', 'attention56', '--pretrained', '--data-dir',
                                           photo_folder / 'train'],
                      'holds none of the splits val, validation, test (folder or .tar): name the one to evaluate')
