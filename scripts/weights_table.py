"""README's section on the shipped weights, generated from the evidence committed under ``results/``:

    python scripts/weights_table.py          # prints the generated block (tests/test_docs.py checks README has it)
    python scripts/weights_table.py --write  # replaces the block in README.md with it

The block (between ``<!-- begin generated: weights -->`` and ``<!-- end generated: weights -->``) holds the
weights table (with the paper's CIFAR-10 figure of each network next to ours: ``timm_ran.paper_results``),
the command that measured each row, once ResNet-164's weights ship a comparison of each network with that
baseline (the paper's Table 6 claim, on equal terms), and the training runs still in progress. For each weights file in
``weights/SHA256SUMS`` the folder named by its ``weights/<name>.json`` (``results``, recorded by
``timm_ran.export_weights --results FOLDER/test.json``) holds ``test.json`` (the ``timm_ran.validate
--output`` of those weights; with ``--tta`` also the flip figure), ``args.json`` (the training arguments) and
``summary.json`` (one row per epoch, with its time). A run in progress is a folder ``results/runs/<name>/``
(``scripts/run_report.py --copy-to``) whose ``name`` has no weights file yet.
"""
import sys
from pathlib import Path
from typing import Any, Dict, List

from timm_ran.markdown import markdown_table
from timm_ran.training.files import atomic_write_text
from timm_ran.paper_results import JPEG_COPY_GAP, JPEG_COPY_GAP_SOURCE, on_jpeg_copy, paper_cifar10_top1
from timm_ran.models.pretrained import bundled_names
from timm_ran.training.run_log import duration, epochs_done, load_run, recipe_summary, training_time
from run_report import JPEG_COPY_TEST, data_summary, load_weights_evidence, validate_command
from timm_ran.sizes import count_size

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = '<!-- begin generated: weights -->', '<!-- end generated: weights -->'
COLUMNS = ('weights', 'data', 'top-1 / top-5 (%), single view', 'top-1 (%), flip TTA',
           'paper top-1 (%), lossless (≈ this copy)', 'training', 'details')
RUNS = Path('results') / 'runs'
# the paper's CIFAR baseline (Table 6): pre-activation ResNet-164, which Attention-92 beats at a similar size
BASELINE = 'resnet164_cifar.cifar10'
# training arguments that name a run rather than shape its training
RUN_NAMING_ARGS = ('model', 'output', 'resume')


def shipped(root: Path = ROOT) -> Dict[str, Dict[str, Any]]:
    """Each shipped weights file's evidence (``load_weights_evidence``), in name order."""
    return {name: load_weights_evidence(str(root), name) for name in bundled_names(root / 'weights')}


def paper_figure(name: str, results: Dict[str, Any]) -> str:
    """The paper's CIFAR-10 top-1 of weights ``name``'s network and, in brackets, its equivalent on the JPEG
    copy; '-' unless the paper gives one and the weights were measured on that copy's test split."""
    top1 = paper_cifar10_top1(name.split('.')[0])
    if top1 is None or data_summary(results) != JPEG_COPY_TEST:
        return '-'
    return f'{top1:.2f} (≈ {on_jpeg_copy(top1):.1f})'


def rows(evidence: Dict[str, Dict[str, Any]]) -> List[List[str]]:
    """One table row (its ``COLUMNS``' cells) per shipped weights file of ``shipped()``."""
    table = []
    for name, recorded in evidence.items():
        results, run, folder = recorded['results'], recorded['run'], recorded['folder']
        tta = f"{results['flip_tta']['top1']:.2f}" if 'flip_tta' in results else '-'
        table.append([f'`{name}`', data_summary(results), f"{results['top1']:.2f} / {results['top5']:.2f}", tta,
                      paper_figure(name, results), recipe_summary(run),
                      f"[MODEL_CARD.md](MODEL_CARD.md#{name.replace('.', '')}), [{folder}/]({folder}/)"])
    return table


def commands(evidence: Dict[str, Dict[str, Any]]) -> List[str]:
    """The acceptance command of each row (the single-view figure; ``--tta`` adds the flip one)."""
    return [validate_command(name, recorded['results']['data']['dir']) for name, recorded in evidence.items()]


def recipe_differences(args: Dict[str, Any], baseline_args: Dict[str, Any]) -> List[str]:
    """The training arguments (``args.json`` keys) in which a run differs from the baseline's, other than
    those in ``RUN_NAMING_ARGS``."""
    keys = sorted((set(args) | set(baseline_args)) - set(RUN_NAMING_ARGS))
    return [key for key in keys if args.get(key) != baseline_args.get(key)]


def _points(ours: Dict[str, Any], baseline: Dict[str, Any]) -> str:
    return f"{ours['top1'] - baseline['top1']:+.2f}"


def baseline_comparison(evidence: Dict[str, Dict[str, Any]]) -> List[str]:
    """Markdown lines setting each shipped network that has a paper CIFAR-10 figure against ``BASELINE``, on the
    same data: the paper's top-1 difference next to ours (single view and flip TTA) and the training arguments
    in which the two runs differ. Empty until the baseline's weights ship."""
    if BASELINE not in evidence:
        return []
    base_results, base_run = evidence[BASELINE]['results'], evidence[BASELINE]['run']
    base_model = BASELINE.split('.')[0]
    base_params, base_paper = count_size(base_model).params / 1e6, paper_cifar10_top1(base_model)
    table = []
    for name, recorded in evidence.items():
        model, results, run = name.split('.')[0], recorded['results'], recorded['run']
        paper = paper_cifar10_top1(model)
        if name == BASELINE or paper is None or data_summary(results) != data_summary(base_results):
            continue
        tta = (_points(results['flip_tta'], base_results['flip_tta'])
               if 'flip_tta' in results and 'flip_tta' in base_results else '-')
        differences = recipe_differences(run['args'], base_run['args'])
        recipe = (', '.join(f"`--{key.replace('_', '-')}`" for key in differences) if differences
                  else f"none (seed {run['args'].get('seed')})")
        table.append([f'`{name}`', f'{count_size(model).params / 1e6:.2f}M / {base_params:.2f}M',
                      f'{paper - base_paper:+.2f}', _points(results, base_results), tta, recipe])
    if not table:
        return []
    return ['', f"Against the paper's baseline, `{BASELINE}` (ResNet-164; the paper's central CIFAR-10 claim, "
                'Table 6, is that Attention-92 beats it at a similar size): each network\'s top-1 minus the '
                'baseline\'s, in points: in the paper (lossless CIFAR-10; Attention-56\'s figure is from Table 3) '
                'and here, on the same test images (one run of each), with the training arguments in which the two '
                'runs differ:', '',
            *markdown_table(['weights', 'params / baseline\'s', 'paper', 'single view', 'flip TTA',
                             'arguments that differ'], table)]


def runs_in_progress(root: Path, shipped_names: List[str]) -> List[str]:
    """One Markdown line per committed run under ``results/runs/`` whose name is not in ``shipped_names``."""
    lines = []
    for folder in sorted((root / RUNS).iterdir()) if (root / RUNS).is_dir() else []:
        if folder.name in shipped_names or not (folder / 'args.json').is_file():
            continue
        run = load_run(str(folder))
        link = (RUNS / folder.name).as_posix()
        lines.append(f"- `{folder.name}`: {epochs_done(run)} of {run['args']['epochs']} epochs done in "
                     f"{duration(training_time(run['summary']))}, no weights until its schedule ends "
                     f"([{link}/]({link}/): progress, every segment's command, curves)")
    return lines


def block(root: Path = ROOT) -> str:
    """The generated Markdown between BEGIN and END."""
    evidence = shipped(root)
    lines = [BEGIN, *markdown_table(COLUMNS, rows(evidence)), '',
             'Each row is measured by its acceptance command on the 10,000 test images (`--tta` adds the flip '
             'column: logits averaged over the image and its mirror). The paper column is the network\'s CIFAR-10 '
             'top-1 in the paper (lossless CIFAR-10; Table 3 for Attention-56, Table 6 for Attention-92 and '
             f'ResNet-164) and, in brackets, that figure less the {JPEG_COPY_GAP} points the JPEG copy costs: '
             f'{JPEG_COPY_GAP_SOURCE} ([MODEL_CARD.md, Limitations](MODEL_CARD.md#limitations)):',
             '', '```bash', *commands(evidence), '```', *baseline_comparison(evidence)]
    training = runs_in_progress(root, list(evidence))
    if training:
        lines += ['', 'Training now (committed at each stop of the run):', '', *training]
    return '\n'.join([*lines, END])


def replace_block(readme: str, new_block: str) -> str:
    """``readme`` with the text from BEGIN to END replaced by ``new_block``."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise SystemExit(f'error: README.md has no generated weights block (a line {BEGIN!r}, later {END!r})')
    return readme[:start] + new_block + readme[end + len(END):]


if __name__ == '__main__':
    if sys.argv[1:] == ['--write']:
        readme = ROOT / 'README.md'
        atomic_write_text(str(readme), replace_block(readme.read_text(), block()))
    elif sys.argv[1:]:
        raise SystemExit('usage: python scripts/weights_table.py [--write]')
    else:
        print(block())
