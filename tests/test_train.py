"""Training, evaluation and publishing entry points."""
import csv
import inspect
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import timm
import timm_ran
from timm_ran import publish, train, validate
from timm_ran.training import evaluation, run_log
from timm_ran.training.runtime import cpu_has_native_bf16

import run_report  # scripts/run_report.py (tests/conftest.py puts scripts/ on the path)

ROOT = Path(__file__).resolve().parents[1]


def _train_args(data_dir, output, *extra):
    return ['--model', 'attention56', '--data-dir', str(data_dir), '--batch-size', '16', '--workers', '0',
            '--output', str(output), '--no-progress', '--device', 'cpu', '--seed', '3', *extra]


def _epochs(output):
    with open(os.path.join(output, 'summary.csv'), newline='') as f:
        return [int(row['epoch']) for row in csv.DictReader(f)]


def test_training_learns_and_writes_its_run(image_folder, tmp_path):
    # bf16 autocast where the CPU runs it natively (AVX-512 BF16, AMX); emulated on AVX2 it is 9x slower
    amp = ['--amp'] if cpu_has_native_bf16() else []
    result = train.main(_train_args(image_folder, tmp_path, '--epochs', '3', '--lr', '0.05', *amp,
                                     '--channels-last', '--model-ema', '--model-ema-decay', '0.5'))
    history = result['history']
    assert [row['epoch'] for row in history] == [0, 1, 2] == _epochs(tmp_path)
    assert history[-1]['train_loss'] < history[0]['train_loss']
    assert history[-1]['eval_top1'] >= 95  # the colour tells the class: all but at most one of the 24 right
    for row in history:  # 72 images in batches of 16, the last partial one dropped: 64 trained per epoch
        assert row['train_img_per_s'] * row['train_time'] == pytest.approx(64)
    for name in ('last.pth.tar', 'model_best.pth.tar', 'summary.json', 'args.json', 'curves.png'):
        assert (tmp_path / name).is_file(), name
    assert (tmp_path / 'curves.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    checkpoint = torch.load(tmp_path / 'last.pth.tar', map_location='cpu', weights_only=False)
    assert checkpoint['epoch'] == 2 and 'state_dict_ema' in checkpoint
    [segment] = json.loads((tmp_path / 'segments.json').read_text())
    assert segment['device_type'] == 'cpu' and (segment['first_epoch'], segment['last_epoch']) == (0, 2)
    assert segment['code'].startswith(f'timm_ran {timm_ran.__version__}')


def test_resume_continues_exactly(image_folder, tmp_path):
    """The resume test of scripts/resume_check.py, in process: stopping after epoch 1 and resuming
    gives the weights and log of the uninterrupted run."""
    straight = train.main(_train_args(image_folder, tmp_path / 'a', '--epochs', '2', '--mixup', '0.2',
                                      '--drop-path', '0.1'))
    train.main(_train_args(image_folder, tmp_path / 'b', '--epochs', '2', '--mixup', '0.2', '--drop-path', '0.1'))
    # the run "b" is rolled back to its epoch-1 checkpoint and a half-written log, as a kill leaves it
    os.replace(tmp_path / 'b' / 'checkpoint-0.pth.tar', tmp_path / 'b' / 'last.pth.tar')
    resumed = train.main(_train_args(image_folder, tmp_path / 'b', '--epochs', '2', '--mixup', '0.2',
                                     '--drop-path', '0.1', '--resume', 'auto'))
    assert [row['epoch'] for row in resumed['history']] == [0, 1] == _epochs(tmp_path / 'b')
    a, b = straight['model'].state_dict(), resumed['model'].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_in_memory_training_with_holdout_low_res_and_ema_warmup_resumes_exactly(image_folder, tmp_path, caplog):
    """--in-memory (batch augmentation with random erasing, progressive resizing for the first epoch),
    evaluated on 16 training images held out after epoch 1 only (--eval-interval 2), stopped after epoch 0
    and resumed: the weights, EMA included, of the uninterrupted run."""
    extra = ('--epochs', '2', '--in-memory', '--reprob', '0.5', '--low-res', '24', '1', '--holdout', '16',
             '--model-ema', '--model-ema-warmup', '--smoothing', '0.1', '--eval-interval', '2')
    with caplog.at_level('INFO'):
        straight = train.main(_train_args(image_folder, tmp_path / 'a', *extra))
    assert '56 train / 16 eval images' in caplog.text
    for row in straight['history']:  # 56 images in batches of 16: 48 trained per epoch
        assert row['train_img_per_s'] * row['train_time'] == pytest.approx(48)
    train.main(_train_args(image_folder, tmp_path / 'b', *extra))
    os.replace(tmp_path / 'b' / 'checkpoint-0.pth.tar', tmp_path / 'b' / 'last.pth.tar')
    first_process = json.loads((tmp_path / 'b' / 'summary.json').read_text())
    resumed = train.main(_train_args(image_folder, tmp_path / 'b', *extra, '--resume', 'auto'))
    a, b = straight['model'].state_dict(), resumed['model'].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    ema_a = torch.load(tmp_path / 'a' / 'last.pth.tar', map_location='cpu', weights_only=False)['state_dict_ema']
    ema_b = torch.load(tmp_path / 'b' / 'last.pth.tar', map_location='cpu', weights_only=False)['state_dict_ema']
    assert all(torch.equal(ema_a[k], ema_b[k]) for k in ema_a)
    # the kept epoch 0 is the first process's row at full precision (not summary.csv's 6 figures)
    assert json.dumps(resumed['history'][0]) == json.dumps(first_process[0])
    for before, after in zip(straight['history'], resumed['history']):
        for key in ('train_loss', 'eval_loss', 'ema_loss'):
            assert after[key] == pytest.approx(before[key], rel=1e-5, nan_ok=True)
    first, last = straight['history']
    assert math.isnan(first['eval_top1']) and math.isnan(first['ema_loss']) and not math.isnan(last['eval_top1'])
    assert (tmp_path / 'a' / 'curves.png').is_file()
    # run b's log of segments: its first process trained epochs 0-1, of which epoch 1 was rolled back
    segments = json.loads((tmp_path / 'b' / 'segments.json').read_text())
    assert [(s['first_epoch'], s['last_epoch']) for s in segments] == [(0, 0), (1, 1)]
    assert segments[1]['command'].endswith('--resume auto') and segments[1]['command'].startswith('python -m timm_ran.train')
    assert all(s['wall_time_s'] > 0 and 'threads' in s['hardware'] for s in segments)
    # its report, and its logs copied where they can be committed
    copied = run_report.copy_logs(str(tmp_path / 'b'), str(tmp_path / 'results'), title='run b')
    assert copied == ['summary.csv', 'summary.json', 'segments.json', 'args.json', 'curves.png']
    report = (tmp_path / 'results' / 'README.md').read_text()
    assert report.startswith('# run b') and '2 of 2 epochs done (finished)' in report
    assert 'Last evaluation (epoch 1, on held-out 16 training images)' in report
    assert '| 1 | 0-0 (1) |' in report and '| 2 | 1-1 (1) |' in report and '--resume auto` |' in report
    assert not (tmp_path / 'results' / 'last.pth.tar').exists()
    # refreshing the report without a title keeps the committed heading; a new title replaces it
    run_report.copy_logs(str(tmp_path / 'b'), str(tmp_path / 'results'))
    assert (tmp_path / 'results' / 'README.md').read_text().startswith('# run b\n')
    run_report.copy_logs(str(tmp_path / 'b'), str(tmp_path / 'results'), title='run b, again')
    assert (tmp_path / 'results' / 'README.md').read_text().startswith('# run b, again\n')
    (tmp_path / 'results' / 'README.md').unlink()
    run_report.copy_logs(str(tmp_path / 'b'), str(tmp_path / 'results'))
    assert (tmp_path / 'results' / 'README.md').read_text().startswith('# attention56: training run\n')


@pytest.mark.parametrize('extra, message', [(('--low-res', '24', '1'), '--in-memory'),
                                            (('--in-memory', '--aa', 'rand-m9'), '--aa'),
                                            (('--torchcompile-mode', 'max-autotune'), 'needs --torchcompile')])
def test_in_memory_options_are_checked(image_folder, tmp_path, extra, message):
    with pytest.raises(ValueError, match=message):
        train.main(_train_args(image_folder, tmp_path, '--epochs', '1', *extra))


@pytest.mark.parametrize('mode', [None, 'reduce-overhead'])
def test_the_compile_mode_reaches_torch_compile(image_folder, tmp_path, monkeypatch, mode):
    """--torchcompile-mode is torch.compile's mode (compiling itself is tested in tests/test_cuda.py and the
    fast-path tests); without it torch.compile gets its own default."""
    calls = []
    monkeypatch.setattr(torch, 'compile', lambda model, **kwargs: calls.append(kwargs) or model)
    train.main(_train_args(image_folder, tmp_path, '--epochs', '1', '--train-subset', '32', '--torchcompile',
                           *(['--compile-mode', mode] if mode else [])))
    assert calls == [dict(backend='inductor', mode=mode)]


def test_torchrun_two_processes_gloo(image_folder, tmp_path):
    command = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
               '-m', 'timm_ran.train', *_train_args(image_folder, tmp_path, '--epochs', '1')]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert 'on cpu x2' in done.stderr + done.stdout
    assert _epochs(tmp_path) == [0]


def test_resume_from_a_file_that_is_not_a_training_checkpoint_fails_clearly(image_folder, tmp_path):
    weights_only = tmp_path / 'weights.pth'
    torch.save(timm.create_model('attention56', num_classes=3).state_dict(), weights_only)
    with pytest.raises(ValueError, match=r"--resume '.*weights.pth' is not a checkpoint written by timm_ran.train: "
                                         r"it needs 'state_dict', 'optimizer' and 'epoch'"):
        train.main(_train_args(image_folder, tmp_path / 'run', '--epochs', '1', '--resume', str(weights_only)))
    not_torch = tmp_path / 'notes.txt'
    not_torch.write_text('not a checkpoint')
    with pytest.raises(ValueError, match=r"notes.txt cannot be loaded: it looks like a text file of 16 bytes starting "
                                         r"'not a checkpoint'"):
        train.main(_train_args(image_folder, tmp_path / 'run', '--epochs', '1', '--resume', str(not_torch)))


def test_fine_tune_pretrained_with_a_new_head(image_folder, tmp_path):
    result = train.main(_train_args(image_folder, tmp_path, '--epochs', '1', '--pretrained', '--num-classes', '3',
                                    '--lr', '0', '--warmup-lr', '0'))
    model = result['model']
    shipped = timm.create_model('attention56', pretrained=True).state_dict()
    tuned = model.state_dict()
    assert model.num_classes == 3 and tuned['head.fc.weight'].shape == (3, 256)
    backbone = [k for k in shipped if not k.startswith('head.fc') and 'num_batches_tracked' not in k
                and 'running' not in k]
    assert all(torch.equal(shipped[k], tuned[k]) for k in backbone)


def test_validate_reports_accuracy_loss_speed_and_confusion(image_folder, tmp_path):
    history = train.main(_train_args(image_folder, tmp_path / 'run', '--epochs', '2', '--lr', '0.05'))['history']
    out = tmp_path / 'val.json'
    results = validate.main(['--model', 'attention56', '--num-classes', '3', '--checkpoint',
                             str(tmp_path / 'run' / 'last.pth.tar'), '--data-dir', str(image_folder),
                             '--workers', '0', '--output', str(out), '--tta'])
    assert json.loads(out.read_text()) == json.loads(json.dumps(results))
    tta_confusion = torch.tensor(results['flip_tta']['confusion_matrix'])
    assert results['flip_tta']['images'] == 24 == tta_confusion.sum()
    assert results['flip_tta']['top1'] == pytest.approx(100 * tta_confusion.diag().sum().item() / 24)
    confusion = torch.tensor(results['confusion_matrix'])
    assert confusion.shape == (3, 3) and confusion.sum() == results['images'] == 24
    assert results['top1'] == pytest.approx(100 * confusion.diag().sum().item() / 24)
    assert results['top5'] == 100.0  # 3 classes
    assert results['class_names'] == ['blue', 'green', 'red']
    assert results['loss'] > 0 and results['images_per_second'] > 0
    # the training log's last evaluation saw the same weights and images
    assert results['top1'] == pytest.approx(history[-1]['eval_top1'])
    assert results['loss'] == pytest.approx(history[-1]['eval_loss'], rel=1e-5)


def test_evaluation_sums_match_a_direct_computation():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 7)
    batches = [(torch.randn(n, 4), torch.randint(0, 7, (n,))) for n in (5, 8, 3)]
    sums = evaluation.evaluation_sums(model, batches, 7, torch.device('cpu'))
    features, targets = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    with torch.no_grad():
        logits = model(features)
    assert sums.count == 16
    assert sums.top1_hits == (logits.argmax(1) == targets).sum().item()
    assert sums.top5_hits == (logits.topk(5, dim=1).indices == targets[:, None]).any(1).sum().item()
    assert sums.loss_sum == pytest.approx(torch.nn.functional.cross_entropy(logits, targets, reduction='sum').item())
    assert sums.confusion[targets[0], logits[0].argmax()] >= 1 and sums.confusion.sum(1).tolist() == \
        torch.bincount(targets, minlength=7).tolist()
    assert not model.training


def test_flip_tta_averages_the_logits_of_the_image_and_its_mirror():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 5))  # not mirror-invariant
    batches = [(torch.randn(n, 3, 4, 4), torch.randint(0, 5, (n,))) for n in (6, 4)]
    single, tta = evaluation.evaluation_sums(model, batches, 5, torch.device('cpu'), flip_tta=True)
    images, targets = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    with torch.no_grad():
        plain, averaged = model(images), (model(images) + model(images.flip(-1))) / 2
    assert single.loss_sum == pytest.approx(torch.nn.functional.cross_entropy(plain, targets, reduction='sum').item())
    assert tta.loss_sum == pytest.approx(torch.nn.functional.cross_entropy(averaged, targets, reduction='sum').item())
    assert tta.top1_hits == (averaged.argmax(1) == targets).sum().item() and tta.count == 10
    assert tta.loss_sum != pytest.approx(single.loss_sum)


def test_publish_dry_run_loads_back_with_identical_logits(tmp_path):
    checkpoint = tmp_path / 'weights.pth'
    source = timm.create_model('attention56', zero_init_last=False).eval()
    torch.save(source.state_dict(), checkpoint)
    folder = tmp_path / 'hub'
    publish.main(['--model', 'attention56', '--repo-id', 'someone/attention56.cifar10', '--checkpoint',
                  str(checkpoint), '--dry-run', str(folder)])
    assert sorted(os.listdir(folder)) == ['README.md', 'config.json', 'model.safetensors']
    assert json.loads((folder / 'config.json').read_text())['architecture'] == 'attention56'
    assert "hf-hub:someone/attention56.cifar10" in (folder / 'README.md').read_text()
    loaded = timm.create_model(f'local-dir:{folder}', pretrained=True).eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), source(x))
    with pytest.raises(ValueError, match='exists already: choose a new folder'):
        publish.main(['--model', 'attention56', '--repo-id', 'someone/x', '--checkpoint', str(checkpoint),
                      '--dry-run', str(folder)])


def test_missing_split_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="no split 'train' in --data-dir"):
        train.main(_train_args(tmp_path, tmp_path / 'out', '--epochs', '1'))


def test_model_kwargs_and_label_noise(image_folder, tmp_path, caplog):
    caplog.set_level('INFO', logger='timm_ran.train')
    result = train.main(_train_args(image_folder, tmp_path, '--epochs', '1', '--model-kwargs',
                                     'attention_residual=False', 'mask_act=spatial', '--label-noise', '0.5'))
    modules = [m for m in result['model'].modules() if type(m).__name__ == 'AttentionModule']
    assert modules and all(not m.attention_residual and m.mask.act.__class__.__name__ == 'SpatialAttention'
                           for m in modules)
    assert 'label noise: 36 of 72 training labels flipped' in caplog.text
    saved = json.loads((tmp_path / 'args.json').read_text())
    assert saved['model_kwargs'] == dict(attention_residual=False, mask_act='spatial') and saved['label_noise'] == 0.5


def test_attnrefine_trains_on_upscaled_cifar_sized_images(image_folder, tmp_path):
    """The attention-refined ResNet trains through train.py on 32x32 images up-sampled to its input size."""
    result = train.main(_train_args(
        image_folder, tmp_path, '--model', 'attnrefine_resnet8', '--epochs', '3', '--opt', 'adamw', '--lr', '3e-3',
        '--upscale-from', '32', '--reprob', '0.2', '--model-kwargs', 'a=0.5', 'vit_model=vit_tiny_patch16_224',
        'img_size=64', "vit_kwargs={'depth': 1}"))
    history = result['history']
    assert history[-1]['train_loss'] < history[0]['train_loss']
    assert history[-1]['eval_top1'] >= 95  # the colour tells the class: all but at most one of the 24 right
    assert result['model'].a == 0.5 and result['model'].pretrained_cfg['input_size'] == (3, 64, 64)


def test_segments_table_gives_each_process_its_start_in_utc_and_its_epoch_times():
    """The first epoch of a segment is shown apart (it holds the start-up), then the range of the others;
    a process that finished no epoch has no times."""
    def segment(first, last, started):
        return dict(command=f'cmd {first}', first_epoch=first, last_epoch=last, started=started, wall_time_s=5400.,
                    hardware='cpu', software='torch')
    segments = [segment(0, 2, '2026-12-03T09:37:59+0200'), segment(3, 3, '2026-12-03T10:00:00+0000'),
                segment(4, 3, '2026-12-03T11:00:00+0000'), segment(4, 5, '2026-12-03T12:00:00+0000')]
    summary = [dict(epoch=epoch, epoch_time=seconds) for epoch, seconds in
               enumerate([800.4, 510.6, 579.2, 600.0, 700.0, 520.2])]
    rows = run_report.segments_table(segments, summary).splitlines()[2:]
    assert rows == ['| 1 | 0-2 (3) | 2026-12-03 07:37 UTC | 1.50 h | 800 s, then 511-579 s | cpu | torch | `cmd 0` |',
                    '| 2 | 3-3 (1) | 2026-12-03 10:00 UTC | 1.50 h | 600 s | cpu | torch | `cmd 3` |',
                    '| 3 | none finished | 2026-12-03 11:00 UTC | 1.50 h | - | cpu | torch | `cmd 4` |',
                    '| 4 | 4-5 (2) | 2026-12-03 12:00 UTC | 1.50 h | 700 s, then 520 s | cpu | torch | `cmd 4` |']


def _cpu_segment(first, last, name='AMD EPYC', capability='AVX512'):
    return dict(first_epoch=first, last_epoch=last, hardware=f'{name} ({capability}), 2 threads', device_type='cpu',
                device_name=name, cpu_capability=capability, amx=False, threads=2,
                command='python -m timm_ran.train --model attention56', software='torch')


def test_recipe_summary_splits_the_time_by_the_hardware_that_trained_it():
    """A run that moved between CPUs reports its time on CPU; one that also trained on a GPU says how long on
    each; epochs that no segment records say so rather than guessing."""
    args = dict(epochs=6, opt='sgd', lr=0.2, sched='cosine', batch_size=128, amp=True)
    summary = [dict(epoch=epoch, epoch_time=600.) for epoch in range(6)]
    cpu = [_cpu_segment(0, 2), _cpu_segment(3, 5, 'Intel(R) Xeon(R) Processor', 'AVX512')]
    assert run_log.recipe_summary(dict(args=args, summary=summary, segments=cpu)) == \
        '6 epochs, SGD lr 0.2 cosine, batch 128, bf16, 1.00 h on CPU'
    gpu = dict(_cpu_segment(3, 4), hardware='NVIDIA H200', device_type='cuda', device_name='NVIDIA H200')
    mixed = [cpu[0], gpu, _cpu_segment(5, 5)]
    assert run_log.recipe_summary(dict(args=args, summary=summary, segments=mixed)) == \
        '6 epochs, SGD lr 0.2 cosine, batch 128, bf16, 1.00 h (40.0 min on CPU, 20.0 min on NVIDIA H200)'
    assert run_log.recipe_summary(dict(args=args, summary=summary, segments=cpu[:1])) == \
        '6 epochs, SGD lr 0.2 cosine, batch 128, bf16, 1.00 h (30.0 min on CPU, 30.0 min on unrecorded hardware)'


def test_an_epoch_counts_on_the_hardware_of_the_last_segment_that_trained_it():
    """A segment killed in epoch 4 on the Xeon and resumed on the EPYC: epoch 4 is the EPYC's; an epoch no segment
    covers is nobody's."""
    xeon = 'Intel(R) Xeon(R) Processor (AMX), 2 threads'
    segments = [_cpu_segment(0, 2), _cpu_segment(3, 4, 'Intel(R) Xeon(R) Processor', 'AMX'), _cpu_segment(4, 5)]
    run = dict(segments=segments, summary=[dict(epoch=e, epoch_time=100. + e) for e in range(7)])
    assert run_log.epoch_segment(run, 4) is segments[2] and run_log.epoch_segment(run, 6) is None
    assert run_log.epoch_times_on(run, 'AMD EPYC (AVX512), 2 threads') == [100., 101., 102., 104., 105.]
    assert run_log.epoch_times_on(run, xeon) == [103.]


def test_hardware_used_names_each_machine_once_in_the_order_the_runs_first_used_it():
    """Two runs that resumed on each other's CPUs list both CPUs once each, first-used first; with
    ``software`` a change of torch on the same CPU counts as another entry."""
    xeon = _cpu_segment(3, 5, 'Intel(R) Xeon(R) Processor', 'AMX')
    runs = [dict(segments=[_cpu_segment(0, 2), xeon]), dict(segments=[xeon, _cpu_segment(3, 5)]),
            dict(segments=[])]
    assert run_log.hardware_used(runs) == ['AMD EPYC (AVX512), 2 threads',
                                           'Intel(R) Xeon(R) Processor (AMX), 2 threads']
    runs[1]['segments'].append(dict(_cpu_segment(6, 7), software='torch 2'))
    assert run_log.hardware_used(runs, software=True) == [
        'AMD EPYC (AVX512), 2 threads, torch', 'Intel(R) Xeon(R) Processor (AMX), 2 threads, torch',
        'AMD EPYC (AVX512), 2 threads, torch 2']
    assert run_log.hardware_used([dict(segments=[])]) == []


def test_a_segment_records_its_hardware_as_fields():
    fields = run_log.hardware_fields(torch.device('cpu'))
    assert fields['device_type'] == 'cpu' and fields['threads'] == torch.get_num_threads()
    assert fields['cpu_capability'] == torch.backends.cpu.get_cpu_capability() and isinstance(fields['amx'], bool)
    assert fields['hardware'].startswith(fields['device_name'])  # the one-line form reports show
    assert run_log.segment_hardware_kind(fields) == 'CPU'


def test_recipe_summary_names_segments_that_computed_otherwise():
    """args.json holds the last segment's arguments: a segment that trained without --amp or without
    --torchcompile, with another value, or on other software is named in the recipe line."""
    command = 'python -m timm_ran.train --model attention56 --data-dir {} --lr 0.2 {}--amp --output {}'
    segments = [
        dict(first_epoch=0, last_epoch=3, command=command.format('/a', '', '/r'), software='torch 2.9'),
        dict(first_epoch=4, last_epoch=3, command=command.format('/a', '--lr 0.1 ', '/r'), software='torch 2.9'),
        dict(first_epoch=4, last_epoch=6, command=command.format('/b', '--torchcompile ', '/s').replace('--lr 0.2', '--lr 0.1'),
             software='torch 2.14'),
        dict(first_epoch=7, last_epoch=9, command=command.format('/c', '--torchcompile ', '/t'), software='torch 2.14')]
    assert run_log.segment_differences(segments) == [
        'epochs 0-3 without --torchcompile, on torch 2.9', 'epochs 4-6 --lr 0.1']  # paths and empty segments aside
    assert run_log.segment_differences(segments[-1:]) == []


def test_run_report_needs_a_run(tmp_path):
    with pytest.raises(FileNotFoundError, match='is not a timm_ran.train run: it has no args.json'):
        run_report.render(str(tmp_path))


def test_mixed_precision_means_bf16_in_every_tool():
    """--amp is bf16 autocast in train and validate alike (float16 only when asked for, on CUDA)."""
    from timm_ran.training.runtime import autocast_context
    train_args = train.build_parser().parse_args(['--data-dir', 'x', '--amp'])
    validate_args = validate.build_parser().parse_args(['--model', 'attention56', '--pretrained', '--data-dir', 'x',
                                                        '--amp'])
    assert train_args.amp_dtype == validate_args.amp_dtype == 'bfloat16'
    with autocast_context(torch.device('cpu'), True):
        assert (torch.randn(4, 4) @ torch.randn(4, 4)).dtype == torch.bfloat16
    for function in (autocast_context, evaluation.evaluation_sums):
        assert inspect.signature(function).parameters['cuda_dtype'].default == 'bfloat16'


SYNCING_METHODS = ('item', 'tolist', 'cpu', '__bool__', '__float__', '__int__')


@pytest.mark.parametrize('in_memory', [True, False], ids=['in-memory', 'workers'])
def test_training_steps_never_wait_for_the_device(image_folder, tmp_path, monkeypatch, in_memory):
    """Inside a training step nothing reads a tensor back to Python (on CUDA each such read waits for the
    GPU): the tensor methods that do are made to raise while a step runs, recipe features included (label
    smoothing, random erasing, EMA, per-update schedule, mixup)."""
    guard = dict(on=False)

    def raising(name, original):
        def method(self, *args, **kwargs):
            if guard['on']:
                raise AssertionError(f'Tensor.{name}() inside a training step')
            return original(self, *args, **kwargs)
        return method

    for name in SYNCING_METHODS:
        monkeypatch.setattr(torch.Tensor, name, raising(name, getattr(torch.Tensor, name)))

    class GuardedSteps:  # stands in for the progress bar: each step's body runs with the guard on
        disable = True

        def __init__(self, loader, *args, **kwargs):
            self.loader = loader

        def __iter__(self):
            for batch in self.loader:
                guard['on'] = True
                yield batch
                guard['on'] = False

    monkeypatch.setattr(train, 'progress_bar', GuardedSteps)
    extra = ['--in-memory'] if in_memory else ['--mixup', '0.2']
    result = train.main(_train_args(image_folder, tmp_path, '--epochs', '1', '--smoothing', '0.1', '--reprob', '0.5',
                                    '--model-ema', '--sched-on-updates', '--warmup-epochs', '1', *extra))
    assert not guard['on'] and result['history'][0]['train_loss'] > 0  # the loss is read once, after the steps


def test_the_fused_optimizer_step_gives_the_same_weights():
    """train's optimizer updates all parameter tensors in one fused kernel where it can; for the recipe's SGD
    (Nesterov momentum, weight decay) that is the same arithmetic as one tensor at a time, bit for bit."""
    from timm.optim import create_optimizer_v2
    assert train.fused_update('sgd') == dict(fused=True) and train.fused_update('lamb') == {}
    models = [timm.create_model('attention56') for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    optimizers = [create_optimizer_v2(m, opt='sgd', lr=0.1, weight_decay=5e-4, momentum=0.9, **fused)
                  for m, fused in zip(models, ({}, train.fused_update('sgd')))]
    images, targets = torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,))
    for _ in range(3):
        for model, optimizer in zip(models, optimizers):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(images), targets).backward()
            optimizer.step()
    a, b = (m.state_dict() for m in models)
    assert all(torch.equal(a[k], b[k]) for k in a)
