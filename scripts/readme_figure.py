"""Draw the README's attention-mask picture from a CIFAR-10 test image:

    python scripts/readme_figure.py [--data-dir ../shared/data/cifar10-jpeg] [--image cat/0000.jpg]

The image is read from the data set's test.tar into a temporary folder (it is not committed, and
neither is the picture, docs/attention_masks.png, which this writes with timm_ran.visualize and the
shipped attention56 weights).
"""
import argparse
import sys
import tarfile
import tempfile
from pathlib import Path

from timm_ran import visualize

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-dir', default=str(ROOT.parent / 'shared' / 'data' / 'cifar10-jpeg'))
    parser.add_argument('--image', default='cat/0000.jpg', help='member of test.tar')
    parser.add_argument('--model', default='attention56')
    parser.add_argument('-o', '--output', default=str(ROOT / 'docs' / 'attention_masks.png'))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(Path(args.data_dir) / 'test.tar') as tar:
        tar.extract(args.image, tmp, filter='data')
        image = str(Path(tmp) / args.image)
        return visualize.main(['--model', args.model, '--pretrained', image, '-o', args.output])[0]


if __name__ == '__main__':
    main(sys.argv[1:])
