"""Comparisons over paired seeds: every variant trained with the same seeds, so each seed gives one
difference between two variants, and the comparison is the mean difference with its 95% t-interval.

``verdict`` reads the interval against the sign a claim expects: "reproduced" when it excludes 0 on that
side, "reversed" when it excludes 0 on the other, otherwise "not resolved at n seeds".
"""
import math
from dataclasses import dataclass
from typing import Dict, Optional, Sequence

__all__ = ['Spread', 'PairedDifference', 'spread', 'paired_difference', 't_quantile', 'verdict']


@dataclass(frozen=True)
class Spread:
    """Mean and sample standard deviation (n - 1) of one variant's results over seeds."""
    mean: float
    sd: float
    n: int


@dataclass(frozen=True)
class PairedDifference:
    """Mean of the per-seed differences ``a - b`` with its two-sided t-interval (``low``, ``high``); the
    interval is None for a single seed."""
    mean: float
    sd: float
    n: int
    low: Optional[float]
    high: Optional[float]
    confidence: float = 0.95


def spread(values: Sequence[float]) -> Spread:
    if not values:
        raise ValueError('spread needs at least one value')
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.
    return Spread(mean, sd, n)


def _t_cdf(t: float, df: int) -> float:
    """Student's t distribution function, integrating its density (Simpson's rule, 2,000 steps) from 0."""
    log_norm = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)

    def density(x: float) -> float:
        return math.exp(log_norm - (df + 1) / 2 * math.log1p(x * x / df))

    steps, x = 2000, abs(t)
    h = x / steps
    total = density(0.) + density(x) + sum((4 if i % 2 else 2) * density(i * h) for i in range(1, steps))
    half = total * h / 3
    return 0.5 + half if t >= 0 else 0.5 - half


def t_quantile(probability: float, df: int) -> float:
    """The ``probability`` quantile (> 0.5) of Student's t with ``df`` degrees of freedom, by bisection."""
    if not 0.5 < probability < 1 or df < 1:
        raise ValueError(f't_quantile needs 0.5 < probability < 1 and df >= 1, got {probability}, {df}')
    low, high = 0., 1.
    while _t_cdf(high, df) < probability:
        high *= 2
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if _t_cdf(mid, df) < probability else (low, mid)
    return (low + high) / 2


def paired_difference(a: Dict[int, float], b: Dict[int, float], confidence: float = 0.95) -> PairedDifference:
    """``a - b`` over the seeds both have (seed -> result); seeds only one side has are left out."""
    seeds = sorted(a.keys() & b.keys())
    if not seeds:
        raise ValueError(f'no seed in common: {sorted(a)} and {sorted(b)}')
    stats = spread([a[s] - b[s] for s in seeds])
    if stats.n < 2:
        return PairedDifference(stats.mean, stats.sd, stats.n, None, None, confidence)
    half = t_quantile(0.5 + confidence / 2, stats.n - 1) * stats.sd / math.sqrt(stats.n)
    return PairedDifference(stats.mean, stats.sd, stats.n, stats.mean - half, stats.mean + half, confidence)


def verdict(difference: PairedDifference, expected_sign: int) -> str:
    """What the interval says of a claim that the difference has ``expected_sign`` (+1 or -1)."""
    if expected_sign not in (1, -1):
        raise ValueError(f'expected_sign must be +1 or -1, got {expected_sign}')
    if difference.low is not None and (difference.low > 0 or difference.high < 0):
        return 'reproduced' if (difference.low > 0) == (expected_sign > 0) else 'reversed'
    return f'not resolved at {difference.n} seed{"s" if difference.n != 1 else ""}'
