# Sourced by scripts/train_cifar10.sh, train_cifar10_cpu.sh and train_cifar10_schedule.sh: the shipped
# weights' CIFAR-10 recipe (results/recipe/README.md) as the array $recipe, every timm_ran.train argument
# but the model, the epochs, the data and the run folder; and $amp: --amp where bf16 has native kernels
# (AVX-512 BF16, AMX or CUDA), else nothing (on an AVX2-only CPU bf16 is emulated and many times slower
# than fp32, results/speed/README.md).
recipe=(--batch-size 128 --opt sgd --momentum 0.9 --lr 0.2 --weight-decay 5e-4
    --sched cosine --sched-on-updates --warmup-epochs 2 --warmup-lr 0.02
    --smoothing 0.1 --reprob 0.25
    --channels-last --in-memory --torchcompile --eval-interval 5 --checkpoint-hist 1 --seed 42 --no-progress)
amp=$(python -c "import torch; from timm_ran.training.runtime import cpu_has_native_bf16
print('--amp' if torch.cuda.is_available() or cpu_has_native_bf16() else '')")
