"""The paper's CIFAR-10 claims settled with paired seeds (issue 51): run them, and generate their page.

    python scripts/replication.py command KEY          # print the command that trains claim KEY
    python scripts/replication.py run KEY              # train it (resumable), then copy its tables and logs
    python scripts/replication.py save KEY             # copy what it has so far (at every stop of a session)
    python scripts/replication.py restore              # on a new machine: the finished runs' logs back from
                                                       # results/, the unfinished ones' set aside as lost
    python scripts/replication.py check [KEY ...]      # make the saved tables again from the runs' logs in
                                                       # results/ (the recorded command with --no-train)
    python scripts/replication.py table                # print docs/replication.md as the results make it
    python scripts/replication.py table --write        # write docs/replication.md, README's verdict block,
                                                       # results/schedule/README.md's held-out candidates,
                                                       # docs/training.md's CPU time of the short schedule and
                                                       # the Table 6 sentence of README and MODEL_CARD.md

Every claim is a ``timm_ran.experiments ablation --seeds`` comparison at the short schedule chosen in step 1
(``results/schedule/choice.json``), with the shipped recipe (``scripts/cifar10_recipe.sh``) but its fixed
seed, on the CIFAR-10 JPEG copy; the runs live in ``~/timm-ran-runs/replication/`` (``runs/``, shared by the
claims, so a network trained for one claim with a seed is not trained again for another), and ``run`` copies
the comparison table (``<what>.json`` / ``.md``, written after every seed) to ``results/replication/KEY/``
and the logs of every run it has, finished or not, to ``results/replication/runs/``, never the resume state.
``run`` is started from a clone of this repository kept outside the work tree and pinned at one commit
(``git clone`` + ``git checkout``, docs/replication.md; the runs' segments record that commit), so that every
seed of every claim trains with the same code while the project moves on; ``save`` and ``table`` run in the
work tree.

The page has one row per claim: the paper's errors, ours (top-1 mean +/- sd over n seeds), the paired
difference with its 95% t-interval, the verdict (``timm_ran.training.seeds``), the CPU-hours its runs took
(a run shared with an earlier claim counts there) and the command.
"""
import argparse
import functools
import json
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from timm_ran.errors import InputError
from timm_ran.markdown import markdown_table
from timm_ran.paper_results import PAPER_SIZES
from timm_ran.training.files import atomic_write_text
from timm_ran.training.run_log import epoch_times_on, epochs_done, hardware_used, load_run, training_time
from run_report import copy_logs, copy_run_logs, data_summary, load_weights_evidence
from timm_ran import experiments
from timm_ran.experiments import Variant, plan
from timm_ran.train import build_parser

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / 'results' / 'replication'
LOST = RESULTS / 'lost'  # the logs of unfinished runs whose machine was lost (``restore``), counted in the budget
SCHEDULE = ROOT / 'results' / 'schedule'
CHOICE = SCHEDULE / 'choice.json'
RUNS = Path.home() / 'timm-ran-runs' / 'replication'
RUNS_SHOWN = '~/timm-ran-runs/replication'  # RUNS as the page writes it, the same whoever generates the page
DATA_DIR = '../shared/data/cifar10-jpeg'
PAGE = ROOT / 'docs' / 'replication.md'
TRAINING_PAGE = ROOT / 'docs' / 'training.md'
SHIPPED_RUNS = ROOT / 'results' / 'runs'  # the shipped weights' 200-epoch runs, results/runs/<tag>/
# docs/training.md's CPU time of the short schedule: the CPU it is given for, as segments name it, and the networks
CPU = 'AMD EPYC (AVX512), 2 threads'
CPU_TIME_MODELS = ('attention56', 'attention92', 'resnet164_cifar')
# issue 51, step 1: the floor for the chosen schedule's Attention-56, single view on the test split (the paper's
# 94.48% less the JPEG copy's cost), and the most of a 200-epoch run's CPU time it may take
STEP1_FLOOR_TOP1 = 91.5
STEP1_MAX_SHARE = 0.25


def _markers(name: str) -> Tuple[str, str]:
    return f'<!-- begin generated: {name} -->', f'<!-- end generated: {name} -->'


@dataclass(frozen=True)
class Claim:
    key: str
    claim: str
    source: str
    what: str
    models: Tuple[str, ...]
    seeds: Tuple[int, ...]
    noise_levels: Tuple[float, ...] = ()

    def options(self) -> List[str]:
        return ['--noise-levels', *map(str, self.noise_levels)] if self.noise_levels else []

    def variants(self) -> List[Variant]:
        return plan(self.what, self.models, **({'noise_levels': self.noise_levels} if self.noise_levels else {}))

    def planned(self) -> List[Dict[str, Any]]:
        """The rows ``timm_ran.experiments`` will train, with the paper's errors (before any is trained)."""
        return [dict(group=v.group, variant=v.label, model=v.model, paper_error=v.paper_error)
                for v in self.variants()]

    def run_names(self) -> List[str]:
        """Its runs' folder names, in the order ``timm_ran.experiments`` trains them (seed after seed)."""
        variants = self.variants()
        return [v.seeded_run_name(seed) for seed in self.seeds for v in variants]


# the order: the budget goes down this list
CLAIMS = (
    Claim('attention92-vs-resnet164', 'Attention-92 has a lower error than ResNet-164', 'Table 6',
          'attention-vs-resnet', ('attention92',), (1, 2, 3)),
    Claim('arl-vs-nal-attention56', 'attention residual learning beats naive attention learning, Attention-56',
          'Table 3', 'arl-vs-nal', ('attention56',), (1, 2, 3)),
    Claim('arl-vs-nal-attention164', 'the gap of naive attention learning grows with depth, Attention-164',
          'Table 3', 'arl-vs-nal', ('attention164',), (1,)),
    Claim('mask-type-attention56', 'mixed attention beats channel and spatial attention, Attention-56',
          'Table 1', 'mask-type', ('attention56',), (1, 2, 3)),
    Claim('noisy-labels', 'Attention-92 keeps a lower error than ResNet-164 with 30% and 70% noisy labels',
          'Table 5', 'noisy-labels', ('resnet164_cifar', 'attention92'), (1,), (0.3, 0.7)),
)
CLAIM_KEYS = tuple(c.key for c in CLAIMS)


def schedule_epochs() -> Optional[int]:
    """The epochs of the schedule step 1 chose, or None until it has chosen."""
    return json.loads(CHOICE.read_text())['epochs'] if CHOICE.is_file() else None


@functools.lru_cache(maxsize=None)
def _recipe_tokens() -> Tuple[str, ...]:
    """The shipped recipe's ``timm_ran.train`` arguments (``scripts/cifar10_recipe.sh``), with ``--amp`` where
    bf16 is native on this machine. Read once a process: the script starts a Python that imports torch."""
    script = f'. {ROOT}/scripts/cifar10_recipe.sh; printf "%s\\n" "${{recipe[@]}}" $amp'
    return tuple(subprocess.run(['bash', '-c', script], check=True, capture_output=True, text=True).stdout.split())


def recipe_args() -> List[str]:
    """The shipped recipe (``scripts/cifar10_recipe.sh``, with ``--amp`` where bf16 is native) without its
    fixed ``--seed``: the claims set the seeds."""
    tokens = list(_recipe_tokens())
    at = tokens.index('--seed')
    return tokens[:at] + tokens[at + 2:]


def train_namespace(tokens: List[str]) -> Dict[str, Any]:
    """``timm_ran.train``'s arguments parsed from ``tokens`` (its required ones filled with placeholders)."""
    return vars(build_parser().parse_args(['--model', 'attention56', '--data-dir', '.', '--output', '.', *tokens]))


@functools.lru_cache(maxsize=None)
def _recipe_namespaces() -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """``timm_ran.train``'s arguments by default, and with the shipped recipe (without ``--amp``)."""
    return train_namespace([]), train_namespace([t for t in _recipe_tokens() if t != '--amp'])


def recipe_changes(args: Dict[str, Any]) -> List[str]:
    """The recipe arguments in which a run (its ``args.json``) departs from the shipped recipe, as flags
    (``--reprob 0``). Only the arguments the recipe sets count; ``--amp`` does not, since the recipe adds it
    only where the machine has native bf16 kernels."""
    default, recipe = _recipe_namespaces()
    changed = {key: args.get(key) for key, value in recipe.items() if value != default[key] and args.get(key) != value}
    return [f"--{key.replace('_', '-')} {value:g}" if isinstance(value, float) else f"--{key.replace('_', '-')} {value}"
            for key, value in changed.items()]


def command(claim: Claim, epochs: int) -> List[str]:
    return ['python', '-m', 'timm_ran.experiments', 'ablation', '--what', claim.what, '--models', *claim.models,
            '--seeds', *map(str, claim.seeds), *claim.options(), '--output', str(RUNS / claim.key),
            '--data-dir', DATA_DIR, '--epochs', str(epochs), *recipe_args()]


def run(claim: Claim) -> None:
    epochs = schedule_epochs()
    if epochs is None:
        raise SystemExit(f'error: no schedule chosen yet ({CHOICE.relative_to(ROOT)}): finish step 1 first')
    shared = RUNS / 'runs'
    shared.mkdir(parents=True, exist_ok=True)
    own = RUNS / claim.key / 'runs'
    if not own.exists():  # the claims share their runs
        own.parent.mkdir(parents=True, exist_ok=True)
        own.symlink_to(shared, target_is_directory=True)
    subprocess.run(command(claim, epochs), cwd=ROOT, check=True)
    save(claim)


def save(claim: Claim) -> None:
    """Copy a claim's comparison table (once its first seed is done) and the logs of each of its runs that has
    started into results/."""
    destination = RESULTS / claim.key
    for suffix in ('json', 'md'):
        source = RUNS / claim.key / f'{claim.what}.{suffix}'
        if source.is_file():
            destination.mkdir(parents=True, exist_ok=True)
            atomic_write_text(str(destination / source.name), source.read_text())
    for name in claim.run_names():
        if (RUNS / 'runs' / name / 'args.json').is_file():
            copy_logs(str(RUNS / 'runs' / name), str(RESULTS / 'runs' / name),
                      title=f'{name}: a run of the replication')


def _first_segment(run: Dict[str, Any]) -> Optional[Tuple[str, str]]:
    """When and how a ``load_run`` run started (its first segment's start and command): what tells two runs in
    folders of the same name apart."""
    return (run['segments'][0]['started'], run['segments'][0]['command']) if run['segments'] else None


def restore() -> List[str]:
    """On a new machine, where ``RUNS`` has lost some or all of the runs whose logs results/ holds: copy each
    finished run's logs back into ``RUNS`` (all a claim's table needs of a finished run, so it is not trained
    again), and move each unfinished run's saved logs to ``LOST`` (its resume state went with the machine: it
    restarts from epoch 0, and the hours it had taken still count in the budget). A run that ``RUNS`` still holds
    is left as it is. Returns a line per run restored or set aside."""
    done = []
    for folder in sorted(p for p in (RESULTS / 'runs').iterdir() if (p / 'args.json').is_file()):
        saved, here = load_run(str(folder)), RUNS / 'runs' / folder.name
        started = _first_segment(saved)
        here_run = load_run(str(here)) if (here / 'args.json').is_file() else None
        if started is None or (here_run is not None and _first_segment(here_run) == started):
            continue  # nothing trained yet, or the same run
        epochs = f"{epochs_done(saved)} of {saved['args']['epochs']} epochs"
        if epochs_done(saved) < saved['args']['epochs']:
            lost = LOST / f"{folder.name}-started-{started[0][:16].replace(':', '')}"
            if lost.exists():
                raise InputError(f'{lost} exists already: {folder} cannot be set aside there')
            LOST.mkdir(parents=True, exist_ok=True)
            folder.rename(lost)
            readme = lost / 'README.md'
            atomic_write_text(str(readme), (readme.read_text() if readme.is_file() else '') + (
                f'\nThis run was lost with its machine at {epochs} (its resume state is not kept in the '
                f'repository); it restarted from epoch 0 as results/replication/runs/{folder.name}/, and the time '
                'these epochs took counts in the budget (docs/replication.md).\n'))
            done.append(f'{folder.name}: lost at {epochs}, logs moved to {lost.relative_to(RESULTS.parents[1])}; '
                        'it restarts from epoch 0')
        elif here_run is None:
            here.mkdir(parents=True, exist_ok=True)
            copy_run_logs(str(folder), str(here))
            done.append(f'{folder.name}: finished ({epochs}), logs restored to {here}')
        else:
            raise InputError(f'{here} holds another run than the finished one saved in {folder}: move it away, then '
                             'run restore again')
    return done


def lost_runs() -> List[Tuple[Path, Dict[str, Any]]]:
    """The runs set aside as lost (``restore``), by folder name (``load_run``)."""
    folders = sorted(p for p in LOST.iterdir() if (p / 'args.json').is_file()) if LOST.is_dir() else []
    return [(folder, load_run(str(folder))) for folder in folders]


# what ``check`` compares between a claim's saved table and the one its runs' logs make again
CHECKED = ('rows', 'pending', 'budget', 'hardware')


def check(claim: Claim) -> Tuple[bool, str]:
    """Make a claim's saved table again from the logs of its runs in results/ and compare: its recorded command
    with ``--no-train`` (``timm_ran.experiments``), in a temporary folder whose ``runs`` are results/'s. Returns
    whether they agree and what was found."""
    saved = _read_report(claim)
    if saved is None:
        return True, f'{claim.key}: no table yet (no seed finished by every network), nothing to check'
    argv = shlex.split(saved['command'])[3:]  # after 'python -m timm_ran.experiments'
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / 'runs').symlink_to(RESULTS / 'runs', target_is_directory=True)
        argv[argv.index('--output') + 1] = folder
        try:
            remade = json.loads(json.dumps(experiments.main(argv + ['--no-train'])))
        except InputError as error:  # a run missing from results/, or one with other settings
            return False, f"{claim.key}: its runs' logs give no table: {error}"
    differ = [key for key in CHECKED if remade[key] != saved[key]]
    where = f'results/replication/{claim.key}/{claim.what}.json'
    if differ:
        return False, f"{claim.key}: {where} differs from its runs' logs in {', '.join(differ)}"
    seeds = saved['rows'][0]['n']
    return True, (f"{claim.key}: {where} is what its runs' logs give ({', '.join(CHECKED)}; "
                  f"{seeds} seed{'s' * (seeds > 1)})")


def _hardware(run: Dict[str, Any]) -> str:
    """The hardware a ``load_run`` run trained on, as its segments name it (``hardware_used``)."""
    return ', '.join(hardware_used([run])) or 'unrecorded hardware'


def schedule_runs() -> List[Tuple[Path, Dict[str, Any]]]:
    """Step 1's runs in results/schedule/ (``load_run``), by folder name: the held-out candidates and the
    full-data run of the chosen schedule."""
    return [(folder, load_run(str(folder))) for folder in sorted(SCHEDULE.iterdir())
            if (folder / 'args.json').is_file()]


def schedule_candidates(step1_runs: List[Tuple[Path, Dict[str, Any]]]) -> str:
    """results/schedule/README.md's table of the held-out candidates (``--holdout``): each one's recipe against
    the shipped one, epochs, held-out top-1 after its last epoch, CPU time, hardware and command; ``step1_runs``
    are ``schedule_runs``."""
    header = ['candidate', 'recipe', 'epochs done', 'held-out top-1 after the last epoch', 'sum of epoch times',
              'hardware', 'command']
    rows = []
    for folder, run in step1_runs:
        args = run['args']
        if not args.get('holdout'):
            continue
        changes, done = recipe_changes(args), epochs_done(run)
        last = run['summary'][-1] if done == args['epochs'] else None
        extra = f" -- {' '.join(changes)}" if changes else ''
        rows.append([f'[{folder.name}]({folder.name}/README.md)',
                     'shipped' + (f" with `{' '.join(changes)}`" if changes else ''),
                     f"{done} of {args['epochs']}",
                     f"**{last['eval_top1']:.2f}%** (top-5 {last['eval_top5']:.2f}%)" if last else 'in progress',
                     f"{training_time(run['summary']) / 3600:.2f} h", _hardware(run),
                     f"`scripts/train_cifar10_schedule.sh {args['model']} {args['epochs']} RUN_DIR{extra}`"])
    begin, end = _markers('schedule-candidates')
    return '\n'.join([begin, *markdown_table(header, rows), end])


def full_data_run(epochs: int) -> Path:
    """results/ folder of the chosen schedule's Attention-56 trained once on all 50,000 training images
    (``scripts/train_cifar10_cpu.sh``), with its ``test.json`` from ``timm_ran.validate`` once it has finished."""
    return SCHEDULE / f'attention56-e{epochs}-all50k'


def step1_outcome(epochs: int) -> str:
    """Step 1's result: the chosen schedule's full-data Attention-56, its test top-1 against the floor and the
    shipped weights, and its CPU time against 200 epochs at its own median epoch time, on the same machine."""
    folder = full_data_run(epochs)
    if not (folder / 'args.json').is_file():
        return f'Step 1 outcome: the {epochs}-epoch Attention-56 on all 50,000 training images has not started.'
    run = load_run(str(folder))
    done, hours = epochs_done(run), training_time(run['summary']) / 3600
    if done < epochs or not (folder / 'test.json').is_file():
        return (f'Step 1 outcome: the {epochs}-epoch Attention-56 on all 50,000 training images is in progress '
                f'({done} of {epochs} epochs, {hours:.2f} CPU-hours); its test top-1 is measured once, when it '
                f'has finished.')
    test = json.loads((folder / 'test.json').read_text())
    shipped = load_weights_evidence(str(ROOT), 'attention56.cifar10')['results']['top1']
    median = statistics.median(row['epoch_time'] for row in run['summary'])
    share = hours / (200 * median / 3600)
    met = test['top1'] >= STEP1_FLOOR_TOP1 and share <= STEP1_MAX_SHARE
    return (f"Step 1 outcome: Attention-56 at {epochs} epochs on all 50,000 training images reaches "
            f"**{test['top1']:.2f}%** top-1 on {data_summary(test)}, single view ({test['flip_tta']['top1']:.2f}% "
            f"with flip TTA), against the floor of {STEP1_FLOOR_TOP1}% and the shipped 200-epoch "
            f"weights' {shipped:.2f}%. It took {hours:.2f} CPU-hours on {_hardware(run)}: {share:.1%} of 200 "
            f"epochs at its median epoch time there ({median:.0f} s), against at most {STEP1_MAX_SHARE:.0%}. "
            f"The floor is **{'met' if met else 'missed'}**.")


def short_schedule_runs(model: str, epochs: int) -> List[Dict[str, Any]]:
    """``model``'s finished ``epochs``-epoch runs on all 50,000 training images with the shipped recipe, each
    trained wholly on ``CPU`` (``load_run``): step 1's full-data Attention-56 and the claims' seeded runs of the
    plain network (``MODEL-seedN``, not an ablated variant)."""
    plain = Variant(group=model, label=model, model=model)
    folders = [full_data_run(epochs)] if model == 'attention56' else []
    folders += [RESULTS / 'runs' / name for name in dict.fromkeys(
        plain.seeded_run_name(seed) for claim in CLAIMS for seed in claim.seeds)]
    runs = [load_run(str(f)) for f in folders if (f / 'args.json').is_file()]
    return [r for r in runs if r['args']['epochs'] == epochs == epochs_done(r) == len(epoch_times_on(r, CPU))]


def cpu_times(epochs: int) -> str:
    """docs/training.md's CPU time of the short schedule per network on ``CPU``: measured (the mean sum of epoch
    times of ``short_schedule_runs``) where such runs have finished, else estimated as ``epochs`` times the median
    epoch time of the network's 200-epoch run on that CPU; 200 epochs at the same median."""
    header = ['network', 'median epoch time', f'{epochs} epochs', "200 epochs (the shipped weights' schedule)"]
    rows = []
    for model in CPU_TIME_MODELS:
        runs = short_schedule_runs(model, epochs)
        if runs:
            times = [t for run in runs for t in epoch_times_on(run, CPU)]
            hours = [training_time(run['summary']) / 3600 for run in runs]
            spread = f'mean of {len(runs)} runs, {min(hours):.2f}-{max(hours):.2f} h' if len(runs) > 1 else '1 run'
            short = f'{statistics.mean(hours):.2f} h (measured, {spread})'
        else:
            times = epoch_times_on(load_run(str(SHIPPED_RUNS / f'{model}.cifar10')), CPU)
            short = f'about {epochs * statistics.median(times) / 3600:.1f} h' if times else '-'
        median = statistics.median(times) if times else None
        rows.append([model, f'{median:.0f} s' if median else 'no epoch on this CPU yet', short,
                     f'about {200 * median / 3600:.1f} h' if median else '-'])
    begin, end = _markers('cpu-times')
    return '\n'.join([begin, *markdown_table(header, rows, '|---|---:|---:|---:|'), end])


def _read_report(claim: Claim) -> Optional[Dict[str, Any]]:
    path = RESULTS / claim.key / f'{claim.what}.json'
    return json.loads(path.read_text()) if path.is_file() else None


def _interval(difference: Dict[str, Any], n: int) -> str:
    """The sentence's account of a paired difference over ``n`` seeds: its 95% t-interval, or that it has none."""
    if difference['low'] is None:
        return f'n = {n}, no interval'
    return f"95% CI [{difference['low']:+.2f}, {difference['high']:+.2f}], n = {n}"


def comparisons(report: Dict[str, Any]) -> List[Tuple[Dict[str, Any], Dict[str, Any]]]:
    """(reference, variant) rows of a seeded comparison table: each row against its group's first."""
    references: Dict[str, Dict[str, Any]] = {}
    pairs = []
    for row in report['rows']:
        if row['group'] in references:
            pairs.append((references[row['group']], row))
        else:
            references[row['group']] = row
    return pairs


def _paper(ref: Dict[str, Any], row: Dict[str, Any]) -> str:
    if ref['paper_error'] is None or row['paper_error'] is None:
        return '-'
    return f"{ref['paper_error']:.2f} / {row['paper_error']:.2f}"


def claims_runs() -> Dict[str, Dict[str, Dict[str, Any]]]:
    """Each claim's runs in results/ that have started (``load_run``, by name), a run shared with an earlier
    claim counting there only."""
    counted, runs = set(), {}
    for claim in CLAIMS:
        names = [n for n in claim.run_names() if n not in counted and (RESULTS / 'runs' / n / 'args.json').is_file()]
        counted.update(names)
        runs[claim.key] = {n: load_run(str(RESULTS / 'runs' / n)) for n in names}
    return runs


@dataclass(frozen=True)
class SavedRuns:
    """The runs' logs saved in results/ that the generated pages are made from, loaded once (``saved_runs``)."""
    claims: Dict[str, Dict[str, Dict[str, Any]]]  # ``claims_runs``
    step1: List[Tuple[Path, Dict[str, Any]]]  # ``schedule_runs``
    lost: List[Tuple[Path, Dict[str, Any]]]  # ``lost_runs``


def saved_runs() -> SavedRuns:
    return SavedRuns(claims_runs(), schedule_runs(), lost_runs())


def runs_hours(runs: Dict[str, Dict[str, Any]]) -> float:
    """CPU-hours of ``runs`` (a claim's, ``claims_runs``): the sum of their epochs' times, finished or not."""
    return sum(training_time(run['summary']) for run in runs.values()) / 3600


def in_progress(runs: Dict[str, Dict[str, Any]]) -> str:
    """'NAME: D of E epochs' for each unfinished run of ``runs`` (a claim's, ``claims_runs``)."""
    return ', '.join(f"{name}: {epochs_done(run)} of {run['args']['epochs']} epochs" for name, run in runs.items()
                     if epochs_done(run) < run['args']['epochs'])


def before_first_seed(runs: Dict[str, Dict[str, Any]], running_phrase: str) -> str:
    """Where a claim without a table stands: ``running_phrase`` with its unfinished runs (``in_progress``) once
    its first seed has started (``runs``, a claim's ``claims_runs``), else 'not run yet'."""
    if not runs:
        return 'not run yet'
    running = in_progress(runs)
    return running_phrase + (f' ({running})' if running else '')


def _variant(row: Dict[str, Any]) -> str:
    """A table row's variant as the pages name it: a model by the paper's name for it (``PAPER_SIZES``, without
    its dataset: 'Attention-92'), any other variant ('NAL: M * T') as the ablation labels it."""
    paper = PAPER_SIZES.get(row['variant'])
    return paper.network.split(' (')[0] if paper else row['variant']


def _label(title: str, ref: Dict[str, Any], row: Dict[str, Any]) -> str:
    group = f" ({row['group']})" if row['group'] != row['model'] else ''
    return f"{title}: {_variant(row)} against {_variant(ref)}{group}"


def shown(command_line: str) -> str:
    """A claim's command as the page shows it: its ``--output`` (``RUNS/KEY``) under ``RUNS_SHOWN``, wherever the
    user who ran it or generates the page keeps ``RUNS``, so that the page does not depend on who generated it."""
    keys = '|'.join(map(re.escape, CLAIM_KEYS))
    return re.sub(rf'--output \S*/({keys})(?=\s|$)', rf'--output {RUNS_SHOWN}/\1', command_line)


def _rows(claim: Claim, report: Optional[Dict[str, Any]], runs: Dict[str, Dict[str, Any]], epochs: Optional[int],
          with_command: bool) -> List[List[str]]:
    """One row per comparison of a claim (each variant against its group's reference), or one saying it has
    not run; the verdict cell names the claim's unfinished runs (``claims_runs``, ``in_progress``)."""
    title, hours, running = f'{claim.claim} ({claim.source})', runs_hours(runs), in_progress(runs)
    if report is None:
        planned = f"`{shown(' '.join(command(claim, epochs)))}`" if epochs else 'once step 1 has chosen the schedule'
        state = before_first_seed(runs, 'first seed in progress')
        return [[_label(title, ref, row), _paper(ref, row), '-', '-', state, f'{hours:.2f}'] +
                ([planned] if with_command else []) for ref, row in comparisons(dict(rows=claim.planned()))]
    rows = []
    for ref, row in comparisons(report):
        rows.append([_label(title, ref, row), _paper(ref, row),
                     f"{experiments.format_spread(ref['top1'], ref['top1_sd'], ref['n'])} / "
                     f"{experiments.format_spread(row['top1'], row['top1_sd'], row['n'])} (n = {row['n']})",
                     experiments.format_difference(row['top1_difference']),
                     row.get('verdict', '-') + (f'; in progress: {running}' if running else ''),
                     f'{hours:.2f}'] + ([f"`{shown(report['command'])}`"] if with_command else []))
    return rows


HEADER = ['claim (paper)', 'paper error (%), reference / variant',
          'our top-1 (%), reference / variant: mean +/- sd', 'top-1 difference (points): mean [95% CI]', 'verdict',
          'CPU-hours']


def block(name: str, with_command: bool, saved: SavedRuns) -> str:
    """The generated table: the page's (``with_command``) or README's, with the CPU-hours spent on step 1, the
    claims and the lost runs."""
    epochs = schedule_epochs()
    hours = {key: runs_hours(claim_runs) for key, claim_runs in saved.claims.items()}
    step1, lost = (sum(training_time(run['summary']) for _, run in runs) / 3600 for runs in (saved.step1, saved.lost))
    header = HEADER + (['command'] if with_command else [])
    rows = [r for claim in CLAIMS
            for r in _rows(claim, _read_report(claim), saved.claims[claim.key], epochs, with_command)]
    schedule = f'{epochs} epochs' if epochs else 'not chosen yet (step 1 is in progress)'
    begin, end = _markers(name)
    return '\n'.join([begin, f'Schedule: {schedule}. CPU-hours spent (the sum of the runs\' epochs): '
                              f'{step1:.2f} on the schedule search (step 1), {sum(hours.values()):.2f} on the claims, '
                              + (f'{lost:.2f} on claim runs lost with their machine and restarted '
                                 '(results/replication/lost/), ' if lost else '')
                              + f'{step1 + sum(hours.values()) + lost:.2f} of the issue\'s 70 in all.', '',
                       *([step1_outcome(epochs), ''] if epochs else []),
                       *markdown_table(header, rows), end])


def runs_table(saved: SavedRuns) -> str:
    """docs/replication.md's list of the claims' runs and of those lost with their machine, each linked to its log
    in results/ (``save``, ``restore``) for a reviewer to spot-check: its seed, epochs done, test top-1 after the
    last epoch once it has finished, CPU-hours and hardware."""
    header = ['claim', 'run (its log)', 'seed', 'epochs done', 'test top-1 after the last epoch (%)', 'CPU-hours',
              'hardware']
    first_claim = {name: claim.key for claim in reversed(CLAIMS) for name in claim.run_names()}
    listed = [(key, 'runs', name, run, None) for key, runs in saved.claims.items() for name, run in runs.items()]
    listed += [(first_claim[folder.name.split('-started-')[0]], 'lost', folder.name, run,
                'lost with its machine, trained again') for folder, run in saved.lost]
    rows = []
    for key, kind, name, run, outcome in listed:
        done, epochs = epochs_done(run), run['args']['epochs']
        top1 = outcome or (f"{run['summary'][-1]['eval_top1']:.2f}" if done == epochs else 'in progress')
        rows.append([key, f'[{name}](../results/replication/{kind}/{name}/README.md)', str(run['args']['seed']),
                     f'{done} of {epochs}', top1, f"{training_time(run['summary']) / 3600:.2f}",
                     _hardware(run) if done else '-'])
    begin, end = _markers('replication-runs')
    return '\n'.join([begin, *markdown_table(header, rows, '|---|---|---:|---:|---:|---:|---|'), end])


def seeded_verdict(claim: Claim, runs: Dict[str, Dict[str, Any]]) -> str:
    """The generated sentence on where ``claim`` stands with paired seeds (block ``replication-KEY``), for the
    prose about it outside the page: README's and MODEL_CARD.md's paragraph on Table 6 says what the seeds say,
    not what the one 200-epoch run of each network says: each comparison's paired difference with its interval
    and verdict, or how far the first seed has got; ``runs`` are the claim's (``claims_runs``)."""
    epochs, report, running = schedule_epochs(), _read_report(claim), in_progress(runs)
    schedule = f'the {epochs}-epoch CPU schedule' if epochs else 'the short CPU schedule (not chosen yet)'
    where = f"The paper's claim that {claim.claim} ({claim.source}), tested with paired seeds at {schedule} " \
            '([docs/replication.md](docs/replication.md))'
    if report is None:
        text = f'{where}: {before_first_seed(runs, "the first seed is in progress")}, so there is no paired ' \
               'difference yet.'
    else:
        outcomes = [f"{_variant(row)} minus {_variant(ref)}, {row['top1_difference']['mean']:+.2f} points "
                    f"({_interval(row['top1_difference'], row['n'])}): {row['verdict']}"
                    for ref, row in comparisons(report)]
        text = (f'{where}, top-1 on CIFAR-10 test (JPEG q75 copy), single view: ' + '; '.join(outcomes)
                + (f' (in progress: {running})' if running else '') + '.')
    begin, end = _markers(f'replication-{claim.key}')
    return '\n'.join([begin, text, end])


# the prose that reports a claim's seeded outcome (``seeded_verdict``): the Table 6 paragraphs
VERDICT_PROSE = (('attention92-vs-resnet164', ROOT / 'README.md'),
                 ('attention92-vs-resnet164', ROOT / 'MODEL_CARD.md'))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    commands = parser.add_subparsers(dest='action', required=True)
    for action in ('command', 'run', 'save'):
        commands.add_parser(action).add_argument('key', choices=CLAIM_KEYS)
    checking = commands.add_parser('check', help="make each saved claim table again from its runs' logs in results/ "
                                                 'and compare')
    checking.add_argument('key', nargs='*', metavar='KEY',
                          help=f"claims to check (default: all): {', '.join(CLAIM_KEYS)}")
    commands.add_parser('restore', help="on a new machine: copy the finished runs' logs back from results/ and "
                                        "set the unfinished runs' logs aside as lost")
    commands.add_parser('table').add_argument('--write', action='store_true',
                                              help='write docs/replication.md, README.md, MODEL_CARD.md\'s Table 6 '
                                                   "sentence, results/schedule/README.md and docs/training.md's "
                                                   'CPU times')
    args = parser.parse_args(argv)
    if args.action in ('command', 'run', 'save'):
        claim = CLAIMS[CLAIM_KEYS.index(args.key)]
        if args.action == 'run':
            run(claim)
        elif args.action == 'save':
            save(claim)
        else:
            epochs = schedule_epochs()
            print(' '.join(command(claim, epochs)) if epochs else 'no schedule chosen yet (step 1)')
        return 0
    if args.action == 'restore':
        try:
            print('\n'.join(restore()) or f'nothing to restore: {RUNS} holds every run saved in results/')
        except InputError as error:
            raise SystemExit(f'error: {error}')
        return 0
    if args.action == 'check':
        unknown = [key for key in args.key if key not in CLAIM_KEYS]
        if unknown:
            parser.error(f"check: KEY must be among {', '.join(CLAIM_KEYS)}, got {', '.join(unknown)}")
        outcomes = [check(claim) for claim in CLAIMS if not args.key or claim.key in args.key]
        print('\n'.join(message for _, message in outcomes))
        return 0 if all(agree for agree, _ in outcomes) else 1
    saved = saved_runs()
    if not args.write:
        print(block('replication', True, saved))
        return 0
    epochs = schedule_epochs()
    generated = [(PAGE, block('replication', True, saved)), (PAGE, runs_table(saved)),
                 (ROOT / 'README.md', block('replication-verdicts', False, saved)),
                 (SCHEDULE / 'README.md', schedule_candidates(saved.step1)),
                 *([(TRAINING_PAGE, cpu_times(epochs))] if epochs else []),
                 *((path, seeded_verdict(CLAIMS[CLAIM_KEYS.index(key)], saved.claims[key]))
                   for key, path in VERDICT_PROSE)]
    for path, text in generated:
        atomic_write_text(str(path), replace_block(path.read_text(), text))
    return 0


def replace_block(text: str, generated: str) -> str:
    """``text`` with the block of ``generated``'s markers replaced by it."""
    begin, end = generated.splitlines()[0], generated.splitlines()[-1]
    start, stop = text.index(begin), text.index(end) + len(end)
    return text[:start] + generated + text[stop:]


if __name__ == '__main__':
    sys.exit(main())
