#!/usr/bin/env bash
# Runs timm's own model test suite (tests/test_models.py from the source of the installed timm version)
# on every timm_ran model (attention* and resnet164_cifar), with `import timm_ran` added to its conftest.py.
# Usage: bash scripts/timm_test_suite.sh [extra pytest arguments]
set -euo pipefail

version=$(python -c 'import timm; print(timm.__version__)')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python -m pip download --quiet --no-deps --no-binary :all: "timm==$version" -d "$work"
tar -xzf "$work/timm-$version.tar.gz" -C "$work"
tests="$work/timm-$version/tests"
{ echo 'import timm_ran  # registers the attention* models'; cat "$tests/conftest.py"; } > "$work/conftest.py"
mv "$work/conftest.py" "$tests/conftest.py"

cd "$tests"
python -m pytest test_models.py -k "attention or resnet164_cifar" -p no:cacheprovider -q "$@"
