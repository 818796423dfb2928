"""python -m timm_ran.experiments ablation: the paper's ablations as paired runs and a table."""
import json
import shutil

import pytest

from timm_ran import experiments, train


def _budget(data_dir):
    return ['--data-dir', str(data_dir), '--epochs', '1', '--batch-size', '16', '--workers', '0', '--lr', '0.05',
            '--no-progress', '--device', 'cpu', '--seed', '1']


def test_plans_follow_the_paper():
    arl = experiments.plan('arl-vs-nal')
    assert [(v.model, dict(v.model_kwargs), v.paper_error) for v in arl[:2]] == [
        ('attention56', {}, 5.52), ('attention56', {'attention_residual': False}, 5.89)]
    assert {v.model for v in arl} == {'attention56', 'attention92', 'attention128', 'attention164'}
    assert [v.paper_error for v in experiments.plan('mask-type')] == [5.52, 6.24, 6.33]
    assert [dict(v.model_kwargs).get('mask_act') for v in experiments.plan('mask-type')] == [None, 'channel', 'spatial']
    structure = experiments.plan('mask-structure', ['attention92'])
    assert [v.paper_error for v in structure] == [4.99, 5.79]
    assert dict(structure[1].model_kwargs) == {'mask_pools': (0, 0, 0, 0)}
    noisy = experiments.plan('noisy-labels', noise_levels=[0.1, 0.7])
    assert [(v.group, v.model, v.label_noise, v.paper_error) for v in noisy] == [
        ('noise 0.1', 'resnet164_cifar', 0.1, 5.93), ('noise 0.1', 'attention92', 0.1, 5.15),
        ('noise 0.7', 'resnet164_cifar', 0.7, 17.21), ('noise 0.7', 'attention92', 0.7, 15.75)]
    assert noisy[1].train_args() == ['--model', 'attention92', '--label-noise', '0.1']
    # the same network in two ablations is one run
    assert experiments.plan('mask-type')[0].run_name == arl[0].run_name == 'attention56'


@pytest.mark.parametrize('what, models, message', [
    ('dropout', None, '--what must be one of'), ('mask-type', ['attention92'], '--models for mask-type')])
def test_bad_plans_fail_clearly(what, models, message):
    with pytest.raises(ValueError, match=message):
        experiments.plan(what, models)


def test_ablation_trains_pairs_writes_the_table_and_reuses_runs(image_folder, tmp_path, monkeypatch):
    out = tmp_path / 'ablations'
    argv = ['ablation', '--what', 'arl-vs-nal', '--models', 'attention56', '--output', str(out), *_budget(image_folder)]
    report = experiments.main(argv)
    rows = report['rows']
    assert [(r['variant'], r['paper_error']) for r in rows] == [('ARL: (1 + M) * T', 5.52), ('NAL: M * T', 5.89)]
    for row in rows:
        history = json.loads((out / 'runs' / row['run'] / 'summary.json').read_text())
        assert row['error'] == pytest.approx(100 - history[-1]['eval_top1'])
    assert rows[1]['error_delta'] == pytest.approx(rows[1]['error'] - rows[0]['error'])
    assert rows[1]['paper_error_delta'] == pytest.approx(0.37)
    nal_args = json.loads((out / 'runs' / 'attention56-attention_residual=False' / 'args.json').read_text())
    assert nal_args['model_kwargs'] == {'attention_residual': False} and nal_args['epochs'] == 1
    table = (out / 'arl-vs-nal.md').read_text()
    assert 'python -m timm_ran.experiments ablation --what arl-vs-nal' in table
    assert 'Budget: 1 epoch(s) on all training images' in table and 'seed 1' in table
    assert f"| attention56 | NAL: M * T | 5.89 | +0.37 | {rows[1]['error']:.2f} |" in table
    assert json.loads((out / 'arl-vs-nal.json').read_text())['rows'] == json.loads(json.dumps(rows))

    # mask-type shares the plain Attention-56 run: only the channel and spatial variants train
    trained = []
    real_main = train.main
    monkeypatch.setattr(train, 'main', lambda argv: trained.append(argv[argv.index('--model-kwargs') + 1])
                        or real_main(argv))
    again = experiments.main(['ablation', '--what', 'mask-type', '--output', str(out), *_budget(image_folder)])
    assert trained == ["mask_act='channel'", "mask_act='spatial'"]
    assert again['rows'][0]['error'] == rows[0]['error']


def test_a_run_with_other_settings_is_not_reused(image_folder, tmp_path):
    out = tmp_path / 'ablations'
    experiments.main(['ablation', '--what', 'mask-structure', '--models', 'attention56', '--output', str(out),
                      *_budget(image_folder)])
    with pytest.raises(ValueError, match=r'holds a run with other settings \(lr\)'):
        experiments.main(['ablation', '--what', 'mask-structure', '--models', 'attention56', '--output', str(out),
                          *_budget(image_folder), '--lr', '0.01'])


def test_the_ablation_sets_the_model_itself(tmp_path):
    with pytest.raises(ValueError, match='--model and the run folders are set by the ablation'):
        experiments.main(['ablation', '--what', 'mask-type', '--model', 'attention92', '--data-dir', str(tmp_path)])


def test_mask_strength_plan_needs_the_vit_weights_for_a_above_zero(tmp_path):
    plain = experiments.plan('mask-strength', a_values=[0])
    assert [(v.run_name, v.train_args(), v.paper_error) for v in plain] == [
        ('attnrefine_resnet8-a=0.0', ['--model', 'attnrefine_resnet8', '--model-kwargs', 'a=0.0'], 16.7)]
    with pytest.raises(ValueError, match='needs the trained ViT: --vit-weights FILE'):
        experiments.plan('mask-strength')
    with pytest.raises(ValueError, match='is not a file'):
        experiments.plan('mask-strength', vit_weights=str(tmp_path / 'missing.safetensors'))
    with pytest.raises(ValueError, match='--a-values must be mask strengths'):
        experiments.plan('mask-strength', a_values=[2])
    weights = tmp_path / 'dino.safetensors'
    weights.write_bytes(b'')
    full = experiments.plan('mask-strength', vit_weights=str(weights))
    assert [v.paper_error for v in full] == [16.7, 13.4, 13.0]
    # the weights' location is not part of a run's name: a = 0 is the same run either way
    assert [v.run_name for v in full] == ['attnrefine_resnet8-a=0.0', 'attnrefine_resnet8-a=0.5',
                                          'attnrefine_resnet8-a=1.0']
    assert full[2].train_args()[-2:] == [
        'vit_pretrained=True', f"vit_kwargs={{'pretrained_cfg_overlay': {{'file': '{weights}'}}}}"]


def test_the_seeded_table_cells_show_a_spread_and_an_interval_only_from_two_seeds():
    assert experiments.format_spread(90.07, 0.31, 3) == '90.07 +/- 0.31'
    assert experiments.format_spread(91.3, 0., 1) == '91.30'
    assert experiments.format_difference(dict(mean=-0.13, low=None, high=None)) == '-0.13 (one seed)'
    assert experiments.format_difference(dict(mean=0.5, low=0.1, high=0.9)) == '+0.50 [+0.10, +0.90]'
    assert experiments.format_difference(None) == '-'


def test_a_seeded_ablation_trains_seed_after_seed_and_a_stopped_one_keeps_its_paired_seeds(
        image_folder, tmp_path, monkeypatch):
    """Every variant trains seed 1 before any trains seed 2, and the table is written after each seed, so an
    ablation its budget stops after seed 1 holds a paired difference; run again, it trains only the rest."""
    out = tmp_path / 'seeded'
    argv = ['ablation', '--what', 'attention-vs-resnet', '--models', 'attention56', '--seeds', '1', '2',
            '--output', str(out), *_budget(image_folder)[:-2]]
    calls, original = [], experiments.train_variant

    def stopping_after_seed_1(variant, common, run_dir):
        if run_dir.endswith('-seed2'):
            raise KeyboardInterrupt
        calls.append(run_dir.rsplit('/', 1)[-1])
        return original(variant, common, run_dir)
    monkeypatch.setattr(experiments, 'train_variant', stopping_after_seed_1)
    with pytest.raises(KeyboardInterrupt):
        experiments.main(argv)
    assert calls == ['resnet164_cifar-seed1', 'attention56-seed1']
    stopped = json.loads((out / 'attention-vs-resnet.json').read_text())
    assert [(row['run'], row['n']) for row in stopped['rows']] == [('resnet164_cifar', 1), ('attention56', 1)]
    assert stopped['rows'][1]['top1_difference']['n'] == 1
    assert stopped['rows'][1]['verdict'] == 'not resolved at 1 seed'
    assert stopped['pending'] == ['resnet164_cifar-seed2', 'attention56-seed2']
    table = (out / 'attention-vs-resnet.md').read_text()
    assert 'Not trained yet: resnet164_cifar-seed2, attention56-seed2.' in table
    assert '+/-' not in table.split('|---|', 1)[1]  # one seed has no standard deviation to show

    seed1 = {name: (out / 'runs' / name / 'summary.json').stat().st_mtime_ns for name in calls}
    calls.clear()
    monkeypatch.setattr(experiments, 'train_variant', lambda variant, common, run_dir: calls.append(
        run_dir.rsplit('/', 1)[-1]) or original(variant, common, run_dir))
    finished = experiments.main(argv)
    assert calls == ['resnet164_cifar-seed1', 'attention56-seed1', 'resnet164_cifar-seed2', 'attention56-seed2']
    assert [row['n'] for row in finished['rows']] == [2, 2] and finished['pending'] == []
    assert {name: (out / 'runs' / name / 'summary.json').stat().st_mtime_ns for name in seed1} == seed1  # kept


@pytest.fixture(scope='module')
def seeded_ablation(image_folder, tmp_path_factory):
    """Attention-56 against ResNet-164 trained with seeds 1 and 2: (the budget without its seed, the output
    folder, the report)."""
    budget = _budget(image_folder)[:-2]  # all but its '--seed', '1'
    assert _budget(image_folder)[-2:] == ['--seed', '1']
    out = tmp_path_factory.mktemp('seeded')
    report = experiments.main(['ablation', '--what', 'attention-vs-resnet', '--models', 'attention56', '--seeds', '1',
                               '2', '--output', str(out), *budget])
    return budget, out, report


def test_seeded_ablation_pairs_the_seeds_and_gives_a_verdict(seeded_ablation, image_folder):
    """--seeds trains every variant once per seed; each variant's row holds the per-seed top-1, their mean and
    spread, and against the group's reference the paired difference, its interval and the verdict."""
    budget, out, report = seeded_ablation
    reference, attention = report['rows']
    assert (reference['model'], attention['model']) == ('resnet164_cifar', 'attention56')
    for row in (reference, attention):
        assert set(row['seeds']) == {'1', '2'} and row['n'] == 2
        for seed, top1 in row['seeds'].items():
            run = out / 'runs' / f"{row['run']}-seed{seed}"
            assert json.loads((run / 'args.json').read_text())['seed'] == int(seed)
            assert top1 == json.loads((run / 'summary.json').read_text())[-1]['eval_top1']
    differences = [attention['seeds'][s] - reference['seeds'][s] for s in ('1', '2')]
    assert attention['top1_difference']['mean'] == pytest.approx(sum(differences) / 2)
    assert attention['verdict'] in ('reproduced', 'reversed', 'not resolved at 2 seeds')
    assert attention['paper_error_delta'] == pytest.approx(5.52 - 5.46)
    table = (out / 'attention-vs-resnet.md').read_text()
    assert 'seeds 1, 2' in table and f"| {attention['verdict']} |" in table
    with pytest.raises(ValueError, match="--seeds sets every run's --seed"):
        experiments.main(['ablation', '--what', 'attention-vs-resnet', '--seeds', '1', '--output', str(out),
                          *_budget(image_folder)])


def test_no_train_remakes_the_table_from_copied_logs(seeded_ablation, tmp_path, monkeypatch):
    """--no-train makes the same table from the runs' logs alone (args, summary, segments: what results/
    keeps), trains nothing, stops at the first seed a variant has not finished, and fails clearly when even
    the first run is missing."""
    budget, out, report = seeded_ablation
    monkeypatch.setattr(train, 'main', lambda argv: pytest.fail(f'--no-train trained: {argv}'))
    copy = tmp_path / 'copy'
    for run in (out / 'runs').iterdir():
        (copy / 'runs' / run.name).mkdir(parents=True)
        for name in ('args.json', 'summary.json', 'segments.json'):
            shutil.copy(run / name, copy / 'runs' / run.name / name)
    argv = ['ablation', '--what', 'attention-vs-resnet', '--models', 'attention56', '--seeds', '1', '2',
            '--output', str(copy), '--no-train', *budget]
    again = experiments.main(argv)
    assert again['rows'] == report['rows'] and again['pending'] == []
    assert json.loads((copy / 'attention-vs-resnet.json').read_text())['rows'] == json.loads(json.dumps(report['rows']))
    assert 'seeds 1, 2' in (copy / 'attention-vs-resnet.md').read_text()

    (copy / 'runs' / 'attention56-seed2' / 'summary.json').write_text('[]')  # started, no epoch finished
    first_seed = experiments.main(argv)
    assert [row['n'] for row in first_seed['rows']] == [1, 1]
    assert first_seed['rows'][1]['seeds'] == {'1': report['rows'][1]['seeds']['1']}
    assert first_seed['pending'] == ['resnet164_cifar-seed2', 'attention56-seed2']

    shutil.rmtree(copy / 'runs' / 'resnet164_cifar-seed1')
    with pytest.raises(ValueError, match=r'--no-train: .*resnet164_cifar-seed1 has no finished run'):
        experiments.main(argv)
    (copy / 'runs' / 'attention56-seed1' / 'args.json').write_text(json.dumps(dict(
        json.loads((copy / 'runs' / 'attention56-seed1' / 'args.json').read_text()), lr=0.5)))
    shutil.copytree(out / 'runs' / 'resnet164_cifar-seed1', copy / 'runs' / 'resnet164_cifar-seed1')
    with pytest.raises(ValueError, match=r'attention56-seed1 holds a run with other settings \(lr\)'):
        experiments.main(argv)
