"""The paper's CIFAR-10 ablations as one command each.

    python -m timm_ran.experiments ablation --what arl-vs-nal --data-dir CIFAR10_DIR \\
        [--models attention56] [--epochs 200 --train-subset N ...any timm_ran.train argument]

``--what`` picks the ablation (paper Sec. 4.1):

* ``attention-vs-resnet``: Attention-92 (or -56) vs the ResNet-164 baseline (Table 6),
* ``arl-vs-nal``: attention residual learning ``(1 + M) * T`` vs naive ``M * T`` (Table 3),
* ``mask-type``: mixed vs channel vs spatial mask activation on Attention-56 (Table 1),
* ``mask-structure``: encoder-decoder mask vs local convolutions (Table 4),
* ``noisy-labels``: ResNet-164 vs Attention-92 with 10 / 30 / 50 / 70 % of the training labels
  flipped to a random other class (Table 5),
* ``mask-strength``: the attention-refined ResNet-8 (``attnrefine_resnet8``) at a = 0 / 0.5 / 1 (Wang,
  Refining Residual Mappings, Table 3; a > 0 needs the DINO ViT's weights, ``--vit-weights FILE``).

Every variant trains with ``timm_ran.train`` under the same arguments (recipe, seed, budget); only the
model argument or the label noise differs. Runs are kept under ``OUTPUT/runs/<run>``, named by what
sets them apart, so a variant shared by two ablations (the plain Attention-56 is the reference of the
first three) trains once, and an interrupted run resumes. The table (``OUTPUT/<what>.md`` and ``.json``,
rewritten after every run) lists the test error of each variant at the last epoch next to the paper's.

``--seeds 1 2 3`` trains every variant once per seed (``OUTPUT/runs/<run>-seed<N>``; the seed also draws
the data order and augmentation), seed after seed, and compares paired seeds: each variant's mean and
standard deviation, and against its group's first row the mean per-seed difference of top-1 with its 95%
t-interval and a verdict on the paper's claim: "reproduced", "reversed" or "not resolved at n seeds"
(``timm_ran.training.seeds``).

``--no-train`` trains nothing: the same command makes the table again from the runs already finished under
``OUTPUT/runs`` (say, logs copied from the machines that trained them), to re-check an aggregation.
"""
import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import train
from .cli import ToolParser, run_tool
from .errors import InputError
from .markdown import markdown_table
from .training.files import atomic_write_text
from .paper_results import (
    ARL_NAL_ERROR, ATTNREFINE_ERROR, CIFAR10_ERROR, MASK_STRUCTURE_ERROR, MASK_TYPE_ERROR, NOISY_LABEL_ERROR)
from .training.run_log import epochs_done, hardware_used, load_run, training_time
from .training.seeds import paired_difference, spread, verdict

__all__ = ['Variant', 'ABLATIONS', 'plan', 'run_ablation', 'render_markdown', 'main']


@dataclass(frozen=True)
class Variant:
    """One trained network of an ablation: ``group`` rows are compared with the group's first row."""
    group: str
    label: str
    model: str
    model_kwargs: Tuple[Tuple[str, Any], ...] = ()
    label_noise: float = 0.
    paper_error: Optional[float] = None
    source_kwargs: Tuple[Tuple[str, Any], ...] = ()  # where weights come from: not part of the run's name

    @property
    def run_name(self) -> str:
        """Names the run by what sets it apart from the plain model, so equal variants share one run."""
        parts = [self.model] + [f'{k}={_compact(v)}' for k, v in self.model_kwargs]
        if self.label_noise:
            parts.append(f'noise={self.label_noise:g}')
        return '-'.join(parts)

    def seeded_run_name(self, seed: int) -> str:
        """The folder of its run with ``--seeds``: one per seed, under ``OUTPUT/runs/``."""
        return f'{self.run_name}-seed{seed}'

    def train_args(self) -> List[str]:
        args = ['--model', self.model]
        if self.model_kwargs or self.source_kwargs:
            args += ['--model-kwargs'] + [f'{k}={v!r}' for k, v in self.model_kwargs + self.source_kwargs]
        if self.label_noise:
            args += ['--label-noise', f'{self.label_noise:g}']
        return args


def _compact(value: Any) -> str:
    return ','.join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


@dataclass(frozen=True)
class Ablation:
    title: str
    source: str
    paper_training: str
    models: Tuple[str, ...]
    variants: Any = field(repr=False)  # (model, options) -> [Variant]

    def rows(self, models: Sequence[str], options: Dict[str, Any]) -> List[Variant]:
        return [v for model in models for v in self.variants(model, options)]


# local convolutions: every soft mask without pooling, for each stage of the CIFAR layout (3 attention stages + 1)
_LOCAL_CONV_POOLS = (0, 0, 0, 0)


def _arl_vs_nal(model: str, options: Dict[str, Any]) -> List[Variant]:
    arl, nal = ARL_NAL_ERROR.get(model, (None, None))
    return [Variant(model, 'ARL: (1 + M) * T', model, (), paper_error=arl),
            Variant(model, 'NAL: M * T', model, (('attention_residual', False),), paper_error=nal)]


def _mask_type(model: str, options: Dict[str, Any]) -> List[Variant]:
    errors = MASK_TYPE_ERROR.get(model, (None,) * 3)
    return [Variant(model, 'mixed (sigmoid)', model, (), paper_error=errors[0]),
            Variant(model, 'channel (L2 over channels)', model, (('mask_act', 'channel'),), paper_error=errors[1]),
            Variant(model, 'spatial (standardised, sigmoid)', model, (('mask_act', 'spatial'),),
                    paper_error=errors[2])]


def _mask_structure(model: str, options: Dict[str, Any]) -> List[Variant]:
    errors = MASK_STRUCTURE_ERROR.get(model, (None, None))
    return [Variant(model, 'encoder-decoder', model, (), paper_error=errors[0]),
            Variant(model, 'local convolutions', model, (('mask_pools', _LOCAL_CONV_POOLS),), paper_error=errors[1])]


def _noisy_labels(model: str, options: Dict[str, Any]) -> List[Variant]:
    return [Variant(f'noise {level:g}', model, model, label_noise=level,
                    paper_error=NOISY_LABEL_ERROR.get(model, {}).get(level))
            for level in options['noise_levels']]


def _against_resnet(model: str, options: Dict[str, Any]) -> List[Variant]:
    """The paper's central CIFAR-10 claim: an attention network against the ResNet-164 baseline."""
    return [Variant(model, 'ResNet-164', 'resnet164_cifar', paper_error=CIFAR10_ERROR['resnet164_cifar']),
            Variant(model, model, model, paper_error=CIFAR10_ERROR.get(model))]


def _mask_strength(model: str, options: Dict[str, Any]) -> List[Variant]:
    """attnrefine_resnet8 at each mask strength a; a > 0 needs the ViT's trained weights (a = 0 never runs it)."""
    source: Tuple[Tuple[str, Any], ...] = (('vit_pretrained', True),)
    if options.get('vit_weights'):
        source += (('vit_kwargs', {'pretrained_cfg_overlay': {'file': options['vit_weights']}}),)
    return [Variant(model, f'a = {a:g}', model, (('a', float(a)),), paper_error=ATTNREFINE_ERROR.get(float(a)),
                    source_kwargs=source if a > 0 else ()) for a in options['a_values']]


_RAN_TRAINING = 'SGD, 160k iterations of batch 64 on lossless CIFAR-10'
ABLATIONS: Dict[str, Ablation] = {
    'attention-vs-resnet': Ablation('Attention network vs the ResNet-164 baseline', 'paper Table 6', _RAN_TRAINING,
                                    ('attention92', 'attention56'), _against_resnet),
    'arl-vs-nal': Ablation('Attention residual learning (ARL) vs naive attention learning (NAL)',
                           'paper Table 3', _RAN_TRAINING, tuple(ARL_NAL_ERROR), _arl_vs_nal),
    'mask-type': Ablation('Mask activation: mixed vs channel vs spatial', 'paper Table 1', _RAN_TRAINING,
                          ('attention56',), _mask_type),
    'mask-structure': Ablation('Mask structure: encoder-decoder vs local convolutions', 'paper Table 4',
                               _RAN_TRAINING, tuple(MASK_STRUCTURE_ERROR), _mask_structure),
    'noisy-labels': Ablation('Training with noisy labels: ResNet-164 vs Attention-92', 'paper Table 5',
                             _RAN_TRAINING, tuple(NOISY_LABEL_ERROR), _noisy_labels),
    'mask-strength': Ablation('Attention-refined ResNet-8: mask strength a', 'Wang, Refining Residual Mappings, '
                              'Table 3', 'AdamW, 100 epochs on 45k lossless CIFAR-10 images at 224x224',
                              ('attnrefine_resnet8',), _mask_strength),
}
NOISE_LEVELS = (0.1, 0.3, 0.5, 0.7)
A_VALUES = (0., 0.5, 1.)
# train.py arguments that do not change what a run computes, so a run may be continued under other values
_RUN_ONLY_ARGS = {'output', 'resume', 'no_progress', 'workers', 'checkpoint_hist'}


def plan(what: str, models: Optional[Sequence[str]] = None, noise_levels: Sequence[float] = NOISE_LEVELS,
         a_values: Sequence[float] = A_VALUES, vit_weights: Optional[str] = None,
         vit_pretrained: bool = False) -> List[Variant]:
    """The variants an ablation trains, in table order.

    ``mask-strength`` with an ``a > 0`` needs the ViT's weights: ``vit_weights`` (a local file) or
    ``vit_pretrained`` (timm's download); a randomly initialised ViT would give meaningless maps.
    """
    if what not in ABLATIONS:
        raise InputError(f"--what must be one of {', '.join(ABLATIONS)}, got {what!r}")
    ablation = ABLATIONS[what]
    models = list(models or ablation.models)
    unknown = [m for m in models if m not in ablation.models]
    if unknown:
        raise InputError(f"--models for {what} must be among {', '.join(ablation.models)}, got {unknown}")
    if what == 'noisy-labels' and not noise_levels:
        raise InputError('--noise-levels needs at least one level')
    if what == 'mask-strength':
        if not a_values or not all(0 <= a <= 1 for a in a_values):
            raise InputError(f'--a-values must be mask strengths in [0, 1], got {list(a_values)}')
        if any(a > 0 for a in a_values) and not (vit_weights or vit_pretrained):
            raise InputError(
                'mask-strength with a > 0 needs the trained ViT: --vit-weights FILE (e.g. timm\'s '
                'vit_small_patch8_224.dino weights) or --vit-pretrained (download through timm); '
                '--a-values 0 trains the plain ResNet-8 alone')
        if vit_weights and not os.path.isfile(vit_weights):
            raise InputError(f'--vit-weights {vit_weights!r} is not a file')
    options = dict(noise_levels=noise_levels, a_values=a_values, vit_weights=vit_weights)
    rows = ablation.rows(models, options)
    if what == 'noisy-labels':  # one group per noise level: ResNet-164 first, then Attention-92
        rows.sort(key=lambda v: (v.label_noise, models.index(v.model)))
    return rows


def _settings(args_json: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in args_json.items() if k not in _RUN_ONLY_ARGS}


def _train_argv(variant: Variant, common: Sequence[str], run_dir: str) -> List[str]:
    return list(common) + variant.train_args() + ['--output', run_dir, '--resume', 'auto']


def finished_run(variant: Variant, common: Sequence[str], run_dir: str) -> Optional[Dict[str, Any]]:
    """The run in ``run_dir`` (``run_log.load_run``) if it has trained all its epochs; None if it has not
    started or not finished. A run directory holding a run made with other settings is an error, not silently
    reused."""
    argv = _train_argv(variant, common, run_dir)
    parser = train.build_parser()
    wanted = _jsonable(_settings(vars(parser.parse_args(argv))))
    if not os.path.exists(os.path.join(run_dir, 'args.json')):
        return None
    run = load_run(run_dir)
    # a run from before an argument existed ran with that argument's default; an argument left to its
    # automatic value (None: the evaluation split, the class count, the input size) is what the run resolved
    found = dict(_jsonable(vars(parser.parse_args(['--data-dir', '']))), **run['args'])
    differ = sorted(k for k in wanted if wanted[k] is not None and found.get(k) != wanted[k])
    if differ:
        raise InputError(
            f'{run_dir} holds a run with other settings ({", ".join(differ)}); pass another --output or remove it')
    return run if epochs_done(run) >= wanted['epochs'] else None


def train_variant(variant: Variant, common: Sequence[str], run_dir: str) -> Dict[str, Any]:
    """Train ``variant`` in ``run_dir`` unless it is already complete there (``finished_run``); continue it if
    interrupted. Returns the run's log (``run_log.load_run``)."""
    run = finished_run(variant, common, run_dir)
    if run is None:
        train.main(_train_argv(variant, common, run_dir))
        run = load_run(run_dir)
    return run


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _row(variant: Variant, top1: float, reference: Optional[Dict[str, Any]], **measured: Any) -> Dict[str, Any]:
    """A table row: the variant, its top-1 and error, what else was ``measured``, and its changes against the
    group's ``reference`` row (the measured error, and the paper's where it gives both)."""
    row = dict(group=variant.group, variant=variant.label, model=variant.model, run=variant.run_name,
               model_kwargs=dict(variant.model_kwargs), label_noise=variant.label_noise,
               paper_error=variant.paper_error, top1=top1, error=100 - top1, **measured)
    if reference is not None:
        row['error_delta'] = row['error'] - reference['error']
        if variant.paper_error is not None and reference['paper_error'] is not None:
            row['paper_error_delta'] = variant.paper_error - reference['paper_error']
    return row


def _result_row(variant: Variant, run: Dict[str, Any], reference: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    return _row(variant, run['summary'][-1]['eval_top1'], reference, epochs=epochs_done(run),
                train_time_s=training_time(run['summary']))


def _seeded_row(variant: Variant, runs: Dict[int, Dict[str, Any]],
                reference: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """A variant trained once per seed: its top-1 per seed, their mean and standard deviation and, against
    its group's reference (trained with the same seeds), the paired difference of top-1 with its 95%
    t-interval and the verdict on the paper's claim (``timm_ran.training.seeds``)."""
    top1 = {seed: run['summary'][-1]['eval_top1'] for seed, run in runs.items()}
    stats = spread(list(top1.values()))
    row = _row(variant, stats.mean, reference, seeds={str(k): v for k, v in top1.items()}, top1_sd=stats.sd,
               n=stats.n, epochs=max(epochs_done(run) for run in runs.values()),
               train_time_s=sum(training_time(run['summary']) for run in runs.values()))
    if reference is not None:
        difference = paired_difference(top1, {int(k): v for k, v in reference['seeds'].items()})
        row['top1_difference'] = asdict(difference)
        if 'paper_error_delta' in row:  # the paper claims the lower error: the sign of the top-1 change
            row['verdict'] = verdict(difference, 1 if row['paper_error_delta'] < 0 else -1)
    return row


def _fmt(value: Optional[float], signed: bool = False) -> str:
    if value is None:
        return '-'
    return f'{value:+.2f}' if signed else f'{value:.2f}'


def format_spread(mean: float, sd: float, n: int) -> str:
    """'MEAN +/- SD' over ``n`` seeds (``spread``), or 'MEAN' alone at one seed, whose standard deviation is
    undefined (``spread`` gives it as 0)."""
    return f'{mean:.2f} +/- {sd:.2f}' if n > 1 else f'{mean:.2f}'


def format_difference(difference: Optional[Dict[str, Any]]) -> str:
    """A paired top-1 difference (``paired_difference``) as a table cell: 'MEAN [LOW, HIGH]' with its 95%
    t-interval, 'MEAN (one seed)' where one seed gives no interval, '-' for a group's reference row."""
    if not difference:
        return '-'
    if difference['low'] is None:
        return f"{difference['mean']:+.2f} (one seed)"
    return f"{difference['mean']:+.2f} [{difference['low']:+.2f}, {difference['high']:+.2f}]"


def render_seeded_rows(report: Dict[str, Any]) -> List[str]:
    """The table of an ablation trained with ``--seeds``: mean and spread over the seeds, the paired
    difference to the group's first row with its 95% t-interval, and the verdict."""
    header = ['group', 'variant', 'paper error', 'paper change', 'error, mean +/- sd (n)',
              'top-1 change, mean [95% CI]', 'verdict', 'training time (h)']
    rows = [[row['group'], row['variant'], _fmt(row['paper_error']), _fmt(row.get('paper_error_delta'), True),
             f"{format_spread(row['error'], row['top1_sd'], row['n'])} ({row['n']})",
             format_difference(row.get('top1_difference')), row.get('verdict', '-'),
             f"{row['train_time_s'] / 3600:.2f}"] for row in report['rows']]
    return markdown_table(header, rows, '|---|---|---:|---:|---:|---:|---|---:|')


def render_markdown(report: Dict[str, Any]) -> str:
    """The ablation table with the command, budget and machine that produced it."""
    budget = report['budget']
    seeds = report.get('seeds')
    lines = [
        f"# {report['title']}", '',
        f"Test error (%) at the last epoch, measured by `timm_ran.experiments`, next to the paper's CIFAR-10 "
        f"error ({report['source']}; trained with {report['paper_training']}). Every row trains with the same "
        + (f'recipe and budget, once per seed ({", ".join(map(str, seeds))}); "change" is the difference to the first '
           f'row of its group, for top-1 the mean of the per-seed differences with its 95% t-interval; "verdict": '
           f'"reproduced" when the interval excludes 0 on the paper\'s side, "reversed" on the other, else "not '
           f'resolved"; training time sums the runs\' epochs.' if seeds else
           'recipe, seed and budget; "change" is the difference to the first row of its group; wall time is '
           'that of the run on a machine that may have been doing other work.'), '',
        f"Command: `{report['command']}`", '',
        f"Budget: {budget['epochs']} epoch(s) on {budget['train_images']} training images, evaluated on "
        f"{budget['eval_images']} test images; batch {budget['batch_size']}, {budget['opt']} lr {budget['lr']}, "
        f"weight decay {budget['weight_decay']}, {budget['sched']} schedule, "
        f"{'seeds ' + ', '.join(map(str, seeds)) if seeds else 'seed ' + str(budget['seed'])}, {budget['precision']}.",
        '', f"Data: {report['data']}. Hardware: {report['hardware']}.", '',
    ]
    if seeds:
        lines += render_seeded_rows(report)
        if report.get('pending'):
            lines += ['', f"Not trained yet: {', '.join(report['pending'])}."]
        return '\n'.join(lines) + '\n'
    header = ['group', 'variant', 'paper error', 'paper change', 'measured error', 'measured change', 'wall time (s)']
    lines += markdown_table(header, [
        [row['group'], row['variant'], _fmt(row['paper_error']), _fmt(row.get('paper_error_delta'), True),
         _fmt(row['error']), _fmt(row.get('error_delta'), True), f"{row['train_time_s']:.0f}"]
        for row in report['rows']], '|---|---|---:|---:|---:|---:|---:|')
    if report.get('pending'):
        lines += ['', f"Not trained yet: {', '.join(report['pending'])}."]
    return '\n'.join(lines) + '\n'


def _budget(args: Dict[str, Any]) -> Dict[str, Any]:
    return dict(
        epochs=args['epochs'], train_images=args['train_subset'] or 'all', eval_images=args['val_subset'] or 'all',
        batch_size=args['batch_size'], opt=args['opt'], lr=args['lr'], weight_decay=args['weight_decay'],
        sched=args['sched'], seed=args['seed'], precision='bf16 autocast' if args['amp'] else 'fp32')


def run_ablation(what: str, common: Sequence[str], output: str, models: Optional[Sequence[str]] = None,
                 command: str = '', seeds: Optional[Sequence[int]] = None, train_missing: bool = True,
                 **options: Any) -> Dict[str, Any]:
    """Train every variant of ``what`` (skipping finished runs) and write ``OUTPUT/<what>.md`` / ``.json``
    after each one, so an interrupted ablation leaves a table of what it finished. With ``seeds``, every
    variant trains once per seed (``OUTPUT/runs/<run>-seed<N>``), seed after seed: the table is written when
    every variant has trained a seed, and compares the paired seeds done so far, so an ablation stopped by
    its budget still holds paired differences. ``options`` go to ``plan``.

    Without ``train_missing``, nothing trains: the table is made from the runs already finished under
    ``OUTPUT/runs``, as far as training would have got in order (variant after variant, or seed after seed),
    the rest listed as not trained yet; it is an error if not even the first finished."""
    variants = plan(what, models, **options)
    data_dir = train.build_parser().parse_args(list(common)).data_dir
    report = dict(title=ABLATIONS[what].title, source=ABLATIONS[what].source,
                  paper_training=ABLATIONS[what].paper_training, command=command, seeds=list(seeds or []),
                  data=f'{data_dir}', hardware='', rows=[])
    trained: List[Dict[str, Any]] = []
    obtain = train_variant if train_missing else finished_run

    def write(rows: List[Dict[str, Any]], pending: List[str]) -> None:
        report.update(rows=rows, pending=pending, budget=_budget(trained[-1]['args']),
                      hardware='; '.join(hardware_used(trained, software=True)))
        atomic_write_text(os.path.join(output, f'{what}.json'), json.dumps(report, indent=1) + '\n')
        atomic_write_text(os.path.join(output, f'{what}.md'), render_markdown(report))

    if seeds:
        runs: Dict[str, Dict[int, Dict[str, Any]]] = {v.run_name: {} for v in variants}
        for done, seed in enumerate(seeds, 1):
            found = [obtain(v, list(common) + ['--seed', str(seed)],
                            os.path.join(output, 'runs', v.seeded_run_name(seed))) for v in variants]
            if None in found:
                break
            for variant, run in zip(variants, found):
                runs[variant.run_name][seed] = run
            trained.extend(found)
            write(_grouped_rows(variants, lambda v, ref: _seeded_row(v, runs[v.run_name], ref)),
                  [v.seeded_run_name(s) for s in seeds[done:] for v in variants])
    else:
        results: Dict[str, Dict[str, Any]] = {}
        for at, variant in enumerate(variants, 1):
            run = obtain(variant, common, os.path.join(output, 'runs', variant.run_name))
            if run is None:
                break
            results[variant.run_name] = run
            trained.append(run)
            write(_grouped_rows(variants[:at], lambda v, ref: _result_row(v, results[v.run_name], ref)),
                  [v.run_name for v in variants[at:]])
    if not trained:
        first = variants[0].seeded_run_name(seeds[0]) if seeds else variants[0].run_name
        raise InputError(f'--no-train: {os.path.join(output, "runs", first)} has no finished run, so there is no '
                         f'table to make; train it first (the same command without --no-train)')
    return report


def _grouped_rows(variants: Sequence[Variant], make_row: Callable[[Variant, Optional[Dict[str, Any]]], Dict[str, Any]]
                  ) -> List[Dict[str, Any]]:
    """The table's rows, each made against its group's first row (the reference)."""
    references: Dict[str, Dict[str, Any]] = {}
    rows = []
    for variant in variants:
        rows.append(make_row(variant, references.get(variant.group)))
        references.setdefault(variant.group, rows[-1])
    return rows


def build_parser() -> argparse.ArgumentParser:
    parser = ToolParser(prog='python -m timm_ran.experiments', description=__doc__.split('\n\n')[0],
                        allow_abbrev=False)
    commands = parser.add_subparsers(dest='command', required=True)
    ablation = commands.add_parser(
        'ablation', help='train the paired variants of one ablation and write its table', allow_abbrev=False,
        description='Any argument not listed here goes to timm_ran.train unchanged (recipe and budget: '
                    '--data-dir, --epochs, --train-subset, --val-subset, --batch-size, --lr, --amp, ...).')
    ablation.add_argument('--what', required=True, choices=tuple(ABLATIONS))
    ablation.add_argument('--models', nargs='+', default=None,
                          help="networks to compare (default: the paper's for this ablation)")
    ablation.add_argument('--noise-levels', type=float, nargs='+', default=list(NOISE_LEVELS),
                          help='fractions of flipped training labels, for --what noisy-labels')
    ablation.add_argument('--a-values', type=float, nargs='+', default=list(A_VALUES),
                          help='mask strengths, for --what mask-strength')
    ablation.add_argument('--vit-weights', default=None, metavar='FILE',
                          help="the ViT's weights for --what mask-strength (a > 0), a local file")
    ablation.add_argument('--vit-pretrained', action='store_true',
                          help="--what mask-strength: download the ViT's weights through timm instead")
    ablation.add_argument('--seeds', type=int, nargs='+', default=None, metavar='N',
                          help='train every variant once per seed and compare paired seeds (mean, sd, 95%% '
                               't-interval of the differences, verdict); without it, one run with --seed')
    ablation.add_argument('--output', default='results/ablations', help='folder of the runs and tables')
    ablation.add_argument('--no-train', action='store_true',
                          help='train nothing: make the table from the runs already finished under --output '
                               '(e.g. to re-check an aggregation from copied logs)')
    return parser


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args, train_argv = build_parser().parse_known_args(argv)
    if '--model' in train_argv or '--output' in train_argv:
        raise InputError('--model and the run folders are set by the ablation: use --models and --output')
    if args.seeds and '--seed' in train_argv:
        raise InputError('--seeds sets every run\'s --seed: give one or the other')
    if args.seeds and len(set(args.seeds)) != len(args.seeds):
        raise InputError(f'--seeds must differ, got {args.seeds}')
    command = 'python -m timm_ran.experiments ' + ' '.join(argv)
    options = dict(noise_levels=args.noise_levels, a_values=args.a_values, vit_weights=args.vit_weights,
                   vit_pretrained=args.vit_pretrained)
    plan(args.what, args.models, **options)  # a bad choice fails before any training
    return run_ablation(args.what, train_argv, args.output, args.models, command, args.seeds,
                        train_missing=not args.no_train, **options)


if __name__ == '__main__':
    run_tool(main)
