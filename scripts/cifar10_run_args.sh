# Sourced by scripts/train_cifar10.sh, train_cifar10_cpu.sh, train_cifar10_schedule.sh and ship_cifar10.sh:
# reads their arguments MODEL RUN_DIR [DATA_DIR] into $model, $run_dir and $data_dir, or exits 2 with the
# usage.
models=(attention56 attention92 resnet164_cifar)
if [ $# -lt 2 ]; then
    echo "usage: $0 MODEL RUN_DIR [DATA_DIR]   (MODEL: one of ${models[*]})" >&2
    exit 2
fi
model=$1
run_dir=$2
data_dir=${3:-../shared/data/cifar10-jpeg}
known=no
for name in "${models[@]}"; do
    if [ "$model" = "$name" ]; then known=yes; fi
done
if [ $known = no ]; then
    echo "error: MODEL must be one of ${models[*]}, got '$model'" >&2
    exit 2
fi
