"""Draw the README's attention-mask pictures from a few CIFAR-10 test images:

    python scripts/readme_figure.py [--data-dir ../shared/data/cifar10-jpeg] [--images cat/0000.jpg ...]

Each image is read from the data set's test.tar into a temporary folder and drawn with
``timm_ran.visualize`` and the shipped attention56 weights to ``docs/masks/<class>.png`` (committed;
run this again whenever the shipped weights change). The pictures are stored with a 256-colour palette,
a fifth of the size of the full-colour PNG.
"""
import argparse
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import List

from PIL import Image

from timm_ran import visualize
from timm_ran.training.files import atomic_write

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_IMAGES = ('cat/0000.jpg', 'ship/0000.jpg', 'horse/0000.jpg')


def main(argv=None) -> List[Path]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data-dir', default=str(ROOT.parent / 'shared' / 'data' / 'cifar10-jpeg'))
    parser.add_argument('--images', nargs='+', default=list(DEFAULT_IMAGES),
                        help='members of test.tar (CLASS/NAME.jpg); each is drawn to OUTPUT_DIR/CLASS.png')
    parser.add_argument('--model', default='attention56')
    parser.add_argument('-o', '--output-dir', default=str(ROOT / 'docs' / 'masks'))
    args = parser.parse_args(argv)
    classes = [Path(member).parent.name for member in args.images]
    if len(set(classes)) < len(classes):
        parser.error(f'--images: one image per class, got {args.images}')
    Path(args.output_dir).mkdir(parents=True, exist_ok=True)
    paths = []
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(Path(args.data_dir) / 'test.tar') as tar:
        for member, name in zip(args.images, classes):
            tar.extract(member, tmp, filter='data')
            output = str(Path(args.output_dir) / f'{name}.png')
            paths += visualize.main(['--model', args.model, '--pretrained', str(Path(tmp) / member), '-o', output])
    for path in paths:
        with Image.open(path) as picture:
            small = picture.convert('RGB').quantize(256, method=Image.Quantize.MEDIANCUT)
        atomic_write(str(path), lambda tmp_path: small.save(tmp_path, format='PNG', optimize=True))
    return paths


if __name__ == '__main__':
    main(sys.argv[1:])
