#!/usr/bin/env bash
# A candidate short schedule for CPU training (issue 51, step 1): the shipped recipe
# (scripts/cifar10_recipe.sh) with cosine decay to zero over EPOCHS epochs instead of 200, trained on
# 45,000 CIFAR-10 training images and evaluated on the seeded 5,000 held out of them (--holdout 5000),
# never on the test split: the schedule is chosen on these figures.
#
#   scripts/train_cifar10_schedule.sh MODEL EPOCHS RUN_DIR [DATA_DIR] [-- MORE TRAIN ARGUMENTS]
#
# Resumable like scripts/train_cifar10.sh: run the same command again after every interruption.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 MODEL EPOCHS RUN_DIR [DATA_DIR] [-- MORE TRAIN ARGUMENTS]" >&2
    exit 2
fi
epochs=$2
if ! [[ "$epochs" =~ ^[1-9][0-9]*$ ]]; then
    echo "error: EPOCHS must be a positive whole number, got '$epochs'" >&2
    exit 2
fi
model_args=("$1" "$3")
shift 3
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    model_args+=("$1")
    shift
fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
. "$(dirname "$0")/cifar10_run_args.sh" "${model_args[@]}"
. "$(dirname "$0")/cifar10_recipe.sh"

exec python -m timm_ran.train --model "$model" --data-dir "$data_dir" --epochs "$epochs" "${recipe[@]}" \
    --holdout 5000 "$@" $amp --output "$run_dir" --resume auto
