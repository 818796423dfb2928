#!/usr/bin/env bash
# On the lent H200: continue the resnet164_cifar run from its committed state (epoch 75) with the run's own
# script, for at most BUDGET seconds of this command, then hand the run folder's files back through $OUT.
set -uo pipefail
BUDGET=${BUDGET:-575}
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/.."
log=$OUT/device.log
exec > >(tee -a "$log") 2>&1
echo "== setup $(date -u +%T)"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .devdata/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD
mkdir -p /tmp/bin && printf '#!/bin/sh\nexec %s "$@"\n' "$(command -v python3)" > /tmp/bin/python && chmod +x /tmp/bin/python && export PATH=/tmp/bin:$PATH
data=/tmp/data/cifar10-jpeg
mkdir -p $data
for s in train test; do gzip -dc .devdata/$s.tar.gz > $data/$s.tar; done
cp .devdata/SHA256SUMS $data/ && (cd $data && sha256sum -c SHA256SUMS) || exit 1
nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total,clocks.sm --format=csv
python -c "import torch, timm, timm_ran; print('torch', torch.__version__, 'timm', timm.__version__, torch.cuda.is_available() and torch.cuda.get_device_name(), timm_ran.__file__); assert torch.cuda.is_available()" || [ -n "${LOCALTEST:-}" ] || exit 1
python -m timm_ran.run_state restore results/runs/resnet164_cifar.cifar10 /tmp/run || exit 1

left() { echo $((BUDGET - SECONDS)); }
echo "== train $(date -u +%T), $(left) s left"
timeout "$(left)" bash scripts/train_cifar10.sh resnet164_cifar /tmp/run $data > "$OUT/train.log" 2>&1
rc=$?
echo "train rc $rc"; tail -n 30 "$OUT/train.log"
epoch=$(python -c "from timm_ran.run_state import checkpoint_epoch; print(checkpoint_epoch('/tmp/run'))")
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ "$epoch" = 75 ] && [ "$(left)" -gt 120 ]; then
    # no epoch finished: the likely cause is torch.compile on this image; the same run without it (same math)
    echo "== retry without --torchcompile $(date -u +%T), $(left) s left"
    timeout "$(left)" python -m timm_ran.train --model resnet164_cifar --data-dir $data \
        --epochs 200 --batch-size 128 --opt sgd --momentum 0.9 --lr 0.2 --weight-decay 5e-4 \
        --sched cosine --sched-on-updates --warmup-epochs 2 --warmup-lr 0.02 \
        --smoothing 0.1 --reprob 0.25 \
        --channels-last --in-memory --eval-interval 5 --checkpoint-hist 1 --seed 42 --no-progress \
        --amp --output /tmp/run --resume auto >> "$OUT/train.log" 2>&1
    echo "eager rc $?"; tail -n 30 "$OUT/train.log"
fi
for f in last.pth.tar args.json segments.json summary.csv summary.json curves.png; do
    [ -f /tmp/run/$f ] && cp /tmp/run/$f "$OUT/"
done
echo "== done $(date -u +%T), checkpoint epoch $(python -c "from timm_ran.run_state import checkpoint_epoch; print(checkpoint_epoch('$OUT'))")"
