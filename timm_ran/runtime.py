"""Process-level settings that make CPU training and inference faster without changing any result.

PyTorch's CPU tensors come from the C library's ``malloc``. glibc serves blocks above its mmap threshold
(128 KiB at start, adjusted on the fly up to 32 MiB) with fresh ``mmap`` calls and returns them to the
system on ``free``, so a large activation can be page-faulted in again at every step. Without this
setting, bf16 inference of the networks here ran 3-11% fewer images/s on a 2-core CPU (README "Speed",
``results/throughput/no-allocator-tuning``). ``tune_cpu_allocator`` keeps freed blocks in the process
instead, as tcmalloc or jemalloc would.
"""
import ctypes
import ctypes.util
import logging

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
