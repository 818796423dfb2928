#!/usr/bin/env bash
# On a lent GPU machine, from the carried .devdata/ (scripts/gpu_pack.sh): install the carried timm into
# /tmp, unpack and check the data, then run scripts/gpu_check.py within BUDGET seconds (default 480), continuing
# the carried run (if any) for what is left. Everything comes back through $OUT: gpu-check.md / .json,
# then-train.log, and the run's logs and last.pth.tar, to put back into the run folder here.
set -uo pipefail
BUDGET=${BUDGET:-480}
OUT=${OUT:-/tmp/gpu-out}
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/.."
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .devdata/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD
data=/tmp/data/cifar10-jpeg
mkdir -p $data
for split in train test; do gzip -dc .devdata/$split.tar.gz > $data/$split.tar; done
cp .devdata/SHA256SUMS $data/ && (cd $data && sha256sum -c SHA256SUMS) || exit 1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
then=()
if [ -d .devdata/run ]; then
    cp -r .devdata/run /tmp/run
    then=(--then-train /tmp/run --data-dir $data)
fi
python3 scripts/gpu_check.py "$OUT" --budget-s $((BUDGET - SECONDS)) "${then[@]}"
rc=$?
if [ -d /tmp/run ]; then
    mkdir -p "$OUT/run"
    for f in last.pth.tar args.json summary.json segments.json; do
        [ -f /tmp/run/$f ] && cp /tmp/run/$f "$OUT/run/"
    done
fi
exit $rc
