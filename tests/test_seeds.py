"""Paired-seed comparisons (timm_ran.training.seeds) on small made-up tables."""
import math

import pytest

from timm_ran.training.seeds import paired_difference, spread, t_quantile, verdict


@pytest.mark.parametrize('df, expected', [(1, 12.706), (2, 4.303), (4, 2.776), (9, 2.262), (29, 2.045)])
def test_t_quantiles_match_the_published_table(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-3)


def test_spread_is_the_mean_and_sample_standard_deviation():
    stats = spread([92.0, 92.5, 93.0])
    assert (stats.mean, stats.n) == (92.5, 3) and stats.sd == pytest.approx(0.5)
    assert spread([91.0]).sd == 0.


def test_paired_difference_uses_the_seeds_both_sides_have():
    a = {1: 92.6, 2: 92.9, 3: 92.4, 4: 99.0}   # seed 4 has no partner: left out
    b = {1: 92.1, 2: 92.3, 3: 92.0}
    diff = paired_difference(a, b)
    differences = [0.5, 0.6, 0.4]
    sd = math.sqrt(sum((d - 0.5) ** 2 for d in differences) / 2)
    assert diff.n == 3 and diff.mean == pytest.approx(0.5) and diff.sd == pytest.approx(sd)
    half = 4.303 * sd / math.sqrt(3)
    assert (diff.low, diff.high) == (pytest.approx(0.5 - half, abs=1e-3), pytest.approx(0.5 + half, abs=1e-3))


@pytest.mark.parametrize('a, b, expected_sign, outcome', [
    ({1: 92.6, 2: 92.9, 3: 92.4}, {1: 92.1, 2: 92.3, 3: 92.0}, +1, 'reproduced'),
    ({1: 92.6, 2: 92.9, 3: 92.4}, {1: 92.1, 2: 92.3, 3: 92.0}, -1, 'reversed'),
    ({1: 92.6, 2: 92.0, 3: 92.4}, {1: 92.1, 2: 92.3, 3: 92.5}, +1, 'not resolved at 3 seeds'),
    ({1: 92.6}, {1: 92.1}, +1, 'not resolved at 1 seed'),
])
def test_verdicts(a, b, expected_sign, outcome):
    assert verdict(paired_difference(a, b), expected_sign) == outcome


def test_bad_inputs_fail_clearly():
    with pytest.raises(ValueError, match='no seed in common'):
        paired_difference({1: 1.}, {2: 1.})
    with pytest.raises(ValueError, match='expected_sign must be'):
        verdict(paired_difference({1: 1.}, {1: 0.}), 0)
