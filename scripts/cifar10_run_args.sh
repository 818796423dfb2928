# Sourced by scripts/train_cifar10.sh and scripts/ship_cifar10.sh: reads their arguments
# MODEL RUN_DIR [DATA_DIR] into $model, $run_dir and $data_dir, or exits 2 with the usage.
if [ $# -lt 2 ]; then
    echo "usage: $0 MODEL RUN_DIR [DATA_DIR]   (MODEL: attention56, attention92 or resnet164_cifar)" >&2
    exit 2
fi
model=$1
run_dir=$2
data_dir=${3:-../shared/data/cifar10-jpeg}
case $model in
    attention56|attention92|resnet164_cifar) ;;
    *) echo "error: MODEL must be attention56, attention92 or resnet164_cifar, got '$model'" >&2; exit 2 ;;
esac
