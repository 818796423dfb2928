#!/usr/bin/env bash
# The training run of the shipped CIFAR-10 weights (attention56.cifar10, attention92.cifar10), and of
# resnet164_cifar.cifar10, the paper's ResNet-164 baseline (Sec. 4.1), on equal terms.
#
#   scripts/train_cifar10.sh MODEL RUN_DIR [DATA_DIR]
#
# Starts the run in RUN_DIR, or continues it from RUN_DIR/last.pth.tar (--resume auto) to the same
# weights an uninterrupted run reaches: run the same command again after every interruption. Keep
# RUN_DIR outside the work tree. Every process appends its exact command, epochs, wall time and
# hardware to RUN_DIR/segments.json (MODEL_CARD.md lists them).
#
# The recipe and why: results/recipe/README.md (chosen on 5,000 held-out training images). bf16
# autocast (--amp) is added only where the CPU has bf16 kernels (AVX-512 or AMX) or on CUDA; on an
# AVX2-only CPU bf16 is emulated and many times slower than fp32 (results/speed/README.md).
# --torchcompile: 1.15x faster training on a 2-core Xeon with AMX, after about 3 minutes of compilation at
# every start (results/speed/README.md).
set -euo pipefail
. "$(dirname "$0")/cifar10_run_args.sh"

. "$(dirname "$0")/cifar10_recipe.sh"

exec python -m timm_ran.train --model "$model" --data-dir "$data_dir" --epochs 200 "${recipe[@]}" \
    $amp --output "$run_dir" --resume auto
