"""Trained weights shipped with the package, checked by SHA-256 before they are loaded.

The safetensors files live in the repository's ``weights/`` folder with their checksums in
``weights/SHA256SUMS``; the wheel installs both as ``timm_ran/weights/``. A tag whose ``default_cfgs``
entry names an ``hf_hub_id`` (the Hub repository the same weights are published to) ships weights; when
such a model is created, ``shipped_cfg_overlay`` adds the file, so ``pretrained=True`` loads offline, and
the accuracy measured on it (``<name>.json``). Nothing here is read at import.
``python -m timm_ran.export_weights`` adds weights to the folder.
"""
import functools
import hashlib
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

__all__ = ['HF_HUB_ORG', 'CHECKSUMS', 'weights_dir', 'bundled_weights', 'bundled_names', 'bundled_file',
           'bundled_results', 'shipped_cfg_overlay',
           'sha256_of', 'verify_weights', 'read_checksums', 'cfg_has_weights', 'is_bundled']

HF_HUB_ORG = 'timm-ran'
CHECKSUMS = 'SHA256SUMS'


def weights_dir() -> Path:
    """``timm_ran/weights`` in an installed package, else the source checkout's ``weights/``."""
    package = Path(__file__).resolve().parents[1]
    installed = package / 'weights'
    return installed if installed.is_dir() else package.parent / 'weights'


def bundled_weights() -> Dict[str, str]:
    """File name -> SHA-256 of every shipped weights file (from ``SHA256SUMS``)."""
    return read_checksums(weights_dir() / CHECKSUMS)


def bundled_names(folder: Optional[Path] = None) -> List[str]:
    """``'<model>.<tag>'`` of every weights file listed in ``folder``'s SHA256SUMS (default: the shipped
    ones), in name order."""
    sums = read_checksums(Path(folder) / CHECKSUMS) if folder else bundled_weights()
    return sorted(file.removesuffix('.safetensors') for file in sums)


def read_checksums(path: Path) -> Dict[str, str]:
    """File name -> SHA-256 from a ``sha256sum``-style file (empty if there is none). Read once per version
    of the file (its path, size and modification time), however many models are created."""
    path = Path(path)
    if not path.is_file():
        return {}
    stat = path.stat()
    return dict(_parse_checksums(str(path), stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _parse_checksums(path: str, size: int, mtime_ns: int) -> Tuple[Tuple[str, str], ...]:
    entries = (line.split() for line in Path(path).read_text().splitlines() if line.strip())
    return tuple((file, sha) for sha, file in entries)


def cfg_has_weights(cfg: Any) -> bool:
    """Whether a timm pretrained config names weights to load (a URL, a file, a state dict or a Hub repo)."""
    return any(getattr(cfg, key, None) for key in ('url', 'file', 'state_dict', 'hf_hub_id'))


def bundled_file(name: str) -> Optional[str]:
    """Path of the weights shipped for ``'<model>.<tag>'``, or None when none are shipped."""
    file = f'{name}.safetensors'
    return str(weights_dir() / file) if file in bundled_weights() else None


def bundled_results(name: str) -> Optional[Dict[str, Any]]:
    """The accuracy measured on the weights shipped for ``'<model>.<tag>'`` (``<name>.json``), if any."""
    path = weights_dir() / f'{name}.json'
    return json.loads(path.read_text()) if path.is_file() else None


def shipped_cfg_overlay(name: str) -> Dict[str, Any]:
    """What the weights shipped for ``'<model>.<tag>'`` add to its pretrained config: the file and, in
    ``description``, the accuracy measured on it; empty when none ship."""
    file = bundled_file(name)
    if not file:
        return {}
    overlay = dict(file=file)
    measured = bundled_results(name)
    if measured:
        overlay['description'] = (
            f"top-1 {measured['top1']:.2f}% / top-5 {measured['top5']:.2f}% on CIFAR-10 test (JPEG q75 copy, "
            f"{measured['images']} images), measured by timm_ran.validate; "
            f"{'trained ' + measured['recipe'] + ', ' if 'recipe' in measured else ''}recipe in MODEL_CARD.md")
    return overlay


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def is_bundled(path: str) -> bool:
    """Whether ``path`` names one of the shipped weights files (rather than a user's own file)."""
    path = Path(path)
    return path.parent == weights_dir() and path.name in bundled_weights()


def verify_weights(path: str) -> None:
    """Raise a clear error when a shipped weights file is missing, truncated or altered."""
    if not is_bundled(path):
        return  # not one of ours: a user's own file
    path = Path(path)
    expected = bundled_weights()[path.name]
    if not path.is_file():
        raise FileNotFoundError(f'the shipped weights file {path} is missing: reinstall timm-ran')
    actual = sha256_of(str(path))
    if actual != expected:
        raise RuntimeError(
            f'the weights file {path} is corrupt or was altered: its SHA-256 is {actual}, expected {expected} '
            f'({CHECKSUMS}). Reinstall timm-ran.')
