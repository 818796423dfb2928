"""Write a folder of photo-like images of varied sizes and shapes from the CIFAR-10 JPEG copy, to compare
fine-tuning geometries on (docs/training.md, "Your own images").

    python scripts/photo_folder.py OUT [--tar ../shared/data/cifar10-jpeg/train.tar] [--per-class 300]

Each of ``--per-class`` seeded images of every class is up-sampled (bicubic) so that its longer side is L,
then cropped at a random offset to a shorter side S: S uniform in 40-128 pixels, L / S uniform in 1.1-1.67,
the longer side across or down at random. So, as in a folder of ordinary photos, every image has its own
size and shape, never square, and the object may be cut at the shorter side's edges. Writes
``OUT/train/<class>/<nnnn>.jpg`` (JPEG quality 90); no evaluation split: train with ``--holdout N``.
"""
import argparse
import io
import random
import tarfile
from collections import defaultdict
from pathlib import Path

from PIL import Image


def photo(image: Image.Image, rng: random.Random) -> Image.Image:
    """One CIFAR image as a photo-like image of random size and shape (see the module's docstring)."""
    short = rng.randint(40, 128)
    long = round(short * rng.uniform(1.1, 5 / 3))
    big = image.resize((long, long), Image.BICUBIC)
    offset = rng.randint(0, long - short)
    if rng.random() < 0.5:  # wide
        return big.crop((0, offset, long, offset + short))
    return big.crop((offset, 0, offset + short, long))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('output')
    parser.add_argument('--tar', default='../shared/data/cifar10-jpeg/train.tar')
    parser.add_argument('--per-class', type=int, default=300)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    output = Path(args.output)
    if output.exists():
        parser.error(f'{output} exists already: choose a new folder')
    rng = random.Random(args.seed)
    with tarfile.open(args.tar) as tar:
        members = defaultdict(list)
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith('.jpg'):
                members[member.name.split('/')[0]].append(member)
        for name in sorted(members):
            folder = output / 'train' / name
            folder.mkdir(parents=True)
            for i, member in enumerate(sorted(rng.sample(members[name], args.per_class), key=lambda m: m.name)):
                image = Image.open(io.BytesIO(tar.extractfile(member).read())).convert('RGB')
                photo(image, rng).save(folder / f'{i:04d}.jpg', quality=90)
    print(f'wrote {args.per_class} images of each of {len(members)} classes to {output / "train"}')


if __name__ == '__main__':
    main()
