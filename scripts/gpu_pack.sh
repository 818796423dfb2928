#!/usr/bin/env bash
# Prepares .devdata/ for a lent GPU window (the tool library's `device`; nothing there reaches the network,
# and only the checkout travels, at most 64 MiB): timm's wheel, the CIFAR-10 JPEG copy gzipped with its
# checksums, and optionally a run folder to continue (its logs and last.pth.tar, no other checkpoint).
# Usage: bash scripts/gpu_pack.sh [RUN_DIR] [DATA_DIR]    then on the device: bash scripts/gpu_window.sh
set -euo pipefail
cd "$(dirname "$0")/.."
run_dir=${1:-}
data_dir=${2:-../shared/data/cifar10-jpeg}
grep -qx '/.devdata/' .git/info/exclude 2>/dev/null || echo '/.devdata/' >> .git/info/exclude
rm -rf .devdata && mkdir -p .devdata
python -m pip download --quiet --no-deps --only-binary :all: "timm==$(python -c 'import timm; print(timm.__version__)')" -d .devdata
for split in train test; do gzip -9c "$data_dir/$split.tar" > ".devdata/$split.tar.gz"; done
cp "$data_dir/SHA256SUMS" .devdata/
if [ -n "$run_dir" ]; then
    mkdir .devdata/run
    for f in last.pth.tar args.json summary.csv summary.json segments.json; do
        [ -f "$run_dir/$f" ] && cp "$run_dir/$f" .devdata/run/
    done
fi
du -sh .devdata
echo "carry .devdata; on the device: bash scripts/gpu_window.sh (BUDGET=seconds, default 480)"
