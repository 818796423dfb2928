"""README.md and the pages under docs/: every relative link resolves, to a file and, for a link into a
Markdown page, to one of its headings (MODEL_CARD.md's links too); README's weights table and
MODEL_CARD.md's per-weights sections are the ones generated from results/."""
import importlib.util
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from timm_ran.paper_results import CIFAR10_ERROR, on_jpeg_copy, paper_cifar10_top1
from timm_ran.hub_card import SECTIONS
from timm_ran.markdown import markdown_table
from timm_ran.models.pretrained import bundled_names, read_checksums
from timm_ran.models.ran import MODEL_NAMES

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / 'README.md', *sorted((ROOT / 'docs').glob('*.md'))]
LINK = re.compile(r'\[[^\]]*\]\(([^)\s]+)\)|<img [^>]*src="([^"]+)"')


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r'[`*]', '', heading.strip().lower())
    return re.sub(r'[^\w\- ]', '', text).replace(' ', '-')


def _anchors(page: Path) -> set:
    text = re.sub(r'(?ms)^```.*?^```', '', page.read_text())  # headings only, not comments in code blocks
    return {_slug(line.lstrip('#')) for line in text.splitlines() if line.startswith('#')}


def _links(page: Path):
    text = re.sub(r'(?ms)^```.*?^```', '', page.read_text())
    for match in LINK.finditer(text):
        target = match.group(1) or match.group(2)
        if not re.match(r'[a-z][a-z0-9+.-]*:', target):  # http:, https:, mailto: are not checked offline
            yield target


def test_every_page_is_found():
    assert [p.name for p in PAGES[1:]] == [
        'ablations.md', 'attnrefine.md', 'network.md', 'replication.md', 'speed.md', 'timm-scripts.md',
        'training.md']


@pytest.mark.parametrize('page', [*PAGES, ROOT / 'MODEL_CARD.md'], ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    broken = []
    for target in _links(page):
        path, _, anchor = target.partition('#')
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f'{target}: no file {resolved}')
        elif anchor and resolved.suffix == '.md' and anchor not in _anchors(resolved):
            broken.append(f'{target}: no heading #{anchor} in {resolved.name}')
    assert broken == []


def test_the_readme_links_every_docs_page():
    linked = {(ROOT / t.partition('#')[0]).resolve() for t in _links(ROOT / 'README.md')}
    assert [p.name for p in PAGES[1:] if p.resolve() not in linked] == []


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / 'scripts' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_weights_block_is_generated_from_results():
    weights_table = _script('weights_table')
    block = weights_table.block()
    evidence = weights_table.shipped()
    assert [row[0].strip('`') for row in weights_table.rows(evidence)] == bundled_names(ROOT / 'weights')
    assert len(weights_table.commands(evidence)) == len(bundled_names(ROOT / 'weights'))
    assert block in (ROOT / 'README.md').read_text(), 'README.md is stale: run python scripts/weights_table.py --write'


def test_weights_table_write_replaces_only_the_block():
    weights_table = _script('weights_table')
    old = '\n'.join([weights_table.BEGIN, *markdown_table(weights_table.COLUMNS, [['`old.cifar10`', 'x', '1 / 2']]),
                     weights_table.END])
    readme = f'# Title\n\nBefore.\n\n{old}\n\nAfter.\n'
    assert weights_table.replace_block(readme, 'NEW') == '# Title\n\nBefore.\n\nNEW\n\nAfter.\n'
    with pytest.raises(SystemExit, match='README.md has no generated weights block'):
        weights_table.replace_block('# Title\n', 'NEW')


def _list_weights(root: Path, name: str):
    """List weights ``name`` in the checkout ``root``: ``weights/<name>.json`` (attention56.cifar10's, naming
    ``results/runs/<name>`` as its evidence folder) and a line in ``weights/SHA256SUMS``."""
    (root / 'weights').mkdir(exist_ok=True)
    measured = json.loads((ROOT / 'weights' / 'attention56.cifar10.json').read_text())
    (root / 'weights' / f'{name}.json').write_text(json.dumps(dict(measured, results=f'results/runs/{name}')))
    with open(root / 'weights' / 'SHA256SUMS', 'a') as sums:
        sums.write(f"{'a' * 64}  {name}.safetensors\n")


def test_a_run_without_weights_is_listed_as_training_until_it_ships(tmp_path):
    """A run copied to results/runs/ shows its epochs in the block; once its weights ship, it is a table row
    with its acceptance command instead (here attention92.cifar10, with attention56's evidence)."""
    weights_table = _script('weights_table')
    (tmp_path / 'weights').mkdir()
    shutil.copy(ROOT / 'weights' / 'attention56.cifar10.json', tmp_path / 'weights')
    sha = read_checksums(ROOT / 'weights' / 'SHA256SUMS')['attention56.cifar10.safetensors']
    (tmp_path / 'weights' / 'SHA256SUMS').write_text(f'{sha}  attention56.cifar10.safetensors\n')
    run = tmp_path / 'results' / 'runs' / 'attention92.cifar10'
    shutil.copytree(ROOT / 'results' / 'runs' / 'attention56.cifar10', tmp_path / 'results' / 'runs' /
                    'attention56.cifar10')
    shutil.copytree(ROOT / 'results' / 'runs' / 'attention56.cifar10', run)
    summary = json.loads((run / 'summary.json').read_text())
    (run / 'summary.json').write_text(json.dumps(summary[:27]))
    spent = sum(row['epoch_time'] for row in summary[:27]) / 3600
    assert f'- `attention92.cifar10`: 27 of 200 epochs done in {spent:.2f} h, no weights' in weights_table.block(tmp_path)
    assert '--model attention92' not in weights_table.block(tmp_path)

    (run / 'summary.json').write_text(json.dumps(summary))
    _list_weights(tmp_path, 'attention92.cifar10')
    block = weights_table.block(tmp_path)
    assert 'Training now' not in block and '| `attention92.cifar10` |' in block
    assert 'python -m timm_ran.validate --model attention92 --pretrained --data-dir ../shared/data/cifar10-jpeg' in block


def test_the_weights_table_shows_the_papers_figure_carried_to_the_jpeg_copy():
    """Attention-92's 4.99% error (paper Table 6) is 95.01% top-1, about 91.8% on the JPEG copy; weights measured
    on other data or another split, or of a network the paper gives no CIFAR-10 figure for, get none."""
    weights_table = _script('weights_table')
    on_copy = {'data': {'dir': '../shared/data/cifar10-jpeg', 'split': 'test'}}
    assert paper_cifar10_top1('resnet164_cifar') == 94.54 and on_jpeg_copy(95.01) == 91.77  # 3.24 points less
    assert weights_table.paper_figure('attention92.cifar10', on_copy) == '95.01 (≈ 91.8)'
    assert weights_table.paper_figure('attention92.cifar10', {'data': {'dir': 'imagenet', 'split': 'val'}}) == '-'
    assert weights_table.paper_figure('attention56_imagenet.cifar10', on_copy) == '-'
    train_split = {'data': {'dir': '../shared/data/cifar10-jpeg', 'split': 'train'}}
    assert weights_table.paper_figure('attention92.cifar10', train_split) == '-'
    assert set(CIFAR10_ERROR) <= set(MODEL_NAMES), 'a paper figure for a model that is not registered'
    row = next(r for r in weights_table.rows(weights_table.shipped()) if r[0] == '`attention92.cifar10`')
    assert row[weights_table.COLUMNS.index('paper top-1 (%), lossless (≈ this copy)')] == '95.01 (≈ 91.8)'


def _ship_copy(root: Path, name: str, top1_shift: float = 0., **args):
    """Ship weights ``name`` in the checkout ``root`` with a copy of attention56.cifar10's evidence: its run
    folder, with test.json's top-1 figures shifted by ``top1_shift`` and args.json naming ``name``'s model and
    run folder and updated with ``args``."""
    folder = root / 'results' / 'runs' / name
    shutil.copytree(ROOT / 'results' / 'runs' / 'attention56.cifar10', folder)
    results = json.loads((folder / 'test.json').read_text())
    for figures in (results, results['flip_tta']):
        figures['top1'] += top1_shift
    (folder / 'test.json').write_text(json.dumps(results))
    run_args = json.loads((folder / 'args.json').read_text())
    run_args.update(args, model=name.split('.')[0], output=f'/runs/{name}')
    (folder / 'args.json').write_text(json.dumps(run_args))
    _list_weights(root, name)


def test_the_weights_block_sets_each_network_against_the_papers_baseline_once_it_ships(tmp_path):
    """The paper's Table 6 claim on equal terms: once resnet164_cifar.cifar10 ships, each other shipped network
    with a paper figure gets its top-1 minus the baseline's (paper, single view, flip TTA) and the training
    arguments in which its run differs from the baseline's (the model and run folder do not count)."""
    weights_table = _script('weights_table')
    _ship_copy(tmp_path, 'attention56.cifar10')
    _ship_copy(tmp_path, 'attention92.cifar10', top1_shift=0.5, lr=0.1)
    assert "Against the paper's baseline" not in weights_table.block(tmp_path)

    _ship_copy(tmp_path, 'resnet164_cifar.cifar10', top1_shift=-1.25)
    block = weights_table.block(tmp_path)
    rows = {line.split('`')[1]: line for line in block.splitlines() if ' / 1.70M |' in line}
    assert rows == {
        'attention56.cifar10': '| `attention56.cifar10` | 1.15M / 1.70M | -0.06 | +1.25 | +1.25 | none (seed 42) |',
        'attention92.cifar10': '| `attention92.cifar10` | 1.96M / 1.70M | +0.47 | +1.75 | +1.75 | `--lr` |',
    }
    assert block.index("Against the paper's baseline") > block.index('```bash')


def test_the_model_card_sections_are_generated_from_results():
    model_card = _script('model_card')
    card = (ROOT / 'MODEL_CARD.md').read_text()
    assert model_card.render(card) == card, 'MODEL_CARD.md is stale: run python scripts/model_card.py'
    for name in bundled_names(ROOT / 'weights'):
        details, evaluation = model_card.sections(name)
        assert details in card and evaluation in card and evaluation.count('| top-1 / top-5, single view |') == 1
        part = card.split(f'\n## {name}\n')[1].split('\n## ')[0]  # the Hub card's sections, in its order
        headings = re.findall(r'(?m)^### (.+)$', part)
        assert headings == [s for s in SECTIONS if s != 'Citation'], headings
    assert card.rstrip().endswith('<!-- end generated: citation -->')


def test_the_model_card_gains_a_section_for_new_weights(tmp_path):
    """A newly exported weights file (here attention92.cifar10, with attention56's evidence) gets its part
    above '## Limitations of all the weights'; rendering again changes nothing."""
    model_card = _script('model_card')
    weights = tmp_path / 'weights'
    weights.mkdir()
    evidence = json.loads((ROOT / 'weights' / 'attention56.cifar10.json').read_text())
    (weights / 'attention92.cifar10.json').write_text(json.dumps(evidence))
    (weights / 'SHA256SUMS').write_text(f"{'a' * 64}  attention92.cifar10.safetensors\n")
    shutil.copytree(ROOT / evidence['results'], tmp_path / evidence['results'])
    card = model_card.render('# Card\n\n## Limitations of all the weights\n\n- none\n', tmp_path)
    assert card.index('## attention92.cifar10\n\n<!-- begin generated: attention92.cifar10 -->') < \
        card.index('<!-- begin generated: attention92.cifar10 evaluation -->') < \
        card.index('## Limitations of all the weights')
    assert '| Architecture | `attention92` (Attention-92 (CIFAR)) |' in card and '| Params (M) | 1.9' in card
    assert f"SHA-256 `{'a' * 64}`" in card
    assert model_card.render(card, tmp_path) == card


def test_the_readme_quick_start_runs_outside_a_clone(tmp_path):
    """The quick start's code block, run as a user runs it: in a folder of their own, not in a clone."""
    readme = (ROOT / 'README.md').read_text()
    quick_start = readme.split('## Quick start', 1)[1]
    code = re.search(r'(?ms)^```python\n(.*?)^```', quick_start).group(1)
    done = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_replication_tables_are_generated_from_results():
    replication = _script('replication')
    saved = replication.saved_runs()
    for path, name, with_command in ((ROOT / 'docs' / 'replication.md', 'replication', True),
                                     (ROOT / 'README.md', 'replication-verdicts', False)):
        generated = replication.block(name, with_command, saved)
        assert generated in path.read_text(), f'{path.name} is stale: run python scripts/replication.py table --write'
    assert replication.runs_table(saved) in (ROOT / 'docs' / 'replication.md').read_text(), \
        "docs/replication.md's list of runs is stale: run python scripts/replication.py table --write"
    assert replication.schedule_candidates(saved.step1) in (ROOT / 'results' / 'schedule' / 'README.md').read_text(), \
        'results/schedule/README.md is stale: run python scripts/replication.py table --write'
    assert replication.cpu_times(replication.schedule_epochs()) in (ROOT / 'docs' / 'training.md').read_text(), \
        "docs/training.md's CPU times are stale: run python scripts/replication.py table --write"
    for key, path in replication.VERDICT_PROSE:
        claim = replication.CLAIMS[replication.CLAIM_KEYS.index(key)]
        assert replication.seeded_verdict(claim, saved.claims[key]) in path.read_text(), \
            f"{path.name}'s sentence on {key} is stale: run python scripts/replication.py table --write"


def _page_table(replication):
    """docs/replication.md's generated table from the results/ the test has laid out."""
    return replication.block('replication', True, replication.saved_runs())


def _sentence(replication, claim):
    """The generated sentence on ``claim`` (README's and MODEL_CARD's block), without its markers."""
    return replication.seeded_verdict(claim, replication.claims_runs()[claim.key]).splitlines()[1]


def test_every_saved_claim_table_is_what_its_runs_logs_give():
    """``check`` on the committed results: each claim table saved so far is what its recorded command makes
    again from the logs in results/replication/runs (a claim without a table yet has nothing to disagree)."""
    replication = _script('replication')
    outcomes = [replication.check(claim) for claim in replication.CLAIMS]
    assert [message for agree, message in outcomes if not agree] == []


def _replication_in(tmp_path, monkeypatch):
    """scripts/replication.py with its runs, results (lost runs included) and a 30-epoch schedule choice under
    ``tmp_path``."""
    replication = _script('replication')
    for name, value in (('RUNS', tmp_path / 'runs-home'), ('RESULTS', tmp_path / 'results' / 'replication'),
                        ('LOST', tmp_path / 'results' / 'replication' / 'lost'),
                        ('SCHEDULE', tmp_path / 'schedule'), ('CHOICE', tmp_path / 'schedule' / 'choice.json')):
        monkeypatch.setattr(replication, name, value)
    (tmp_path / 'schedule').mkdir()
    (tmp_path / 'schedule' / 'choice.json').write_text(json.dumps(dict(epochs=30)))
    return replication


def test_a_seeded_claim_gets_its_verdict_interval_and_hours(tmp_path, monkeypatch):
    """A claim's comparison table as timm_ran.experiments writes it (three seeds where Attention-92 beats
    ResNet-164 by 0.4-0.6 points) becomes a row with the paired interval, the verdict and the CPU-hours of
    its six runs; the claims not run yet keep the paper's errors and say so."""
    from timm_ran import experiments
    replication = _replication_in(tmp_path, monkeypatch)
    results = replication.RESULTS
    resnet, attention = experiments.plan('attention-vs-resnet', ['attention92'])
    top1 = {resnet: {1: 90.0, 2: 90.4, 3: 89.8}, attention: {1: 90.5, 2: 90.8, 3: 90.4}}
    rows, reference = [], None
    for variant in (resnet, attention):
        runs = {}
        for seed, value in top1[variant].items():
            runs[seed] = dict(args=dict(epochs=30), summary=[dict(epoch=29, eval_top1=value, epoch_time=3600.)],
                              segments=[])
            run_dir = results / 'runs' / f'{variant.run_name}-seed{seed}'
            run_dir.mkdir(parents=True)
            (run_dir / 'args.json').write_text(json.dumps(runs[seed]['args']))
            (run_dir / 'summary.json').write_text(json.dumps(runs[seed]['summary']))
        rows.append(experiments._seeded_row(variant, runs, reference))
        reference = reference or rows[0]
    claim = results / 'attention92-vs-resnet164'
    claim.mkdir()
    (claim / 'attention-vs-resnet.json').write_text(json.dumps(dict(command='python -m timm_ran.experiments X',
                                                                    rows=rows)))
    table = _page_table(replication)
    [row] = [line for line in table.splitlines() if line.startswith('| Attention-92 has a lower error')]
    cells = [cell.strip() for cell in row.strip('|').split('|')]
    assert cells[1] == '5.46 / 4.99' and cells[2] == '90.07 +/- 0.31 / 90.57 +/- 0.21 (n = 3)'
    assert cells[3].startswith('+0.50 [') and cells[4] == 'reproduced' and cells[5] == '6.00'
    assert cells[6] == '`python -m timm_ran.experiments X`'
    assert 'on the claims' in table and '6.00 on the claims' in table
    waiting = [line for line in table.splitlines() if 'not run yet' in line]
    assert len(waiting) == 6 and all('--epochs 30' in line for line in waiting)
    assert all('--output ~/timm-ran-runs/replication/' in line and str(Path.home()) not in line for line in waiting)
    sentence = _sentence(replication, replication.CLAIMS[0])
    assert sentence.startswith("The paper's claim that Attention-92 has a lower error than ResNet-164 (Table 6), "
                               'tested with paired seeds at the 30-epoch CPU schedule')
    assert re.search(r'single view: Attention-92 minus ResNet-164, \+0\.50 points \(95% CI \[\+0\.\d\d, \+0\.\d\d\], '
                     r'n = 3\): reproduced\.$', sentence), sentence


def test_the_replication_page_pins_the_commit_every_claim_run_trained_with():
    """The page's commands check out the commit that each saved claim run's segments record, so following them
    trains with the code the figures came from."""
    page = (ROOT / 'docs' / 'replication.md').read_text()
    segments = [s for path in (ROOT / 'results' / 'replication' / 'runs').glob('*/segments.json')
                for s in json.loads(path.read_text())]
    pinned = {s['code']: re.fullmatch(r'timm_ran \S+ at ([0-9a-f]{7,40})', s['code']) for s in segments}
    assert pinned and [code for code, match in pinned.items() if not match] == []  # no '+dirty', no unknown commit
    assert [code for code, match in pinned.items() if f'git checkout {match.group(1)}' not in page] == []


def test_the_page_shows_a_claims_run_folder_the_same_whoever_ran_it():
    """A command recorded under one user's home and one planned under another's show the same ``--output``,
    so the committed page does not change with the user who generates it; other paths stay as they are."""
    replication = _script('replication')
    tail = '--models attention92 --seeds 1 2 --output {}/attention92-vs-resnet164 --epochs 45'
    expected = tail.format('~/timm-ran-runs/replication')
    assert replication.shown(tail.format('/root/timm-ran-runs/replication')) == expected
    assert replication.shown(tail.format('/home/ci/elsewhere')) == expected
    unchanged = '--data-dir /home/ci/data --output /home/ci/attention92-vs-resnet164x'  # not a claim's folder
    assert replication.shown(unchanged) == unchanged


def test_a_claim_in_progress_is_saved_and_counted_before_its_first_seed_ends(tmp_path, monkeypatch):
    """At a stop in the middle of a claim (its first run two epochs in, no table yet), ``save`` copies that
    run's logs into results/, and the page counts its hours and says the first seed is in progress."""
    replication = _replication_in(tmp_path, monkeypatch)
    runs, results = replication.RUNS, replication.RESULTS
    claim = replication.CLAIMS[0]
    first, second = claim.run_names()[:2]
    assert (first, second) == ('resnet164_cifar-seed1', 'attention92-seed1')  # seed after seed
    started = runs / 'runs' / first
    started.mkdir(parents=True)
    (started / 'args.json').write_text(json.dumps(dict(model='resnet164_cifar', epochs=30, seed=1)))
    (started / 'summary.json').write_text(json.dumps(  # as train writes it: NaN where an epoch is not evaluated
        [dict(epoch=e, lr=0.1, train_loss=2.0 - e / 10, train_time=5390., train_img_per_s=9.3, eval_loss=math.nan,
              eval_top1=math.nan, eval_top5=math.nan, epoch_time=5400.) for e in (0, 1)]))
    (started / 'last.pth.tar').write_bytes(b'resume state')
    replication.main(['save', claim.key])
    saved = results / 'runs' / first
    assert json.loads((saved / 'summary.json').read_text())[-1]['epoch'] == 1
    assert not (saved / 'last.pth.tar').exists() and not (results / 'runs' / second).exists()
    assert not (results / claim.key).exists()  # no table before every variant has trained a seed
    assert replication.runs_hours(replication.claims_runs()[claim.key]) == pytest.approx(3.0)
    rows = [line for line in _page_table(replication).splitlines()
            if line.startswith('| Attention-92 has a lower error')]
    assert len(rows) == 1 and '| first seed in progress (resnet164_cifar-seed1: 2 of 30 epochs) | 3.00 |' in rows[0]
    assert _sentence(replication, claim).endswith(
        ': the first seed is in progress (resnet164_cifar-seed1: 2 of 30 epochs), so there is no paired difference '
        'yet.')
    # after the first seed: its table, and the verdict cell names the run of the next seed
    for name, epochs_run in ((first, 30), (second, 30), ('resnet164_cifar-seed2', 1)):
        folder = results / 'runs' / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / 'args.json').write_text(json.dumps(dict(epochs=30)))
        (folder / 'summary.json').write_text(json.dumps([dict(epoch=e, epoch_time=360.) for e in range(epochs_run)]))
    table_rows = [dict(group='attention92', model='resnet164_cifar', variant='ResNet-164', paper_error=5.46, top1=90.,
                       top1_sd=0., n=1),
                  dict(group='attention92', model='attention92', variant='attention92', paper_error=4.99, top1=90.5,
                       top1_sd=0., n=1, top1_difference=dict(mean=0.5, low=None, high=None),
                       verdict='not resolved at 1 seed')]
    (results / claim.key).mkdir()
    (results / claim.key / f'{claim.what}.json').write_text(json.dumps(dict(command='x', rows=table_rows)))
    [row] = [line for line in _page_table(replication).splitlines()
             if line.startswith('| Attention-92 has a lower error')]
    assert '| 90.00 / 90.50 (n = 1) | +0.50 (one seed) | not resolved at 1 seed; in progress: resnet164_cifar-seed2: ' \
        '1 of 30 epochs | 6.10 |' in row  # no standard deviation of one seed
    assert _sentence(replication, claim).endswith(
        ': Attention-92 minus ResNet-164, +0.50 points (n = 1, no interval): not resolved at 1 seed (in progress: '
        'resnet164_cifar-seed2: 1 of 30 epochs).')


def _started_run(folder, done, started):
    """A made-up 30-epoch run under ``folder``: ``done`` epochs of 360 s, its process started at ``started``."""
    _run_on(folder, 'attention92', 30, [('AMD EPYC (AVX512), 2 threads', 0, done - 1, 360.)], started=started,
            command='python -m timm_ran.train x')


def test_restore_brings_finished_runs_back_and_sets_lost_ones_aside(tmp_path, monkeypatch, capsys):
    """On a new machine: a finished run's logs go back to the runs folder (so it is not trained again), an
    unfinished run's saved logs move to results/replication/lost/ and their hours still count in the budget, a run
    the machine still holds (or has restarted) is left alone, and a finished run whose folder holds another run is
    a clear error."""
    replication = _replication_in(tmp_path, monkeypatch)
    saved, here = replication.RESULTS / 'runs', replication.RUNS / 'runs'
    _started_run(saved / 'resnet164_cifar-seed1', 30, '2026-12-01T10:00:00+0000')  # finished, machine lost
    _started_run(saved / 'attention92-seed1', 2, '2026-12-02T18:06:00+0000')  # unfinished, machine lost
    _started_run(here / 'attention92-seed1', 1, '2026-12-03T09:00:00+0000')  # restarted on the new machine
    _started_run(saved / 'resnet164_cifar-seed2', 5, '2026-12-03T08:00:00+0000')  # unfinished, still here
    _started_run(here / 'resnet164_cifar-seed2', 6, '2026-12-03T08:00:00+0000')
    assert replication.main(['restore']) == 0
    assert json.loads((here / 'resnet164_cifar-seed1' / 'summary.json').read_text()) == json.loads(
        (saved / 'resnet164_cifar-seed1' / 'summary.json').read_text())
    lost = replication.LOST / 'attention92-seed1-started-2026-12-02T1806'
    assert not (saved / 'attention92-seed1').exists() and len(json.loads((lost / 'summary.json').read_text())) == 2
    assert 'lost with its machine at 2 of 30 epochs' in (lost / 'README.md').read_text()
    assert len(json.loads((here / 'attention92-seed1' / 'summary.json').read_text())) == 1  # the new run untouched
    assert len(json.loads((here / 'resnet164_cifar-seed2' / 'summary.json').read_text())) == 6
    assert len(json.loads((saved / 'resnet164_cifar-seed2' / 'summary.json').read_text())) == 5
    out = capsys.readouterr().out
    assert 'resnet164_cifar-seed1: finished (30 of 30 epochs), logs restored' in out and 'seed2' not in out
    budget = _page_table(replication).splitlines()[1]
    assert ('3.50 on the claims, 0.20 on claim runs lost with their machine and restarted' in budget
            and '3.70 of the issue' in budget)  # the claims: 3.0 + 0.5 h of the runs in results/runs
    assert replication.main(['restore']) == 0 and 'nothing to restore' in capsys.readouterr().out
    shutil.rmtree(here / 'resnet164_cifar-seed1')
    _started_run(here / 'resnet164_cifar-seed1', 3, '2026-12-04T08:00:00+0000')
    with pytest.raises(SystemExit, match='holds another run than the finished one saved in'):
        replication.main(['restore'])


def _run_on(folder, model, epochs, segments, seed=1, **segment_fields):
    """A made-up run of ``model`` with ``seed`` under ``folder``, evaluated at 90% after every epoch: ``segments``
    as (hardware, first epoch, last epoch, epoch time), each holding ``segment_fields`` too (``segments.json``)."""
    folder.mkdir(parents=True)
    times = {e: t for _, first, last, t in segments for e in range(first, last + 1)}
    (folder / 'args.json').write_text(json.dumps(dict(model=model, epochs=epochs, seed=seed)))
    (folder / 'summary.json').write_text(json.dumps([dict(epoch=e, eval_top1=90., epoch_time=times[e])
                                                     for e in range(max(times) + 1)]))
    (folder / 'segments.json').write_text(json.dumps([dict(hardware=h, first_epoch=first, last_epoch=last,
                                                           **segment_fields) for h, first, last, _ in segments]))


def test_the_page_lists_every_claim_run_and_every_lost_one_with_its_log(tmp_path, monkeypatch):
    """docs/replication.md's list of runs: each claim's runs (finished with their top-1, in progress, just started)
    and the runs lost with their machine, each linked to its log under results/replication/."""
    replication = _replication_in(tmp_path, monkeypatch)
    runs, cpu = replication.RESULTS / 'runs', replication.CPU
    _run_on(runs / 'resnet164_cifar-seed1', 'resnet164_cifar', 30, [(cpu, 0, 29, 600.)])
    _run_on(runs / 'attention92-seed1', 'attention92', 30, [(cpu, 0, 9, 360.)])
    (runs / 'resnet164_cifar-seed2').mkdir()
    (runs / 'resnet164_cifar-seed2' / 'args.json').write_text(json.dumps(dict(model='resnet164_cifar', epochs=30,
                                                                                seed=2)))
    _run_on(runs / 'attention56-seed1', 'attention56', 30, [(cpu, 0, 29, 240.)])
    _run_on(replication.LOST / 'attention92-seed1-started-2026-12-02T1806', 'attention92', 30, [(cpu, 0, 1, 360.)])
    table = replication.runs_table(replication.saved_runs())
    assert [line for line in table.splitlines() if line.startswith('| a')] == [
        '| attention92-vs-resnet164 | [resnet164_cifar-seed1](../results/replication/runs/resnet164_cifar-seed1/'
        f'README.md) | 1 | 30 of 30 | 90.00 | 5.00 | {cpu} |',
        '| attention92-vs-resnet164 | [attention92-seed1](../results/replication/runs/attention92-seed1/README.md) '
        f'| 1 | 10 of 30 | in progress | 1.00 | {cpu} |',
        '| attention92-vs-resnet164 | [resnet164_cifar-seed2](../results/replication/runs/resnet164_cifar-seed2/'
        'README.md) | 2 | 0 of 30 | in progress | 0.00 | - |',
        '| arl-vs-nal-attention56 | [attention56-seed1](../results/replication/runs/attention56-seed1/README.md) '
        f'| 1 | 30 of 30 | 90.00 | 2.00 | {cpu} |',
        '| attention92-vs-resnet164 | [attention92-seed1-started-2026-12-02T1806](../results/replication/lost/'
        'attention92-seed1-started-2026-12-02T1806/README.md) | 1 | 2 of 30 | lost with its machine, trained again '
        f'| 0.20 | {cpu} |']


def test_cpu_times_are_measured_once_short_runs_finish_and_estimated_before(tmp_path, monkeypatch):
    """docs/training.md's CPU-time table: a network with finished 30-epoch runs wholly on the CPU shows their mean
    sum of epoch times (a run partly on another CPU, an unfinished one and an ablated variant do not count); one
    without them shows 30 times its 200-epoch run's median epoch time on that CPU, epochs elsewhere left out."""
    replication = _replication_in(tmp_path, monkeypatch)
    monkeypatch.setattr(replication, 'SHIPPED_RUNS', tmp_path / 'shipped')
    cpu, xeon = replication.CPU, 'Intel(R) Xeon(R) Processor (AVX512 + AMX), 2 threads'
    runs = replication.RESULTS / 'runs'
    _run_on(replication.full_data_run(30), 'attention56', 30, [(cpu, 0, 29, 240.)])
    _run_on(runs / 'resnet164_cifar-seed1', 'resnet164_cifar', 30, [(cpu, 0, 29, 600.)])
    _run_on(runs / 'resnet164_cifar-seed2', 'resnet164_cifar', 30, [(cpu, 0, 14, 480.), (cpu, 15, 29, 840.)])
    _run_on(runs / 'resnet164_cifar-seed3', 'resnet164_cifar', 30, [(cpu, 0, 9, 600.), (xeon, 10, 29, 300.)])
    _run_on(runs / 'attention92-seed1', 'attention92', 30, [(cpu, 0, 9, 60.)])
    _run_on(runs / 'resnet164_cifar-noise=0.3-seed1', 'resnet164_cifar', 30, [(cpu, 0, 29, 60.)])
    _run_on(replication.SHIPPED_RUNS / 'attention92.cifar10', 'attention92', 200,
            [(cpu, 0, 2, 360.), (xeon, 3, 5, 100.), (cpu, 6, 6, 400.)])
    rows = [line for line in replication.cpu_times(30).splitlines() if line.startswith('| a') or
            line.startswith('| r')]
    assert rows == ['| attention56 | 240 s | 2.00 h (measured, 1 run) | about 13.3 h |',
                    '| attention92 | 360 s | about 3.0 h | about 20.0 h |',
                    '| resnet164_cifar | 600 s | 5.25 h (measured, mean of 2 runs, 5.00-5.50 h) | about 33.3 h |']


def _full_data_run(folder, epoch_times, top1=None):
    """A made-up run of ``scripts/train_cifar10_cpu.sh`` under ``folder``, with ``test.json`` if ``top1``."""
    folder.mkdir(parents=True)
    (folder / 'args.json').write_text(json.dumps(dict(model='attention56', epochs=30)))
    (folder / 'summary.json').write_text(json.dumps([dict(epoch=e, eval_top1=math.nan, epoch_time=t)
                                                     for e, t in enumerate(epoch_times)]))
    (folder / 'segments.json').write_text(json.dumps([dict(hardware='AMD EPYC (AVX512), 2 threads')]))
    if top1 is not None:
        (folder / 'test.json').write_text(json.dumps(dict(data=dict(dir='../shared/data/cifar10-jpeg', split='test'),
                                                          top1=top1, flip_tta=dict(top1=top1 + 0.3))))


@pytest.mark.parametrize('top1, slow_first, verdict', [(91.70, 0., 'met'), (91.20, 0., 'missed'),
                                                        (91.70, 7200., 'missed')])
def test_step1_outcome_checks_the_floor_and_the_quarter_of_a_200_epoch_run(tmp_path, monkeypatch, top1,
                                                                          slow_first, verdict):
    """The 30-epoch full-data run (29 epochs of 240 s, the first 240 s + ``slow_first``): its top-1 against
    91.5%, and its hours against a quarter of 200 epochs at its median epoch time (240 s, so 13.33 h)."""
    replication = _replication_in(tmp_path, monkeypatch)
    folder = replication.full_data_run(30)
    assert folder == tmp_path / 'schedule' / 'attention56-e30-all50k'
    _full_data_run(folder, [240. + slow_first] + [240.] * 29, top1)
    outcome = replication.step1_outcome(30)
    hours = (30 * 240. + slow_first) / 3600
    assert f'**{top1:.2f}%** top-1 on CIFAR-10 test (JPEG q75 copy), single view ({top1 + 0.3:.2f}% with flip TTA)' \
        in outcome
    assert f'It took {hours:.2f} CPU-hours on AMD EPYC (AVX512), 2 threads: {hours / (200 * 240 / 3600):.1%} of 200' \
        in outcome
    assert outcome.endswith(f'The floor is **{verdict}**.')
    assert outcome in replication.block('replication-verdicts', False, replication.saved_runs())


def test_step1_outcome_waits_for_the_last_epoch_and_the_test_figure(tmp_path, monkeypatch):
    replication = _replication_in(tmp_path, monkeypatch)
    assert 'has not started' in replication.step1_outcome(30)
    _full_data_run(replication.full_data_run(30), [240.] * 12)
    assert '(12 of 30 epochs, 0.80 CPU-hours)' in replication.step1_outcome(30)


def _candidate(folder, changes, epochs, top1s):
    """A made-up run of ``scripts/train_cifar10_schedule.sh attention56 EPOCHS RUN_DIR``: its ``args.json``, the
    shipped recipe's arguments with ``changes``, one summary row of 200 s per entry of ``top1s``."""
    _, shipped = _script('replication')._recipe_namespaces()
    args = dict(shipped, output=str(folder), epochs=epochs, holdout=5000, **changes)
    folder.mkdir(parents=True)
    (folder / 'args.json').write_text(json.dumps(args))
    (folder / 'summary.json').write_text(json.dumps([dict(epoch=e, eval_top1=v, eval_top5=99.0, epoch_time=200.)
                                                     for e, v in enumerate(top1s)]))
    (folder / 'segments.json').write_text(json.dumps([dict(hardware='Intel Xeon (AMX), 2 threads')]))


def test_the_schedule_candidates_table_names_each_recipe_change_and_waits_for_the_last_epoch(tmp_path, monkeypatch):
    """results/schedule/README.md's generated table: a candidate with the shipped recipe, one with random
    erasing off (named as the flag that reproduces it, in its command too), one still training (no held-out
    figure before its last epoch); the full-data run (no --holdout) is not a candidate."""
    replication = _replication_in(tmp_path, monkeypatch)
    schedule = replication.SCHEDULE
    _candidate(schedule / 'attention56-e3', {}, 3, [80.0, 85.0, 88.25])
    _candidate(schedule / 'attention56-e3-reprob0', dict(reprob=0.0), 3, [81.0, 86.0, 89.5])
    _candidate(schedule / 'attention56-e5', {}, 5, [80.0, 84.0])
    _full_data_run(schedule / 'attention56-e30-all50k', [240.] * 30, 90.0)
    candidates = replication.schedule_candidates(replication.schedule_runs())
    rows = [line for line in candidates.splitlines() if line.startswith('| [')]
    assert rows == [
        '| [attention56-e3](attention56-e3/README.md) | shipped | 3 of 3 | **88.25%** (top-5 99.00%) | 0.17 h | '
        'Intel Xeon (AMX), 2 threads | `scripts/train_cifar10_schedule.sh attention56 3 RUN_DIR` |',
        '| [attention56-e3-reprob0](attention56-e3-reprob0/README.md) | shipped with `--reprob 0` | 3 of 3 | '
        '**89.50%** (top-5 99.00%) | 0.17 h | Intel Xeon (AMX), 2 threads | '
        '`scripts/train_cifar10_schedule.sh attention56 3 RUN_DIR -- --reprob 0` |',
        '| [attention56-e5](attention56-e5/README.md) | shipped | 2 of 5 | in progress | 0.11 h | '
        'Intel Xeon (AMX), 2 threads | `scripts/train_cifar10_schedule.sh attention56 5 RUN_DIR` |']


def test_recipe_changes_names_the_recipe_arguments_a_run_departs_from():
    """Only the recipe's own arguments count, --amp (machine-dependent) not; a change of one is named as its
    flag and value."""
    replication = _script('replication')
    _, shipped = replication._recipe_namespaces()
    assert replication.recipe_changes(shipped) == []
    assert replication.recipe_changes(dict(shipped, amp=not shipped['amp'])) == []
    assert replication.recipe_changes(dict(shipped, lr=0.4, smoothing=0.0)) == ['--lr 0.4', '--smoothing 0']


def test_the_schedule_choice_follows_its_rule_from_the_candidates_summaries():
    """results/schedule/choice.json: 30 epochs if e30's last held-out top-1 is within 0.5 points of e45's,
    else 45 (results/schedule/README.md), re-applied here to the committed summaries."""
    schedule = ROOT / 'results' / 'schedule'
    last = {n: json.loads((schedule / f'attention56-e{n}' / 'summary.json').read_text())[-1] for n in (30, 45)}
    assert [last[n]['epoch'] for n in (30, 45)] == [29, 44]  # both candidates finished
    choice = json.loads((schedule / 'choice.json').read_text())
    assert choice['epochs'] == (30 if last[45]['eval_top1'] - last[30]['eval_top1'] <= 0.5 else 45)
    assert choice['held_out_top1'] == {str(n): last[n]['eval_top1'] for n in (30, 45)}


def test_the_cpu_recipe_follows_the_random_erasing_rule_from_the_candidates_summary():
    """results/schedule/choice.json's recipe: random erasing off (--reprob 0) if attention56-e45-reprob0's last
    held-out top-1 is at least 91.0%, else the shipped recipe (results/schedule/README.md), re-applied here to
    the committed summary; with the shipped recipe, the claims' command departs from it in nothing."""
    schedule = ROOT / 'results' / 'schedule'
    last = json.loads((schedule / 'attention56-e45-reprob0' / 'summary.json').read_text())[-1]
    assert last['epoch'] == 44  # the candidate finished
    recipe = json.loads((schedule / 'choice.json').read_text())['recipe']
    assert recipe['changes'] == (['--reprob 0'] if last['eval_top1'] >= 91.0 else [])
    assert recipe['held_out_top1'] == {'attention56-e45-reprob0': last['eval_top1']}
    replication = _script('replication')
    claims = replication.train_namespace([*replication.recipe_args(), '--seed', '1'])
    assert replication.recipe_changes(claims) == recipe['changes']


def test_check_remakes_a_saved_claim_table_from_its_runs_logs(image_folder, tmp_path, monkeypatch):
    """``check`` finds a saved claim table equal to what its runs' logs in results/ give (the recorded command
    with --no-train), and reports the table and a run's log that disagree with each other."""
    from timm_ran import experiments
    replication = _replication_in(tmp_path, monkeypatch)
    claim = replication.Claim('attention92-vs-resnet164', 'claim', 'Table 6', 'attention-vs-resnet', ('attention56',),
                              (1,))
    (replication.RUNS / 'runs').mkdir(parents=True)  # the layout ``run`` makes: the claims share RUNS/runs
    (replication.RUNS / claim.key).mkdir()
    (replication.RUNS / claim.key / 'runs').symlink_to(replication.RUNS / 'runs', target_is_directory=True)
    experiments.main(['ablation', '--what', claim.what, '--models', *claim.models, '--seeds', '1', '--output',
                      str(replication.RUNS / claim.key), '--data-dir', str(image_folder), '--epochs', '1',
                      '--batch-size', '16', '--workers', '0', '--no-progress', '--device', 'cpu'])
    replication.save(claim)
    table = replication.RESULTS / claim.key / 'attention-vs-resnet.json'
    assert sorted(p.name for p in (replication.RESULTS / 'runs').iterdir()) == ['attention56-seed1',
                                                                                 'resnet164_cifar-seed1']
    agree, message = replication.check(claim)
    assert agree and message.endswith("is what its runs' logs give (rows, pending, budget, hardware; 1 seed)")

    saved = json.loads(table.read_text())
    saved['rows'][1]['top1'] += 1
    table.write_text(json.dumps(saved))
    agree, message = replication.check(claim)
    assert not agree and message.endswith('differs from its runs\' logs in rows')
    assert replication.main(['check', claim.key]) == 1  # the real claim's key: one table, made up here

    saved['rows'][1]['top1'] -= 1
    table.write_text(json.dumps(saved))
    summary = replication.RESULTS / 'runs' / 'attention56-seed1' / 'summary.json'
    history = json.loads(summary.read_text())
    history[-1]['eval_top1'] += 0.5
    summary.write_text(json.dumps(history))
    assert replication.check(claim)[0] is False
    shutil.rmtree(replication.RESULTS / 'runs' / 'resnet164_cifar-seed1')
    agree, message = replication.check(claim)
    assert not agree and "its runs' logs give no table: --no-train: " in message and 'resnet164_cifar-seed1' in message


def test_the_pages_quote_the_short_schedules_measured_figures():
    """README and docs/training.md quote step 1's figures in prose beside the generated blocks: each figure
    they quote is the one its results folder holds (held-out top-1 after the last epoch; the full-data run's
    test.json; the shipped weights' evidence)."""
    replication = _script('replication')
    schedule = ROOT / 'results' / 'schedule'

    def held_out(name):
        return f"{json.loads((schedule / name / 'summary.json').read_text())[-1]['eval_top1']:.2f}%"
    test = json.loads((replication.full_data_run(replication.schedule_epochs()) / 'test.json').read_text())
    shipped = replication.load_weights_evidence(str(ROOT), 'attention56.cifar10')['results']['top1']
    single, flip = f"{test['top1']:.2f}%", f"{test['flip_tta']['top1']:.2f}%"
    readme = ' '.join((ROOT / 'README.md').read_text().split())
    training = ' '.join((ROOT / 'docs' / 'training.md').read_text().split())
    assert f'({single} against {shipped:.2f}%' in readme
    assert f'{held_out("attention56-e45")} held-out top-1 for Attention-56 at 45 epochs, ' \
           f'{held_out("attention56-e30")} at 30)' in training
    assert f'reaches **{single}** single-view top-1 on CIFAR-10 test (JPEG q75 copy; {flip} with flip TTA), ' \
           f'against {shipped:.2f}% for the shipped' in training
    assert f'{held_out("attention56-e45-reprob0")} held-out top-1 at 45 epochs, against ' \
           f'{held_out("attention56-e45")} with it' in training
