#!/usr/bin/env bash
# Ship the final weights of a finished scripts/train_cifar10.sh run as MODEL.cifar10 (issue 12).
#
#   scripts/ship_cifar10.sh MODEL RUN_DIR [DATA_DIR]
#
# Run from the repository root with the project installed editable (pip install -e .), so that
# `--pretrained` reads this checkout's weights/. Steps:
#   1. refuses a run that has not finished its schedule (the shipped weights are the final ones, never
#      a checkpoint chosen by a test figure);
#   2. copies the run's logs and segments to results/runs/MODEL.cifar10/ (scripts/run_report.py);
#   3. exports RUN_DIR/last.pth.tar to weights/MODEL.cifar10.safetensors (+ SHA256SUMS);
#   4. measures the shipped file with the acceptance command, `timm_ran.validate --pretrained` (single
#      centre view and flip TTA, fp32), into results/runs/MODEL.cifar10/test.json, and on the fixed 1,000-image
#      subset that tests/test_pretrained.py re-measures, into test-subset1000.json;
#   5. exports again with --results, so weights/MODEL.cifar10.json (quoted by pretrained_cfg) holds
#      that figure, the evidence folder and the recipe (the same bytes: the SHA-256 does not change);
#   6. regenerates MODEL_CARD.md's section and README's weights block (table, commands) from results/.
set -euo pipefail
. "$(dirname "$0")/cifar10_run_args.sh"
name=$model.cifar10
evidence=results/runs/$name

weights=$(python -c "import timm_ran.models.pretrained as p; print(p.weights_dir())")
if [ "$weights" != "$PWD/weights" ]; then
    echo "error: timm_ran reads its weights from $weights, not $PWD/weights: run from the repository root" \
         "with the project installed editable (pip install -e .)" >&2
    exit 2
fi
python - "$run_dir" <<'EOF'
import sys
from timm_ran.cli import run_tool
from timm_ran.errors import InputError
from timm_ran.training.run_log import epochs_done, load_run

def check_finished(argv):
    run = load_run(argv[0])  # an InputError (one 'error:' line) when RUN_DIR is not a run
    done, total = epochs_done(run), run['args']['epochs']
    if done < total:
        raise InputError(f'{argv[0]} has finished {done} of its {total} epochs: ship only the final weights')

run_tool(check_finished, sys.argv[1:])
EOF

python "$(dirname "$0")/run_report.py" "$run_dir" --copy-to "$evidence" --title "$name: the training run of the shipped weights (issue 12)"
python -m timm_ran.export_weights --checkpoint "$run_dir/last.pth.tar" --name "$name" --folder weights
python -m timm_ran.validate --model "$model" --pretrained --data-dir "$data_dir" --tta --no-progress \
    --output "$evidence/test.json"
python -m timm_ran.validate --model "$model" --pretrained --data-dir "$data_dir" --subset 1000 --workers 0 \
    --channels-last --no-progress --output "$evidence/test-subset1000.json"
python -m timm_ran.export_weights --checkpoint "$run_dir/last.pth.tar" --name "$name" --folder weights \
    --results "$evidence/test.json"
python scripts/model_card.py
python scripts/weights_table.py --write
git status --short weights "$evidence" MODEL_CARD.md README.md
