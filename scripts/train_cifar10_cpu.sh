#!/usr/bin/env bash
# The CIFAR-10 recipe for a CPU (issue 51, step 1): the shipped recipe (scripts/cifar10_recipe.sh) with
# cosine decay to zero over the short schedule chosen on 5,000 held-out training images
# (results/schedule/README.md; the epochs are read from results/schedule/choice.json, their one owner),
# trained on all 50,000 training images. The same schedule trains the seeded comparisons of
# docs/replication.md. Its CPU-hours per network: docs/training.md, "Training on a CPU".
#
#   scripts/train_cifar10_cpu.sh MODEL RUN_DIR [DATA_DIR]
#
# Resumable like scripts/train_cifar10.sh: run the same command again after every interruption.
set -euo pipefail
. "$(dirname "$0")/cifar10_run_args.sh"
choice="$(dirname "$0")/../results/schedule/choice.json"
if [ ! -f "$choice" ]; then
    echo "error: $choice is missing: the short schedule has not been chosen yet (results/schedule/README.md)" >&2
    exit 2
fi
epochs=$(python -c "import json, sys; print(json.load(open(sys.argv[1]))['epochs'])" "$choice")
. "$(dirname "$0")/cifar10_recipe.sh"

exec python -m timm_ran.train --model "$model" --data-dir "$data_dir" --epochs "$epochs" "${recipe[@]}" \
    $amp --output "$run_dir" --resume auto
