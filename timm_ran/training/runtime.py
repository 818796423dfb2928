"""Process-level settings that make CPU training and inference faster without changing any result.

Also: the autocast context every tool uses, and a warning when bf16 autocast is asked for on a CPU that can
only emulate it.

PyTorch's CPU tensors come from the C library's ``malloc``. glibc serves blocks above its mmap threshold
(128 KiB at start, adjusted on the fly up to 32 MiB) with fresh ``mmap`` calls and returns them to the
system on ``free``, so a large activation can be page-faulted in again at every step. Without this
setting, bf16 inference of the networks here ran 3-11% fewer images/s on a 2-core CPU (docs/speed.md,
``results/throughput/no-allocator-tuning``). ``tune_cpu_allocator`` keeps freed blocks in the process
instead, as tcmalloc or jemalloc would.
"""
import ctypes
import ctypes.util
import logging
from contextlib import nullcontext

import torch

_logger = logging.getLogger(__name__)

# mallopt parameters of glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's upper limit on 64-bit systems
_TRIM_THRESHOLD = 2 ** 31 - 1


def tune_cpu_allocator() -> bool:
    """Ask glibc to serve blocks up to 32 MiB from its heap and not to trim it; True if it agreed.

    Memory freed by one step is then reused by the next one instead of being unmapped and faulted in
    again; the price is that resident memory stays near its peak between steps. On a C library other
    than glibc this does nothing and returns False.
    """
    name = ctypes.util.find_library('c')
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        _logger.info('tune_cpu_allocator: no glibc mallopt here; allocator left as it is')
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN has bf16 kernels for this CPU (AVX-512 or AMX), so bf16 autocast pays off."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def warn_if_bf16_is_emulated(device, amp: bool) -> bool:
    """Log a warning and return True when ``amp`` asks for bf16 autocast on a CPU whose oneDNN has no bf16
    kernels (e.g. AVX2-only CPUs). There bf16 is emulated: attention56 trained at 7 images/s against
    62 in fp32 on a 2-core AMD EPYC with AVX2 (results/speed/README.md), so leave out ``--amp`` there."""
    if not amp or device.type != 'cpu' or cpu_has_native_bf16():
        return False
    _logger.warning(f'--amp: this CPU ({torch.backends.cpu.get_cpu_capability()}) has no native bf16 kernels; '
                    'bf16 autocast runs many times slower than fp32 here, leave out --amp')
    return True


AMP_DTYPES = ('bfloat16', 'float16')


def autocast_context(device: torch.device, amp: bool, cuda_dtype: str = 'bfloat16'):
    """Mixed precision when ``amp``, the same in every tool: bf16 autocast, on CUDA ``cuda_dtype`` (bfloat16 unless
    float16 is asked for; the CPU always runs bf16)."""
    if not amp:
        return nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if device.type == 'cpu' else getattr(torch, cuda_dtype))
